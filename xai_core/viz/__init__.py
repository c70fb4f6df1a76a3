"""Rendering of saliency maps: Plotly figures for the dashboard, uint8 RGB images for PNGs.

A saliency map (float (H, W); signed for LIME, where negative means "speaks against the
class") gets three faces, each built by both renderers from the same data: a **heatmap**,
an **overlay** (the heatmap blended over the image) and **isolines** (lines of equal
saliency over the image, coloured by their level).

- :mod:`~xai_core.viz.colors`: colormaps from matplotlib's tables, value ranges, normalisation.
- :mod:`~xai_core.viz.contours`: isoline levels and paths, computed once for both renderers.
- :mod:`~xai_core.viz.raster`: uint8 RGB images, grids and PNG files (no browser needed).
- :mod:`~xai_core.viz.figures`: Plotly figures, grids of them, deletion/insertion curves.
- :mod:`~xai_core.viz.scale`: each map on its own range or several on one (centred RISE
  maps), round colour-bar ticks, how much of a range a map covers, the flat-map criterion.

All functions are pure: they never modify their inputs and never touch Streamlit.
References: RISE, Petsiuk, Das & Saenko, BMVC 2018 (arXiv:1806.07421); LIME, Ribeiro,
Singh & Guestrin, KDD 2016 (arXiv:1602.04938).
"""

from xai_core.viz.colors import (
    COLORMAPS,
    colormap_lut,
    default_colormap,
    normalise,
    plotly_colorscale,
)
from xai_core.viz.contours import ContourMode, Contours, compute_contours, contour_levels
from xai_core.viz.figures import (
    Panel,
    curves_figure,
    grid_figure,
    heatmap_figure,
    image_figure,
    isolines_figure,
    overlay_figure,
    top_classes_figure,
)
from xai_core.viz.raster import (
    Colorbar,
    grid_image,
    heatmap_image,
    isolines_image,
    overlay_image,
    png_bytes,
    representations,
    save_png,
)
from xai_core.viz.scale import (
    FLAT_BELOW,
    centred,
    flatness,
    is_flat,
    map_spread,
    nice_ticks,
    percentile_range,
    range_coverage,
    shared_value_range,
)

__all__ = [
    "COLORMAPS",
    "FLAT_BELOW",
    "Colorbar",
    "ContourMode",
    "Contours",
    "Panel",
    "centred",
    "colormap_lut",
    "compute_contours",
    "contour_levels",
    "curves_figure",
    "default_colormap",
    "flatness",
    "grid_figure",
    "grid_image",
    "heatmap_figure",
    "heatmap_image",
    "image_figure",
    "is_flat",
    "isolines_figure",
    "isolines_image",
    "map_spread",
    "nice_ticks",
    "normalise",
    "overlay_figure",
    "overlay_image",
    "percentile_range",
    "plotly_colorscale",
    "png_bytes",
    "range_coverage",
    "representations",
    "save_png",
    "shared_value_range",
    "top_classes_figure",
]
