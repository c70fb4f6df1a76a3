"""RISE's ``fill``: what a hidden pixel becomes."""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import region_mask, region_predict
from xai_core import FILLS, RiseRun, explain_rise
from xai_core.explainers.rise.fill import check_fill, fill_image
from xai_core.explainers.rise.run import _masked


@pytest.fixture()
def bright_region() -> np.ndarray:
    """Dark noise with REGION bright: hiding the region changes the score for every fill."""
    rng = np.random.default_rng(2)
    img = (10.0 + 20.0 * rng.random((64, 64, 3))).astype(np.float32)
    img[region_mask()] = 250.0
    return img


@pytest.mark.parametrize("fill", [*FILLS, (0.0, 0.0, 255.0)])
def test_each_fill_gives_a_valid_map(bright_region, fill):
    class Clf:  # a classifier-like predict with a preprocessing, for "dataset_mean"
        preprocessing = "tf"

        def predict(self, x):
            return region_predict(x)

    predict = Clf().predict
    expl = explain_rise(predict, bright_region, 1, n_masks=300, mask_size=8, seed=0, fill=fill)
    sal = expl.saliency
    assert sal.shape == (64, 64) and np.all(np.isfinite(sal))
    r, c = np.unravel_index(np.argmax(sal), sal.shape)
    assert region_mask()[r, c], f"maximum at {(r, c)} is outside the region"
    assert expl.params["fill"] == (fill if isinstance(fill, str) else list(fill))


def test_hidden_pixels_become_the_fill(bright_image):
    zeros = np.zeros((1, 64, 64), np.float32)
    half = np.full((1, 64, 64), 0.5, np.float32)
    assert np.all(_masked(bright_image, zeros) == 0)
    mean = fill_image(bright_image, "mean")
    np.testing.assert_allclose(_masked(bright_image, zeros, mean)[0], mean, rtol=1e-6)
    np.testing.assert_allclose(_masked(bright_image, half, mean)[0],
                               0.5 * bright_image + 0.5 * mean, rtol=1e-5)
    blur = fill_image(bright_image, "blur")
    assert blur.std() < bright_image.std() / 3  # strongly smoothed
    assert check_fill("dataset_mean", type("C", (), {"preprocessing": "caffe"})()) == (
        123.68, 116.779, 103.939)


def test_fill_changes_what_the_model_sees(bright_image):
    seen = []

    def spy(x):
        seen.append(x.min())
        return region_predict(x)

    RiseRun(spy, bright_image, max_masks=32, seed=0, fill=(50, 50, 50)).step()
    assert seen[0] >= 50 - 1e-3  # nothing darker than the fill or the image


@pytest.mark.parametrize("bad", ["grey", (1, 2), (0, 0, 300), True, None])
def test_bad_fill_raises(bright_image, bad):
    with pytest.raises(ValueError, match="fill must be"):
        explain_rise(region_predict, bright_image, 1, n_masks=8, fill=bad)


def test_dataset_mean_needs_the_preprocessing(bright_image):
    with pytest.raises(ValueError, match="needs the model's preprocessing"):
        explain_rise(region_predict, bright_image, 1, n_masks=8, fill="dataset_mean")
