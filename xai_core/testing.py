"""Known-answer black boxes: models whose right explanation is known in advance.

A model whose score comes from known regions is the honest check of an explainer: its map
must point there. The tests and the benchmarks use the same one, and so can a student who
writes an explainer of their own (as ``numpy.testing`` serves users as well as numpy).

Examples
--------
>>> import numpy as np
>>> from xai_core.testing import ground_truth_model
>>> predict, image = ground_truth_model(64)
>>> predict(image[None]).shape
(1, 2)
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["ground_truth_model"]


def ground_truth_model(size: int = 112) -> tuple[Callable[[np.ndarray], np.ndarray], np.ndarray]:
    """A smooth nonlinear black box of three regions, and the image it explains.

    Class 1's score is ``sigmoid(6 (0.6 b1 + 0.3 b2 - 0.3 b3) - 1.5)`` where ``b_k`` is
    the mean brightness (in [0, 1]) of region k; class 0 is one minus it. Pixels outside
    the regions cannot matter; region 1 matters most, region 3 negatively.

    Parameters
    ----------
    size : int, default 112
        Side of the square image, in pixels (at least 8).

    Returns
    -------
    predict : callable
        float32 (N, size, size, 3) RGB in [0, 255] to float32 (N, 2) probabilities.
    image : np.ndarray
        float32 (size, size, 3) in [170, 230], seeded (the same on every call).
    """
    if size < 8:
        raise ValueError(f"the known-answer image needs at least 8 pixels a side, not {size}")
    q = size // 8
    regions = [(slice(q, 3 * q), slice(5 * q, 7 * q)), (slice(5 * q, 7 * q), slice(q, 3 * q)),
               (slice(5 * q, 6 * q), slice(5 * q, 6 * q))]
    weights = (0.6, 0.3, -0.3)

    def predict(x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, np.float32)
        z = sum(w * x[:, r, c, :].mean(axis=(1, 2, 3)) / 255.0
                for w, (r, c) in zip(weights, regions, strict=True))
        s = 1.0 / (1.0 + np.exp(-(6.0 * z - 1.5)))
        return np.stack([1.0 - s, s], axis=1).astype(np.float32)

    rng = np.random.default_rng(0)
    image = (170.0 + 60.0 * rng.random((size, size, 3))).astype(np.float32)
    return predict, image
