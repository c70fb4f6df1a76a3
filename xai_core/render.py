"""Rendering of saliency maps: Plotly figures for the dashboard, uint8 RGB images for PNG export.

A saliency map (float (H, W); signed for LIME, where negative means "speaks against
the class") gets three faces, each built twice from the same data:

* a **heatmap** (the map alone, coloured);
* an **overlay** (the heatmap blended over the image);
* **isolines** (lines of equal saliency drawn over the image, coloured by their level;
  dense lines mean steep saliency). The lines are computed once by
  :func:`compute_contours` and drawn by both renderers, so the PNG and the
  interactive figure show the same lines.

The ``*_figure`` functions return :class:`plotly.graph_objects.Figure` objects; the
``*_image`` functions return uint8 RGB arrays, made with numpy, OpenCV and
scikit-image only, so exporting PNGs needs no browser. Both sides use the same
colormaps (:data:`COLORMAPS`), built here from a few anchor colours.

All functions are pure: they never modify their inputs and never touch Streamlit.

References: RISE, Petsiuk, Das & Saenko, BMVC 2018 (arXiv:1806.07421); LIME,
Ribeiro, Singh & Guestrin, KDD 2016 (arXiv:1602.04938).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import cv2
import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots
from skimage.measure import find_contours

from xai_core import _colormaps
from xai_core._common import check_image, check_int

__all__ = [
    "COLORMAPS",
    "ContourMode",
    "Contours",
    "Panel",
    "colormap_lut",
    "compute_contours",
    "contour_levels",
    "curves_figure",
    "default_colormap",
    "grid_figure",
    "grid_image",
    "heatmap_figure",
    "heatmap_image",
    "isolines_figure",
    "isolines_image",
    "normalise",
    "overlay_figure",
    "overlay_image",
    "plotly_colorscale",
    "png_bytes",
    "representations",
    "save_png",
]

#: Names of the available colormaps. ``"RdBu"`` is diverging (blue < 0 < red), meant for
#: signed maps such as LIME's; the others are sequential.
COLORMAPS: tuple[str, ...] = ("jet", "viridis", "inferno", "magma", "gray", "RdBu")

#: The isolines of one level: a list of float64 (n, 2) arrays of (row, column) points.
Contours = list[np.ndarray]

#: How :func:`contour_levels` spaces the levels.
ContourMode = Literal["value", "quantile"]

_CONTOUR_MODES = ("value", "quantile")
_MAX_LEVELS = 64
_HOVER_SALIENCY = "row %{y}, column %{x}<br>saliency %{z:.4g}<extra></extra>"
_HOVER_IMAGE = "row %{y}, column %{x}<br>RGB %{z}<extra></extra>"
_FONT = cv2.FONT_HERSHEY_SIMPLEX


@dataclass(frozen=True)
class Panel:
    """One cell of :func:`grid_figure`: a title and the figure drawn under it."""

    title: str
    figure: go.Figure


# ---------------------------------------------------------------------------
# Input checks and shared arithmetic (private)
# ---------------------------------------------------------------------------


def _check_saliency(saliency: np.ndarray) -> np.ndarray:
    """Return ``saliency`` as a float64 (H, W) array with H, W >= 2 and finite values."""
    try:
        arr = np.asarray(saliency, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"the saliency map must be an array of numbers ({exc})") from None
    if arr.ndim != 2:
        raise ValueError(
            f"the saliency map must be a 2-D array of shape (height, width); got shape {arr.shape}"
        )
    if arr.shape[0] < 2 or arr.shape[1] < 2:
        raise ValueError(f"the saliency map must be at least 2x2 pixels; got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError("the saliency map contains NaN or infinite values")
    return arr


def _check_fraction(name: str, value: object) -> float:
    """Return ``value`` as a float in [0, 1], or raise ``ValueError`` naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{name} must be a number between 0 and 1; got {value!r}")
    v = float(value)
    if not 0.0 <= v <= 1.0:  # also rejects NaN
        raise ValueError(f"{name} must be between 0 and 1; got {v}")
    return v


def _check_colormap(colormap: object) -> str:
    """Return the canonical name of ``colormap`` (case is ignored), or raise ``ValueError``."""
    if isinstance(colormap, str):
        for name in COLORMAPS:
            if name.lower() == colormap.lower():
                return name
    raise ValueError(f"unknown colormap {colormap!r}; choose one of {', '.join(COLORMAPS)}")


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


def _value_range(sal: np.ndarray) -> tuple[float, float]:
    """The values mapped to the two ends of a colormap: (-m, m) for a signed map, else (min, max).

    A map is signed as soon as it has a negative value (saliency that pushes *against* the
    class, as LIME's can): then 0 stays at the colormap's centre, also when every value is
    <= 0. Maps that are never negative (RISE) use their own min-max range.
    """
    lo, hi = float(sal.min()), float(sal.max())
    if lo < 0.0:
        m = max(-lo, abs(hi))
        return -m, m
    return lo, hi


def _unit_positions(values: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Map ``values`` from [lo, hi] to [0, 1]; all zeros when lo == hi."""
    if hi <= lo:
        return np.zeros(np.shape(values), dtype=np.float64)
    return np.clip((np.asarray(values, dtype=np.float64) - lo) / (hi - lo), 0.0, 1.0)


def _colour(positions: np.ndarray, colormap: str) -> np.ndarray:
    """Look up positions in [0, 1] in the colormap's table; returns uint8 (..., 3)."""
    index = np.floor(np.asarray(positions) * 255.0 + 0.5).astype(np.intp)
    return _colormaps.lut(colormap)[np.clip(index, 0, 255)]


def _plotly_range(sal: np.ndarray) -> tuple[float, float]:
    """``(zmin, zmax)`` for Plotly, equal to :func:`_value_range` but never an empty interval."""
    lo, hi = _value_range(sal)
    return (lo, hi) if hi > lo else (lo, lo + 1.0)


def _fit(sal: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Resize ``sal`` bilinearly to ``shape[:2]`` (rows, columns) unless it already has that size."""
    height, width = shape[0], shape[1]
    if sal.shape == (height, width):
        return sal
    return cv2.resize(sal, (width, height), interpolation=cv2.INTER_LINEAR)


def _to_uint8(image: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)


def _rgb_string(colour: np.ndarray) -> str:
    return f"rgb({int(colour[0])}, {int(colour[1])}, {int(colour[2])})"


# ---------------------------------------------------------------------------
# Colormaps and normalisation
# ---------------------------------------------------------------------------


def colormap_lut(colormap: str) -> np.ndarray:
    """Return the lookup table of a colormap.

    Parameters
    ----------
    colormap : str
        One of :data:`COLORMAPS` (case is ignored).

    Returns
    -------
    numpy.ndarray
        uint8, shape (256, 3), read-only: RGB colour of the value ``i / 255`` in
        row ``i`` (row 0 is the low end, row 255 the high end; for ``"RdBu"`` the
        middle rows are the near-white colour of 0).
    """
    return _colormaps.lut(_check_colormap(colormap))


def plotly_colorscale(colormap: str) -> list[list[float | str]]:
    """Return a colormap as a Plotly colorscale built from the same anchors as its table.

    Parameters
    ----------
    colormap : str
        One of :data:`COLORMAPS` (case is ignored).

    Returns
    -------
    list of [float, str]
        ``[[position, "rgb(r, g, b)"], ...]`` with positions increasing from 0 to 1;
        pass it as ``colorscale=`` to any Plotly trace.
    """
    return _colormaps.colorscale(_check_colormap(colormap))


def default_colormap(saliency: np.ndarray) -> str:
    """Suggest a colormap: ``"RdBu"`` for a signed map (any negative value), else ``"jet"``.

    Parameters
    ----------
    saliency : numpy.ndarray
        Float (H, W) saliency map.

    Returns
    -------
    str
        A name from :data:`COLORMAPS`.
    """
    sal = _check_saliency(saliency)
    lo, _ = _value_range(sal)
    return "RdBu" if lo < 0.0 else "jet"


def normalise(saliency: np.ndarray) -> np.ndarray:
    """Rescale a saliency map for display.

    An unsigned map (all values >= 0) is min-max scaled to [0, 1]. A signed map (with
    negative values, as LIME's can have) is divided by its largest absolute value, to
    [-1, 1], so that the sign is kept and 0 stays 0. A constant map has no contrast to
    show and becomes all zeros.

    Parameters
    ----------
    saliency : numpy.ndarray
        Float (H, W) saliency map, H, W >= 2, finite values; not modified.

    Returns
    -------
    numpy.ndarray
        float32 (H, W), in [0, 1] (unsigned) or [-1, 1] (signed).

    Raises
    ------
    ValueError
        If the map is not 2-D, smaller than 2x2, or contains NaN or infinity.
    """
    sal = _check_saliency(saliency)
    if float(sal.max()) <= float(sal.min()):
        return np.zeros(sal.shape, dtype=np.float32)
    lo, hi = _value_range(sal)
    if lo < 0.0:
        return (sal / hi).astype(np.float32)
    return ((sal - lo) / (hi - lo)).astype(np.float32)


# ---------------------------------------------------------------------------
# PNG side: uint8 RGB images
# ---------------------------------------------------------------------------


def heatmap_image(saliency: np.ndarray, colormap: str = "jet") -> np.ndarray:
    """Colour a saliency map.

    The map is normalised as by :func:`normalise`; an unsigned map's [0, 1] and a
    signed map's [-1, 1] are spread over the whole colormap, so for a signed map 0
    gets the colormap's middle colour (white for the diverging ``"RdBu"``, which is
    the one to use for signed maps; see :func:`default_colormap`).

    Parameters
    ----------
    saliency : numpy.ndarray
        Float (H, W) saliency map, H, W >= 2.
    colormap : str
        One of :data:`COLORMAPS`.

    Returns
    -------
    numpy.ndarray
        uint8 (H, W, 3) RGB image.
    """
    name = _check_colormap(colormap)
    sal = _check_saliency(saliency)
    return _colour(_unit_positions(sal, *_value_range(sal)), name)


def overlay_image(
    image: np.ndarray, saliency: np.ndarray, colormap: str = "jet", alpha: float = 0.5
) -> np.ndarray:
    """Blend the heatmap of a saliency map over an image.

    Each pixel is ``(1 - alpha) * image + alpha * heatmap``, rounded to uint8.

    Parameters
    ----------
    image : numpy.ndarray
        RGB image, (H, W, 3), uint8 or float with values in [0, 255].
    saliency : numpy.ndarray
        Float (h, w) saliency map; if (h, w) != (H, W) it is resized bilinearly to the image.
    colormap : str
        One of :data:`COLORMAPS`.
    alpha : float
        Opacity of the heatmap in [0, 1]: 0 gives the image, 1 the heatmap.

    Returns
    -------
    numpy.ndarray
        uint8 (H, W, 3) RGB image.
    """
    name = _check_colormap(colormap)
    a = _check_fraction("alpha", alpha)
    img = check_image(image)
    heat = heatmap_image(_fit(_check_saliency(saliency), img.shape), name)
    return _to_uint8((1.0 - a) * img + a * heat.astype(np.float32))


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


def _isolines(
    image: np.ndarray,
    saliency: np.ndarray,
    colormap: str,
    n_levels: int,
    mode: ContourMode,
    dim: float,
) -> _Isolines:
    name = _check_colormap(colormap)
    d = _check_fraction("dim", dim)
    img = check_image(image)
    sal = _fit(_check_saliency(saliency), img.shape)
    levels = contour_levels(sal, n_levels, mode)
    contours = compute_contours(sal, levels)
    lo, hi = _value_range(sal)
    colours = _colour(_unit_positions(levels, lo, hi), name).reshape(-1, 3)
    return _Isolines(_to_uint8(img * (1.0 - d)), levels, contours, colours, (lo, hi))


def isolines_image(
    image: np.ndarray,
    saliency: np.ndarray,
    colormap: str = "jet",
    n_levels: int = 8,
    mode: ContourMode = "value",
    dim: float = 0.0,
    thickness: int = 1,
) -> np.ndarray:
    """Draw the isolines of a saliency map over an image.

    Each level's lines (:func:`contour_levels`, :func:`compute_contours`) are drawn
    antialiased in the colour of that level on the colormap, with the same value
    range as :func:`heatmap_image`. Lines packed close together mark a steep change
    of saliency; lines far apart, a flat region.

    Parameters
    ----------
    image : numpy.ndarray
        RGB image, (H, W, 3), uint8 or float with values in [0, 255].
    saliency : numpy.ndarray
        Float (h, w) saliency map; resized bilinearly to (H, W) if needed.
    colormap : str
        One of :data:`COLORMAPS`.
    n_levels : int
        Number of levels, 1 to 64.
    mode : {"value", "quantile"}
        How levels are spaced; see :func:`contour_levels`.
    dim : float
        In [0, 1]: darken the image towards black by this fraction (0 keeps it,
        1 gives black) so that the lines stand out.
    thickness : int
        Line width in pixels, 1 to 16.

    Returns
    -------
    numpy.ndarray
        uint8 (H, W, 3) RGB image.
    """
    width = check_int("thickness", thickness, 1, 16)
    iso = _isolines(image, saliency, colormap, n_levels, mode, dim)
    out = np.ascontiguousarray(iso.base.copy())
    shift = 4  # sub-pixel precision of cv2's drawing: coordinates in 1/16 pixel
    for paths, colour in zip(iso.contours, iso.colours, strict=True):
        if not paths:
            continue
        points = [
            np.rint(path[:, ::-1] * (1 << shift)).astype(np.int32).reshape(-1, 1, 2)
            for path in paths
        ]
        cv2.polylines(
            out,
            points,
            isClosed=False,
            color=tuple(int(c) for c in colour),
            thickness=width,
            lineType=cv2.LINE_AA,
            shift=shift,
        )
    return out


def grid_image(
    tiles: Sequence[tuple[str, np.ndarray]],
    cols: int = 3,
    *,
    title_height: int = 28,
    gap: int = 8,
) -> np.ndarray:
    """Tile images into one, each under a strip with its title (for PNG export).

    Tiles are scaled (keeping their aspect ratio) to the height of the tallest one
    and centred in cells as wide as the widest scaled tile, filled row by row on a
    white background.

    Parameters
    ----------
    tiles : sequence of (str, numpy.ndarray)
        ``(title, image)`` pairs; images uint8 (h, w, 3) RGB. Titles are drawn with
        OpenCV's ASCII font (other characters show as ``?``) and shortened with
        ``..`` if they do not fit.
    cols : int
        Maximum number of tiles per row, at least 1.
    title_height : int
        Height in pixels of the title strip above each tile (0: no titles).
    gap : int
        White space in pixels between cells.

    Returns
    -------
    numpy.ndarray
        uint8 RGB image of shape
        ``(rows * (title_height + H) + (rows - 1) * gap, c * W + (c - 1) * gap, 3)``
        where H is the common tile height, W the cell width, ``c = min(cols, len(tiles))``
        and ``rows = ceil(len(tiles) / c)``.
    """
    if len(tiles) == 0:
        raise ValueError("grid_image needs at least one tile")
    ncols = min(check_int("cols", cols, 1), len(tiles))
    strip = check_int("title_height", title_height, 0)
    space = check_int("gap", gap, 0)
    checked = []
    for i, tile in enumerate(tiles):
        if not isinstance(tile, (tuple, list)) or len(tile) != 2 or not isinstance(tile[0], str):
            raise ValueError(f"tile {i} must be a (title, image) pair; got {type(tile).__name__}")
        checked.append((tile[0], _check_rgb_uint8(f"the image of tile {i} ({tile[0]!r})", tile[1])))

    height = max(img.shape[0] for _, img in checked)
    scaled = []
    for title, img in checked:
        h, w = img.shape[:2]
        if h != height:
            size = (max(1, round(w * height / h)), height)
            img = cv2.resize(img, size, interpolation=cv2.INTER_LINEAR)
        scaled.append((title, img))
    cell = max(img.shape[1] for _, img in scaled)
    nrows = math.ceil(len(scaled) / ncols)
    out = np.full(
        (nrows * (strip + height) + (nrows - 1) * space, ncols * cell + (ncols - 1) * space, 3),
        255,
        dtype=np.uint8,
    )
    for i, (title, img) in enumerate(scaled):
        y0 = (i // ncols) * (strip + height + space)
        x0 = (i % ncols) * (cell + space)
        left = x0 + (cell - img.shape[1]) // 2
        out[y0 + strip : y0 + strip + height, left : left + img.shape[1]] = img
        if strip > 0 and title:
            _put_title(out, title, x0, y0, cell, strip)
    return out


def _put_title(out: np.ndarray, title: str, x0: int, y0: int, width: int, height: int) -> None:
    """Write ``title`` centred in the strip at (x0, y0) of size width x height, in place."""
    scale = 0.5 * height / cv2.getTextSize("Ag", _FONT, 1.0, 1)[0][1]
    text = "".join(c if 32 <= ord(c) < 127 else "?" for c in title)

    def fits(s: str) -> bool:
        return cv2.getTextSize(s, _FONT, scale, 1)[0][0] <= width - 4

    if not fits(text):
        while text and not fits(text + ".."):
            text = text[:-1]
        text += ".."
    (tw, th), _ = cv2.getTextSize(text, _FONT, scale, 1)
    origin = (x0 + max(0, (width - tw) // 2), y0 + (height + th) // 2)
    cv2.putText(out, text, origin, _FONT, scale, (30, 30, 30), 1, cv2.LINE_AA)


def png_bytes(image_uint8: np.ndarray) -> bytes:
    """Encode an RGB uint8 (H, W, 3) image as PNG file bytes (for downloads and files)."""
    image = _check_rgb_uint8("the image to encode", image_uint8)
    ok, encoded = cv2.imencode(".png", cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    if not ok:  # pragma: no cover - imencode fails only on invalid input, checked above
        raise OSError("could not encode the image as PNG")
    return encoded.tobytes()


def save_png(path: str | Path, image_uint8: np.ndarray) -> Path:
    """Write an RGB image to a PNG file, creating missing parent folders.

    Parameters
    ----------
    path : str or pathlib.Path
        Destination; must end in ``.png``. An existing file is replaced.
    image_uint8 : numpy.ndarray
        uint8 (H, W, 3) RGB image (OpenCV's BGR order is handled here).

    Returns
    -------
    pathlib.Path
        The path written.
    """
    target = Path(path)
    if target.suffix.lower() != ".png":
        raise ValueError(f"the file name must end in .png; got {str(target)!r}")
    data = png_bytes(image_uint8)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    return target


def representations(
    image: np.ndarray,
    saliency: np.ndarray,
    colormap: str = "jet",
    alpha: float = 0.5,
    n_levels: int = 8,
    mode: ContourMode = "value",
    dim: float = 0.0,
) -> dict[str, np.ndarray]:
    """Render the three faces of a saliency map as images, as the command line saves them.

    Parameters
    ----------
    image : numpy.ndarray
        RGB image, (H, W, 3), uint8 or float with values in [0, 255].
    saliency : numpy.ndarray
        Float (h, w) saliency map; resized bilinearly to (H, W) if needed.
    colormap, alpha, n_levels, mode, dim
        As in :func:`overlay_image` and :func:`isolines_image`.

    Returns
    -------
    dict of str to numpy.ndarray
        ``{"heatmap", "overlay", "isolines"}``, each uint8 (H, W, 3) RGB, all at
        the image's size.
    """
    img = check_image(image)
    sal = _fit(_check_saliency(saliency), img.shape)
    return {
        "heatmap": heatmap_image(sal, colormap),
        "overlay": overlay_image(img, sal, colormap, alpha),
        "isolines": isolines_image(img, sal, colormap, n_levels, mode, dim),
    }


# ---------------------------------------------------------------------------
# Dashboard side: Plotly figures
# ---------------------------------------------------------------------------


def _style_image_figure(fig: go.Figure, title: str | None) -> go.Figure:
    """Pixel axes without ticks, y pointing down as in the image, square pixels."""
    fig.update_layout(
        title=dict(text=title) if title else None,
        margin=dict(l=10, r=10, t=50 if title else 10, b=10),
        plot_bgcolor="white",
        showlegend=False,
    )
    axis = dict(showticklabels=False, ticks="", showgrid=False, zeroline=False, constrain="domain")
    fig.update_xaxes(**axis)
    fig.update_yaxes(**axis, autorange="reversed", scaleanchor="x", scaleratio=1)
    return fig


def _saliency_heatmap(sal: np.ndarray, colormap: str, opacity: float = 1.0) -> go.Heatmap:
    zmin, zmax = _plotly_range(sal)
    return go.Heatmap(
        z=sal.astype(np.float32),
        colorscale=_colormaps.colorscale(colormap),
        zmin=zmin,
        zmax=zmax,
        opacity=opacity,
        colorbar=dict(thickness=12, title=dict(text="saliency")),
        hovertemplate=_HOVER_SALIENCY,
        name="saliency",
    )


def heatmap_figure(
    saliency: np.ndarray, colormap: str = "jet", title: str | None = None
) -> go.Figure:
    """Interactive heatmap of a saliency map, coloured as :func:`heatmap_image`.

    Parameters
    ----------
    saliency : numpy.ndarray
        Float (H, W) saliency map, H, W >= 2. Plotted in its own units (the colour bar
        and the hover show the raw values); the colours span the same range as
        :func:`normalise` (min..max, or -m..m for a signed map).
    colormap : str
        One of :data:`COLORMAPS`.
    title : str, optional
        Figure title.

    Returns
    -------
    plotly.graph_objects.Figure
        One ``go.Heatmap`` trace.
    """
    name = _check_colormap(colormap)
    sal = _check_saliency(saliency)
    return _style_image_figure(go.Figure(_saliency_heatmap(sal, name)), title)


def overlay_figure(
    image: np.ndarray,
    saliency: np.ndarray,
    colormap: str = "jet",
    alpha: float = 0.5,
    title: str | None = None,
) -> go.Figure:
    """Interactive overlay: the image with the saliency heatmap on top, as :func:`overlay_image`.

    Parameters
    ----------
    image : numpy.ndarray
        RGB image, (H, W, 3), uint8 or float with values in [0, 255].
    saliency : numpy.ndarray
        Float (h, w) saliency map; resized bilinearly to (H, W) if needed.
    colormap : str
        One of :data:`COLORMAPS`.
    alpha : float
        Opacity of the heatmap in [0, 1].
    title : str, optional
        Figure title.

    Returns
    -------
    plotly.graph_objects.Figure
        A ``go.Image`` trace (hover: RGB) under a ``go.Heatmap`` trace of opacity
        ``alpha`` (hover: saliency).
    """
    name = _check_colormap(colormap)
    a = _check_fraction("alpha", alpha)
    img = check_image(image)
    sal = _fit(_check_saliency(saliency), img.shape)
    fig = go.Figure(
        [
            go.Image(z=_to_uint8(img), hovertemplate=_HOVER_IMAGE, name="image"),
            _saliency_heatmap(sal, name, opacity=a),
        ]
    )
    return _style_image_figure(fig, title)


def isolines_figure(
    image: np.ndarray,
    saliency: np.ndarray,
    colormap: str = "jet",
    n_levels: int = 8,
    mode: ContourMode = "value",
    dim: float = 0.0,
    title: str | None = None,
    thickness: int = 2,
) -> go.Figure:
    """Interactive isolines over the image: the same lines as :func:`isolines_image`.

    Parameters
    ----------
    image : numpy.ndarray
        RGB image, (H, W, 3), uint8 or float with values in [0, 255].
    saliency : numpy.ndarray
        Float (h, w) saliency map; resized bilinearly to (H, W) if needed.
    colormap, n_levels, mode, dim
        As in :func:`isolines_image`.
    title : str, optional
        Figure title.
    thickness : int
        Line width in screen pixels, 1 to 16.

    Returns
    -------
    plotly.graph_objects.Figure
        A ``go.Image`` trace (the image, dimmed), then one ``go.Scatter`` in
        ``"lines"`` mode per contour path (hover: its level), then, if there is at
        least one level, an invisible ``go.Scatter`` of markers that only carries the
        colour bar, with a tick at each level.
    """
    width = check_int("thickness", thickness, 1, 16)
    iso = _isolines(image, saliency, colormap, n_levels, mode, dim)
    name = _check_colormap(colormap)
    traces: list[go.BaseTraceType] = [
        go.Image(z=iso.base, hovertemplate=_HOVER_IMAGE, name="image")
    ]
    for k, (level, paths, colour) in enumerate(
        zip(iso.levels, iso.contours, iso.colours, strict=True)
    ):
        label = f"level {level:.3g}"
        for path in paths:
            traces.append(
                go.Scatter(
                    x=path[:, 1],
                    y=path[:, 0],
                    mode="lines",
                    line=dict(color=_rgb_string(colour), width=width),
                    name=label,
                    legendgroup=f"level-{k}",
                    hovertemplate=label + "<extra></extra>",
                )
            )
    if len(iso.levels) > 0:
        lo, hi = iso.value_range
        if hi <= lo:  # pragma: no cover - a map with levels has a range
            hi = lo + 1.0
        traces.append(
            go.Scatter(
                x=[0.0, 0.0],
                y=[0.0, 0.0],
                mode="markers",
                marker=dict(
                    size=0,
                    opacity=0,  # only the colour bar is wanted, not the two points
                    color=[lo, hi],
                    colorscale=_colormaps.colorscale(name),
                    cmin=lo,
                    cmax=hi,
                    showscale=True,
                    colorbar=dict(
                        thickness=12,
                        title=dict(text="level"),
                        tickvals=[float(v) for v in iso.levels],
                        ticktext=[f"{v:.3g}" for v in iso.levels],
                    ),
                ),
                hoverinfo="skip",
                name="levels",
            )
        )
    return _style_image_figure(go.Figure(traces), title)


_AXIS_KEYS_NOT_COPIED = frozenset(
    {"domain", "anchor", "overlaying", "matches", "scaleanchor", "position", "side"}
)


def grid_figure(
    panels: Sequence[Panel | tuple[str, go.Figure]],
    cols: int = 3,
    title: str | None = None,
    *,
    panel_height: int = 320,
) -> go.Figure:
    """Combine figures into one, in a grid of subplots (``plotly.subplots.make_subplots``).

    The traces of each panel are copied into its cell together with the settings of
    its axes (reversed y, equal aspect, hidden ticks...), and each colour bar is
    moved next to its cell. Only single-plot figures are supported: a panel's own
    subplots, shapes and annotations are not carried over.

    Parameters
    ----------
    panels : sequence of Panel or (str, plotly.graph_objects.Figure)
        The figures, filled row by row, with the title shown above each.
    cols : int
        Maximum number of panels per row, at least 1.
    title : str, optional
        Title of the whole grid.
    panel_height : int
        Height of one row in pixels, at least 100.

    Returns
    -------
    plotly.graph_objects.Figure
        ``ceil(len(panels) / c)`` rows and ``c = min(cols, len(panels))`` columns.
    """
    if len(panels) == 0:
        raise ValueError("grid_figure needs at least one panel")
    items: list[Panel] = []
    for i, panel in enumerate(panels):
        if isinstance(panel, Panel):
            items.append(panel)
        elif isinstance(panel, (tuple, list)) and len(panel) == 2:
            items.append(Panel(str(panel[0]), panel[1]))
        else:
            raise ValueError(f"panel {i} must be a Panel or a (title, figure) pair")
        if not isinstance(items[-1].figure, go.Figure):
            raise ValueError(
                f"panel {i} ({items[-1].title!r}) must hold a plotly Figure; "
                f"got {type(items[-1].figure).__name__}"
            )
    ncols = min(check_int("cols", cols, 1), len(items))
    row_height = check_int("panel_height", panel_height, 100)
    nrows = math.ceil(len(items) / ncols)
    fig = make_subplots(
        rows=nrows,
        cols=ncols,
        subplot_titles=[p.title for p in items],
        horizontal_spacing=0.08 if ncols == 1 else min(0.08, 0.5 / (ncols - 1)),
        vertical_spacing=0.12 if nrows == 1 else min(0.12, 0.5 / (nrows - 1)),
    )
    for i, panel in enumerate(items):
        row, col = i // ncols + 1, i % ncols + 1
        cell = fig.get_subplot(row, col)
        src = panel.figure.layout
        for dst, src_axis, other in ((cell.xaxis, src.xaxis, None), (cell.yaxis, src.yaxis, "x")):
            settings = src_axis.to_plotly_json()
            dst.update({k: v for k, v in settings.items() if k not in _AXIS_KEYS_NOT_COPIED})
            if other is not None and settings.get("scaleanchor") == other:
                dst.update(scaleanchor=cell.yaxis.anchor)
        x_dom, y_dom = cell.xaxis.domain, cell.yaxis.domain
        colorbar = dict(
            x=x_dom[1] + 0.005,
            xanchor="left",
            y=(y_dom[0] + y_dom[1]) / 2,
            yanchor="middle",
            len=y_dom[1] - y_dom[0],
            lenmode="fraction",
            thickness=10,
        )
        for trace in panel.figure.data:
            fig.add_trace(trace, row=row, col=col)
            added = fig.data[-1]
            if "colorbar" in added and added.showscale is not False:
                added.colorbar.update(colorbar)
            if "marker" in added and "colorbar" in added.marker and added.marker.showscale:
                added.marker.colorbar.update(colorbar)
    fig.update_layout(
        title=dict(text=title) if title else None,
        height=nrows * row_height + (60 if title else 20),
        margin=dict(l=10, r=40, t=80 if title else 40, b=10),
        plot_bgcolor="white",
        showlegend=False,
    )
    return fig


def curves_figure(curves: Sequence[tuple[str, object]], title: str | None = None) -> go.Figure:
    """Deletion / insertion curves as one Plotly line chart.

    Parameters
    ----------
    curves : sequence of (str, CausalCurve)
        Label and curve (anything with ``kind``, ``fractions``, ``scores`` and ``auc``).
        Deletion curves are drawn solid, insertion curves dashed; the legend shows each
        area under the curve.
    """
    if len(curves) == 0:
        raise ValueError("curves_figure needs at least one curve")
    fig = go.Figure()
    for label, c in curves:
        fig.add_trace(go.Scatter(
            x=np.asarray(c.fractions), y=np.asarray(c.scores), mode="lines",
            name=f"{label} {c.kind} (AUC {c.auc:.3f})",
            line=dict(dash="solid" if c.kind == "deletion" else "dash"),
            hovertemplate="%{x:.0%} of pixels: p = %{y:.3f}<extra></extra>",
        ))
    fig.update_layout(
        title=dict(text=title) if title else None,
        xaxis=dict(title="fraction of pixels deleted / inserted", range=[0, 1], tickformat=".0%"),
        yaxis=dict(title="probability of the class", rangemode="tozero"),
        margin=dict(l=10, r=10, t=40 if title else 10, b=10),
        legend=dict(orientation="h", y=-0.25),
        height=320,
    )
    return fig
