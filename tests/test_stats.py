"""The paired comparisons of :mod:`xai_core.stats` keep their promises, by simulation at the
sizes a lab has (4, 8 and 20 images). Seeded, vectorised: a few seconds in all.

Measured (the figures in :func:`xai_core.stats.paired_difference`'s docstring; share of
samples with p <= 0.05):

=====================================  =====  =====  =====
no true difference, n images            4      8      20
=====================================  =====  =====  =====
normal scores                          0.000  0.051  0.043
lognormal scores (A, B alike)          0.000  0.050  0.046
exponential scores (A, B alike)        0.000  0.049  0.046
=====================================  =====  =====  =====

A true difference of one standard deviation over 20 images: established in 99%.

Differences that are skewed with mean 0 (A and B unlike in shape, alike in mean) are not
tested here: no test of a mean keeps 5% for them at these sizes (Bahadur & Savage, 1956);
the docstring gives the rates measured for them (9-15%, against 17-33% for the bootstrap).
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from xai_core.stats import (
    EXACT_MAX_N,
    can_establish,
    holm,
    mean_interval,
    paired_difference,
    sign_flip_p_values,
    sign_patterns,
    smallest_p_value,
    too_few_images,
)

SAMPLES = {4: 4000, 8: 4000, 20: 2000}


def _scores(kind: str, rng: np.random.Generator, m: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """m studies of n images, A and B alike (no true difference): each image has its own
    difficulty (shared by A and B), plus each side's own noise, normal or skewed."""
    image = rng.lognormal(0.0, 1.0, (m, n))
    if kind == "normal":
        noise = rng.normal(0.0, 1.0, (2, m, n))
    elif kind == "lognormal":
        noise = rng.lognormal(0.0, 1.0, (2, m, n))
    else:
        noise = rng.exponential(1.0, (2, m, n))
    return image + noise[0], image + noise[1]


def _rate(d: np.ndarray, seed: int = 0) -> float:
    signs, _ = sign_patterns(d.shape[1], seed)
    return float(np.mean(sign_flip_p_values(d, signs) <= 0.05))


@pytest.mark.parametrize("kind", ["normal", "lognormal", "exponential"])
@pytest.mark.parametrize("n", [4, 8, 20])
def test_no_true_difference_is_established_at_most_5_percent_of_the_time(kind, n):
    rng = np.random.default_rng(100 + n)
    m = SAMPLES[n]
    a, b = _scores(kind, rng, m, n)
    rate = _rate(a - b, seed=n)
    print(f"{kind} n={n}: {rate:.3f}")
    # the test is exact: only the simulation's own noise (2 standard errors) on top of 5%
    assert rate <= 0.05 + 2 * math.sqrt(0.05 * 0.95 / m)
    if n == 4:
        assert rate == 0.0  # the smallest p-value with 4 images is 0.125


def test_a_difference_of_one_standard_deviation_over_20_images_is_established():
    rng = np.random.default_rng(7)
    d = rng.normal(1.0, 1.0, (1000, 20))
    assert _rate(d) >= 0.8  # measured 0.99


def test_the_percentile_bootstrap_this_replaces_was_over_confident():
    """The yardstick: the old percentile bootstrap's interval excluded 0 in about 20% of
    normal samples of 4 with no true difference; the sign-flip test never establishes."""
    rng = np.random.default_rng(3)
    d = rng.normal(0.0, 1.0, (500, 4))
    boot = d[:, rng.integers(0, 4, (1000, 4))].mean(axis=2)  # (500, 1000)
    low, high = np.quantile(boot, [0.025, 0.975], axis=1)
    assert np.mean((low > 0) | (high < 0)) > 0.1
    assert _rate(d) == 0.0


def test_exact_p_value_is_the_share_of_sign_patterns_reaching_the_observed_sum():
    d = np.array([0.3, -0.1, 0.25, 0.4, 0.05, 0.2])
    sums = [abs(sum(s * x for s, x in zip(signs, d, strict=True)))
            for signs in itertools.product([1, -1], repeat=d.size)]
    expected = np.mean([s >= abs(d.sum()) - 1e-12 for s in sums])
    r = paired_difference(d, np.zeros_like(d), lower_is_better=False)
    assert r.p_value == pytest.approx(expected) and r.p_value == pytest.approx(6 / 64)
    assert r.mean == pytest.approx(d.mean()) and r.n == 6
    assert r.low < r.mean < r.high and r.exact and not r.established  # 0.094 > 0.05
    assert (r.a_better, r.b_better) == (5, 1)


def test_all_of_one_sign_reaches_the_smallest_p_value():
    for n, established in ((4, False), (5, False), (6, True), (8, True)):
        a = np.linspace(0.1, 0.4, n)
        r = paired_difference(a, a + 0.05, lower_is_better=True)
        assert r.p_value == pytest.approx(smallest_p_value(n))
        assert r.established is established is can_establish(n)
        assert r.a_better == n and r.b_better == 0
    assert smallest_p_value(4) == 0.125
    assert too_few_images(4) == "with 4 images no difference can be established at 95%"
    assert too_few_images(6) is None
    assert too_few_images(6, claims=12) == ("with 6 images and 12 claims no difference can be "
                                            "established at 95%")


def test_monte_carlo_beyond_the_exact_size_is_seeded_and_close_to_exact():
    rng = np.random.default_rng(1)
    d = rng.normal(0.5, 1.0, EXACT_MAX_N + 4)
    a = paired_difference(d, np.zeros_like(d), lower_is_better=False, seed=3)
    assert not a.exact and a == paired_difference(d, np.zeros_like(d), lower_is_better=False,
                                                  seed=3)
    # the Monte-Carlo p-value of 20 differences is within its own noise of the exact one
    # computed over all 2**20 patterns in blocks
    n = d.size
    reach = abs(d.sum()) - 1e-9 * np.abs(d).sum()
    hits = 0
    for block in range(2 ** (n - 12)):
        high = (block >> np.arange(n - 12)) & 1
        low = (np.arange(2**12)[:, None] >> np.arange(12)) & 1
        bits = np.hstack([low, np.broadcast_to(high, (2**12, n - 12))])
        hits += int(np.sum(np.abs((1 - 2 * bits) @ d) >= reach))
    p_exact = hits / 2**n
    assert abs(a.p_value - p_exact) < 4 * math.sqrt(p_exact * (1 - p_exact) / 20_000) + 1e-4


def test_mean_interval_covers_at_its_level_for_normal_values():
    rng = np.random.default_rng(5)
    x = rng.normal(0.0, 1.0, (2000, 4))
    ivs = [mean_interval(row) for row in x]
    assert np.mean([iv.low <= 0 <= iv.high for iv in ivs]) == pytest.approx(0.95, abs=0.015)
    one = mean_interval([0.7])
    assert one.mean == 0.7 and math.isinf(one.low) and one.text() == "0.700 [−∞, ∞]"
    assert mean_interval([0.3, 0.3, 0.3]).text() == "0.300 [0.300, 0.300]"
    assert mean_interval([-0.25, -0.15]).text(2).startswith("−0.20 [")


def test_holm_adjusts_in_step_down_order_and_controls_the_family():
    h = holm([0.01, 0.04, 0.03, 0.005])
    assert h.adjusted == pytest.approx((0.03, 0.06, 0.06, 0.02))
    assert h.rejected == (True, False, False, True)
    assert holm([]).rejected == ()
    # ten true nulls: any one rejected in at most 5% of families (uniform p-values)
    rng = np.random.default_rng(2)
    p = rng.uniform(size=(4000, 10))
    any_rejected = np.mean([any(holm(row).rejected) for row in p])
    assert any_rejected <= 0.05 + 2 * math.sqrt(0.05 * 0.95 / 4000)
    assert np.mean(np.any(p <= 0.05, axis=1)) > 0.3  # uncorrected: 40%


@pytest.mark.parametrize("call, message", [
    (lambda: paired_difference([1.0, 2.0], [1.0], lower_is_better=True), "same length"),
    (lambda: paired_difference([], [], lower_is_better=True), "at least one"),
    (lambda: paired_difference([np.nan], [1.0], lower_is_better=True), "NaN"),
    (lambda: paired_difference([1.0], [1.0], lower_is_better=True, level=95), "level"),
    (lambda: holm([0.5, 1.5]), "between 0 and 1"),
    (lambda: holm([0.5], alpha=0), "alpha"),
    (lambda: mean_interval([[1.0]]), "1-D"),
])
def test_bad_input_raises_a_readable_value_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()


@pytest.mark.parametrize("n", [8, 20])
def test_centred_skewed_differences_fare_better_than_with_the_bootstrap(n):
    """A and B unlike in shape, alike in mean (centred lognormal differences): no test of
    a mean keeps 5% here (see the module notes); the sign-flip test's rate (measured
    0.153-0.159 at 8 images, 0.124-0.136 at 20) stays below the percentile bootstrap's
    (0.21-0.23 and 0.14-0.15)."""
    rng = np.random.default_rng(11 + n)
    m = 2000
    d = rng.lognormal(0.0, 1.0, (m, n)) - math.exp(0.5)
    rate = _rate(d, seed=n)
    boot = np.stack([row[rng.integers(0, n, (1000, n))].mean(axis=1) for row in d])
    low, high = np.quantile(boot, [0.025, 0.975], axis=1)
    boot_rate = float(np.mean((low > 0) | (high < 0)))
    print(f"centred lognormal n={n}: sign-flip {rate:.3f}, bootstrap {boot_rate:.3f}")
    assert rate <= 0.16 + 2 * math.sqrt(0.16 * 0.84 / m)
    assert rate < boot_rate
