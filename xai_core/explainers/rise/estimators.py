"""RISE estimators, and how far a map is from its infinite-budget limit.

The paper's weighted sum and its centred (control-variate) form are computed from
running sums kept apart for R independent replicates of the masks (:class:`Sums`), so
the convergence of the map can be estimated from how well the replicates agree
(:func:`replicate_r`, shared with anytime LIME). :func:`split_half_r` is the older
two-halves estimate, kept for comparison.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.stats import chi2
from scipy.stats import f as f_dist

#: RISE estimators: the paper's weighted sum, or the same with the mean score subtracted.
ESTIMATORS = ("plain", "centered")


def split_half_r(half_a: np.ndarray, half_b: np.ndarray) -> float:
    """Estimated correlation of the full map with the infinite-budget map.

    ``half_a`` and ``half_b`` are maps from two disjoint halves of the masks. Their
    Pearson correlation ``r`` gives, by the Spearman-Brown formula, the correlation
    ``2 r / (1 + r)`` between two independent full-budget maps; its square root is the
    expected correlation of one full map with the noise-free map. 0 when undefined.
    """
    a = np.asarray(half_a, np.float64).ravel()
    b = np.asarray(half_b, np.float64).ravel()
    a = a - a.mean()
    b = b - b.mean()
    den = float(np.sqrt((a @ a) * (b @ b)))
    if den <= 0.0:
        return 0.0
    r = float(a @ b) / den
    return float(np.sqrt(2.0 * r / (1.0 + r))) if r > 0.0 else 0.0


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


def noise_dof(maps: np.ndarray) -> float:
    """Effective number of independent noise components of one replicate map, estimated.

    With R >= 3 replicate maps (rows of ``maps``), the R - 1 orthonormal (Helmert)
    contrasts ``u_a`` of the replicates are independent draws of the replicates' noise,
    each with covariance S: ``||u||^2`` estimates ``tr S`` and, for two different
    contrasts, ``(u_a . u_b)^2`` estimates ``tr S^2``. The effective number of components
    is ``(tr S)^2 / tr S^2`` (equal to their count when they are equally strong, fewer
    when a few dominate). Each map's mean is removed first. 2 replicates (one contrast, no
    pair to compare) cannot estimate it: :data:`TWO_REPLICATE_DOF` then.

    The estimate is rough (3 pairs with 4 replicates: it swings by a factor of 3 between
    checks), and the bound that uses it treats it as exact. So it is taken on the safe
    side: a lower limit (:data:`DOF_QUANTILE`), clipped to :data:`NOISE_DOF_RANGE`. With
    the median instead, simulated runs (Gaussian noise of 2-16 patterns, 4 replicates,
    checks at 64 ... 1024 masks) stopped short of r* = 0.95 in up to 8.5% of runs; with
    this limit in at most 3.3%. On the measured photos and the known-answer model both
    stop at the same points. The promise is checked by measurement too
    (``python -m benchmarks autostop``).
    """
    x = np.asarray(maps, np.float64)
    if x.ndim != 2 or x.shape[0] < 2:
        raise ValueError(f"maps must have shape (R, P) with R >= 2 replicates; got {x.shape}")
    lo, hi = NOISE_DOF_RANGE
    n_rep = x.shape[0]
    if n_rep < 3:
        return TWO_REPLICATE_DOF
    x = x - x.mean(axis=1, keepdims=True)
    # Helmert contrasts: row a compares replicate a + 1 with the mean of replicates 0..a
    u = np.stack([(x[: a + 1].mean(axis=0) - x[a + 1]) * np.sqrt((a + 1) / (a + 2))
                  for a in range(n_rep - 1)])
    gram = u @ u.T
    tr_s = float(np.mean(np.diag(gram)))
    pairs = gram[np.triu_indices(n_rep - 1, 1)]
    tr_s2 = float(np.mean(pairs**2))
    if tr_s2 <= 0.0:
        return hi
    # each (u_a . u_b)^2 is about tr S^2 times a chi-square of 1 degree of freedom, so their
    # mean over m pairs is tr S^2 * chi2_m / m: scaling by the chi2_m quantile
    # DOF_QUANTILE / m gives a number below the true one in about 75% of runs
    m = len(pairs)
    return float(np.clip(tr_s**2 / tr_s2 * chi2.ppf(DOF_QUANTILE, m) / m, lo, hi))


class Sums:
    """Running sums for one class, kept apart for each of R replicates of the masks.

    ``ws[g]`` = sum_i s_i M_i, ``m[g]`` = sum_i M_i (float64, H*W), ``s[g]`` = sum_i s_i,
    ``n[g]`` = number of masks, over the masks of replicate ``g``.
    """

    def __init__(self, n_pixels: int, groups: int = 2):
        self.ws = np.zeros((groups, n_pixels), np.float64)
        self.m = np.zeros((groups, n_pixels), np.float64)
        self.s = np.zeros(groups, np.float64)
        self.n = np.zeros(groups, np.int64)
        self.done = 0  # masks 0:done are in the sums

    @property
    def groups(self) -> int:
        return len(self.n)

    def add(self, masks: np.ndarray, scores: np.ndarray, halves: np.ndarray) -> None:
        """Add masks (b, H*W) float32 with their scores (b,) and replicate labels (b,)."""
        sc = np.asarray(scores, np.float32)
        g = self.groups
        sel = (halves[None, :] == np.arange(g)[:, None]).astype(np.float32)  # (g, b)
        both = np.concatenate([sel * sc, sel]) @ masks  # one product: (2g, H*W)
        self.ws += both[:g]
        self.m += both[g:]
        self.s += sel.astype(np.float64) @ sc.astype(np.float64)
        self.n += sel.sum(axis=1).astype(np.int64)
        self.done += len(scores)

    def saliency(self, estimator: str, p: float, half: int | None = None) -> np.ndarray:
        """float64 (H*W) map of all masks (``half=None``) or of one replicate."""
        idx = list(range(self.groups)) if half is None else [half]
        n = int(self.n[idx].sum())
        if n == 0:
            return np.zeros(self.ws.shape[1], np.float64)
        ws = self.ws[idx].sum(axis=0)
        if estimator == "plain":
            return ws / (n * p)
        mean = float(self.s[idx].sum()) / n
        return mean + (ws - mean * self.m[idx].sum(axis=0)) / (n * p)
