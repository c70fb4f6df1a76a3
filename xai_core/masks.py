"""RISE masks: random low-resolution binary grids, upsampled bilinearly with a random shift.

Following Petsiuk, Das & Saenko (2018), "RISE: Randomized Input Sampling for Explanation
of Black-box Models" (BMVC): a binary ``s x s`` grid, each cell kept with probability
``p``, is upsampled bilinearly to ``(s + 1) * cell`` pixels (``cell = ceil(H / s)``) and
cropped to ``H x W`` at a random offset in ``[0, cell)``. The smooth, shifted masks
avoid the grid artefacts of nearest-neighbour masks.

The low-resolution grids and shifts of all N masks are tiny and drawn up front (so the
masks do not depend on how they are batched); the full-resolution masks are built one
batch at a time, as a product of interpolation matrices, never all at once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


def _interp_matrix(n_out: int, n_in: int) -> np.ndarray:
    """Bilinear interpolation matrix (n_out, n_in) with half-pixel centres and edge clamping.

    ``A @ v`` resizes a length-``n_in`` signal to ``n_out`` samples exactly as
    OpenCV's ``INTER_LINEAR`` / scikit-image's ``order=1`` resize do.
    """
    src = (np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5
    src = np.clip(src, 0.0, n_in - 1)
    lo = np.floor(src).astype(np.int64)
    hi = np.minimum(lo + 1, n_in - 1)
    frac = (src - lo).astype(np.float32)
    a = np.zeros((n_out, n_in), np.float32)
    rows = np.arange(n_out)
    np.add.at(a, (rows, lo), 1.0 - frac)
    np.add.at(a, (rows, hi), frac)
    return a


@dataclass(frozen=True)
class MaskPlan:
    """The random part of N RISE masks: low-resolution grids and shifts.

    Attributes
    ----------
    grids
        float32 (N, s, s), each cell 0 or 1 (1 = pixel kept).
    shifts
        int (N, 2), the (row, column) offset of each mask's crop, in [0, cell).
    image_size
        (H, W) of the full-resolution masks.
    keep_prob
        Probability ``p`` that a grid cell is kept.
    """

    grids: np.ndarray
    shifts: np.ndarray
    image_size: tuple[int, int]
    keep_prob: float

    @property
    def n_masks(self) -> int:
        return len(self.grids)

    @property
    def mask_size(self) -> int:
        return self.grids.shape[1]

    def cell(self) -> tuple[int, int]:
        """Size in pixels of one grid cell after upsampling: ceil(H / s), ceil(W / s)."""
        s = self.mask_size
        return math.ceil(self.image_size[0] / s), math.ceil(self.image_size[1] / s)

    def render(self, start: int, stop: int) -> np.ndarray:
        """Full-resolution masks ``start:stop`` as float32 (stop - start, H, W) in [0, 1]."""
        h, w = self.image_size
        s = self.mask_size
        ch, cw = self.cell()
        rows = _interp_matrix((s + 1) * ch, s)
        cols = _interp_matrix((s + 1) * cw, s)
        dy = self.shifts[start:stop, 0]
        dx = self.shifts[start:stop, 1]
        a = rows[dy[:, None] + np.arange(h)]  # (b, H, s): the rows each crop keeps
        b = cols[dx[:, None] + np.arange(w)]  # (b, W, s)
        return np.matmul(np.matmul(a, self.grids[start:stop]), b.transpose(0, 2, 1))


def plan_masks(
    n_masks: int,
    mask_size: int,
    keep_prob: float,
    image_size: tuple[int, int],
    rng: np.random.Generator,
) -> MaskPlan:
    """Draw the grids and shifts of ``n_masks`` RISE masks from ``rng``.

    Parameters are assumed validated by the caller (see :func:`xai_core.explain_rise`).
    """
    h, w = image_size
    grids = (rng.random((n_masks, mask_size, mask_size)) < keep_prob).astype(np.float32)
    ch, cw = math.ceil(h / mask_size), math.ceil(w / mask_size)
    shifts = np.floor(rng.random((n_masks, 2)) * (ch, cw)).astype(np.int64)
    return MaskPlan(grids, shifts, (h, w), float(keep_prob))
