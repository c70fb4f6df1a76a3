"""Baseline maps every explanation should beat.

A map that does not beat a random map and a centred Gaussian ("the object is usually in
the middle") on deletion and insertion is not explaining the model.
"""

from __future__ import annotations

import cv2
import numpy as np

from xai_core._common import check_int


def random_saliency(shape: tuple[int, int], seed: int = 0, cells: int = 7) -> np.ndarray:
    """Baseline: random blobs, float32 (H, W) in [0, 1].

    A ``cells`` x ``cells`` grid of uniform random values upsampled bilinearly, so the
    baseline is as smooth as a RISE map. (Independent per-pixel noise would make deletion
    scatter black pixels like salt-and-pepper noise, which by itself destroys most
    predictions and gives the random baseline an unfairly good deletion score.)
    """
    h, w = check_int("height", shape[0], 1), check_int("width", shape[1], 1)
    cells = check_int("cells", cells, 1)
    grid = np.random.default_rng(seed).random((cells, cells)).astype(np.float32)
    return cv2.resize(grid, (w, h), interpolation=cv2.INTER_LINEAR)


def center_saliency(shape: tuple[int, int], sigma: float = 0.25) -> np.ndarray:
    """Baseline: a centred Gaussian ("the object is usually in the middle").

    ``sigma`` is a fraction of each side. float32 (H, W), 1 at the centre.
    """
    h, w = check_int("height", shape[0], 1), check_int("width", shape[1], 1)
    if not sigma > 0:
        raise ValueError(f"sigma must be positive; got {sigma}")
    y = (np.arange(h) - (h - 1) / 2) / (sigma * h)
    x = (np.arange(w) - (w - 1) / 2) / (sigma * w)
    return np.exp(-0.5 * (y[:, None] ** 2 + x[None, :] ** 2)).astype(np.float32)


def baseline_maps(shape: tuple[int, int], seed: int = 0) -> dict[str, np.ndarray]:
    """The baselines every explanation should beat: ``{"random": ..., "centre": ...}``."""
    return {"random": random_saliency(shape, seed), "centre": center_saliency(shape)}
