"""RISE against black boxes whose right answer is known."""

from __future__ import annotations

import math
import tracemalloc

import numpy as np
import pytest

from tests.conftest import REGION, region_mask, region_predict, square_images
from xai_core import explain_rise


def test_region_model_map_peaks_and_concentrates_in_region(bright_image):
    sal = explain_rise(region_predict, bright_image, 1, n_masks=600, mask_size=8, seed=3)
    assert sal.shape == (64, 64) and sal.dtype == np.float32
    inside = region_mask()
    r, c = np.unravel_index(np.argmax(sal), sal.shape)
    assert inside[r, c], f"maximum at {(r, c)} is outside the region"
    excess = sal - np.median(sal)  # RISE maps sit on a baseline of E[score]
    excess[excess < 0] = 0
    # The region is 6% of the image: it must hold far more than its share of the excess
    # mass, and the region grown by one mask cell (RISE's resolution) 25% must hold most.
    grown = np.zeros_like(inside)
    grown[REGION[0].start - 8 : REGION[0].stop + 8, REGION[1].start - 8 : REGION[1].stop + 8] = True
    assert excess[inside].sum() / excess.sum() > 0.3
    assert excess[grown].sum() / excess.sum() > 0.6


def test_region_model_target_zero_points_away(bright_image):
    sal = explain_rise(region_predict, bright_image, 0, n_masks=600, mask_size=8, seed=3)
    assert sal[region_mask()].mean() < sal[~region_mask()].mean()


@pytest.mark.parametrize("corner", [(3, 23), (12, 4), (20, 20)])
def test_trained_cnn_map_points_at_the_square(square_cnn, corner):
    clf, _ = square_cnn
    x, _, _ = square_images(1, np.random.default_rng(7))
    img = x[0].copy()
    # remove any square the generator drew, then draw ours
    img[img == 255.0] = 60.0
    r0, c0 = corner
    img[r0 : r0 + 8, c0 : c0 + 8] = 255.0
    assert clf.predict(img)[0, 1] > 0.9
    sal = explain_rise(clf.predict, img, 1, n_masks=2000, mask_size=8, seed=0)
    r, c = np.unravel_index(np.argmax(sal), sal.shape)
    assert r0 - 1 <= r <= r0 + 8 and c0 - 1 <= c <= c0 + 8, f"max at {(r, c)}, square at {corner}"


def test_same_seed_identical_other_seed_close(bright_image):
    a = explain_rise(region_predict, bright_image, 1, n_masks=400, seed=5)
    b = explain_rise(region_predict, bright_image, 1, n_masks=400, seed=5)
    c = explain_rise(region_predict, bright_image, 1, n_masks=400, seed=6)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert np.corrcoef(a.ravel(), c.ravel())[0, 1] > 0.8


@pytest.mark.parametrize("batch_size", [1, 7, 64, 1000])
def test_map_does_not_depend_on_batch_size(bright_image, batch_size):
    ref = explain_rise(region_predict, bright_image, 1, n_masks=150, batch_size=32, seed=2)
    got = explain_rise(region_predict, bright_image, 1, n_masks=150, batch_size=batch_size, seed=2)
    np.testing.assert_allclose(got, ref, rtol=1e-6, atol=1e-7)


def test_calls_progress_and_input_untouched(bright_image):
    calls, seen = [], []

    def predict(x):
        calls.append(len(x))
        return region_predict(x)

    before = bright_image.copy()
    explain_rise(predict, bright_image, 1, n_masks=100, batch_size=32,
                 progress=lambda d, t: seen.append((d, t)))
    assert calls == [32, 32, 32, 4] and len(calls) == math.ceil(100 / 32)
    assert seen == [(32, 100), (64, 100), (96, 100), (100, 100)]
    np.testing.assert_array_equal(bright_image, before)


def test_expected_map_is_flat_for_a_constant_model(bright_image):
    # f = 1 everywhere -> S(x) = E[M(x)] / p ~= 1
    def const(x):
        return np.ones((len(x), 3), np.float32)

    sal = explain_rise(const, bright_image, 2, n_masks=2000, keep_prob=0.3, seed=1)
    assert abs(float(sal.mean()) - 1.0) < 0.05


def test_memory_is_per_batch_not_per_mask():
    img = np.full((112, 112, 3), 200.0, np.float32)
    n = 3000  # all masks at once would be 3000 * 112 * 112 * 4 B = 150 MB
    tracemalloc.start()
    explain_rise(lambda x: np.ones((len(x), 2), np.float32), img, 0, n_masks=n, batch_size=32)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 30 * 2**20, f"peak {peak / 2**20:.0f} MB"


@pytest.mark.parametrize(
    "kwargs, words",
    [
        ({"n_masks": 0}, "n_masks"),
        ({"n_masks": 20001}, "n_masks"),
        ({"n_masks": 2.5}, "whole number"),
        ({"mask_size": 1}, "mask_size"),
        ({"mask_size": 65}, "mask_size"),
        ({"keep_prob": 0.0}, "keep_prob"),
        ({"keep_prob": 1.0}, "keep_prob"),
        ({"keep_prob": "half"}, "keep_prob"),
        ({"batch_size": 0}, "batch_size"),
        ({"seed": -1}, "seed"),
    ],
)
def test_invalid_parameters_raise(bright_image, kwargs, words):
    with pytest.raises(ValueError, match=words):
        explain_rise(region_predict, bright_image, 1, **kwargs)


def test_invalid_image_target_and_predict_raise(bright_image):
    with pytest.raises(ValueError, match="RGB"):
        explain_rise(region_predict, bright_image[..., 0], 1)
    with pytest.raises(ValueError, match=r"\[0, 255\]"):
        explain_rise(region_predict, bright_image - 300.0, 1)
    with pytest.raises(ValueError, match="target"):
        explain_rise(region_predict, bright_image, 2, n_masks=10)
    with pytest.raises(ValueError, match="shape"):
        explain_rise(lambda x: np.ones(len(x)), bright_image, 0, n_masks=10)
