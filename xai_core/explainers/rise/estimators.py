"""RISE estimators: the paper's weighted sum and its centred (control-variate) form.

Both are computed from running sums kept apart for two halves of the masks, so the
convergence of the map can be estimated from how well the halves agree
(:func:`split_half_r`).
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


class Sums:
    """Running sums for one class, kept apart for the two halves of the masks.

    ``ws[h]`` = sum_i s_i M_i, ``m[h]`` = sum_i M_i (float64, H*W), ``s[h]`` = sum_i s_i,
    ``n[h]`` = number of masks, over the masks of half ``h``.
    """

    def __init__(self, n_pixels: int):
        self.ws = np.zeros((2, n_pixels), np.float64)
        self.m = np.zeros((2, n_pixels), np.float64)
        self.s = np.zeros(2, np.float64)
        self.n = np.zeros(2, np.int64)
        self.done = 0  # masks 0:done are in the sums

    def add(self, masks: np.ndarray, scores: np.ndarray, halves: np.ndarray) -> None:
        """Add masks (b, H*W) float32 with their scores (b,) and half labels (b,)."""
        sc = np.asarray(scores, np.float32)
        sel = np.stack([halves == 0, halves == 1]).astype(np.float32)  # (2, b) half weights
        both = np.concatenate([sel * sc, sel]) @ masks  # one product: (4, H*W)
        self.ws += both[:2]
        self.m += both[2:]
        self.s += sel.astype(np.float64) @ sc.astype(np.float64)
        self.n += sel.sum(axis=1).astype(np.int64)
        self.done += len(scores)

    def saliency(self, estimator: str, p: float, half: int | None = None) -> np.ndarray:
        """float64 (H*W) map of all masks (``half=None``) or of one half."""
        idx = [0, 1] if half is None else [half]
        n = int(self.n[idx].sum())
        if n == 0:
            return np.zeros(self.ws.shape[1], np.float64)
        ws = self.ws[idx].sum(axis=0)
        if estimator == "plain":
            return ws / (n * p)
        mean = float(self.s[idx].sum()) / n
        return mean + (ws - mean * self.m[idx].sum(axis=0)) / (n * p)
