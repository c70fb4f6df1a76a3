"""Tests for xai_core.explainers.lime on toy classifiers whose answer is known."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from lime.lime_image import LimeImageExplainer

from xai_core.explainers.lime.explainer import (
    HIDE_COLORS,
    LimeResult,
    _BatchedLimeImageExplainer,
    explain_lime,
    hidden_image,
)
from xai_core.explainers.lime.segmentation import clear_segment_cache, segment, segment_cache_info

SIZE = 64
SQUARE = (slice(16, 32), slice(16, 32))  # the region class 1 looks at
OTHER = (slice(40, 56), slice(40, 56))  # a region that lowers class 1 in `push_pull_model`


def square_model(images: np.ndarray) -> np.ndarray:
    """Class 1: mean brightness inside SQUARE (in [0, 1]); class 0: one minus that."""
    p = images[:, SQUARE[0], SQUARE[1]].mean(axis=(1, 2, 3)) / 255.0
    return np.stack([1.0 - p, p], axis=1).astype(np.float32)


def push_pull_model(images: np.ndarray) -> np.ndarray:
    """Class 1 rises with the brightness of SQUARE and falls with that of OTHER."""
    a = images[:, SQUARE[0], SQUARE[1]].mean(axis=(1, 2, 3)) / 255.0
    b = images[:, OTHER[0], OTHER[1]].mean(axis=(1, 2, 3)) / 255.0
    p = 0.5 + 0.25 * (a - b)
    return np.stack([1.0 - p, p], axis=1).astype(np.float32)


def five_class_model(images: np.ndarray) -> np.ndarray:
    """Five classes; class 4 is always the least likely, and driven by SQUARE."""
    a = images[:, SQUARE[0], SQUARE[1]].mean(axis=(1, 2, 3)) / 255.0
    p4 = 0.01 * a
    rest = (1.0 - p4)[:, None] * np.array([[0.4, 0.3, 0.2, 0.1]])
    return np.concatenate([rest, p4[:, None]], axis=1).astype(np.float32)


def square_image(seed: int = 0) -> np.ndarray:
    """Dark noisy background, bright noisy SQUARE and OTHER: float32 (64, 64, 3) in [0, 255]."""
    rng = np.random.default_rng(seed)
    img = rng.uniform(0, 40, (SIZE, SIZE, 3))
    img[SQUARE] = rng.uniform(190, 255, (16, 16, 3))
    img[OTHER] = rng.uniform(190, 255, (16, 16, 3))
    return img.astype(np.float32)


FAST = {"num_samples": 150, "segmentation": "slic", "hide_color": "black"}


class Recorder:
    """A predict function that remembers every batch it is given."""

    def __init__(self, model=square_model):
        self.model = model
        self.batches: list[np.ndarray] = []

    def __call__(self, images: np.ndarray) -> np.ndarray:
        self.batches.append(np.array(images, copy=True))
        return self.model(images)

    @property
    def images(self) -> np.ndarray:
        return np.concatenate(self.batches)


@pytest.fixture(autouse=True)
def _empty_cache():
    clear_segment_cache()
    yield
    clear_segment_cache()


def inside_fraction(segments: np.ndarray, seg_id: int, region: tuple[slice, slice]) -> float:
    mask = np.zeros(segments.shape, bool)
    mask[region] = True
    return float(mask[segments == seg_id].mean())


@pytest.mark.parametrize("segmentation", ["slic", "quickshift", "felzenszwalb"])
def test_map_peaks_in_the_region_the_model_looks_at(segmentation):
    img = square_image()
    res = explain_lime(
        square_model, img, 1, num_samples=300, hide_color="black", segmentation=segmentation
    )
    assert isinstance(res, LimeResult)
    assert res.saliency.shape == (SIZE, SIZE) and res.saliency.dtype == np.float32
    # the maximum of the map lies in the square
    assert res.saliency[SQUARE].max() == res.saliency.max() > 0
    # the model is linear in the superpixels, so each weight is known: hiding superpixel s
    # (painting it black) lowers class 1 by the brightness of s inside the square.
    seg = res.extra["segments"]
    truth = np.array([img[SQUARE][seg[SQUARE] == s].sum() for s in range(res.extra["num_segments"])]) / (
        16 * 16 * 3 * 255
    )
    weights = np.array([res.extra["weights"][s] for s in range(res.extra["num_segments"])])
    np.testing.assert_allclose(weights, truth, atol=0.05)  # ridge shrinks a little
    assert np.corrcoef(weights, truth)[0, 1] > 0.99
    assert next(iter(res.extra["weights"])) == np.argmax(truth)  # the largest weight is the right one
    # the linear model is near exact, and agrees with the classifier on the image
    assert res.extra["lime_score_r2"] > 0.95
    assert res.probability == pytest.approx(float(square_model(img[None])[0, 1]))
    assert res.extra["lime_local_prediction"] == pytest.approx(res.probability, abs=0.05)


def test_class_0_gets_the_opposite_sign():
    img = square_image()
    r1 = explain_lime(square_model, img, 1, **FAST)
    r0 = explain_lime(square_model, img, 0, **FAST)
    np.testing.assert_allclose(r0.saliency, -r1.saliency, atol=1e-4)


def test_same_seed_gives_identical_result():
    img = square_image()
    a = explain_lime(square_model, img, 1, num_samples=120, seed=7)
    b = explain_lime(square_model, img, 1, num_samples=120, seed=7)
    np.testing.assert_array_equal(a.saliency, b.saliency)
    np.testing.assert_array_equal(a.extra["segments"], b.extra["segments"])
    assert a.extra["weights"] == b.extra["weights"]
    assert (a.extra["lime_intercept"], a.extra["lime_score_r2"], a.extra["lime_local_prediction"]) == (b.extra["lime_intercept"], b.extra["lime_score_r2"], b.extra["lime_local_prediction"])


def test_same_seed_identical_even_after_the_cache_is_cleared():
    img = square_image()
    a = explain_lime(push_pull_model, img, 1, num_samples=120, seed=3)
    clear_segment_cache()
    b = explain_lime(push_pull_model, img, 1, num_samples=120, seed=3)
    np.testing.assert_array_equal(a.saliency, b.saliency)


def test_different_seed_gives_different_but_correlated_result():
    img = square_image()
    a = explain_lime(push_pull_model, img, 1, **FAST, seed=1)
    b = explain_lime(push_pull_model, img, 1, **FAST, seed=2)
    assert not np.array_equal(a.saliency, b.saliency)
    r = np.corrcoef(a.saliency.ravel(), b.saliency.ravel())[0, 1]
    assert r > 0.9


def test_matches_stock_lime_with_the_same_seed():
    """The batched sampling draws what lime draws: same local model as lime's own loop."""
    img = square_image()
    res = explain_lime(push_pull_model, img, 1, num_samples=100, seed=5)
    seg = segment(img, "quickshift", seed=5)
    stock = LimeImageExplainer(random_state=5).explain_instance(
        img,
        push_pull_model,
        labels=(1,),
        top_labels=None,
        hide_color=None,
        num_samples=100,
        batch_size=32,
        segmentation_fn=lambda _image: seg,
        random_seed=5,
    )
    expected = {int(s): float(w) for s, w in stock.local_exp[1]}
    assert res.extra["weights"].keys() == expected.keys()
    np.testing.assert_allclose(
        [res.extra["weights"][s] for s in expected], list(expected.values()), rtol=1e-5, atol=1e-7
    )
    assert res.extra["lime_score_r2"] == pytest.approx(stock.score, rel=1e-5)


def test_batched_data_labels_equal_lime_s_loop():
    img = square_image()
    seg = segment(img, "quickshift")
    fudged = hidden_image(img, seg, "blur")
    stock_rec, fast_rec = Recorder(), Recorder()
    d1, l1 = LimeImageExplainer(random_state=4).data_labels(img, fudged, seg, stock_rec, 40, 7)
    d2, l2 = _BatchedLimeImageExplainer(random_state=4).data_labels(
        img, fudged, seg, fast_rec, 40, 7
    )
    np.testing.assert_array_equal(d1, d2)
    np.testing.assert_array_equal(l1, l2)
    assert [b.shape for b in stock_rec.batches] == [b.shape for b in fast_rec.batches]
    np.testing.assert_array_equal(stock_rec.images, fast_rec.images)
    assert fast_rec.batches[0].dtype == np.float32


def test_target_outside_the_top_labels():
    img = square_image()
    assert np.argmin(five_class_model(img[None])[0]) == 4
    res = explain_lime(five_class_model, img, 4, **FAST)
    assert res.target == 4
    y, x = np.unravel_index(np.argmax(res.saliency), res.saliency.shape)
    assert 16 <= y < 32 and 16 <= x < 32
    assert res.probability == pytest.approx(float(five_class_model(img[None])[0, 4]))


def _expected_hidden(mode, img: np.ndarray, res: LimeResult) -> np.ndarray:
    """What a hidden pixel should show, computed here independently of the module."""
    if mode == "mean":
        out = np.empty_like(img)
        for s in np.unique(res.extra["segments"]):
            out[res.extra["segments"] == s] = img[res.extra["segments"] == s].mean(axis=0)
        return out
    if mode == "blur":
        sigma = res.params["blur_sigma"]
        assert sigma == pytest.approx(SIZE / 20)
        return cv2.GaussianBlur(img, (0, 0), sigmaX=sigma, sigmaY=sigma)
    rgb = HIDE_COLORS[mode] if isinstance(mode, str) else mode
    return np.broadcast_to(np.asarray(rgb, np.float32), img.shape)


@pytest.mark.parametrize("mode", ["mean", "blur", "black", "grey", (10.0, 120.0, 250.0)])
def test_hide_color_changes_what_the_model_sees(mode):
    img = square_image()
    rec = Recorder()
    res = explain_lime(rec, img, 1, num_samples=60, hide_color=mode, segmentation="slic")
    seen = rec.images
    assert seen.shape == (60, SIZE, SIZE, 3) and seen.dtype == np.float32
    np.testing.assert_array_equal(seen[0], img)  # the first sample is the image itself
    expected = _expected_hidden(mode, img, res)
    shown = np.all(seen == img, axis=-1)  # (N, H, W)
    hidden = np.all(np.isclose(seen, expected, atol=1e-3), axis=-1)
    assert np.all(shown | hidden)  # every pixel is the original or the hiding value
    assert (~shown).mean() > 0.3  # and about half the superpixels were hidden
    # superpixels are hidden whole
    distinct = ~np.all(np.isclose(img, expected, atol=1e-3), axis=-1)
    for s in range(res.extra["num_segments"]):
        in_s = (res.extra["segments"] == s) & distinct
        if in_s.any():
            state = shown[:, in_s]
            assert np.all(state == state[:, :1])
    if mode in ("mean", "blur"):
        assert res.params["hide_color"] == mode
    else:
        rgb = HIDE_COLORS[mode] if isinstance(mode, str) else mode
        assert res.params["hide_color"] == [float(c) for c in rgb]


@pytest.mark.parametrize(
    ("spelling", "rgb"),
    [
        ("Gray", (128, 128, 128)),
        ("#0A141E", (10, 20, 30)),
        (64, (64, 64, 64)),
        ([1, 2, 3], (1, 2, 3)),
    ],
)
def test_other_colour_spellings(spelling, rgb):
    img = square_image()
    seg = segment(img, "slic")
    out = hidden_image(img, seg, spelling)
    np.testing.assert_array_equal(out, np.broadcast_to(np.float32(rgb), img.shape))


def test_hide_color_mean_matches_lime_s_own_mean():
    img = square_image()
    seg = segment(img, "quickshift")
    ours = hidden_image(img, seg, "mean")
    lime_s = img.copy()
    for x in np.unique(seg):
        lime_s[seg == x] = img[seg == x].mean(axis=0)
    np.testing.assert_allclose(ours, lime_s, atol=1e-3)


def test_positive_only_zeroes_negative_weights():
    img = square_image()
    full = explain_lime(push_pull_model, img, 1, **FAST)
    pos = explain_lime(push_pull_model, img, 1, **FAST, positive_only=True)
    assert full.saliency.min() < 0  # OTHER lowers class 1
    y, x = np.unravel_index(np.argmin(full.saliency), full.saliency.shape)
    assert 40 <= y < 56 and 40 <= x < 56
    assert pos.saliency.min() >= 0
    np.testing.assert_array_equal(pos.saliency, np.maximum(full.saliency, 0))
    assert pos.extra["weights"] == full.extra["weights"]  # the local model itself is unchanged


@pytest.mark.parametrize("k", [1, 3, 10])
def test_num_features_limits_non_zero_segments(k):
    img = square_image()
    res = explain_lime(push_pull_model, img, 1, **FAST, num_features=k)
    assert len(res.extra["weights"]) == k
    nonzero = np.unique(res.extra["segments"][res.saliency != 0])
    assert 1 <= len(nonzero) <= k
    assert set(nonzero.tolist()) <= set(res.extra["weights"])
    # the weights are ordered by decreasing magnitude
    mags = [abs(w) for w in res.extra["weights"].values()]
    assert mags == sorted(mags, reverse=True)
    if k == 1:  # the one superpixel kept is in the square or OTHER, the two that matter
        (s,) = res.extra["weights"]
        assert max(inside_fraction(res.extra["segments"], s, r) for r in (SQUARE, OTHER)) > 0.5


@pytest.mark.parametrize("batch_size", [1, 7, 32, 500])
def test_batch_size_does_not_change_the_result(batch_size):
    img = square_image()
    ref = explain_lime(push_pull_model, img, 1, **FAST, batch_size=32)
    rec = Recorder(push_pull_model)
    res = explain_lime(rec, img, 1, **FAST, batch_size=batch_size)
    np.testing.assert_array_equal(res.saliency, ref.saliency)
    assert res.extra["weights"] == ref.extra["weights"]
    assert max(len(b) for b in rec.batches) == min(batch_size, FAST["num_samples"])


def test_progress_reports_samples_evaluated():
    calls = []
    explain_lime(
        square_model,
        square_image(),
        1,
        **FAST,
        batch_size=40,
        progress=lambda done, total: calls.append((done, total)),
    )
    assert calls == [(40, 150), (80, 150), (120, 150), (150, 150)]


def test_segmentation_is_cached_and_shared_with_segment():
    img = square_image()
    params = {"n_segments": 20}
    a = explain_lime(square_model, img, 1, **FAST, segmentation_params=params)
    misses = segment_cache_info()["misses"]
    b = explain_lime(square_model, img, 0, **FAST, segmentation_params=params, seed=9)
    assert segment_cache_info()["misses"] == misses  # slic is not seeded: same entry
    np.testing.assert_array_equal(a.extra["segments"], b.extra["segments"])
    np.testing.assert_array_equal(a.extra["segments"], segment(img, "slic", params))
    assert a.params["segmentation_params"] == {"n_segments": 20, "compactness": 10.0, "sigma": 1.0}


def test_result_is_read_only_and_params_are_json():
    img = square_image()
    before = img.copy()
    res = explain_lime(square_model, img, 1, **FAST)
    np.testing.assert_array_equal(img, before)  # the caller's image is untouched
    with pytest.raises(ValueError):
        res.saliency[0, 0] = 1
    with pytest.raises(ValueError):
        res.extra["segments"][0, 0] = 1
    with pytest.raises(AttributeError):
        res.target = 0  # type: ignore[misc]
    params = json.loads(json.dumps(res.params))
    assert params["num_samples"] == 150 and params["seed"] == 0
    assert params["segmentation"] == "slic" and params["hide_color"] == [0.0, 0.0, 0.0]
    assert params["num_segments"] == res.extra["num_segments"]
    assert all(isinstance(s, int) and isinstance(w, float) for s, w in res.extra["weights"].items())
    # each pixel carries its superpixel's weight
    for s, w in res.extra["weights"].items():
        np.testing.assert_allclose(res.saliency[res.extra["segments"] == s], w, rtol=1e-6)


def test_uint8_image_is_accepted():
    img = square_image()
    a = explain_lime(square_model, np.round(img).astype(np.uint8), 1, **FAST)
    b = explain_lime(square_model, np.round(img), 1, **FAST)
    np.testing.assert_array_equal(a.saliency, b.saliency)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"num_samples": 5}, "num_samples must be between 10 and 20000; got 5"),
        ({"num_samples": 20001}, "num_samples must be between 10 and 20000"),
        ({"num_samples": 100.0}, "num_samples must be a whole number"),
        ({"num_features": 0}, "num_features must be at least 1"),
        ({"batch_size": 0}, "batch_size must be between 1 and 1024"),
        ({"seed": -1}, "seed must be between 0 and"),
        ({"seed": None}, "seed must be a whole number"),
        ({"target": -1}, "target must be at least 0"),
        ({"target": 2}, r"target must be a class index between 0 and 1 \(the model returns 2"),
        ({"target": "cat"}, "target must be a whole number"),
        ({"hide_color": "purple"}, "hide_color must be 'mean', 'blur', a colour name"),
        ({"hide_color": (0, 0)}, "hide_color must be"),
        ({"hide_color": (0, 0, 300)}, "hide_color must be"),
        ({"hide_color": None}, "hide_color must be"),
        ({"hide_color": True}, "hide_color must be"),
        ({"segmentation": "watershed"}, "segmentation must be one of 'quickshift', 'slic'"),
        ({"segmentation_params": {"kernel": 3}}, "'kernel' is not a parameter of quickshift"),
        ({"positive_only": "yes"}, "positive_only must be True or False"),
    ],
)
def test_invalid_parameters_raise_value_error(kwargs, message):
    args = {"target": 1, "num_samples": 20, **kwargs}
    with pytest.raises(ValueError, match=message):
        explain_lime(square_model, square_image(), **args)


@pytest.mark.parametrize(
    "image", [np.zeros((64, 64)), np.zeros((64, 64, 4)), np.full((64, 64, 3), -1.0)]
)
def test_invalid_image_raises_value_error(image):
    with pytest.raises(ValueError, match=r"image|pixel values"):
        explain_lime(square_model, image, 1, num_samples=20)


@pytest.mark.parametrize(
    ("predict", "message"),
    [
        (lambda x: square_model(x)[:, 1], r"shape \(n_images, n_classes\)"),
        (lambda x: np.concatenate([square_model(x), square_model(x[:1])]), "for 20 images"),
        (lambda x: square_model(x) * np.nan, "NaN or infinite"),
        (lambda x: square_model(x) if len(x) == 20 else square_model(x)[:, :1], "1 classes"),
    ],
)
def test_wrong_predict_output_raises_value_error(predict, message):
    with pytest.raises(ValueError, match=message):
        explain_lime(
            predict,
            square_image(),
            1,
            num_samples=30,
            batch_size=20,
            segmentation="slic",
            hide_color="black",
        )


def test_anytime_lime_stops_before_the_cap_on_an_easy_model():
    img = square_image()
    res = explain_lime(push_pull_model, img, 1, num_samples=3000, segmentation="slic",
                       hide_color="black", seed=2, stop_at_r=0.95)
    assert res.extra["stopped"] == "auto" and res.forward_passes < 3000
    assert res.extra["samples_used"] == res.forward_passes and res.forward_passes % 32 == 0
    assert res.extra["r_bound"] >= 0.95
    assert res.extra["budget_note"].startswith(f"stopped at {res.forward_passes} samples")
    # the stopped map is lime's fit on the samples used: the map of a shorter run
    short = explain_lime(push_pull_model, img, 1, num_samples=res.forward_passes,
                         segmentation="slic", hide_color="black", seed=2)
    np.testing.assert_allclose(res.saliency, short.saliency, rtol=1e-6, atol=1e-9)
    # and it correlates with a large-sample LIME of the same segmentation
    big = explain_lime(push_pull_model, img, 1, num_samples=6000, segmentation="slic",
                       hide_color="black", seed=2)
    assert np.corrcoef(res.saliency.ravel(), big.saliency.ravel())[0, 1] >= 0.95


def test_anytime_lime_previews_and_is_reproducible():
    img = square_image()
    frames: list = []
    kw = {"num_samples": 200, "segmentation": "slic", "hide_color": "black", "seed": 4}
    a = explain_lime(push_pull_model, img, 1, **kw, on_frame=frames.append)
    b = explain_lime(push_pull_model, img, 1, **kw)
    np.testing.assert_array_equal(a.saliency, b.saliency)
    assert [f.n_samples for f in frames] == [32, 64, 96, 128, 160, 192, 200]
    np.testing.assert_allclose(frames[-1].saliency, a.saliency, rtol=1e-6, atol=1e-9)
    assert a.extra["stopped"] == "fixed" and a.forward_passes == 200


@pytest.mark.parametrize("bad", [0.0, 1.0, 2, "0.9", False])
def test_lime_bad_stop_at_r_raises(bad):
    with pytest.raises(ValueError, match="stop_at_r"):
        explain_lime(push_pull_model, square_image(), 1, **FAST, stop_at_r=bad)
