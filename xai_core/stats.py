"""The project's statistics, in one neutral place.

Used by the dataset study (paired comparisons of images, Holm's correction for the
claims of one summary), by the anytime stops of RISE and LIME (the replicate bound, the
noise dimension, the check schedule) and by the sanity check. Each procedure names the
paper or textbook it comes from, and its promise is tested by simulation at the sizes
users have (``tests/test_stats.py``; the stops' in ``tests/test_stop_stats.py``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import chi2
from scipy.stats import f as f_dist

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
# RISE's stop: sobol_blocks_r (blocks of one scrambled Sobol sequence); LIME's: replicate_r
# of two interleaved replicates. RISE's promise (at most 5% of stops short of r*, at every
# check) is simulated in tests/test_stop_stats.py and measured in docs/rise-sampling.md.

#: Default significance of the automatic stops: at most this share of stopped maps may
#: fall short of the promised correlation (all looks of a run together).
STOP_ALPHA = 0.05


def look_alpha(look: int, alpha: float = STOP_ALPHA) -> float:
    """Significance spent on the ``look``-th check (1, 2, ...) of a run.

    ``alpha * 6 / (pi^2 look^2)``: the shares sum to ``alpha`` over infinitely many looks
    (Bonferroni over a convergent series), so checking after every batch does not erode
    the promise, while the first looks keep most of it.
    """
    if look < 1:
        raise ValueError(f"look must be a whole number of at least 1; got {look}")
    return alpha * 6.0 / (math.pi**2 * look**2)


def check_step(n: int, every: int) -> int:
    """Spacing of the checks around ``n``: ``every`` up to ``8 every``, then doubling with n.

    ``every * 2^max(0, floor(log2(n / (4 every))))``: about four checks per doubling of the
    budget once it is large, so the error rate spent per check (see :func:`look_alpha`)
    does not shrink faster than the noise.
    """
    ratio = n / (4 * every)
    return every * (2 ** max(0, math.floor(math.log2(ratio))) if ratio >= 1 else 1)


def is_check(n: int, first: int, every: int) -> bool:
    """Whether ``n`` samples is a check point of a schedule starting at ``first``."""
    return n >= first and n % check_step(n, every) == 0


def next_check(n: int, first: int, every: int) -> int:
    """The first check point after ``n``."""
    m = max(n + 1, first)
    while not is_check(m, first, every):
        m = (m // check_step(m, every) + 1) * check_step(m, every)
    return m


def look_index(n: int, first: int, every: int) -> int:
    """How many check points lie in ``[first, n]`` (at least 1): the look number at ``n``."""
    k, m = 0, next_check(first - 1, first, every)
    while m <= n:
        k += 1
        m = next_check(m, first, every)
    return max(1, k)


def _check_first(first: int) -> None:
    if first < 1:
        raise ValueError(f"first must be at least 1; got {first}")


def doubling_looks(first: int, cap: int) -> int:
    """How many checks a run of at most ``cap`` samples makes on the doubling schedule:
    one at each ``first * 2^j <= cap``, and one at ``cap`` if that is not among them."""
    _check_first(first)
    if cap < 1:
        raise ValueError(f"cap must be at least 1; got {cap}")
    if cap < first:
        return 1
    j = (cap // first).bit_length()  # checks first, 2 first, ..., 2^(j-1) first <= cap
    return j + (0 if is_doubling_check(cap, first) else 1)


def is_doubling_check(n: int, first: int) -> bool:
    """Whether ``n`` is ``first * 2^j`` for some j >= 0."""
    _check_first(first)
    q, rem = divmod(n, first)
    return n >= first and rem == 0 and q & (q - 1) == 0


def next_doubling_check(n: int, first: int) -> int:
    """The first ``first * 2^j`` above ``n``."""
    _check_first(first)
    m = first
    while m <= n:
        m *= 2
    return m


def replicate_r(
    maps: np.ndarray,
    *,
    weights: np.ndarray | None = None,
    dof_per_replicate: float | None = None,
    alpha: float | None = None,
) -> float:
    """Correlation of the average of independent replicate maps with its infinite-budget limit.

    Parameters
    ----------
    maps
        (R, P) array, R >= 2: maps from R independent, identically distributed replicates
        (e.g. independently scrambled Sobol sequences of equal length), one value per
        pixel (or per superpixel, with ``weights``).
    weights
        Optional (P,) non-negative weights of the entries (pixels per superpixel), so
        that the correlation is the one over pixels.
    dof_per_replicate
        Effective number of independent noise components in one map (its grid cells for
        RISE, its superpixels for LIME), used with ``alpha``. Default: P.
    alpha
        ``None``: the point estimate. A level in (0, 1): a lower confidence bound, which
        falls short of the true correlation with probability at most ``alpha``.

    Returns
    -------
    float
        In [0, 1]. With the mean map ``m`` and the replicates' noise variance estimated
        per entry as ``v = var_r(maps) / R`` (unbiased for the noise of ``m`` because
        the replicates are independent; each replicate's mean is removed first, as an
        offset does not change a correlation), ``r^2 = 1 - mean(v) / var(m)``: the share
        of the map's spatial variance that is signal. The bound replaces ``mean(v)`` by an
        upper ``1 - alpha`` limit of the mean map's *realised* noise: with ``dof``
        independent noise components, realised / estimated noise follows an F
        distribution with ``(dof, (R - 1) dof)`` degrees of freedom.
        Owen (2013), *Monte Carlo theory, methods and examples*, ch. 17 (randomised QMC
        replicates); Spearman (1904) for the attenuation of a correlation by noise.
    """
    x = np.asarray(maps, np.float64)
    if x.ndim != 2 or x.shape[0] < 2:
        raise ValueError(f"maps must have shape (R, P) with R >= 2 replicates; got {x.shape}")
    n_rep, n = x.shape
    w = np.ones(n) if weights is None else np.asarray(weights, np.float64).ravel()
    if w.shape != (n,) or np.any(w < 0) or w.sum() <= 0:
        raise ValueError(f"weights must be {n} non-negative numbers, not all 0")
    w = w / w.sum()
    x = x - (x @ w)[:, None]  # an offset between replicates does not change a correlation
    mean = x.mean(axis=0)
    total = float(w @ mean**2)
    if total <= 0.0:
        return 0.0
    noise = float(w @ x.var(axis=0, ddof=1)) / n_rep
    if alpha is not None:
        k = float(n if dof_per_replicate is None else dof_per_replicate)
        noise *= float(f_dist.ppf(1.0 - alpha, k, (n_rep - 1) * k))
    return float(np.sqrt(max(0.0, 1.0 - noise / total)))


#: Range the estimated noise components of :func:`noise_dof` are clipped to (from 1: noise
#: can be dominated by a single pattern).
NOISE_DOF_RANGE = (1.0, 64.0)
#: :func:`noise_dof` errs low: it is a lower limit that the true number of components
#: exceeds in about 1 - DOF_QUANTILE of runs (a smaller number widens the bound).
DOF_QUANTILE = 0.25
#: Noise components assumed with only 2 replicates, which cannot estimate them. Measured
#: on the known-answer model (40 seeds, checks at 64, 128, ...): 1 stop in 40 short of
#: r* = 0.95 (at 0.942), median 256 masks; on photos it is too cautious (coffee: 1024).
TWO_REPLICATE_DOF = 24.0


def _helmert(maps: np.ndarray) -> np.ndarray:
    """(R - 1, P) orthonormal (Helmert) contrasts of R replicate maps (rows), each map's
    mean removed first: row a compares replicate a + 1 with the mean of replicates 0..a.
    For independent, identically distributed replicates with noise covariance S, the rows
    are independent draws of that noise (covariance S each)."""
    x = maps - maps.mean(axis=1, keepdims=True)
    return np.stack([(x[: a + 1].mean(axis=0) - x[a + 1]) * np.sqrt((a + 1) / (a + 2))
                     for a in range(len(x) - 1)])


def _dof_of_contrasts(u: np.ndarray) -> float:
    """Lower limit of ``(tr S)^2 / tr S^2`` from independent noise draws ``u`` (rows)."""
    lo, hi = NOISE_DOF_RANGE
    gram = u @ u.T
    tr_s = float(np.mean(np.diag(gram)))
    pairs = gram[np.triu_indices(len(u), 1)]
    tr_s2 = float(np.mean(pairs**2))
    if tr_s2 <= 0.0:
        return hi
    # each (u_a . u_b)^2 is about tr S^2 times a chi-square of 1 degree of freedom, so their
    # mean over m pairs is tr S^2 * chi2_m / m: scaling by the chi2_m quantile
    # DOF_QUANTILE / m gives a number below the true one in about 75% of runs
    m = len(pairs)
    return float(np.clip(tr_s**2 / tr_s2 * chi2.ppf(DOF_QUANTILE, m) / m, lo, hi))


def _check_maps(maps: np.ndarray, least: int = 2) -> np.ndarray:
    x = np.asarray(maps, np.float64)
    if x.ndim != 2 or x.shape[0] < least:
        raise ValueError(f"maps must have shape (R, P) with R >= {least} replicates; "
                         f"got {x.shape}")
    return x


def noise_dof(maps: np.ndarray) -> float:
    """Effective number of independent noise components of one replicate map, estimated.

    With R >= 3 replicate maps (rows of ``maps``), the R - 1 orthonormal (Helmert)
    contrasts ``u_a`` of the replicates are independent draws of the replicates' noise,
    each with covariance S: ``||u||^2`` estimates ``tr S`` and, for two different
    contrasts, ``(u_a . u_b)^2`` estimates ``tr S^2``. The effective number of components
    is ``(tr S)^2 / tr S^2`` (equal to their count when they are equally strong, fewer
    when a few dominate). Each map's mean is removed first. 2 replicates (one contrast, no
    pair to compare) cannot estimate it: :data:`TWO_REPLICATE_DOF` then.

    The estimate is rough (3 pairs with 4 replicates) and taken on the safe side: a lower
    limit (:data:`DOF_QUANTILE`), clipped to :data:`NOISE_DOF_RANGE`. Used with the
    *same* replicates' noise in :func:`replicate_r`'s bound it is not independent of the
    noise it scales, and a stop picks the runs where both are wrong (the review of the
    first release: 7 of 16 stops at 256 masks short of r* = 0.95); the stops therefore
    estimate it apart, with :func:`noise_dof_within`.
    """
    x = _check_maps(maps)
    if x.shape[0] < 3:
        return TWO_REPLICATE_DOF
    return _dof_of_contrasts(_helmert(x))


def noise_dof_within(sub_maps: np.ndarray, blocks: int) -> float:
    """:func:`noise_dof` from contrasts *within* blocks, independent of the blocks' spread.

    ``sub_maps`` (G, P) are the maps of G equal sub-blocks of the samples, in order;
    ``blocks`` consecutive groups of ``G / blocks`` sub-blocks form the blocks whose
    spread :func:`replicate_r` turns into the noise of their average. The contrasts
    between the sub-blocks of one block (``G - blocks`` of them, Helmert within each
    block) are, for independent Gaussian sub-blocks, independent of the block means, so
    the dimension they estimate is independent of the noise estimate that it widens: a
    run whose noise is underestimated by chance does not also get an overestimated
    dimension. (The dimension is the one of a sub-block's noise, a proxy for a block's.)

    Raises ``ValueError`` unless ``G`` is a multiple of ``blocks`` with at least 2
    sub-blocks per block and at least 2 contrasts in all.
    """
    x = _check_maps(sub_maps)
    g = x.shape[0]
    if blocks < 1 or g % blocks or g // blocks < 2 or g - blocks < 2:
        raise ValueError(f"{g} sub-block maps cannot be split into {blocks} blocks of at "
                         "least 2 sub-blocks each, with at least 2 contrasts in all")
    m = g // blocks
    return _dof_of_contrasts(np.concatenate([_helmert(x[b * m:(b + 1) * m])
                                             for b in range(blocks)]))


def block_r(block_maps: np.ndarray, sub_maps: np.ndarray | None = None, *,
            alpha: float | None = None) -> float:
    """Correlation of a pooled map with its infinite-budget limit, from consecutive blocks.

    Parameters
    ----------
    block_maps
        (B, P), B >= 2: the maps of B consecutive, equal blocks of the samples of one
        scrambled Sobol sequence (a power of two of points each), whose pooled map is
        the one judged.
    sub_maps
        (G, P): the maps of the G equal sub-blocks that make up the blocks, in order
        (G / B per block); used for the bound's noise dimension
        (:func:`noise_dof_within`). ``None``: the dimension from the blocks themselves
        (:func:`noise_dof`).
    alpha
        ``None``: the point estimate; a level in (0, 1): the lower confidence bound.

    Returns
    -------
    float
        :func:`replicate_r` of the blocks, as if they were independent replicates. They
        are not: consecutive blocks of one scrambled Sobol sequence are negatively
        correlated (together they are better balanced than each), so their spread
        overstates the error of the pooled map, and the estimate and the bound err low
        (Owen 2013, ch. 17; Owen 1997 on the variance of scrambled nets). This is the
        price of estimating the error without spoiling the map: the pooled map is the
        one sequence of the fixed budget, the most accurate for its size.
    """
    x = _check_maps(block_maps)
    if alpha is None:
        return replicate_r(x)
    dof = noise_dof(x) if sub_maps is None else noise_dof_within(sub_maps, len(x))
    return replicate_r(x, dof_per_replicate=dof, alpha=alpha)


#: Share of the level that :func:`sobol_blocks_r` gives to the halves' bound (the rest to
#: the quarters'). 0: the quarters alone. Measured (docs/rise-sampling.md): half and
#: half stops easy known-answer maps at 256 masks instead of 512, but coffee at 1024
#: instead of 768 and a near-threshold model at 1024 instead of 512; no stop was short
#: of r* either way. The photos decide: 0.
HALVES_SHARE = 0.0


def sobol_blocks_r(sub_maps: np.ndarray, quarter_maps: np.ndarray, half_maps: np.ndarray,
                   *, alpha: float | None = None, halves_share: float = HALVES_SHARE) -> float:
    """The RISE stop's estimate or bound at a check, from blocks of one Sobol sequence.

    Parameters
    ----------
    sub_maps, quarter_maps, half_maps
        (8, P), (4, P), (2, P): the maps of the eighths, quarters and halves of the n
        masks of one scrambled Sobol sequence at a check (n a power of two times 8).
    alpha
        ``None``: the point estimate, the larger of the quarters' and the halves'
        (:func:`block_r`; the quarters' errs low, the halves' is about right: measured
        0.94 and 0.993 where the true r was 0.992). A level in (0, 1): the lower
        confidence bound.
    halves_share
        Share of ``alpha`` given to a second bound from the two halves, with the noise
        dimension from the six contrasts *within* them (:func:`noise_dof_within`,
        independent of the halves' difference); the bound is then the larger of the two
        (Bonferroni: both hold together with probability at least ``1 - alpha``).
        Default :data:`HALVES_SHARE`.

    Returns
    -------
    float
        The bound of the four quarters (at level ``alpha (1 - halves_share)``), with
        the noise dimension from their own three contrasts (:func:`noise_dof`). Their
        spread overstates the pooled map's error, which absorbs the error of that
        dimension: simulated on held-out known-answer models and measured on coffee, no
        check's stops fell short of r* = 0.95 (docs/rise-sampling.md).
    """
    if alpha is None:
        return max(block_r(quarter_maps), block_r(half_maps))
    if not 0.0 <= halves_share < 1.0:
        raise ValueError(f"halves_share must lie in [0, 1); got {halves_share}")
    low = block_r(quarter_maps, alpha=alpha * (1.0 - halves_share))
    if halves_share > 0.0:
        low = max(low, block_r(half_maps, sub_maps, alpha=alpha * halves_share))
    return low


# (end of the anytime stops)
