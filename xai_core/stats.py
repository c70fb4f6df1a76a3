"""The project's statistics, in one neutral place.

Used by the dataset study (paired comparisons of images, Holm's correction for the
claims of one summary), by the anytime stops of RISE and LIME (the replicate bound, the
noise dimension, the check schedule) and by the sanity check. Each procedure names the
paper or textbook it comes from, and its promise is tested by simulation at the sizes
users have (``tests/test_stats.py``).
"""

from __future__ import annotations

# ---------------------------------------------------------------------------------------
# Paired comparisons and many claims at once (the dataset study, the sanity check)
# ---------------------------------------------------------------------------------------


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

# this section's imports stay in it, so that the two sections can be edited apart
import math  # noqa: E402

import numpy as np  # noqa: E402
from scipy.stats import chi2  # noqa: E402
from scipy.stats import f as f_dist  # noqa: E402


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
