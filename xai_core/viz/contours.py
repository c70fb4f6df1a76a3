"""Isolines of a saliency map: levels (by value or by quantile) and their contour paths.

The lines are computed once here and drawn by both renderers (:mod:`~xai_core.viz.raster`
and :mod:`~xai_core.viz.figures`), so the PNG and the interactive figure show the same lines.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from skimage.measure import find_contours

from xai_core._common import check_image, check_int
from xai_core.viz._arrays import _fit, _to_uint8
from xai_core.viz.colors import (
    _DIVERGING,
    _check_colormap,
    _check_fraction,
    _check_saliency,
    _colour,
    _unit_positions,
    _value_range,
)

#: The isolines of one level: a list of float64 (n, 2) arrays of (row, column) points.
Contours = list[np.ndarray]


#: How :func:`contour_levels` spaces the levels.
ContourMode = Literal["value", "quantile"]


_CONTOUR_MODES = ("value", "quantile")


_MAX_LEVELS = 64


def contour_levels(
    saliency: np.ndarray, n_levels: int = 8, mode: ContourMode = "value"
) -> np.ndarray:
    """Choose the saliency values at which to draw isolines.

    Parameters
    ----------
    saliency : numpy.ndarray
        Float (H, W) saliency map, H, W >= 2.
    n_levels : int
        How many levels, 1 to 64.
    mode : {"value", "quantile"}
        ``"value"``: evenly spaced between the map's minimum and maximum, both
        excluded (equal steps of saliency, so line density shows steepness).
        ``"quantile"``: at the quantiles ``k / (n_levels + 1)``, k = 1..n_levels, of
        the pixel values (each band between two lines covers about the same area).

    Returns
    -------
    numpy.ndarray
        float64 (L,), strictly increasing, every level strictly between the
        map's minimum and maximum. ``L == n_levels``, except that a constant map
        gives no levels and, in ``"quantile"`` mode, repeated values (ties, such as
        LIME's constant superpixels) can merge quantiles into fewer levels.
    """
    sal = _check_saliency(saliency)
    n = check_int("n_levels", n_levels, 1, _MAX_LEVELS)
    if mode not in _CONTOUR_MODES:
        raise ValueError(f"mode must be 'value' or 'quantile'; got {mode!r}")
    lo, hi = float(sal.min()), float(sal.max())
    if hi <= lo:
        return np.empty(0, dtype=np.float64)
    if mode == "value":
        return np.linspace(lo, hi, n + 2)[1:-1]
    levels = np.unique(np.quantile(sal, np.linspace(0.0, 1.0, n + 2)[1:-1]))
    return levels[(levels > lo) & (levels < hi)]


def compute_contours(saliency: np.ndarray, levels: Sequence[float] | np.ndarray) -> list[Contours]:
    """Trace the isolines of a saliency map (marching squares, ``skimage.measure.find_contours``).

    Both :func:`isolines_image` and :func:`isolines_figure` draw these lines, so the
    PNG and the interactive figure agree.

    Parameters
    ----------
    saliency : numpy.ndarray
        Float (H, W) saliency map, H, W >= 2.
    levels : sequence of float
        The saliency values of the lines, e.g. from :func:`contour_levels`.

    Returns
    -------
    list of Contours
        One entry per level, in the order given; each is a (possibly empty) list of
        float64 (n, 2) arrays of (row, column) points, in pixel coordinates of the map
        (pixel centres at whole numbers). A closed line repeats its first point at the end.
    """
    sal = _check_saliency(saliency)
    lv = np.asarray(levels, dtype=np.float64)
    if lv.ndim != 1:
        raise ValueError(f"levels must be a 1-D list of numbers; got shape {lv.shape}")
    if not np.all(np.isfinite(lv)):
        raise ValueError("levels contain NaN or infinite values")
    return [find_contours(sal, float(level)) for level in lv]


@dataclass(frozen=True)
class _Isolines:
    """Everything both isoline renderers need, computed once."""

    base: np.ndarray  # uint8 (H, W, 3): the image, dimmed
    levels: np.ndarray  # float64 (L,)
    contours: list[Contours]  # one per level
    colours: np.ndarray  # uint8 (L, 3): colour of each level
    value_range: tuple[float, float]  # saliency values at the colormap's ends


#: A map with at most this many distinct values per pixel is piecewise constant (LIME's
#: superpixels): its isolines would trace every superpixel border, so it is smoothed first.
_PIECEWISE_FRACTION = 0.02
#: Gaussian smoothing of a piecewise-constant map, as a fraction of its shorter side
#: (about 3 px at 224 px: borders become slopes, small superpixels keep their level).
_SMOOTH_FRACTION = 0.012
#: On a signed map, levels closer to 0 than this fraction of the range are not drawn:
#: their colour is the diverging colormap's near-white middle, unreadable on a photo.
_SIGNED_GAP = 0.4


def _is_piecewise_constant(sal: np.ndarray) -> bool:
    return np.unique(sal).size <= max(2, int(_PIECEWISE_FRACTION * sal.size))


def _smoothed(sal: np.ndarray) -> np.ndarray:
    """``sal`` lightly blurred if it is piecewise constant (see :data:`_PIECEWISE_FRACTION`)."""
    if not _is_piecewise_constant(sal):
        return sal
    import cv2

    sigma = max(1.0, _SMOOTH_FRACTION * min(sal.shape))
    return cv2.GaussianBlur(sal, (0, 0), sigmaX=sigma, sigmaY=sigma,
                            borderType=cv2.BORDER_REFLECT)


def _isolines(
    image: np.ndarray,
    saliency: np.ndarray,
    colormap: str,
    n_levels: int,
    mode: ContourMode,
    dim: float,
    value_range: tuple[float, float] | None = None,
) -> _Isolines:
    """Levels, lines and colours of a map's isolines.

    A piecewise-constant map (LIME) is lightly smoothed first, so its lines are level
    lines rather than superpixel borders. With ``value_range`` (a page's shared scale),
    levels in ``"value"`` mode are evenly spaced over that range, so a level means the same
    value on every map of the page; only those inside this map's range are drawn. On a
    signed map with a diverging colormap, levels near 0 are left out (near-white lines).
    """
    name = _check_colormap(colormap)
    d = _check_fraction("dim", dim)
    img = check_image(image)
    sal = _smoothed(_fit(_check_saliency(saliency), img.shape))
    lo, hi = value_range if value_range is not None else _value_range(sal)
    n = check_int("n_levels", n_levels, 1, _MAX_LEVELS)
    if lo < 0.0 and name in _DIVERGING and mode == "value":
        # signed map: half the levels on each side, spaced over the saturated part of the
        # scale (|value| >= _SIGNED_GAP * m), so no line gets the near-white middle colour
        m = max(abs(lo), abs(hi))
        half = np.linspace(_SIGNED_GAP * m, m, max(1, (n + 1) // 2) + 1)[:-1]
        levels = np.concatenate([-half[::-1], half])
        levels = levels[(levels > sal.min()) & (levels < sal.max())]
    elif value_range is not None and mode == "value":
        levels = np.linspace(lo, hi, n + 2)[1:-1]
        levels = levels[(levels > sal.min()) & (levels < sal.max())]
    else:
        levels = contour_levels(sal, n, mode)
        if lo < 0.0 and name in _DIVERGING:
            levels = levels[np.abs(levels) >= _SIGNED_GAP * max(abs(lo), abs(hi))]
    contours = compute_contours(sal, levels)
    colours = _colour(_unit_positions(levels, lo, hi), name).reshape(-1, 3)
    return _Isolines(_to_uint8(img * (1.0 - d)), levels, contours, colours, (lo, hi))
