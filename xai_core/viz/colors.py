"""Colour policy: colormaps taken from matplotlib's tables, value ranges, normalisation.

Each colormap is matplotlib's own 256-entry table (``matplotlib.colormaps``), used both
for PNG images (:func:`colormap_lut`) and, stop for stop, as the Plotly colorscale
(:func:`plotly_colorscale`), so a value gets the same colour in both renderings. The
diverging ``"RdBu"`` (blue < 0 < red, matplotlib's ``RdBu_r``) holds its middle colour
over table entries 127 and 128, so that 0 is exactly white-grey and the table is
symmetric.
"""

from __future__ import annotations

from functools import cache

import numpy as np

#: Names of the available colormaps. ``"RdBu"`` is diverging (blue < 0 < red), meant for
#: signed maps such as LIME's; the others are sequential.
COLORMAPS: tuple[str, ...] = ("jet", "viridis", "inferno", "magma", "gray", "RdBu")

#: matplotlib's name of each colormap.
_MATPLOTLIB_NAMES = {"jet": "jet", "viridis": "viridis", "inferno": "inferno",
                     "magma": "magma", "gray": "gray", "RdBu": "RdBu_r"}
#: Diverging colormaps: their middle colour is held over entries 127 and 128.
_DIVERGING = frozenset({"RdBu"})


@cache
def _lut(name: str) -> np.ndarray:
    """The read-only 256x3 uint8 table of ``name``; entry ``i`` is the colour at ``i / 255``."""
    import matplotlib

    cmap = matplotlib.colormaps[_MATPLOTLIB_NAMES[name]]
    if name in _DIVERGING:  # ColorBrewer's 11 anchors, the middle one held at 127/255..128/255
        anchors = cmap.resampled(11)(np.arange(11))[:, :3] * 255.0
        anchors = np.insert(anchors, 5, anchors[5], axis=0)
        positions = np.concatenate([np.linspace(0.0, 127 / 255, 6), np.linspace(128 / 255, 1.0, 6)])
        x = np.linspace(0.0, 1.0, 256)
        table = np.stack([np.interp(x, positions, anchors[:, c]) for c in range(3)], axis=1)
    else:
        table = cmap.resampled(256)(np.arange(256))[:, :3] * 255.0
    table = np.rint(table).astype(np.uint8)
    table.flags.writeable = False
    return table


@cache
def _colorscale(name: str) -> tuple[tuple[float, str], ...]:
    """The Plotly colorscale of ``name``: one stop per table entry (exactly the table)."""
    lut = _lut(name)
    return tuple((i / 255, f"rgb({r}, {g}, {b})") for i, (r, g, b) in enumerate(lut.tolist()))


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
    return _lut(colormap)[np.clip(index, 0, 255)]


def _plotly_range(
    sal: np.ndarray, value_range: tuple[float, float] | None = None
) -> tuple[float, float]:
    """``(zmin, zmax)`` for Plotly: ``value_range`` if given, else :func:`_value_range`;
    never an empty interval."""
    lo, hi = value_range if value_range is not None else _value_range(sal)
    return (lo, hi) if hi > lo else (lo, lo + 1.0)


def _rgb_string(colour: np.ndarray) -> str:
    return f"rgb({int(colour[0])}, {int(colour[1])}, {int(colour[2])})"


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
    return _lut(_check_colormap(colormap))


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
    return [list(stop) for stop in _colorscale(_check_colormap(colormap))]


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
