"""Anytime RISE (:class:`xai_core.explainers.rise.RiseRun`): batch-by-batch maps, auto stop, target switching."""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import region_mask, region_predict
from xai_core import explain_rise
from xai_core.explainers.rise import RiseFrame, RiseRun, plan_masks, split_half_r
from xai_core.explainers.rise.estimators import Sums
from xai_core.stats import (
    NOISE_DOF_RANGE,
    STOP_ALPHA,
    TWO_REPLICATE_DOF,
    doubling_looks,
    is_doubling_check,
    look_alpha,
    next_doubling_check,
    noise_dof,
    replicate_r,
)
from xai_core.testing import ground_truth_model


class CountingPredict:
    def __init__(self, predict=region_predict):
        self.predict = predict
        self.calls = 0
        self.images = 0

    def __call__(self, x):
        self.calls += 1
        self.images += len(x)
        return self.predict(x)


def test_frames_grow_batch_by_batch_and_end_at_the_explain_rise_map(bright_image):
    run = RiseRun(region_predict, bright_image, max_masks=200, batch_size=64, seed=1)
    frames = list(run.frames(1))
    assert [f.n_masks for f in frames] == [64, 128, 192, 200]
    assert all(isinstance(f, RiseFrame) and f.saliency.shape == (64, 64) for f in frames)
    assert all(0.0 <= f.r_estimate <= 1.0 for f in frames)
    assert frames[-1].r_estimate > frames[0].r_estimate
    ref = explain_rise(region_predict, bright_image, 1, n_masks=200, seed=1).saliency
    np.testing.assert_allclose(frames[-1].saliency, ref, rtol=1e-6, atol=1e-7)


def test_switching_target_costs_no_model_call(bright_image):
    counted = CountingPredict()
    run = RiseRun(counted, bright_image, max_masks=300, batch_size=50, seed=3)
    sal1 = run.run(1)
    calls, images = counted.calls, counted.images
    assert (calls, images) == (6, 300) and run.scores.shape == (300, 2)
    sal0 = run.saliency(0)
    plain0 = run.saliency(0, estimator="plain")
    r0 = run.r_estimate(0)
    assert (counted.calls, counted.images) == (calls, images)
    np.testing.assert_allclose(sal0, explain_rise(region_predict, bright_image, 0, n_masks=300, seed=3).saliency,
                               rtol=1e-6, atol=1e-7)
    assert 0.0 <= r0 <= 1.0 and plain0.shape == (64, 64)
    # class 0 = 1 - class 1, so its centred map is 1 minus class 1's
    np.testing.assert_allclose(sal0, 1.0 - sal1, atol=1e-5)


def test_auto_stop_saves_passes_and_reaches_the_tolerance(bright_image):
    counted = CountingPredict()
    run = RiseRun(counted, bright_image, max_masks=4000, batch_size=50, seed=0)
    sal = run.run(1, stop_at_r=0.95)
    assert run.n_done in (64, 128, 256, 512, 1024, 2048)  # the checks: 64 x 2^j
    assert counted.images == run.n_done
    assert run.converged(1, 0.95) and run.r_estimate(1) >= 0.95
    ref = explain_rise(region_predict, bright_image, 1, n_masks=8000, batch_size=1000,
                       estimator="plain", sampler="random", seed=50).saliency
    assert np.corrcoef(sal.ravel(), ref.ravel())[0, 1] > 0.93
    r, c = np.unravel_index(np.argmax(sal), sal.shape)
    assert region_mask()[r, c]


def test_auto_stop_point_and_map_do_not_depend_on_batch_size(bright_image):
    maps, stops = [], []
    for bs in (7, 32, 100):
        run = RiseRun(region_predict, bright_image, max_masks=2000, batch_size=bs, seed=5)
        maps.append(run.run(1, stop_at_r=0.95))
        stops.append(run.n_done)
    assert stops[0] == stops[1] == stops[2]
    np.testing.assert_allclose(maps[1], maps[0], rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(maps[2], maps[0], rtol=1e-6, atol=1e-7)


def test_explain_rise_stop_at_r_uses_fewer_passes(bright_image):
    counted = CountingPredict()
    explain_rise(counted, bright_image, 1, n_masks=3000, stop_at_r=0.9)
    assert counted.images < 3000


def test_split_half_r():
    rng = np.random.default_rng(0)
    truth = rng.random(5000)
    assert split_half_r(truth, truth) == pytest.approx(1.0)
    assert split_half_r(truth, np.ones(5000)) == 0.0
    # halves = truth + noise of equal variance: r_half = 0.5, full map r = sqrt(2/3)
    noise = np.sqrt(np.var(truth))
    a = truth + noise * rng.standard_normal(5000)
    b = truth + noise * rng.standard_normal(5000)
    assert split_half_r(a, b) == pytest.approx(np.sqrt(2 / 3), abs=0.03)


def test_run_state_and_errors(bright_image):
    run = RiseRun(region_predict, bright_image, max_masks=40, batch_size=16)
    assert run.n_classes is None and run.scores.shape == (0, 0)
    with pytest.raises(ValueError, match="step"):
        run.saliency(1)
    assert run.step() == 16 and run.n_classes == 2
    with pytest.raises(ValueError, match="target"):
        run.saliency(2)
    with pytest.raises(ValueError, match="estimator"):
        run.saliency(1, estimator="median")
    with pytest.raises(ValueError, match="stop_at_r"):
        run.converged(1, 2.0)
    assert run.step(100) == 40 and run.step() == 40  # clipped to max_masks, then no-op


@pytest.mark.parametrize(
    "kwargs, words",
    [
        ({"max_masks": 0}, "n_masks"),
        ({"first_check": 0}, "first_check"),
        ({"estimator": "x"}, "estimator"),
        ({"sampler": "x"}, "sampler"),
        ({"antithetic": True, "keep_prob": 0.2}, "keep_prob"),
    ],
)
def test_invalid_run_parameters_raise(bright_image, kwargs, words):
    with pytest.raises(ValueError, match=words):
        RiseRun(region_predict, bright_image, **kwargs)


def test_efficiency_benchmark_runs_on_the_ground_truth_model(tmp_path, capsys):
    import json

    from benchmarks.efficiency import main

    main(["--images", "--max-masks", "256", "--step", "128", "--seeds", "1", "--ref-masks", "500",
          "--ref-seeds", "1", "--configs", "plain", "default", "--cache", str(tmp_path)])
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    curve = next(r for r in rows if r.get("config") == "plain")
    assert curve["budgets"] == [128, 256] and len(curve["pearson"]) == 2
    b0 = next(r for r in rows if r.get("what") == "B0")
    assert "B0_plain" in b0 and "B0_extrapolated_default" in b0
    assert any(r.get("what") == "auto" for r in rows)
    assert list(tmp_path.glob("*.npy"))  # the reference map is cached


def test_without_kept_scores_only_tracked_targets_are_available(bright_image):
    counted = CountingPredict()
    run = RiseRun(counted, bright_image, max_masks=100, batch_size=50, keep_scores=False)
    run.track(1)
    sal = run.run(1)
    assert run.scores.shape == (0, 0)
    np.testing.assert_allclose(sal, explain_rise(region_predict, bright_image, 1, n_masks=100).saliency,
                               rtol=1e-6, atol=1e-7)
    with pytest.raises(ValueError, match="keep_scores"):
        run.saliency(0)
    assert counted.calls == 2


def test_a_stopped_sobol_run_equals_a_shorter_run(bright_image):
    run = RiseRun(region_predict, bright_image, max_masks=3000, seed=8)
    sal = run.run(1, stop_at_r=0.9)
    short = explain_rise(region_predict, bright_image, 1, n_masks=run.n_done, seed=8).saliency
    np.testing.assert_allclose(sal, short, rtol=1e-6, atol=1e-7)


def test_b0_extrapolation_recovers_a_monte_carlo_curve():
    from benchmarks.efficiency import extrapolate_b0

    budgets = list(range(256, 2049, 256))
    r = 0.99 * np.sqrt(np.array(budgets) / (np.array(budgets) + 150.0))
    # r / ceiling = sqrt(n / (n + 150)) reaches 0.95 at n = 150 / (1 / 0.95^2 - 1)
    expect = 150.0 / (1.0 / 0.95**2 - 1.0)
    assert extrapolate_b0(budgets, r, 0.95, ceiling=0.99) == pytest.approx(expect, rel=0.01)
    assert extrapolate_b0(budgets, np.ones(8), 0.95) is None  # no point below the ceiling


def test_other_class_of_a_converged_auto_run_costs_no_model_call(bright_image):
    counted = CountingPredict()
    run = RiseRun(counted, bright_image, max_masks=4000, batch_size=64, seed=0)
    run.run(1, stop_at_r=0.9)
    calls, done = counted.calls, run.n_done
    assert done < 4000
    # class 0 = 1 - class 1: its map is as stable, so the auto run needs nothing more
    frames = list(run.frames(0, stop_at_r=0.9))
    run.run(0, stop_at_r=0.9)
    assert [f.n_masks for f in frames] == [done] and counted.calls == calls


def test_whole_image_scores_cost_one_call_and_are_cached(bright_image):
    counted = CountingPredict()
    run = RiseRun(counted, bright_image, max_masks=10, seed=4)
    np.testing.assert_allclose(run.predict_image(), region_predict(bright_image[None])[0])
    run.predict_image()
    assert counted.calls == 1 and run.seed == 4
    np.testing.assert_array_equal(run.image, bright_image)


def test_replicate_r_estimates_the_correlation_and_its_bound_is_calibrated():
    rng = np.random.default_rng(0)
    truth = np.repeat(rng.standard_normal(64), 16)  # 64 independent components, 16 pixels each
    short = 0
    for _ in range(200):
        noise = 0.5 * np.repeat(rng.standard_normal((2, 64)), 16, axis=1)
        maps = truth + noise
        true_r = np.corrcoef(maps.mean(axis=0), truth)[0, 1]
        est = replicate_r(maps)
        low = replicate_r(maps, dof_per_replicate=64, alpha=0.05)
        assert 0.0 <= low <= est <= 1.0
        short += low > true_r
    # the bound may exceed the truth in about 5% of draws, not more
    assert short <= 0.05 * 200 + 3 * np.sqrt(0.05 * 0.95 * 200)
    # an offset between replicates is no noise for a correlation
    assert replicate_r(np.stack([truth, truth + 5.0])) == pytest.approx(1.0)
    assert replicate_r(np.ones((2, 10))) == 0.0


def test_look_alphas_sum_to_alpha_and_bad_inputs_raise():
    assert sum(look_alpha(k) for k in range(1, 200_000)) == pytest.approx(STOP_ALPHA, rel=1e-4)
    with pytest.raises(ValueError, match="look"):
        look_alpha(0)
    with pytest.raises(ValueError, match="replicates"):
        replicate_r(np.ones((1, 10)))
    with pytest.raises(ValueError, match="weights"):
        replicate_r(np.ones((2, 10)), weights=-np.ones(10))


def test_each_sobol_replicate_keeps_its_own_balance():
    plan = plan_masks(128, 4, 0.5, (32, 32), np.random.default_rng(0), sampler="sobol",
                      replicates=2)
    for g in range(2):  # 64 points of one scrambled Sobol sequence: each cell kept 32 times
        np.testing.assert_array_equal(plan.grids[g::2].sum(axis=0), 32)
    # the two replicates are scrambled independently: not complements of each other
    assert np.mean(plan.grids[0::2] == 1 - plan.grids[1::2]) < 0.75


def test_same_seed_same_auto_stopped_map(bright_image):
    maps = [RiseRun(region_predict, bright_image, max_masks=2000, seed=11).run(1, stop_at_r=0.95)
            for _ in range(2)]
    np.testing.assert_array_equal(maps[0], maps[1])


def test_auto_stop_reaches_the_target_on_the_known_answer_model():
    predict, image = ground_truth_model(64)
    ref = np.mean([explain_rise(predict, image, 1, n_masks=4096, batch_size=1024, seed=s).saliency
                   for s in (100, 101)], axis=0)
    for seed in range(3):
        res = explain_rise(predict, image, 1, n_masks=4000, batch_size=128, seed=seed,
                           stop_at_r=0.95)
        assert res.extra["stopped"] == "auto" and res.forward_passes < 4000
        assert res.extra["r_bound"] >= 0.95
        assert res.extra["budget_note"] == (f"stopped at {res.forward_passes} masks: "
                                            "r ≥ 0.95 with 95% confidence")
        assert np.corrcoef(res.saliency.ravel(), ref.ravel())[0, 1] >= 0.95


def test_a_run_that_hits_the_cap_says_so(bright_image):
    res = explain_rise(region_predict, bright_image, 1, n_masks=64, stop_at_r=0.999)
    assert res.extra["stopped"] == "cap"
    assert res.extra["budget_note"].startswith("used the cap of 64 masks; r ")
    assert res.extra["budget_note"].endswith("estimated, not yet certain to reach 1.00")
    assert explain_rise(region_predict, bright_image, 1, n_masks=64).extra["stopped"] == "fixed"


@pytest.mark.parametrize("bad", [0.0, 1.0, 1.5, -0.2, "high", True])
def test_bad_stop_at_r_raises(bright_image, bad):
    with pytest.raises(ValueError, match="stop_at_r"):
        explain_rise(region_predict, bright_image, 1, n_masks=64, stop_at_r=bad)


def test_noise_dof_errs_low_and_tells_few_noise_patterns_from_many():
    rng = np.random.default_rng(0)
    for k in (6, 16, 40):
        basis = rng.standard_normal((k, 2000))  # k equally strong noise patterns
        est = np.array([noise_dof(rng.standard_normal((4, k)) @ basis + 3.0)
                        for _ in range(300)])
        assert 0.3 * k <= np.median(est) <= 0.8 * k  # a lower limit, not the median
        assert np.mean(est > k) <= 0.35
    few = [noise_dof(rng.standard_normal((4, 6)) @ rng.standard_normal((6, 500))) for _ in range(50)]
    many = [noise_dof(rng.standard_normal((4, 40)) @ rng.standard_normal((40, 500))) for _ in range(50)]
    assert np.median(few) < np.median(many)
    lo, hi = NOISE_DOF_RANGE
    assert noise_dof(rng.standard_normal((2, 100))) == TWO_REPLICATE_DOF  # no pair to compare
    assert noise_dof(np.ones((4, 100))) == hi  # no noise at all
    assert lo <= noise_dof(rng.standard_normal((8, 100))) <= hi


def test_stops_on_simulated_noise_of_two_patterns_keep_the_promise():
    """The hard case: noise dominated by one pattern (effective dimension 1.2). A median
    estimate of the dimension let 8.5% of these runs stop short of r*; the promise is 5%."""
    rng = np.random.default_rng(0)
    truth = rng.standard_normal(300)
    basis = rng.standard_normal((2, 300)) * np.array([[1.0], [0.3]])
    runs, short = 400, 0
    for _ in range(runs):
        coef, done = np.zeros((4, 2)), 0
        for n in (16, 32, 64, 128, 256):  # masks per replicate at the checks 64 ... 1024
            coef += rng.standard_normal((4, 2)) * np.sqrt(n - done)  # nested, like a run
            done = n
            maps = truth + 4.0 * (coef / n) @ basis
            if replicate_r(maps, dof_per_replicate=noise_dof(maps), alpha=STOP_ALPHA / 5) >= 0.95:
                short += np.corrcoef(maps.mean(axis=0), truth)[0, 1] < 0.95
                break
    assert short / runs <= 0.06


def test_the_checks_double_from_the_first():
    assert [n for n in range(1, 1100) if is_doubling_check(n, 64)] == [64, 128, 256, 512, 1024]
    assert next_doubling_check(0, 64) == 64 and next_doubling_check(64, 64) == 128
    assert next_doubling_check(300, 64) == 512
    assert doubling_looks(64, 1024) == 5  # 64, 128, 256, 512, 1024
    assert doubling_looks(64, 1000) == 5  # 64 ... 512, and the cap
    assert doubling_looks(64, 32) == 1
    for bad in (lambda: doubling_looks(0, 10), lambda: doubling_looks(64, 0),
                lambda: is_doubling_check(64, 0), lambda: next_doubling_check(5, 0)):
        with pytest.raises(ValueError, match="at least 1"):
            bad()


def test_auto_stop_checks_only_at_the_doubling_points(bright_image):
    stops = set()
    for seed in range(4):
        run = RiseRun(region_predict, bright_image, max_masks=1000, batch_size=48, seed=seed)
        frames = list(run.frames(1, stop_at_r=0.95))
        # batches end at each check so that the stop does not depend on the batch size
        assert {64, 128}.issubset({f.n_masks for f in frames}) or frames[-1].n_masks == 64
        stops.add(run.n_done)
        assert run.looks() == 5 and run.replicates == 1
    assert stops <= {64, 128, 256, 512, 1000}


def test_the_error_estimate_compares_consecutive_blocks_at_each_check():
    rng = np.random.default_rng(0)
    masks = rng.random((200, 30)).astype(np.float32)
    scores = rng.random(200).astype(np.float32)
    sums = Sums(30, first=16)
    assert sums.at_check() is None
    for a, b in ((0, 10), (10, 40), (40, 64), (64, 100), (100, 200)):  # any batching
        sums.add(masks[a:b], scores[a:b])
        if b == 64:  # a check: 8 sub-blocks of 8 masks, in order
            sub, blocks, halves = sums.at_check().block_maps("plain", 0.5)
            for g in range(8):
                expect = scores[8 * g:8 * g + 8] @ masks[8 * g:8 * g + 8] / (8 * 0.5)
                np.testing.assert_allclose(sub[g], expect, rtol=1e-5)
            np.testing.assert_allclose(blocks[1], (sub[2] + sub[3]) / 2, rtol=1e-5)
            np.testing.assert_allclose(halves[1], sub[4:].mean(axis=0), rtol=1e-5)
    # between checks (200 masks), the readings are those of the last check (128 masks)
    _, blocks, _ = sums.at_check().block_maps("centered", 0.5)
    for k in range(4):
        rows = slice(32 * k, 32 * k + 32)
        s = scores[rows].astype(np.float64)
        expect = s.mean() + ((s - s.mean()) @ masks[rows]) / (32 * 0.5)
        np.testing.assert_allclose(blocks[k], expect, rtol=1e-5)
    assert sums.done == 200 and sums.n.sum() == 200
    with pytest.raises(ValueError, match="multiple of 8"):
        Sums(30, first=12)


def test_interleaved_replicates_stay_available_and_one_sequence_is_the_default(bright_image):
    one = RiseRun(region_predict, bright_image, max_masks=128, seed=2)
    two = RiseRun(region_predict, bright_image, max_masks=128, seed=2, replicates=2)
    assert one.replicates == 1 and two.replicates == 2
    np.testing.assert_array_equal(one.plan.grids.sum(axis=0), 64)  # one balanced sequence
    assert not np.array_equal(one.run(1), two.run(1))
    with pytest.raises(ValueError, match="replicates"):
        RiseRun(region_predict, bright_image, replicates=0)
    with pytest.raises(ValueError, match="multiple of 8"):
        RiseRun(region_predict, bright_image, first_check=60)


def test_a_run_read_before_its_end_says_so_and_a_fixed_run_looks_once(bright_image):
    run = RiseRun(region_predict, bright_image, max_masks=1024, batch_size=32, seed=0)
    run.step(32)
    res = run.explanation(1, stop_at_r=0.999)
    assert res.extra["stopped"] == "partial" and "so far" in res.extra["budget_note"]
    run.step(480)
    # one look (a fixed budget) spends all of alpha there: a higher bound than 1/5 of it
    assert run.r_bound(1, looks=1) > run.r_bound(1)
    fixed = run.explanation(1)
    assert fixed.extra["stopped"] == "fixed" and fixed.extra["r_bound"] == round(run.r_bound(1, looks=1), 4)


def test_before_the_first_check_there_is_no_estimate_to_show(bright_image):
    run = RiseRun(region_predict, bright_image, max_masks=128, batch_size=32, seed=0)
    frames = list(run.frames(1))
    assert [f.n_masks for f in frames] == [32, 64, 96, 128]
    assert np.isnan(frames[0].r_estimate) and np.isnan(frames[0].r_bound)
    assert 0.0 <= frames[1].r_bound <= frames[1].r_estimate <= 1.0
    assert frames[2].r_estimate == frames[1].r_estimate  # between checks: the last check's
    res = explain_rise(region_predict, bright_image, 1, n_masks=32)
    assert res.extra["r_estimate"] is None and res.extra["budget_note"] == "32 masks (fixed budget)"
