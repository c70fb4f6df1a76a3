"""Scores a model returns: non-finite ones are refused everywhere, non-probabilities are
flagged once (issue 12)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import xai_core as xc
from xai_core.explainers.rise import RiseRun


def image() -> np.ndarray:
    img = np.full((24, 24, 3), 128.0, np.float32)
    img[4:12, 4:12] = 250.0
    return img


def nan_on_real_images(bad: float = np.nan):
    """Finite on a flat grey image (what a load-time check sees), ``bad`` on anything else."""
    def predict(x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, np.float32)
        p = x[:, 4:12, 4:12].mean(axis=(1, 2, 3)) / 255.0
        out = np.stack([1.0 - p, p], axis=1).astype(np.float32)
        varied = x.reshape(len(x), -1).std(axis=1) > 0
        out[varied, 1] = bad
        return out

    return predict


def logits(x: np.ndarray) -> np.ndarray:
    p = np.asarray(x, np.float32)[:, 4:12, 4:12].mean(axis=(1, 2, 3)) / 255.0
    return np.stack([-3.0 * p, 5.0 * p + 1.0], axis=1).astype(np.float32)


def probabilities(x: np.ndarray) -> np.ndarray:
    z = logits(x)
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


CALLS = {
    "rise": lambda f: xc.explain_rise(f, image(), 1, n_masks=64, mask_size=4, seed=0),
    "lime": lambda f: xc.explain_lime(f, image(), 1, num_samples=40, segmentation="slic",
                                      seed=0),
    "deletion": lambda f: xc.deletion_curve(f, image(), np.ones((24, 24)), 1, steps=8),
    "insertion": lambda f: xc.insertion_curve(f, image(), np.ones((24, 24)), 1, steps=8),
    "faithfulness": lambda f: xc.faithfulness(f, image(), {"m": np.ones((24, 24))}, 1, steps=8),
    "explain": lambda f: xc.explain(f, image(), "rise", 1, class_names=["a", "b"],
                                    params={"n_masks": 64, "mask_size": 4}),
}


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("name", list(CALLS))
def test_non_finite_scores_are_refused_by_name(name, bad):
    words = "NaN" if np.isnan(bad) else "infinite"
    with pytest.raises(ValueError, match=rf"predict returned NaN or infinite scores \({words}"):
        CALLS[name](nan_on_real_images(bad))


def test_rise_run_step_refuses_nan_and_keeps_nothing():
    run = RiseRun(nan_on_real_images(), image(), max_masks=32, mask_size=4)
    with pytest.raises(ValueError, match="NaN"):
        run.step()
    assert run.n_done == 0


@pytest.mark.parametrize("name", ["rise", "lime", "explain"])
def test_logits_are_flagged_once_in_a_warning_and_in_the_result(name):
    with pytest.warns(xc.ScoresNotProbabilitiesWarning, match="not probabilities") as seen:
        expl = CALLS[name](logits)
    assert len([w for w in seen if w.category is xc.ScoresNotProbabilitiesWarning]) == 1
    assert "outputs_logits=True" in expl.extra["scores_note"]
    assert "scores_note" in expl.record()


@pytest.mark.parametrize("name", list(CALLS))
def test_probabilities_are_not_flagged(name):
    with warnings.catch_warnings():
        warnings.simplefilter("error", xc.ScoresNotProbabilitiesWarning)
        result = CALLS[name](probabilities)
    if isinstance(result, xc.Explanation):
        assert "scores_note" not in result.extra


def test_metrics_flag_logits():
    with pytest.warns(xc.ScoresNotProbabilitiesWarning):
        CALLS["deletion"](logits)


def test_a_logit_model_loaded_with_outputs_logits_is_not_flagged(tmp_path):
    import keras

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((24, 24, 3)), keras.layers.Conv2D(4, 3),
                              keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(3)])
    path = tmp_path / "logits.keras"
    model.save(path)
    raw = xc.load_classifier(path, preprocessing="unit", engine="keras")
    soft = xc.load_classifier(path, preprocessing="unit", outputs_logits=True, engine="keras")
    with pytest.warns(xc.ScoresNotProbabilitiesWarning):
        xc.explain_rise(raw.predict, image(), 0, n_masks=32, mask_size=4)
    with warnings.catch_warnings():
        warnings.simplefilter("error", xc.ScoresNotProbabilitiesWarning)
        expl = xc.explain_rise(soft.predict, image(), 0, n_masks=32, mask_size=4)
    assert "scores_note" not in expl.extra
