"""RISE estimators, and how far a map is from its infinite-budget limit.

The paper's weighted sum and its centred (control-variate) form are computed from
running sums kept apart for consecutive blocks of the masks (:class:`Sums`), so the
convergence of the map can be estimated from how well the blocks agree (the statistics
are in :mod:`xai_core.stats`, shared with anytime LIME). :func:`split_half_r` is the
older two-halves estimate, kept for comparison.
"""

from __future__ import annotations

import numpy as np

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


#: Sub-blocks the masks of a check are split into: two per block of the stop's estimate.
SUB_BLOCKS = 8
#: Blocks whose spread estimates the map's error at a check (pairs of sub-blocks).
BLOCKS = SUB_BLOCKS // 2


class Sums:
    """Running sums for one class, over consecutive equal sub-blocks of the masks.

    ``ws[g]`` = sum_i s_i M_i, ``m[g]`` = sum_i M_i (float64, H*W), ``s[g]`` = sum_i s_i,
    ``n[g]`` = number of masks, over the masks of sub-block ``g``.

    The layout follows the checks ``first * 2^j`` of an anytime run: masks ``[0, span)``
    are split into G = :data:`SUB_BLOCKS` sub-blocks of ``span / G`` masks, ``span``
    starting at ``first``. When a mask beyond ``span`` arrives, the sub-blocks are merged
    in pairs (G / 2 of twice the size now cover ``[0, span)``), ``span`` doubles, and the
    G / 2 freed ones take the new masks. So at every check (``done == span``) the G
    sub-blocks are full and equal, and each pair of them is one of the :data:`BLOCKS`
    consecutive blocks whose spread estimates the error. The layout at the last check
    left behind is kept (:meth:`at_check`) for readings between checks.
    """

    def __init__(self, n_pixels: int, first: int, groups: int = SUB_BLOCKS):
        if first < groups or first % groups:
            raise ValueError(f"first_check must be a multiple of {groups} (the sub-blocks of "
                             f"the stop's error estimate); got {first}")
        self.ws = np.zeros((groups, n_pixels), np.float64)
        self.m = np.zeros((groups, n_pixels), np.float64)
        self.s = np.zeros(groups, np.float64)
        self.n = np.zeros(groups, np.int64)
        self.span = int(first)
        self.done = 0  # masks 0:done are in the sums
        self._checked: Sums | None = None

    @property
    def groups(self) -> int:
        return len(self.n)

    def _merge(self) -> None:
        """Leave the check at ``span``: keep its layout, merge pairs, double ``span``."""
        kept = Sums.__new__(Sums)
        kept.ws, kept.m, kept.s, kept.n = self.ws.copy(), self.m.copy(), self.s.copy(), self.n.copy()
        kept.span, kept.done, kept._checked = self.span, self.done, None
        self._checked = kept
        h = self.groups // 2
        for arr in (self.ws, self.m, self.s, self.n):
            arr[:h] = arr[0::2] + arr[1::2]
            arr[h:] = 0
        self.span *= 2

    def add(self, masks: np.ndarray, scores: np.ndarray) -> None:
        """Add masks ``done:done + b``, (b, H*W) float32, with their scores (b,)."""
        sc = np.asarray(scores, np.float32)
        g = self.groups
        i = 0
        while i < len(sc):
            if self.done == self.span:
                self._merge()
            take = min(len(sc) - i, self.span - self.done)
            labels = np.arange(self.done, self.done + take) // (self.span // g)
            sel = (labels[None, :] == np.arange(g)[:, None]).astype(np.float32)  # (g, b)
            part = sc[i:i + take]
            both = np.concatenate([sel * part, sel]) @ masks[i:i + take]  # (2g, H*W)
            self.ws += both[:g]
            self.m += both[g:]
            self.s += sel.astype(np.float64) @ part.astype(np.float64)
            self.n += sel.sum(axis=1).astype(np.int64)
            self.done += take
            i += take

    def at_check(self) -> Sums | None:
        """The sums as they were at the last check (``self`` at a check; ``None`` before
        the first one)."""
        if self.done == self.span:
            return self
        return self._checked

    def saliency(self, estimator: str, p: float,
                 groups: list[int] | None = None) -> np.ndarray:
        """float64 (H*W) map of all masks (``groups=None``) or of those sub-blocks."""
        idx = list(range(self.groups)) if groups is None else list(groups)
        n = int(self.n[idx].sum())
        if n == 0:
            return np.zeros(self.ws.shape[1], np.float64)
        ws = self.ws[idx].sum(axis=0)
        if estimator == "plain":
            return ws / (n * p)
        mean = float(self.s[idx].sum()) / n
        return mean + (ws - mean * self.m[idx].sum(axis=0)) / (n * p)

    def block_maps(self, estimator: str, p: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """float64 maps of the G sub-blocks (G, H*W), of the G / 2 blocks (pairs of
        sub-blocks) and of the two halves (2, H*W)."""
        g = self.groups
        sub = np.stack([self.saliency(estimator, p, [k]) for k in range(g)])
        blocks = np.stack([self.saliency(estimator, p, [k, k + 1]) for k in range(0, g, 2)])
        halves = np.stack([self.saliency(estimator, p, list(range(k, k + g // 2)))
                           for k in (0, g // 2)])
        return sub, blocks, halves
