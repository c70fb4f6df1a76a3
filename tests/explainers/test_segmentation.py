"""Tests for xai_core.explainers.lime.segmentation: sane labels, the cache, parameter checks."""

from __future__ import annotations

import json

import numpy as np
import pytest

from xai_core.explainers.lime import segmentation
from xai_core.explainers.lime.segmentation import (
    SEGMENTATION_METHODS,
    clear_segment_cache,
    segment,
    segment_cache_info,
    segmentation_defaults,
)


def textured_image(size: int = 64, seed: int = 0) -> np.ndarray:
    """Four flat colour quadrants with a little noise: float32 (size, size, 3) in [0, 255]."""
    rng = np.random.default_rng(seed)
    img = np.zeros((size, size, 3), np.float32)
    h = size // 2
    img[:h, :h] = (220, 40, 40)
    img[:h, h:] = (40, 200, 40)
    img[h:, :h] = (40, 40, 210)
    img[h:, h:] = (230, 230, 60)
    img += rng.uniform(-15, 15, img.shape).astype(np.float32)
    return np.clip(img, 0, 255)


@pytest.fixture(autouse=True)
def _empty_cache():
    clear_segment_cache()
    yield
    clear_segment_cache()


@pytest.fixture
def counted(monkeypatch):
    """Count the calls that reach each scikit-image algorithm."""
    calls = {m: 0 for m in SEGMENTATION_METHODS}
    for method in SEGMENTATION_METHODS:
        original = segmentation._ALGORITHMS[method]

        def wrapper(image, params, seed, _original=original, _method=method):
            calls[_method] += 1
            return _original(image, params, seed)

        monkeypatch.setitem(segmentation._ALGORITHMS, method, wrapper)
    return calls


@pytest.mark.parametrize("method", SEGMENTATION_METHODS)
def test_each_method_gives_a_sane_segmentation(method):
    img = textured_image()
    labels = segment(img, method)
    assert labels.shape == (64, 64)
    assert labels.dtype == np.int32
    n = labels.max() + 1
    assert n > 1
    # every pixel labelled, labels numbered 0 .. n-1 without gaps (what lime assumes)
    np.testing.assert_array_equal(np.unique(labels), np.arange(n))
    # the four quadrants have different colours: superpixels should follow them, so
    # (nearly) every pixel lies in the quadrant where most of its superpixel lies
    quadrant = np.zeros((64, 64), int)
    quadrant[:32, 32:], quadrant[32:, :32], quadrant[32:, 32:] = 1, 2, 3
    majority = np.array([np.bincount(quadrant[labels == s]).argmax() for s in range(n)])
    assert np.mean(majority[labels] == quadrant) > 0.95


def test_defaults_are_lime_s_for_quickshift_and_copies():
    assert segmentation_defaults("quickshift") == {"kernel_size": 4, "max_dist": 200, "ratio": 0.2}
    d = segmentation_defaults("slic")
    d["n_segments"] = 3
    assert segmentation_defaults("slic")["n_segments"] != 3
    for method in SEGMENTATION_METHODS:
        json.dumps(segmentation_defaults(method))


def test_params_change_the_segmentation():
    img = textured_image()
    few = segment(img, "slic", {"n_segments": 4})
    many = segment(img, "slic", {"n_segments": 64})
    assert few.max() + 1 < many.max() + 1


def test_cache_returns_same_result_without_recomputing(counted):
    img = textured_image()
    first = segment(img, "quickshift", {"kernel_size": 3}, seed=1)
    second = segment(img.copy(), "quickshift", {"kernel_size": 3}, seed=1)
    np.testing.assert_array_equal(first, second)
    assert counted["quickshift"] == 1
    info = segment_cache_info()
    assert (info["hits"], info["misses"], info["size"]) == (1, 1, 1)


def test_cache_key_includes_image_method_params_and_seed(counted):
    img = textured_image()
    segment(img, "quickshift")
    segment(img, "quickshift", seed=1)  # quickshift is seeded
    segment(img, "quickshift", {"ratio": 0.5})
    segment(textured_image(seed=1), "quickshift")
    assert counted["quickshift"] == 4
    segment(img, "slic")
    segment(img, "slic", seed=5)  # slic is deterministic: the seed does not matter
    assert counted["slic"] == 1


def test_defaults_given_explicitly_hit_the_cache(counted):
    img = textured_image()
    segment(img, "felzenszwalb")
    segment(img, "FELZENSZWALB", segmentation_defaults("felzenszwalb"))
    segment(img.astype(np.uint8).astype(np.float32), "felzenszwalb")  # other pixels: a miss
    assert counted["felzenszwalb"] == 2


def test_uint8_and_float_images_share_the_cache(counted):
    img = np.round(textured_image())
    a = segment(img.astype(np.uint8), "slic")
    b = segment(img.astype(np.float32), "slic")
    np.testing.assert_array_equal(a, b)
    assert counted["slic"] == 1


def test_callers_cannot_corrupt_the_cache():
    img = textured_image()
    first = segment(img, "slic")
    expected = first.copy()
    first[:] = 99
    np.testing.assert_array_equal(segment(img, "slic"), expected)


def test_cache_is_bounded():
    maxsize = segment_cache_info()["maxsize"]
    img = textured_image(16)
    for n in range(maxsize + 5):
        segment(img, "slic", {"n_segments": n + 2})
    assert segment_cache_info()["size"] == maxsize


def test_least_recently_used_entry_is_evicted(counted):
    maxsize = segment_cache_info()["maxsize"]
    img = textured_image(16)
    segment(img, "slic", {"n_segments": 2})
    for n in range(3, maxsize + 2):  # maxsize - 1 other entries, touching the first in between
        segment(img, "slic", {"n_segments": 2})
        segment(img, "slic", {"n_segments": n})
    segment(img, "slic", {"n_segments": 500})  # evicts n_segments=3, not 2
    before = counted["slic"]
    segment(img, "slic", {"n_segments": 2})
    assert counted["slic"] == before
    segment(img, "slic", {"n_segments": 3})
    assert counted["slic"] == before + 1


def test_quickshift_seed_is_reproducible():
    img = textured_image()
    a = segment(img, "quickshift", seed=3)
    clear_segment_cache()
    b = segment(img, "quickshift", seed=3)
    np.testing.assert_array_equal(a, b)


def test_image_is_not_modified():
    img = textured_image()
    before = img.copy()
    segment(img, "quickshift")
    np.testing.assert_array_equal(img, before)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"method": "watershed"},
            "segmentation must be one of 'quickshift', 'slic', 'felzenszwalb'",
        ),
        ({"method": None}, "segmentation must be one of"),
        ({"params": {"n_segment": 10}}, "'n_segment' is not a parameter of quickshift"),
        ({"method": "slic", "params": {"kernel_size": 3}}, "allowed: n_segments"),
        ({"params": {"ratio": "high"}}, "must be a finite number or a boolean"),
        ({"params": {"ratio": float("nan")}}, "must be a finite number or a boolean"),
        ({"params": [("ratio", 0.5)]}, "segmentation_params must be a dict"),
        ({"params": {"kernel_size": 0}}, "quickshift segmentation failed"),
        ({"method": "felzenszwalb", "params": {"sigma": -1}}, "felzenszwalb segmentation failed"),
        ({"seed": -1}, "seed must be between 0 and"),
    ],
)
def test_invalid_arguments_raise_value_error(kwargs, message):
    with pytest.raises(ValueError, match=message):
        segment(textured_image(16), **kwargs)


@pytest.mark.parametrize(
    "image",
    [np.zeros((16, 16)), np.zeros((16, 16, 4)), np.full((16, 16, 3), 300.0), np.zeros((1, 16, 3))],
)
def test_invalid_images_raise_value_error(image):
    with pytest.raises(ValueError):
        segment(image)


def test_numpy_scalars_are_accepted_as_params():
    labels = segment(
        textured_image(), "slic", {"n_segments": np.int64(8), "compactness": np.float32(5)}
    )
    assert labels.max() + 1 > 1
