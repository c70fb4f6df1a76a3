"""Private array helpers shared by the renderers."""

from __future__ import annotations

import cv2
import numpy as np


def _check_rgb_uint8(name: str, image: object) -> np.ndarray:
    """Return ``image`` as a uint8 (H, W, 3) array, or raise ``ValueError``."""
    arr = np.asarray(image)
    if arr.dtype != np.uint8:
        raise ValueError(f"{name} must be a uint8 array (values 0-255); got dtype {arr.dtype}")
    if arr.ndim != 3 or arr.shape[2] != 3 or arr.shape[0] < 1 or arr.shape[1] < 1:
        raise ValueError(
            f"{name} must be an RGB array of shape (height, width, 3); got {arr.shape}"
        )
    return arr


def _fit(sal: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Resize ``sal`` bilinearly to ``shape[:2]`` (rows, columns) unless it already has that size."""
    height, width = shape[0], shape[1]
    if sal.shape == (height, width):
        return sal
    return cv2.resize(sal, (width, height), interpolation=cv2.INTER_LINEAR)


def _to_uint8(image: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)
