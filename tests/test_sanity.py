"""The model-randomisation sanity check on a CNN with a known answer.

The model's one convolution is a hand-set template of an 8x8 patch of horizontal stripes,
planted in uniform noise. Unlike a bright square (which random ReLU filters with max
pooling still single out, so a faithful map of the *random* model points at it too),
stripes have the same brightness and contrast as the noise around them: only the trained
template tells them apart.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

import xai_core as xc
from xai_core.sanity import RandomizationResult, spearman, ssim, stages

CORNER = (12, 16)


def stripes_classifier() -> xc.Classifier:
    """Class 1's logit grows with the best match of the stripes template (0 in plain noise)."""
    import keras

    pattern = np.tile(np.array([1.0, -1.0])[:, None], (4, 8))  # 8x8, rows alternate
    kernel = np.repeat(pattern[:, :, None], 3, axis=2)[..., None].astype(np.float32)
    model = keras.Sequential([
        keras.Input((32, 32, 3)),
        keras.layers.Conv2D(1, 8, padding="same", activation="relu", name="stripes"),
        keras.layers.GlobalMaxPooling2D(),
        keras.layers.Dense(2, name="head"),
    ])
    # a perfect match gives 3 * 32 * 255 = 24480; noise stays far below the bias
    model.get_layer("stripes").set_weights([kernel, np.array([-12000.0], np.float32)])
    model.get_layer("head").set_weights([np.array([[0.0, 1 / 750]], np.float32),
                                         np.array([1.0, -1.0], np.float32)])
    return xc.Classifier("stripes", (32, 32), ["plain", "stripes"], model, outputs_logits=True)


def stripes_image(corner: tuple[int, int] = CORNER, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    img = rng.uniform(0, 255, (32, 32, 3)).astype(np.float32)
    r, c = corner
    img[r : r + 8, c : c + 8] = 0.0
    img[r : r + 8 : 2, c : c + 8] = 255.0
    return img


@pytest.fixture(scope="module")
def planted():
    clf, img = stripes_classifier(), stripes_image()
    noise = np.random.default_rng(1).uniform(0, 255, (4, 32, 32, 3)).astype(np.float32)
    assert clf.predict(img)[0, 1] > 0.99 and clf.predict(noise)[:, 1].max() < 0.2
    return clf, img


def test_gradcam_map_does_not_survive_randomisation(planted):
    clf, img = planted
    res = xc.randomization_test(clf, img, 1, method="gradcam", seed=0)
    assert res.layers == ("head", "stripes")  # one stage per weighted layer, top first
    assert res.randomized == (("head",), ("head", "stripes"))
    assert len(res.saliency) == len(res.layers) + 1 == 3
    assert len(res.spearman) == len(res.ssim) == 2
    trained = res.saliency[0]
    np.testing.assert_array_equal(trained, xc.explain_gradcam(clf, img, 1).saliency)
    r, c = np.unravel_index(np.argmax(trained), trained.shape)
    assert CORNER[0] <= r < CORNER[0] + 8 and CORNER[1] <= c < CORNER[1] + 8
    assert res.seed_spearman == 1.0
    assert abs(res.final_spearman) < 0.5 and res.passed()
    assert "Passed" in res.verdict()


def test_rise_verdict_over_three_seeds_is_more_careful_than_one(planted):
    clf, img = planted
    params = {"n_masks": 1000, "mask_size": 4}
    res = xc.randomization_test(clf, img, 1, method="rise", seed=1, **params)
    maps = [xc.explain_rise(clf.predict, img, 1, seed=s, **params).saliency for s in (1, 2, 3)]
    two_seeds = [spearman(maps[0], maps[1]), spearman(maps[1], maps[2])]
    assert min(two_seeds) > 0.9
    assert res.seed_spearman == pytest.approx(np.mean(two_seeds))  # consecutive seeds
    assert len(res.final_spearman_seeds) == len(res.final_spearman_abs_seeds) == 3
    # the first random model's map is the cascade's last stage, against seed 2's trained map
    assert res.final_spearman_seeds[0] == pytest.approx(spearman(maps[1], res.saliency[-1]))
    # a random model's map resembles the trained one less than two seeds do ...
    finals = np.abs(res.final_spearman_seeds)
    assert finals.max() < min(two_seeds) - 0.15
    # ... but not always by much: random weights still single out the high-contrast
    # stripes now and then (|rho| 0.23, 0.53, 0.78). One seed alone would have passed;
    # three say that more are needed.
    assert finals.min() < 0.3 and finals.max() > 0.7
    alone = xc.randomization_test(clf, img, 1, method="rise", seed=1, n_seeds=1, **params)
    assert alone.final_spearman_seeds == res.final_spearman_seeds[:1] and alone.passed()
    assert res.outcome() == "inconclusive" and not res.passed()
    assert "mean over 3 seeds" in res.verdict() and "Run more seeds" in res.verdict()
    record = res.record()
    assert record["stages"][-1]["n_randomized"] == 2 and record["outcome"] == "inconclusive"
    assert [r["seed"] for r in record["final_by_seed"]] == [1, 2, 3]


def test_absolute_values_are_compared_too(planted):
    """Adebayo et al. rank the maps' absolute values as well: a signed map (LIME's, RISE's)
    that flips sign keeps its shapes."""
    clf, img = planted
    res = xc.randomization_test(clf, img, 1, method="rise", seed=0, n_masks=200, mask_size=4,
                                max_stages=1, n_seeds=2)
    trained, last = res.saliency[0], res.saliency[-1]
    assert res.spearman_abs[-1] == pytest.approx(spearman(np.abs(trained), np.abs(last)))
    assert "spearman_abs" in res.record()["stages"][0]
    signed = np.random.default_rng(0).normal(size=(16, 16))
    assert spearman(-signed, signed) == pytest.approx(-1.0)
    assert spearman(np.abs(-signed), np.abs(signed)) == pytest.approx(1.0)


def test_a_map_that_survives_randomisation_fails():
    """A model whose only weights sit after a max pooling of the raw image: any weights
    make the bright square decide the score, so RISE's map of the random model is the
    trained one's up to sign, and the check must fail."""
    import keras

    model = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.GlobalMaxPooling2D(),
                              keras.layers.Dense(2, name="head")])
    model.get_layer("head").set_weights([np.array([[0.0, 0.02]] * 3, np.float32),
                                         np.array([0.0, -3.0], np.float32)])
    clf = xc.Classifier("pool", (32, 32), ["dark", "bright"], model, outputs_logits=True)
    img = np.full((32, 32, 3), 40.0, np.float32)
    img[8:16, 18:26] = 255.0
    res = xc.randomization_test(clf, img, 1, method="rise", seed=0, n_masks=400, mask_size=4)
    assert res.seed_spearman > 0.8
    assert min(map(abs, res.final_spearman_seeds)) > 0.6
    assert res.outcome() == "failed" and not res.passed()
    assert res.verdict().startswith("Failed")


def _result(finals, finals_abs=None, seed_r=0.95) -> RandomizationResult:
    m = np.zeros((2, 2), np.float32)
    return RandomizationResult("rise", ("head",), (("head",),), (m, m), (finals[0],), (0.0,),
                               1, 0, seed_spearman=seed_r, spearman_abs=(finals[0],),
                               seed_spearman_abs=seed_r, final_spearman_seeds=tuple(finals),
                               final_spearman_abs_seeds=tuple(finals_abs or finals))


def test_the_verdict_rests_on_bounds_over_the_seeds():
    # upper one-sided 95% bound of the mean |rho| below 0.475 (half of 0.95): passed
    assert _result([0.05, -0.1, 0.08]).outcome() == "passed"
    # one seed far off makes the bound wide: neither passed nor failed
    spread = _result([0.05, 0.1, 0.7])
    assert spread.outcome() == "inconclusive" and "Run more seeds" in spread.verdict()
    mean, low, high = spread.bounds()
    assert low < 0.475 < high and mean == pytest.approx(0.85 / 3)
    # consistently similar: failed, also when only the absolute values stay similar
    assert _result([0.9, 0.85, 0.95]).outcome() == "failed"
    assert _result([0.05, -0.1, 0.08], [0.9, 0.85, 0.95]).outcome() == "failed"
    # a similarity two seeds do not agree on is left out, not failed on (LIME, chelsea:
    # absolute values agreeing at 0.43 between seeds)
    lime = replace(_result([0.22, 0.25, -0.21], [-0.27, 0.33, 0.31], seed_r=0.82),
                   seed_spearman_abs=0.43)
    assert lime.kinds() == (["raw"], ["absolute"]) and lime.outcome() == "passed"
    assert "their absolute values left out" in lime.verdict()
    # when the seeds agree on them, absolute values that stay similar make it fail
    kept = replace(lime, seed_spearman_abs=0.82, final_spearman_abs_seeds=(0.45, 0.5, -0.48))
    assert kept.kinds() == (["raw", "absolute"], []) and kept.outcome() == "failed"
    # a map that is mostly noise gets no verdict
    noisy = _result([0.0, 0.01, -0.02], seed_r=0.2)
    assert noisy.outcome() == "inconclusive" and "mostly" in noisy.verdict()
    # one seed: the value itself
    assert _result([0.3]).outcome() == "passed" and _result([0.6]).outcome() == "failed"


def test_randomisation_never_touches_the_loaded_model(planted):
    clf, img = planted
    before = [w.copy() for w in clf.model.get_weights()]
    scores = clf.predict(img)
    fn = clf._compiled()
    xc.randomization_test(clf, img, 1, method="lime", num_samples=50, seed_check=False)
    after = clf.model.get_weights()
    assert all(np.array_equal(a, b) for a, b in zip(before, after, strict=True))
    assert clf._compiled() is fn
    np.testing.assert_array_equal(clf.predict(img), scores)


def test_same_seed_same_result(planted):
    clf, img = planted
    a = xc.randomization_test(clf, img, 1, method="gradcam", seed=3)
    b = xc.randomization_test(clf, img, 1, method="gradcam", seed=3)
    for x, y in zip(a.saliency, b.saliency, strict=True):
        np.testing.assert_array_equal(x, y)


def test_deep_models_are_grouped_into_cascading_stages():
    import keras

    model = keras.Sequential([keras.Input((4,))] + [keras.layers.Dense(4, name=f"d{i}")
                                                     for i in range(10)])
    plan = stages(model, max_stages=4)
    assert len(plan) == 4
    assert plan[0][0] == "d9" and sorted(plan[-1]) == sorted(f"d{i}" for i in range(10))
    assert all(plan[i] == plan[i + 1][: len(plan[i])] for i in range(3))  # cascading
    assert len(stages(model, max_stages=20)) == 10


def test_similarity_measures():
    rng = np.random.default_rng(0)
    a = rng.random((16, 16))
    assert spearman(a, 2 * a + 1) == pytest.approx(1.0)
    assert spearman(a, -a) == pytest.approx(-1.0)
    assert spearman(a, np.zeros_like(a)) == 0.0
    assert ssim(a, 3 * a) == pytest.approx(1.0)
    assert ssim(a, rng.random((16, 16))) < 0.5


def test_bad_arguments(planted):
    clf, img = planted
    with pytest.raises(ValueError, match="unknown method"):
        xc.randomization_test(clf, img, 1, method="occlusion")
    with pytest.raises(ValueError, match="unknown RISE parameter"):
        xc.randomization_test(clf, img, 1, method="rise", num_samples=10)
    with pytest.raises(ValueError, match="Keras model"):
        xc.randomization_test(clf.predict, img, 1)
    with pytest.raises(ValueError, match="n_seeds"):
        xc.randomization_test(clf, img, 1, method="gradcam", n_seeds=0)
