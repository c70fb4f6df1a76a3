"""The project's statistics, in one neutral place.

Used by the dataset study (paired comparisons of images, Holm's correction for the
claims of one summary), by the anytime stops of RISE and LIME (the replicate bound, the
noise dimension, the check schedule) and by the sanity check. Each procedure names the
paper or textbook it comes from, and its promise is tested by simulation at the sizes
users have (``tests/test_stats.py``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

# ---------------------------------------------------------------------------------------
# Paired comparisons and many claims at once (the dataset study, the sanity check)
# ---------------------------------------------------------------------------------------

#: Up to this many images the sign-flip test enumerates all 2**n sign patterns (exact);
#: beyond, it draws :data:`MONTE_CARLO_FLIPS` seeded patterns.
EXACT_MAX_N = 16
#: Random sign patterns of the Monte-Carlo test (n > :data:`EXACT_MAX_N`).
MONTE_CARLO_FLIPS = 20_000


def _finite_1d(name: str, values: object) -> np.ndarray:
    x = np.asarray(values, dtype=np.float64)
    if x.ndim != 1 or x.size == 0:
        raise ValueError(f"{name} needs a 1-D list of at least one number; got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name}: the values contain NaN or infinite numbers")
    return x


def _check_level(level: float) -> None:
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be strictly between 0 and 1 (e.g. 0.95); got {level}")


def sign_patterns(n: int, seed: int = 0) -> tuple[np.ndarray, bool]:
    """The sign patterns of a sign-flip test on ``n`` paired differences.

    Returns ``(signs, exact)``: float64 (K, n) of ±1 whose first row is all +1 (the
    observed data), with every one of the 2**n patterns when ``n <=``
    :data:`EXACT_MAX_N` (``exact=True``), else :data:`MONTE_CARLO_FLIPS` patterns drawn
    from ``numpy.random.default_rng(seed)`` after the observed one.
    """
    if n < 1:
        raise ValueError(f"a sign-flip test needs at least one difference; got {n}")
    if n <= EXACT_MAX_N:
        bits = (np.arange(2**n)[:, None] >> np.arange(n)[None, :]) & 1
        return 1.0 - 2.0 * bits, True
    rng = np.random.default_rng(seed)
    signs = rng.choice(np.array([1.0, -1.0]), size=(MONTE_CARLO_FLIPS + 1, n))
    signs[0] = 1.0
    return signs, False


def sign_flip_p_values(differences: np.ndarray, signs: np.ndarray) -> np.ndarray:
    """Two-sided sign-flip p-values of the mean, one per row of ``differences`` (m, n).

    ``signs`` (K, n) from :func:`sign_patterns`, the observed pattern first. The p-value
    is the share of patterns whose ``|sum(sign * d)|`` reaches the observed ``|sum(d)|``
    (the observed one counted, so a Monte-Carlo p-value is never 0 and stays valid:
    Phipson & Smyth, 2010). Vectorised over rows, so simulations can test thousands of
    samples in one call.
    """
    d = np.atleast_2d(np.asarray(differences, np.float64))
    observed = np.abs(d.sum(axis=1))
    # sums equal up to rounding count as reaching the observed one
    reach = observed - 1e-9 * np.abs(d).sum(axis=1)
    out = np.empty(d.shape[0])
    step = max(1, 4_000_000 // signs.shape[0])  # rows at a time: a few million sums in memory
    for i in range(0, d.shape[0], step):
        flipped = np.abs(d[i : i + step] @ signs.T)  # (rows, K)
        out[i : i + step] = (flipped >= reach[i : i + step, None]).mean(axis=1)
    return out


def smallest_p_value(n: int) -> float:
    """The smallest two-sided p-value the exact sign-flip test can give with ``n``
    differences: ``2 / 2**n`` (all differences of one sign; flipping every sign gives the
    same ``|sum|``). With 4 images it is 0.125, so nothing can be established at 95%."""
    if n < 1:
        raise ValueError(f"n must be at least 1; got {n}")
    return min(1.0, 2.0 ** (1 - n))


def can_establish(n: int, alpha: float = 0.05) -> bool:
    """Whether ``n`` paired images can give a p-value at or below ``alpha`` at all."""
    return smallest_p_value(n) <= alpha


def too_few_images(n: int, level: float = 0.95, claims: int = 1) -> str | None:
    """Plain words when ``n`` images cannot establish any of ``claims`` claims at
    ``level`` (Holm's first threshold is ``(1 - level) / claims``), else ``None``.

    >>> too_few_images(4)
    'with 4 images no difference can be established at 95%'
    """
    alpha = (1.0 - level) / max(1, claims)
    if smallest_p_value(n) <= alpha:
        return None
    many = "" if claims <= 1 else f" and {claims} claims"
    return f"with {n} image{'s' if n != 1 else ''}{many} no difference can be established at {level:.0%}"


@dataclass(frozen=True)
class MeanInterval:
    """A mean with its Student t interval ``[low, high]`` over ``n`` values at ``level``."""

    mean: float
    low: float
    high: float
    n: int
    level: float = 0.95

    def text(self, digits: int = 3) -> str:
        """``"mean [low, high]"`` with ``digits`` decimals (``"[−∞, ∞]"`` with one value)."""
        def f(x: float) -> str:
            return ("∞" if x > 0 else "−∞") if math.isinf(x) else f"{x:.{digits}f}".replace("-", "−")
        return f"{f(self.mean)} [{f(self.low)}, {f(self.high)}]"


def mean_interval(values: Sequence[float] | np.ndarray, *, level: float = 0.95) -> MeanInterval:
    """The mean of ``values`` and its Student t interval (Student, 1908).

    ``mean ± t_{n-1} · s / sqrt(n)``: exact for normal values. Chosen by simulation over a
    percentile bootstrap and BCa (Efron, 1987), which are far too narrow at the sizes a lab
    has (4000 samples each; share of 95% intervals missing the true mean):

    ==============  =====  =====  =====
    values, n        4      8      20
    ==============  =====  =====  =====
    normal, t       0.050  0.053  0.049
    normal, BCa     0.197  0.147  0.053
    normal, pct.    0.193  0.147  0.063
    expon., t       0.123  0.108  0.089
    expon., BCa     0.243  0.163  0.100
    lognorm., t     0.186  0.173  0.123
    lognorm., BCa   0.297  0.190  0.117
    ==============  =====  =====  =====

    No interval of a mean is calibrated for strongly skewed values at these sizes
    (Bahadur & Savage, 1956); t misses least.

    Parameters
    ----------
    values
        1-D finite numbers (at least one). One value gives ``[−inf, inf]``.
    level
        Coverage, in (0, 1).
    """
    from scipy.stats import t as student_t

    x = _finite_1d("mean_interval", values)
    _check_level(level)
    mean = float(x.mean())
    if x.size == 1:
        return MeanInterval(mean, -math.inf, math.inf, 1, level)
    half = float(student_t.ppf(0.5 + level / 2.0, x.size - 1) * x.std(ddof=1) / math.sqrt(x.size))
    return MeanInterval(mean, mean - half, mean + half, int(x.size), level)


@dataclass(frozen=True)
class PairedDifference:
    """The result of :func:`paired_difference`: the mean of A − B over ``n`` images with its
    t interval ``[low, high]``, the sign-flip ``p_value``, and whether the difference is
    ``established`` (``p_value <= 1 - level``; the summary of a study applies
    :func:`holm` over its claims instead). ``a_better`` / ``b_better`` count the images
    where each side is better (ties in neither); ``exact`` says the p-value enumerated
    every sign pattern."""

    mean: float
    low: float
    high: float
    p_value: float
    established: bool
    n: int
    level: float
    a_better: int
    b_better: int
    exact: bool

    @property
    def interval(self) -> MeanInterval:
        return MeanInterval(self.mean, self.low, self.high, self.n, self.level)


def skew_corrected_t_p_values(differences: np.ndarray) -> np.ndarray:
    """Two-sided p-values of Johnson's skewness-corrected t test of a zero mean, one per row
    of ``differences`` (m, n) (Johnson, 1978, *JASA* 73: 536-544).

    ``t = (mean + m3 / (6 s^2 n) + m3 mean^2 / (3 s^4)) / (s / sqrt(n))`` against Student's t
    with n - 1 degrees of freedom, where ``m3`` is the sample's third central moment: the
    plain t statistic with the first Cornish-Fisher term of the mean's skewness taken off.
    Rows of one value give 1; rows without spread give 0 (a non-zero mean) or 1.
    """
    from scipy.stats import t as student_t

    d = np.atleast_2d(np.asarray(differences, np.float64))
    n = d.shape[1]
    if n < 2:
        return np.ones(d.shape[0])
    mean = d.mean(axis=1)
    s2 = d.var(axis=1, ddof=1)
    m3 = ((d - mean[:, None]) ** 3).sum(axis=1) / (n - 1)
    flat = s2 <= 1e-24 * np.maximum(1.0, mean**2)
    s2 = np.where(flat, 1.0, s2)
    t = (mean + m3 / (6.0 * s2 * n) + m3 * mean**2 / (3.0 * s2**2)) / np.sqrt(s2 / n)
    p = 2.0 * student_t.sf(np.abs(t), n - 1)
    return np.where(flat, np.where(np.abs(mean) > 0, 0.0, 1.0), p)


def paired_p_values(differences: np.ndarray, seed: int = 0) -> np.ndarray:
    """The p-values :func:`paired_difference` reports, one per row of ``differences`` (m, n):
    the larger of the sign-flip test's (:func:`sign_flip_p_values`) and Johnson's
    skewness-corrected t test's (:func:`skew_corrected_t_p_values`).

    A difference is established only when both tests find it (an intersection-union test,
    Berger 1982: the larger of two valid p-values is valid). The sign-flip test is exact
    when A and B are interchangeable on each image; Johnson's correction keeps the claims
    honest when the differences are skewed but centred on 0 (A and B alike in mean, unlike
    in shape), where the sign-flip test alone establishes a difference in 8-15% of samples
    of 8 or 20 images. Vectorised, for simulations.
    """
    d = np.atleast_2d(np.asarray(differences, np.float64))
    signs, _ = sign_patterns(d.shape[1], seed)
    return np.maximum(sign_flip_p_values(d, signs), skew_corrected_t_p_values(d))


def paired_difference(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray, *,
                      lower_is_better: bool, level: float = 0.95, seed: int = 0) -> PairedDifference:
    """Compare two configurations' scores on the same images: A − B.

    Two tests must both find the difference (:func:`paired_p_values`; the reported
    ``p_value`` is the larger of their two): the sign-flip permutation test of the mean
    difference (Fisher, 1935; Pitman, 1937; Good, *Permutation, Parametric and Bootstrap
    Tests of Hypotheses*, 2005), which compares the observed ``|sum(d)|`` with its value
    under all 2**n sign patterns (exact up to :data:`EXACT_MAX_N` images, else
    :data:`MONTE_CARLO_FLIPS` seeded patterns), and Johnson's skewness-corrected t test
    (Johnson, 1978; :func:`skew_corrected_t_p_values`). Beside them, the Student t
    interval of the mean (:func:`mean_interval`).

    Simulated false-positive rates (``tests/test_stats.py`` and a 3000-6000-sample run;
    share with ``p <= 0.05``; the sign-flip test alone in brackets; the percentile
    bootstrap this replaces excluded 0 in 20%, 12-15% and 6-7% of normal samples and
    25-33%, 17-21% and 9-14% of the centred skewed ones):

    =====================================  =====  =============  =============
    no true difference, n images            4      8              20
    =====================================  =====  =============  =============
    normal scores                          0.000  0.039 (0.047)  0.043 (0.049)
    lognormal scores (A, B alike)          0.000  0.042 (0.048)  0.047 (0.048)
    exponential scores (A, B alike)        0.000  0.042 (0.046)  0.046 (0.047)
    centred exponential differences        0.000  0.052 (0.088)  0.040 (0.079)
    centred lognormal(σ=0.5) differences   0.000  0.053 (0.070)  0.048 (0.072)
    centred lognormal(σ=1) differences     0.000  0.087 (0.152)  0.061 (0.122)
    =====================================  =====  =============  =============

    The sign-flip test is exact whenever A and B are interchangeable (the differences
    symmetric about 0), whatever the distribution of the images' scores. When A and B
    differ in shape but not in mean (centred skewed differences: one side wins most images
    by a little, the other a few by a lot), no test of the mean keeps 5% for every
    distribution at these sizes (Bahadur & Savage, 1956); Johnson's correction brings
    moderate skew (exponential, lognormal σ = 0.5) to about 5% (0.052-0.057 over several
    seeds at 8 images) and halves the excess of strong
    skew (lognormal σ = 1, skewness 6). A true difference of one standard deviation over
    20 normal differences is established in 98% of samples (at 8 images, 58%).

    Parameters
    ----------
    a, b
        1-D scores of the same images (``a[i]`` and ``b[i]``: image i), finite.
    lower_is_better
        Counts which side wins each image (deletion AUC: lower is better).
    level
        Confidence of the interval; ``established`` means ``p_value <= 1 - level``.
    seed
        Seeds the sign patterns when there are more than :data:`EXACT_MAX_N` images.

    Returns
    -------
    PairedDifference
        ``.mean``, ``.low``, ``.high``, ``.p_value``, ``.established``, ``.n``.

    Raises
    ------
    ValueError
        Lists of different lengths, not 1-D, empty, or holding NaN; a level outside (0, 1).

    Examples
    --------
    >>> r = paired_difference([0.1, 0.2, 0.3, 0.4], [0.2, 0.3, 0.4, 0.5], lower_is_better=True)
    >>> round(r.mean, 3), r.p_value, r.established
    (-0.1, 0.125, False)
    """
    x = _finite_1d("paired_difference", a)
    y = _finite_1d("paired_difference", b)
    if x.shape != y.shape:
        raise ValueError(f"paired scores must be two lists of the same length (one score per "
                         f"image); got {x.size} and {y.size}")
    _check_level(level)
    d = x - y
    exact = d.size <= EXACT_MAX_N
    p = float(paired_p_values(d[None, :], seed)[0])
    iv = mean_interval(d, level=level)
    better = int(np.sum(d < 0 if lower_is_better else d > 0))
    worse = int(np.sum(d > 0 if lower_is_better else d < 0))
    return PairedDifference(iv.mean, iv.low, iv.high, p, p <= 1.0 - level, int(d.size), level,
                            better, worse, exact)


@dataclass(frozen=True)
class Holm:
    """The result of :func:`holm`: per p-value (in the order given) its Holm-adjusted
    value and whether it is rejected at ``alpha``."""

    adjusted: tuple[float, ...]
    rejected: tuple[bool, ...]
    alpha: float


def holm(p_values: Sequence[float] | np.ndarray, alpha: float = 0.05) -> Holm:
    """Holm's step-down correction for many claims at once (Holm, 1979).

    Sorted ascending, the k-th smallest of m p-values is compared with ``alpha / (m - k)``
    (k from 0), stopping at the first that fails: the chance that any true null among the
    m is rejected stays at most ``alpha``, whatever their dependence. The adjusted
    p-values ``max_{j<=k} min(1, (m - j) p_(j))`` are rejected exactly when ``<= alpha``.

    Parameters
    ----------
    p_values
        p-values in [0, 1] (may be empty).
    alpha
        Family-wise error rate, in (0, 1).

    Examples
    --------
    >>> holm([0.01, 0.04, 0.03]).rejected
    (True, False, False)
    """
    p = np.asarray(p_values, dtype=np.float64).ravel()
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be strictly between 0 and 1 (e.g. 0.05); got {alpha}")
    if p.size and (not np.all(np.isfinite(p)) or p.min() < 0.0 or p.max() > 1.0):
        raise ValueError("holm: p-values must be numbers between 0 and 1")
    m = p.size
    order = np.argsort(p, kind="stable")
    steps = np.minimum(1.0, (m - np.arange(m)) * p[order])
    adjusted = np.empty(m)
    adjusted[order] = np.maximum.accumulate(steps) if m else steps
    return Holm(tuple(float(v) for v in adjusted), tuple(bool(v <= alpha) for v in adjusted),
                float(alpha))


# (end of the paired comparisons)
#
#
#
# ---------------------------------------------------------------------------------------
# The anytime stops: the replicate bound, the noise dimension, the check schedule
# ---------------------------------------------------------------------------------------


# (end of the anytime stops)
