"""Private colormap data: anchor colours and the lookup tables built from them.

Each colormap is a short list of anchor colours, evenly spaced on [0, 1]. The
256-entry lookup table used for PNG images and the Plotly colorscale used in
the dashboard are both built from the same anchors by linear interpolation in
RGB (which is what Plotly does between colorscale stops), so a value gets the
same colour in both renderings, up to the 1/255 rounding of the table.

The perceptual maps (viridis, inferno, magma) are sampled from matplotlib's
tables at 17 points (largest error of the interpolation: about 6/255 per channel);
matplotlib is not needed at run time.

Nothing here is public API: :mod:`xai_core.render` exposes ``COLORMAPS``,
``colormap_lut`` and ``plotly_colorscale``.
"""

from __future__ import annotations

from functools import cache

import numpy as np

#: Anchor colours of every colormap, low value first, as space-separated hex RRGGBB.
ANCHORS: dict[str, str] = {
    # The classic MATLAB jet: dark blue, blue, cyan, yellow, red, dark red.
    "jet": "000080 0000ff 00ffff ffff00 ff0000 800000",
    "viridis": (
        "440154 48186a 472d7b 424086 3b528b 33638d 2c728e 26828e 21918c "
        "1fa088 28ae80 3fbc73 5ec962 84d44b addc30 d8e219 fde725"
    ),
    "inferno": (
        "000004 0b0724 210c4a 3d0965 57106e 71196e 8a226a a32c61 bc3754 "
        "d24644 e45a31 f1731d f98e09 fcac11 f9cb35 f2ea69 fcffa4"
    ),
    "magma": (
        "000004 0a0822 1d1147 36106b 51127c 6a1c81 832681 9c2e7f b73779 "
        "d0416f e75263 f56b5c fc8961 fea772 fec488 fde2a3 fcfdbf"
    ),
    "gray": "000000 ffffff",
    # ColorBrewer's 11-class RdBu, ordered blue (negative) -> white (0) -> red (positive),
    # so that "hot" means "supports the class", as in the sequential maps.
    "RdBu": "053061 2166ac 4393c3 92c5de d1e5f0 f7f7f7 fddbc7 f4a582 d6604d b2182b 67001f",
}

#: Anchor positions that are not evenly spaced (jet's breakpoints at 1/8, 3/8, 5/8, 7/8).
POSITIONS: dict[str, tuple[float, ...]] = {
    "jet": (0.0, 0.125, 0.375, 0.625, 0.875, 1.0),
}

#: Colormaps meant for signed maps. Their middle anchor (the colour of 0) is held over
#: [127/255, 128/255], so that table entries 127 and 128 are both exactly that colour and
#: the table is symmetric (entry i mirrors entry 255 - i); the other anchors are spread
#: evenly on either side.
DIVERGING: frozenset[str] = frozenset({"RdBu"})


def _hex_to_rgb(code: str) -> tuple[int, int, int]:
    return int(code[0:2], 16), int(code[2:4], 16), int(code[4:6], 16)


def anchors(name: str) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(positions, colours)``: float64 (n,) in [0, 1] and float64 (n, 3) in [0, 255]."""
    colours = np.array([_hex_to_rgb(c) for c in ANCHORS[name].split()], dtype=np.float64)
    if name in POSITIONS:
        positions = np.array(POSITIONS[name], dtype=np.float64)
    elif name in DIVERGING:
        half = len(colours) // 2  # index of the middle anchor (odd count)
        colours = np.insert(colours, half, colours[half], axis=0)
        positions = np.concatenate(
            [np.linspace(0.0, 127 / 255, half + 1), np.linspace(128 / 255, 1.0, half + 1)]
        )
    else:
        positions = np.linspace(0.0, 1.0, len(colours))
    return positions, colours


@cache
def lut(name: str) -> np.ndarray:
    """Return the read-only 256x3 uint8 table of ``name``; entry ``i`` is the colour at ``i / 255``."""
    positions, colours = anchors(name)
    x = np.linspace(0.0, 1.0, 256)
    table = np.stack([np.interp(x, positions, colours[:, c]) for c in range(3)], axis=1)
    table = np.rint(table).astype(np.uint8)
    table.flags.writeable = False
    return table


def colorscale(name: str) -> list[list[float | str]]:
    """Return the Plotly colorscale of ``name``: ``[[position, "rgb(r, g, b)"], ...]``."""
    positions, colours = anchors(name)
    return [
        [float(p), f"rgb({int(c[0])}, {int(c[1])}, {int(c[2])})"]
        for p, c in zip(positions, colours, strict=True)
    ]
