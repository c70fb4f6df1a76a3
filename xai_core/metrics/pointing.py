"""The pointing game (Zhang et al., 2016, "Top-down neural attention by excitation backprop").

Does the map's maximum fall on the object, within a tolerance (15 px in the literature)?
"""

from __future__ import annotations

import cv2
import numpy as np

from xai_core._common import check_int


def pointing_game(saliency: np.ndarray, region_mask: np.ndarray, tolerance: float = 15.0,
                  seed: int = 0) -> bool:
    """Whether the map's maximum points at the region (Zhang et al., 2016).

    A hit when the maximum point lies in ``region_mask`` or within ``tolerance`` pixels of
    it (15 px in the literature). When several pixels share the maximum (a LIME superpixel,
    a flat map), one of them is drawn at random with ``seed``, so ties neither favour nor
    punish a method.
    """
    sal = np.asarray(saliency, dtype=np.float64)
    region = np.asarray(region_mask, dtype=bool)
    if sal.ndim != 2 or region.shape != sal.shape:
        raise ValueError(f"saliency and region_mask must be 2-D of the same shape; got "
                         f"{sal.shape} and {region.shape}")
    if not region.any():
        raise ValueError("region_mask is empty: there is nothing to point at")
    if not np.all(np.isfinite(sal)):
        raise ValueError("the saliency map contains NaN or infinite values")
    if tolerance < 0:
        raise ValueError(f"tolerance must be 0 or more pixels; got {tolerance}")
    check_int("seed", seed, 0)
    peaks = np.flatnonzero(sal.ravel() == sal.max())
    point = np.random.default_rng(seed).choice(peaks)
    # distance of every pixel to the nearest region pixel
    dist = cv2.distanceTransform((~region).astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    return bool(dist.ravel()[point] <= tolerance)
