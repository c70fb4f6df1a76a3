"""PNG side: saliency maps as uint8 RGB images (heatmap, overlay, isolines, grids), and files.

Made with numpy, OpenCV and scikit-image only, so exporting PNGs needs no browser.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from xai_core._common import check_image, check_int
from xai_core.viz._arrays import _check_rgb_uint8, _fit, _to_uint8
from xai_core.viz.colors import (
    _check_colormap,
    _check_fraction,
    _check_saliency,
    _colour,
    _unit_positions,
    _value_range,
)
from xai_core.viz.contours import ContourMode, _isolines
from xai_core.viz.scale import check_value_range, nice_ticks

_FONT = cv2.FONT_HERSHEY_SIMPLEX


def heatmap_image(
    saliency: np.ndarray,
    colormap: str = "jet",
    value_range: tuple[float, float] | None = None,
) -> np.ndarray:
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
    value_range : (float, float), optional
        The values at the colormap's two ends, e.g. one range shared by every map of a
        comparison (:func:`shared_value_range`); values outside are clipped. Default:
        the map's own range as above.

    Returns
    -------
    numpy.ndarray
        uint8 (H, W, 3) RGB image.
    """
    name = _check_colormap(colormap)
    sal = _check_saliency(saliency)
    vr = check_value_range(value_range) or _value_range(sal)
    return _colour(_unit_positions(sal, *vr), name)


def overlay_image(
    image: np.ndarray,
    saliency: np.ndarray,
    colormap: str = "jet",
    alpha: float = 0.5,
    value_range: tuple[float, float] | None = None,
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
    value_range : (float, float), optional
        As in :func:`heatmap_image`.

    Returns
    -------
    numpy.ndarray
        uint8 (H, W, 3) RGB image.
    """
    name = _check_colormap(colormap)
    a = _check_fraction("alpha", alpha)
    img = check_image(image)
    heat = heatmap_image(_fit(_check_saliency(saliency), img.shape), name, value_range)
    return _to_uint8((1.0 - a) * img + a * heat.astype(np.float32))


def isolines_image(
    image: np.ndarray,
    saliency: np.ndarray,
    colormap: str = "jet",
    n_levels: int = 8,
    mode: ContourMode = "value",
    dim: float = 0.0,
    thickness: int = 1,
    value_range: tuple[float, float] | None = None,
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
    value_range : (float, float), optional
        A shared scale (see :func:`heatmap_image`); in ``"value"`` mode the levels are
        then evenly spaced over it. A piecewise-constant map (LIME) is lightly smoothed
        before its lines are traced, and on a signed map levels near 0 (near-white in a
        diverging colormap) are left out.

    Returns
    -------
    numpy.ndarray
        uint8 (H, W, 3) RGB image.
    """
    width = check_int("thickness", thickness, 1, 16)
    iso = _isolines(image, saliency, colormap, n_levels, mode, dim,
                    check_value_range(value_range))
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


@dataclass(frozen=True)
class Colorbar:
    """A vertical colour bar for :func:`grid_image`: what it measures and its scale."""

    label: str
    colormap: str
    value_range: tuple[float, float]


def grid_image(
    tiles: Sequence[tuple[str, np.ndarray]],
    cols: int = 3,
    *,
    title_height: int = 28,
    gap: int = 8,
    row_titles: Sequence[str] | None = None,
    colorbars: Sequence[Colorbar] = (),
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
    row_titles : sequence of str, optional
        One title per row, written left-aligned across the whole row, above the tiles'
        own titles (e.g. the method, model, class and settings of a comparison's row).
        A title too long for one line is wrapped at spaces, never cut: every row title
        gets as many strips of ``title_height`` pixels as the longest one needs.
    colorbars : sequence of Colorbar
        Colour bars drawn right of the grid, one per kind of map shown, each with at most
        six round ticks written with one precision and its label above it.

    Returns
    -------
    numpy.ndarray
        uint8 RGB image. Without row titles and colour bars its shape is
        ``(rows * (title_height + H) + (rows - 1) * gap, c * W + (c - 1) * gap, 3)``
        where H is the common tile height, W the cell width, ``c = min(cols, len(tiles))``
        and ``rows = ceil(len(tiles) / c)``; row titles add ``title_height`` rows of pixels
        per line of the longest one to every row, each colour bar a column on the right.
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
    nrows = math.ceil(len(checked) / ncols)
    if row_titles is not None and len(row_titles) != nrows:
        raise ValueError(f"row_titles needs one title per row ({nrows}); got {len(row_titles)}")
    head_lines: list[list[str]] = []

    height = max(img.shape[0] for _, img in checked)
    scaled = []
    for title, img in checked:
        h, w = img.shape[:2]
        if h != height:
            size = (max(1, round(w * height / h)), height)
            img = cv2.resize(img, size, interpolation=cv2.INTER_LINEAR)
        scaled.append((title, img))
    cell = max(img.shape[1] for _, img in scaled)
    grid_w = ncols * cell + (ncols - 1) * space
    if row_titles is not None and strip:
        head_lines = [_wrap(t, grid_w, strip, bold=True) for t in row_titles]
    head = strip * max((len(lines) for lines in head_lines), default=0)
    row_h = head + strip + height
    bar_w = _colorbar_width(height) if colorbars else 0
    out = np.full(
        (nrows * row_h + (nrows - 1) * space, grid_w + len(colorbars) * bar_w, 3),
        255,
        dtype=np.uint8,
    )
    for r, lines in enumerate(head_lines):
        for j, line in enumerate(lines):
            _put_title(out, line, 0, r * (row_h + space) + j * strip, grid_w, strip,
                       align="left", bold=True)
    for i, (title, img) in enumerate(scaled):
        y0 = (i // ncols) * (row_h + space) + head
        x0 = (i % ncols) * (cell + space)
        left = x0 + (cell - img.shape[1]) // 2
        out[y0 + strip : y0 + strip + height, left : left + img.shape[1]] = img
        if strip > 0 and title:
            _put_title(out, title, x0, y0, cell, strip)
    for k, bar in enumerate(colorbars):
        _draw_colorbar(out, bar, grid_w + k * bar_w, out.shape[0], bar_w)
    return out


def _colorbar_width(tile_height: int) -> int:
    return max(90, tile_height // 2)


def _draw_colorbar(out: np.ndarray, bar: Colorbar, x0: int, total_h: int, width: int) -> None:
    """A vertical colour bar in the column ``x0 .. x0 + width`` of ``out``, in place."""
    name = _check_colormap(bar.colormap)
    lo, hi = check_value_range(bar.value_range) or (0.0, 1.0)
    top, bottom = 44, total_h - 12
    if bottom - top < 40:
        top, bottom = 4, total_h - 4
    x_bar = x0 + 12
    bar_px = 16
    positions = np.linspace(1.0, 0.0, bottom - top)  # high values on top
    out[top:bottom, x_bar : x_bar + bar_px] = _colour(positions, name)[:, None, :]
    cv2.rectangle(out, (x_bar, top), (x_bar + bar_px - 1, bottom - 1), (80, 80, 80), 1)
    scale = 0.42
    for value, text in zip(*nice_ticks(lo, hi, 6), strict=True):
        y = round(top + (hi - value) / (hi - lo) * (bottom - top - 1))
        cv2.line(out, (x_bar + bar_px, y), (x_bar + bar_px + 4, y), (60, 60, 60), 1)
        (_, th), _ = cv2.getTextSize(text, _FONT, scale, 1)
        cv2.putText(out, text, (x_bar + bar_px + 7, y + th // 2), _FONT, scale, (30, 30, 30), 1,
                    cv2.LINE_AA)
    lines = bar.label.split("\n")[:2]
    for j, line in enumerate(lines):
        _put_title(out, line, x0, 4 + j * 18, width, 18, align="left")


def _text_scale(height: int) -> float:
    return 0.5 * height / cv2.getTextSize("Ag", _FONT, 1.0, 1)[0][1]


def _wrap(title: str, width: int, height: int, *, bold: bool = False) -> list[str]:
    """``title`` in lines that each fit ``width`` pixels in a strip ``height`` high
    (broken at spaces; a single word too long for a line is left to :func:`_put_title`)."""
    scale, weight = _text_scale(height), 2 if bold else 1
    text = "".join(c if 32 <= ord(c) < 127 else "?" for c in title)
    lines: list[str] = []
    for word in text.split(" "):
        joined = f"{lines[-1]} {word}" if lines else word
        if lines and cv2.getTextSize(joined, _FONT, scale, weight)[0][0] <= width - 4:
            lines[-1] = joined
        else:
            lines.append(word)
    return lines or [""]


def _put_title(out: np.ndarray, title: str, x0: int, y0: int, width: int, height: int,
               *, align: str = "centre", bold: bool = False) -> None:
    """Write ``title`` in the strip at (x0, y0) of size width x height, in place."""
    scale = _text_scale(height)
    weight = 2 if bold else 1
    text = "".join(c if 32 <= ord(c) < 127 else "?" for c in title)

    def fits(s: str) -> bool:
        return cv2.getTextSize(s, _FONT, scale, weight)[0][0] <= width - 4

    if not fits(text):
        while text and not fits(text + ".."):
            text = text[:-1]
        text += ".."
    (tw, th), _ = cv2.getTextSize(text, _FONT, scale, weight)
    left = x0 + 2 if align == "left" else x0 + max(0, (width - tw) // 2)
    origin = (left, y0 + (height + th) // 2)
    cv2.putText(out, text, origin, _FONT, scale, (30, 30, 30), weight, cv2.LINE_AA)


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
    value_range: tuple[float, float] | None = None,
) -> dict[str, np.ndarray]:
    """Render the three faces of a saliency map as images, as the command line saves them.

    Parameters
    ----------
    image : numpy.ndarray
        RGB image, (H, W, 3), uint8 or float with values in [0, 255].
    saliency : numpy.ndarray
        Float (h, w) saliency map; resized bilinearly to (H, W) if needed.
    colormap, alpha, n_levels, mode, dim, value_range
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
        "heatmap": heatmap_image(sal, colormap, value_range),
        "overlay": overlay_image(img, sal, colormap, alpha, value_range),
        "isolines": isolines_image(img, sal, colormap, n_levels, mode, dim,
                                   value_range=value_range),
    }
