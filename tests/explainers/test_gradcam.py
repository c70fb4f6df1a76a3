"""Grad-CAM (white-box reference) on a trained CNN whose right answer is known."""

from __future__ import annotations

import numpy as np
import pytest

import xai_core as xc
from tests.conftest import square_images
from xai_core import Classifier, explain_gradcam


def square_image(corner: tuple[int, int], seed: int = 7) -> np.ndarray:
    x, _, _ = square_images(1, np.random.default_rng(seed))
    img = x[0].copy()
    img[img == 255.0] = 60.0
    r0, c0 = corner
    img[r0 : r0 + 8, c0 : c0 + 8] = 255.0
    return img


@pytest.mark.parametrize("corner", [(3, 23), (12, 4), (20, 20)])
def test_maximum_on_the_square(square_cnn, corner):
    clf, _ = square_cnn
    img = square_image(corner)
    expl = explain_gradcam(clf, img, 1)
    sal = np.asarray(expl)
    assert expl.method == "gradcam" and sal.shape == (32, 32) and sal.dtype == np.float32
    assert sal.max() == pytest.approx(1.0) and sal.min() >= 0.0
    r, c = np.unravel_index(np.argmax(sal), sal.shape)
    r0, c0 = corner
    assert r0 - 1 <= r <= r0 + 8 and c0 - 1 <= c <= c0 + 8, f"max at {(r, c)}, square at {corner}"
    # the default layer is the last convolution; the final softmax's input is the score
    assert expl.extra["layer"] == clf.model.layers[2].name
    assert expl.params["score"] == "logit" and expl.extra["white_box"] is True
    assert expl.probability == pytest.approx(float(clf.predict(img)[0, 1]), abs=1e-5)


def test_named_layer_and_unknown_layer(square_cnn):
    clf, _ = square_cnn
    img = square_image((10, 10))
    first = clf.model.layers[1].name
    assert explain_gradcam(clf, img, 1, layer=first).extra["layer"] == first
    with pytest.raises(ValueError, match="not a convolutional feature-map layer"):
        explain_gradcam(clf, img, 1, layer="nope")


def test_runs_through_keras_when_another_engine_predicts(square_cnn):
    clf, _ = square_cnn

    class Broken:
        name = "broken"

        def predict(self, x, batch_size):
            raise AssertionError("Grad-CAM must not call the prediction engine")

    other = clf.with_backend(Broken(), "test")
    img = square_image((3, 23))
    np.testing.assert_allclose(explain_gradcam(other, img, 1).saliency,
                               explain_gradcam(clf, img, 1).saliency, atol=1e-6)


def test_model_without_convolution_is_refused():
    import keras

    model = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Flatten(),
                              keras.layers.Dense(2, activation="softmax")])
    clf = Classifier("dense", (8, 8), ["a", "b"], model)
    with pytest.raises(ValueError, match="needs a convolutional layer"):
        explain_gradcam(clf, np.zeros((8, 8, 3), np.float32), 0)


def test_plain_predict_function_is_refused(square_cnn):
    clf, _ = square_cnn
    img = square_image((3, 3))
    with pytest.raises(ValueError, match="white-box"):
        explain_gradcam(clf.predict, img, 1)
    with pytest.raises(ValueError, match="white-box"):
        xc.explain(lambda x: clf.predict(x), img, "gradcam", 1, class_names=clf.class_names)


def test_explain_by_name(square_cnn):
    clf, _ = square_cnn
    img = square_image((12, 4))
    expl = xc.explain(clf.predict, img, "gradcam", 1, class_names=clf.class_names,
                      model_name="square", image_name="img")
    assert expl.method == "gradcam" and expl.target_label == "square"
    assert expl.record()["params"]["layer"] == clf.model.layers[2].name
