"""PNG side: saliency maps as uint8 RGB images (heatmap, overlay, isolines, grids), and files.

Made with numpy, OpenCV and scikit-image only, so exporting PNGs needs no browser.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
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

_FONT = cv2.FONT_HERSHEY_SIMPLEX


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
