"""Deletion / insertion / pointing game on analytic models with answers known in advance."""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import REGION, region_mask
from xai_core.metrics import (
    auc_table,
    center_saliency,
    deletion_curve,
    faithfulness,
    insertion_curve,
    pointing_game,
    random_saliency,
    saliency_order,
    substrate_image,
)


def mean_model(x: np.ndarray) -> np.ndarray:
    """Score = mean brightness in [0, 1]; class 0 is the rest."""
    s = np.asarray(x, np.float64).mean(axis=(1, 2, 3)) / 255.0
    return np.stack([1 - s, s], axis=1)


@pytest.fixture()
def half_bright() -> np.ndarray:
    img = np.zeros((64, 64, 3), np.float32)
    img[:, :32] = 255.0  # left half white: mean score 0.5
    return img


def test_deletion_auc_follows_the_order_on_a_mean_model(half_bright):
    good = half_bright[..., 0]  # saliency = brightness: white pixels go first
    curve = deletion_curve(mean_model, half_bright, good, 1, steps=64)
    # the score falls linearly from 0.5 to 0 over the first half, then stays 0
    assert curve.fractions[0] == 0 and curve.fractions[-1] == 1 and len(curve.scores) == 65
    assert curve.scores[0] == pytest.approx(0.5) and curve.scores[32] == pytest.approx(0.0)
    assert curve.auc == pytest.approx(0.125, abs=1e-9)
    bad = deletion_curve(mean_model, half_bright, 255.0 - good, 1, steps=64)
    assert bad.auc == pytest.approx(0.375, abs=1e-9)  # flat at 0.5, then down


def test_insertion_auc_follows_the_order_on_a_mean_model(half_bright):
    good = half_bright[..., 0]
    curve = insertion_curve(mean_model, half_bright, good, 1, steps=64, substrate="black")
    assert curve.scores[0] == pytest.approx(0.0) and curve.scores[-1] == pytest.approx(0.5)
    assert curve.auc == pytest.approx(0.375, abs=1e-9)
    bad = insertion_curve(mean_model, half_bright, -good, 1, steps=64, substrate="black")
    assert bad.auc == pytest.approx(0.125, abs=1e-9)


def collapse_model(x: np.ndarray) -> np.ndarray:
    """Score 1 while every pixel of REGION is intact (bright), 0 once any is gone."""
    intact = (np.asarray(x)[:, REGION[0], REGION[1], :] > 150).all(axis=(1, 2, 3))
    s = intact.astype(np.float64)
    return np.stack([1 - s, s], axis=1)


def test_perfect_map_beats_the_baselines_on_a_collapse_model(bright_image):
    perfect = region_mask().astype(np.float32)
    rand = random_saliency((64, 64), seed=1)
    ins_perfect = insertion_curve(collapse_model, bright_image, perfect, 1, steps=64,
                                  substrate="black")
    ins_random = insertion_curve(collapse_model, bright_image, rand, 1, steps=64,
                                 substrate="black")
    # region = 256 px = 4 steps: the score is 1 from step 4 on
    assert ins_perfect.auc == pytest.approx((60 + 0.5) / 64, abs=1e-9)
    assert ins_random.auc < 0.2 < ins_perfect.auc
    results = faithfulness(collapse_model, bright_image, {"perfect": perfect}, 1, steps=32,
                           insertion_substrate="black")
    assert set(results) == {"perfect", "random baseline", "centre baseline"}
    table = {r["map"]: r for r in auc_table(results)}
    assert table["perfect"]["insertion_auc"] > table["random baseline"]["insertion_auc"]
    assert table["perfect"]["insertion_auc"] > table["centre baseline"]["insertion_auc"]
    assert table["perfect"]["deletion_auc"] <= table["random baseline"]["deletion_auc"]
    assert table["perfect"]["deletion_auc"] < table["centre baseline"]["deletion_auc"]


@pytest.mark.parametrize("batch_size", [1, 5, 100])
def test_batching_does_not_change_the_curve(half_bright, batch_size):
    sal = random_saliency((64, 64), seed=3)
    ref = deletion_curve(mean_model, half_bright, sal, 1, steps=20, batch_size=32)
    got = deletion_curve(mean_model, half_bright, sal, 1, steps=20, batch_size=batch_size)
    np.testing.assert_allclose(got.scores, ref.scores)


def test_ties_are_broken_by_the_seed_not_by_position(half_bright):
    flat = np.zeros((64, 64), np.float32)
    a = deletion_curve(mean_model, half_bright, flat, 1, steps=16, seed=0)
    b = deletion_curve(mean_model, half_bright, flat, 1, steps=16, seed=0)
    c = deletion_curve(mean_model, half_bright, flat, 1, steps=16, seed=1)
    np.testing.assert_array_equal(a.scores, b.scores)
    assert not np.array_equal(a.scores, c.scores)
    # in random order, white and black pixels go at the same rate: the score falls linearly
    # from 0.5 to 0 (raster order would delete the white left half first: AUC 0.125)
    assert a.auc == pytest.approx(0.25, abs=0.02)
    order = saliency_order(flat, seed=0)
    assert not np.array_equal(order[:100], np.arange(100))


def test_substrates(half_bright):
    assert substrate_image(half_bright, "black").max() == 0
    blur = substrate_image(half_bright, "blur")
    assert blur.shape == half_bright.shape and 0 < blur[:, 30:34].mean() < 255
    assert blur[:, :20].mean() > 250 and blur[:, 44:].mean() < 5
    mean = substrate_image(half_bright, "mean")
    np.testing.assert_allclose(mean, 127.5)
    with pytest.raises(ValueError, match="substrate"):
        substrate_image(half_bright, "purple")
    with pytest.raises(ValueError, match="shape"):
        substrate_image(half_bright, np.zeros((8, 8, 3), np.float32))


def test_pointing_game_hits_misses_and_tolerance():
    region = np.zeros((64, 64), bool)
    region[20:30, 20:30] = True
    sal = np.zeros((64, 64))
    sal[25, 25] = 1
    assert pointing_game(sal, region)
    sal = np.zeros((64, 64))
    sal[25, 40] = 1  # 11 px right of the region
    assert pointing_game(sal, region, tolerance=15)
    assert not pointing_game(sal, region, tolerance=5)
    sal = np.zeros((64, 64))
    sal[60, 60] = 1
    assert not pointing_game(sal, region)
    # ties: one maximal pixel is drawn with the seed, so a flat map hits only by chance
    flat_hits = [pointing_game(np.ones((64, 64)), region, tolerance=0, seed=s) for s in range(200)]
    assert 0 < sum(flat_hits) < 30  # the region is 100 / 4096 of the image
    half = np.zeros((64, 64))
    half[22:28, 25:40] = 1  # a superpixel-like block, half on the object
    results = {pointing_game(half, region, tolerance=0, seed=s) for s in range(20)}
    assert results == {True, False}
    with pytest.raises(ValueError, match="empty"):
        pointing_game(sal, np.zeros((64, 64), bool))
    with pytest.raises(ValueError, match="shape"):
        pointing_game(sal, region[:10])


def test_baselines():
    c = center_saliency((40, 60))
    assert c.shape == (40, 60) and c.dtype == np.float32
    r, col = np.unravel_index(c.argmax(), c.shape)
    assert abs(r - 19.5) <= 1 and abs(col - 29.5) <= 1
    rnd = random_saliency((40, 60), seed=2)
    np.testing.assert_array_equal(rnd, random_saliency((40, 60), seed=2))


def test_bad_input(half_bright):
    sal = np.zeros((64, 64))
    with pytest.raises(ValueError, match="size"):
        deletion_curve(mean_model, half_bright, sal[:10], 1)
    with pytest.raises(ValueError, match="steps"):
        deletion_curve(mean_model, half_bright, sal, 1, steps=0)
    with pytest.raises(ValueError, match="target"):
        deletion_curve(mean_model, half_bright, sal, 5, steps=4)
    with pytest.raises(ValueError, match="NaN"):
        deletion_curve(mean_model, half_bright, sal + np.nan, 1)


# --- protocols: "lab" and "rise-reference" ----------------------------------------------


def test_lab_protocol_is_the_curves_with_their_defaults(half_bright):
    from xai_core.metrics import causal_curves

    sal = half_bright[..., 0] + np.arange(64)[None, :]
    curves = causal_curves(mean_model, half_bright, sal, 1, protocol="lab", seed=3)
    assert curves["deletion"].auc == deletion_curve(mean_model, half_bright, sal, 1, seed=3).auc
    assert curves["insertion"].auc == insertion_curve(mean_model, half_bright, sal, 1, seed=3).auc


def test_rise_reference_hides_with_the_zero_colour_224_pixels_per_step(half_bright):
    from xai_core.metrics import causal_curves

    grey = (127.0, 127.0, 127.0)
    curves = causal_curves(mean_model, half_bright, half_bright[..., 0], 1,
                           protocol="rise-reference", zero_colour=grey)
    dele, ins = curves["deletion"], curves["insertion"]
    assert len(dele.scores) == int(np.ceil(64 * 64 / 224)) + 1  # 224 pixels per step
    assert np.diff(dele.fractions)[:-1] == pytest.approx(224 / 4096)
    # everything hidden: the image is the zero colour, not black
    assert dele.scores[-1] == pytest.approx(127 / 255, abs=1e-6)
    assert ins.scores[-1] == pytest.approx(0.5, abs=1e-6)
    # hiding the bright half first makes the mean fall, to grey
    assert dele.scores[0] > dele.scores[len(dele.scores) // 3]


def test_reference_blur_is_fixed_size_and_zero_padded():
    from xai_core.metrics import reference_blur

    flat = np.full((40, 40, 3), 200.0, np.float32)
    same = reference_blur(flat, (200.0, 200.0, 200.0))
    assert np.allclose(same, 200.0)  # the zero colour padding a zero-colour image: no change
    out = reference_blur(flat, (0.0, 0.0, 0.0))
    assert np.allclose(out[15:25, 15:25], 200.0, atol=1e-3)  # interior: a flat image stays flat
    assert out[0, 0, 0] < 100.0  # a corner fades towards the zero colour (zero padding)
    assert out.min() >= 0.0 and out.max() <= 255.0


def _authors_gkern(klen: int, nsig: float) -> np.ndarray:
    """The RISE authors' ``gkern`` (evaluation.py of github.com/eclique/RISE), transcribed:
    an impulse in the middle of a klen x klen array, smoothed by scipy's gaussian_filter
    (its defaults: mode="reflect", truncate=4)."""
    from scipy.ndimage import gaussian_filter

    inp = np.zeros((klen, klen))
    inp[klen // 2, klen // 2] = 1
    return gaussian_filter(inp, nsig)


def test_reference_kernel_is_the_authors_gkern():
    """Largest difference from the transcription: 3.5e-18 (float64 rounding)."""
    from xai_core.metrics import reference_kernel

    theirs = _authors_gkern(11, 5)
    ours = reference_kernel()
    assert ours.shape == (11, 11)
    assert np.abs(ours - theirs).max() < 1e-15
    assert ours[5, 5] / ours[0, 0] == pytest.approx(1.1417, abs=1e-4)  # nearly flat
    assert ours.sum() == pytest.approx(1.0)
    for klen, nsig in ((5, 1.0), (7, 2.5), (11, 0.8), (3, 9.0)):  # the formula, not a table
        assert np.abs(reference_kernel(klen, nsig) - _authors_gkern(klen, nsig)).max() < 1e-15


def test_reference_blur_is_the_authors_zero_padded_convolution():
    """The authors blur the normalised tensor: conv2d(x, gkern(11, 5), padding=5), zero
    padded. Transcribed with scipy on (x - zero) / 128, back to RGB: largest difference
    1.2e-5 grey levels (float32); cv2's 11 x 11 Gaussian (the former blur) differs by 5.4."""
    from scipy.ndimage import correlate

    from xai_core.metrics import reference_blur

    rng = np.random.default_rng(0)
    img = rng.uniform(0, 255, (37, 45, 3)).astype(np.float32)
    zero = np.array([127.0, 127.0, 127.0])
    x = (img - zero) / 128.0  # EfficientNet-Lite's input
    k = _authors_gkern(11, 5)
    theirs = np.stack([correlate(x[..., c].astype(np.float64), k, mode="constant", cval=0.0)
                       for c in range(3)], axis=-1) * 128.0 + zero
    assert np.abs(reference_blur(img, zero) - theirs).max() < 1e-3


def test_rise_reference_ranks_ties_as_argsort(half_bright):
    """The authors rank with np.flip(np.argsort(saliency)): equal values in a fixed order
    (the larger flat index first), the same whatever the seed."""
    from xai_core.metrics import causal_curves, saliency_order

    rng = np.random.default_rng(0)
    tied = rng.integers(0, 4, (8, 8)).astype(np.float64)  # many ties
    order = saliency_order(tied, ties="argsort")
    assert np.array_equal(order, np.flip(np.argsort(tied.ravel(), kind="stable")))
    distinct = rng.random((8, 8))  # no ties: numpy's default sort gives the same order
    assert np.array_equal(saliency_order(distinct, ties="argsort"),
                          np.flip(np.argsort(distinct.ravel())))
    with pytest.raises(ValueError, match="ties"):
        saliency_order(tied, ties="first")
    flat = np.zeros((64, 64))  # every pixel tied
    grey = (127.0, 127.0, 127.0)
    a = causal_curves(mean_model, half_bright, flat, 1, protocol="rise-reference",
                      zero_colour=grey, seed=0)
    b = causal_curves(mean_model, half_bright, flat, 1, protocol="rise-reference",
                      zero_colour=grey, seed=5)
    assert np.array_equal(a["deletion"].scores, b["deletion"].scores)
    # the lab protocol breaks the same ties at random: the seed matters there
    c = causal_curves(mean_model, half_bright, flat, 1, seed=0)["deletion"].scores
    d = causal_curves(mean_model, half_bright, flat, 1, seed=5)["deletion"].scores
    assert not np.array_equal(c, d)


def test_protocol_errors(half_bright):
    from xai_core.metrics import causal_curves

    sal = half_bright[..., 0]
    with pytest.raises(ValueError, match="unknown protocol"):
        causal_curves(mean_model, half_bright, sal, 1, protocol="paper")
    with pytest.raises(ValueError, match="needs zero_colour"):
        causal_curves(mean_model, half_bright, sal, 1, protocol="rise-reference")
    with pytest.raises(ValueError, match="only"):
        causal_curves(mean_model, half_bright, sal, 1, protocol="lab", zero_colour=(0, 0, 0))
    with pytest.raises(ValueError, match="three RGB values"):
        causal_curves(mean_model, half_bright, sal, 1, protocol="rise-reference",
                      zero_colour=(0, 300, 0))


@pytest.mark.parametrize("mode", ["none", "unit", "tf", "lite", "caffe", "torch"])
def test_zero_input_rgb_is_zero_after_preprocessing(mode):
    import tensorflow as tf

    from xai_core.models.classifier import _preprocess, zero_input_rgb

    colour = tf.constant(np.array(zero_input_rgb(mode), np.float32)[None, None, None, :])
    assert np.abs(_preprocess(mode, colour).numpy()).max() < 1e-5
