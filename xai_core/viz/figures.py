"""Plotly side: interactive figures of saliency maps, grids of them, and metric curves."""

from __future__ import annotations

import base64
import math
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import plotly.graph_objects as go

from xai_core._common import check_image, check_int
from xai_core.viz._arrays import _fit, _to_uint8
from xai_core.viz.colors import (
    _check_colormap,
    _check_fraction,
    _check_saliency,
    _plotly_range,
    _rgb_string,
    plotly_colorscale,
)
from xai_core.viz.contours import ContourMode, _isolines
from xai_core.viz.raster import heatmap_image, overlay_image
from xai_core.viz.scale import check_value_range, nice_ticks

_HOVER_SALIENCY = "row %{y}, column %{x}<br>saliency %{z:.4g}<extra></extra>"


_HOVER_IMAGE = "row %{y}, column %{x}<br>RGB %{z}<extra></extra>"
#: The same for an embedded picture, whose hovered pixel Plotly reads as RGBA.
_HOVER_PICTURE = "row %{y}, column %{x}<br>RGB [%{z[0]}, %{z[1]}, %{z[2]}]<extra></extra>"

#: ``compact=True`` figures: a photo is embedded as JPEG of this quality (4:4:4, no
#: chroma subsampling), coloured maps as PNG (exact colours, sharp superpixel borders).
_JPEG_QUALITY = 90
#: ``compact=True`` figures keep the map's values for the hover on a grid of at most
#: this many cells a side (cell centres sampled from the full map: 56 x 56 for 224 px).
_HOVER_CELLS = 64
#: ``compact=True`` isolines: paths simplified to within this many pixels (Douglas-Peucker,
#: OpenCV's ``approxPolyDP``), well below a screen pixel at the row's size: about a tenth
#: of the points of a RISE map's lines.
_PATH_TOLERANCE = 0.35
#: ``compact=True`` colour scales (of colour bars and hover layers): every 5th entry of
#: the colormap's 256-entry table, 52 stops from the first to the last (Plotly checks
#: every stop: 256 of them per trace cost a row 0.1 s to build and 10 kB to send).
_COMPACT_STOP_EVERY = 5


def _scale(colormap: str, compact: bool) -> list[list[float | str]]:
    """The colormap's Plotly colorscale, every stop or (``compact``) every 5th."""
    stops = plotly_colorscale(colormap)
    return stops[::_COMPACT_STOP_EVERY] if compact else stops


def _data_uri(image_uint8: np.ndarray, fmt: str) -> str:
    """``data:image/...;base64,...`` of an RGB uint8 image, as JPEG (``"jpeg"``) or PNG."""
    bgr = cv2.cvtColor(np.ascontiguousarray(image_uint8), cv2.COLOR_RGB2BGR)
    if fmt == "jpeg":
        params = [cv2.IMWRITE_JPEG_QUALITY, _JPEG_QUALITY,
                  cv2.IMWRITE_JPEG_SAMPLING_FACTOR, cv2.IMWRITE_JPEG_SAMPLING_FACTOR_444]
        ok, encoded = cv2.imencode(".jpg", bgr, params)
    else:
        ok, encoded = cv2.imencode(".png", bgr, [cv2.IMWRITE_PNG_COMPRESSION, 6])
    if not ok:  # pragma: no cover - imencode fails only on invalid input
        raise OSError(f"could not encode the image as {fmt.upper()}")
    return f"data:image/{fmt};base64," + base64.b64encode(encoded.tobytes()).decode("ascii")


def _embedded_image(image_uint8: np.ndarray, fmt: str, name: str,
                    hovertemplate: str | None = _HOVER_PICTURE) -> go.Image:
    """A ``go.Image`` drawing ``image_uint8`` from an embedded file instead of a pixel array
    (about a tenth of the bytes); Plotly reads the hovered pixel's RGB from the picture."""
    return go.Image(source=_data_uri(image_uint8, fmt), name=name,
                    hovertemplate=hovertemplate,
                    hoverinfo=None if hovertemplate else "skip")


def _simplified(path: np.ndarray) -> np.ndarray:
    """``path`` ((n, 2) points) with the fewest points within :data:`_PATH_TOLERANCE` of it;
    its first and last points kept (a closed line stays closed)."""
    points = np.ascontiguousarray(path, dtype=np.float32)
    if len(points) < 4:
        return points
    # a closed line ends where it starts, which OpenCV's open-curve case cannot anchor on:
    # simplify it up to its last but one point, then close it exactly
    closed = bool(np.all(points[0] == points[-1]))
    body = points[:-1] if closed else points
    out = cv2.approxPolyDP(body.reshape(-1, 1, 2), _PATH_TOLERANCE, False).reshape(-1, 2)
    return np.concatenate([out, points[-1:]]) if closed else out


def _hover_heatmap(sal: np.ndarray, colormap: str, zmin: float, zmax: float,
                   colorbar_title: str | None) -> go.Heatmap:
    """An invisible ``go.Heatmap`` over a picture of the map: the values under the cursor
    and, if shown, the colour bar. The map is sampled every ``step`` pixels (at most
    :data:`_HOVER_CELLS` a side); each cell shows the value of the pixel at its centre,
    and the hover names that pixel's row and column."""
    h, w = sal.shape
    step = max(1, math.ceil(max(h, w) / _HOVER_CELLS))
    first = (step - 1) // 2
    cells = sal[first::step, first::step].astype(np.float32)
    return go.Heatmap(
        z=cells, x0=first, dx=step, y0=first, dy=step,
        colorscale=_scale(colormap, True), zmin=zmin, zmax=zmax, opacity=0.0,
        colorbar=_colorbar(zmin, zmax, colorbar_title or "saliency"),
        hovertemplate=_HOVER_SALIENCY, name="saliency",
    )


@dataclass(frozen=True)
class Panel:
    """One cell of :func:`grid_figure`: a title and the figure drawn under it."""

    title: str
    figure: go.Figure


_IMAGE_AXIS = {"showticklabels": False, "ticks": "", "showgrid": False, "zeroline": False,
               "constrain": "domain"}


def _image_layout(title: str | None, shape: tuple[int, ...] | None = None) -> dict:
    """Pixel axes without ticks, y pointing down as in the image, square pixels; with
    ``shape`` (rows, columns, ...), axes spanning exactly that image, whatever else the
    traces cover (an isoline's colour-bar carrier, a hover layer's outer cells)."""
    xaxis = dict(_IMAGE_AXIS)
    yaxis = {**_IMAGE_AXIS, "autorange": "reversed", "scaleanchor": "x", "scaleratio": 1}
    if shape is not None:
        h, w = shape[0], shape[1]
        xaxis.update(range=[-0.5, w - 0.5], autorange=False)
        yaxis.update(range=[h - 0.5, -0.5], autorange=False)
    layout = dict(margin=dict(l=10, r=10, t=50 if title else 10, b=10), plot_bgcolor="white",
                  showlegend=False, xaxis=xaxis, yaxis=yaxis)
    if title:
        layout["title"] = dict(text=title)
    return layout


def _image_figure(traces: Sequence[go.BaseTraceType], title: str | None,
                  shape: tuple[int, ...] | None = None) -> go.Figure:
    """A figure of ``traces`` on pixel axes (see :func:`_image_layout`), built in one go
    (Plotly's ``update_*`` calls cost several milliseconds each)."""
    return go.Figure(data=list(traces), layout=_image_layout(title, shape))


def _colorbar(lo: float, hi: float, title: str) -> dict:
    """A colour bar with at most six round ticks written with one precision."""
    values, labels = nice_ticks(lo, hi, 6)
    return dict(thickness=12, title=dict(text=title, side="right"), tickvals=values,
                ticktext=labels, outlinewidth=0)


def _saliency_heatmap(sal: np.ndarray, colormap: str, opacity: float = 1.0,
                      value_range: tuple[float, float] | None = None,
                      colorbar_title: str | None = None) -> go.Heatmap:
    zmin, zmax = _plotly_range(sal, check_value_range(value_range))
    return go.Heatmap(
        z=sal.astype(np.float32),
        colorscale=plotly_colorscale(colormap),
        zmin=zmin,
        zmax=zmax,
        opacity=opacity,
        colorbar=_colorbar(zmin, zmax, colorbar_title or "saliency"),
        hovertemplate=_HOVER_SALIENCY,
        name="saliency",
    )


def image_figure(image: np.ndarray, title: str | None = None, *,
                 compact: bool = False) -> go.Figure:
    """The image itself, styled like the other faces (for a row image | heatmap | ...).

    Parameters
    ----------
    image : numpy.ndarray
        RGB image, (H, W, 3), uint8 or float with values in [0, 255].
    title : str, optional
        Figure title.
    compact : bool
        Embed the image as a JPEG (``go.Image(source=...)``, quality 90, no chroma
        subsampling) instead of a pixel array: about a tenth of the bytes to send and
        parse, the same look.

    Returns
    -------
    plotly.graph_objects.Figure
        One ``go.Image`` trace (hover: RGB).
    """
    img = _to_uint8(check_image(image))
    trace = (_embedded_image(img, "jpeg", "image") if compact else
             go.Image(z=img, hovertemplate=_HOVER_IMAGE, name="image"))
    return _image_figure([trace], title)


def heatmap_figure(
    saliency: np.ndarray,
    colormap: str = "jet",
    title: str | None = None,
    *,
    value_range: tuple[float, float] | None = None,
    colorbar_title: str | None = None,
    showscale: bool = True,
    compact: bool = False,
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
    value_range : (float, float), optional
        ``(zmin, zmax)``: e.g. one range for every map of a comparison
        (:func:`~xai_core.viz.scale.shared_value_range`). Default: the map's own range.
    colorbar_title : str, optional
        The colour bar's title (default ``"saliency"``); say which scale it is.
    showscale : bool
        Whether to draw the colour bar.
    compact : bool
        Draw the coloured map as an embedded PNG (:func:`heatmap_image`, the same
        colours) under an invisible ``go.Heatmap`` of the values at most 64 cells a side
        that gives the hover and the colour bar: about a tenth of the bytes, the same
        look; the hover shows the value at the centre of the cell under the cursor.

    Returns
    -------
    plotly.graph_objects.Figure
        One ``go.Heatmap`` trace; with ``compact``, a ``go.Image`` then the ``go.Heatmap``.
    """
    name = _check_colormap(colormap)
    sal = _check_saliency(saliency)
    if compact:
        zmin, zmax = _plotly_range(sal, check_value_range(value_range))
        picture = heatmap_image(sal, name, (zmin, zmax))
        hover = _hover_heatmap(sal, name, zmin, zmax, colorbar_title)
        hover.showscale = showscale
        return _image_figure([_embedded_image(picture, "png", "heatmap", None), hover], title,
                             sal.shape)
    trace = _saliency_heatmap(sal, name, value_range=value_range, colorbar_title=colorbar_title)
    trace.showscale = showscale
    return _image_figure([trace], title)


def overlay_figure(
    image: np.ndarray,
    saliency: np.ndarray,
    colormap: str = "jet",
    alpha: float = 0.5,
    title: str | None = None,
    *,
    value_range: tuple[float, float] | None = None,
    colorbar_title: str | None = None,
    showscale: bool = True,
    compact: bool = False,
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
    value_range, colorbar_title, showscale
        As in :func:`heatmap_figure`.
    compact : bool
        Draw the blend as one embedded JPEG (:func:`overlay_image`, the same pixels)
        under an invisible ``go.Heatmap`` of the values (see :func:`heatmap_figure`).

    Returns
    -------
    plotly.graph_objects.Figure
        A ``go.Image`` trace (hover: RGB) under a ``go.Heatmap`` trace of opacity
        ``alpha`` (hover: saliency); with ``compact``, the blended ``go.Image`` under the
        invisible ``go.Heatmap``.
    """
    name = _check_colormap(colormap)
    a = _check_fraction("alpha", alpha)
    img = check_image(image)
    sal = _fit(_check_saliency(saliency), img.shape)
    if compact:
        zmin, zmax = _plotly_range(sal, check_value_range(value_range))
        picture = overlay_image(img, sal, name, a, (zmin, zmax))
        hover = _hover_heatmap(sal, name, zmin, zmax, colorbar_title)
        hover.showscale = showscale
        return _image_figure([_embedded_image(picture, "jpeg", "overlay", None), hover], title,
                             sal.shape)
    heat = _saliency_heatmap(sal, name, opacity=a, value_range=value_range,
                             colorbar_title=colorbar_title)
    heat.showscale = showscale
    return _image_figure([go.Image(z=_to_uint8(img), hovertemplate=_HOVER_IMAGE, name="image"),
                          heat], title)


def isolines_figure(
    image: np.ndarray,
    saliency: np.ndarray,
    colormap: str = "jet",
    n_levels: int = 8,
    mode: ContourMode = "value",
    dim: float = 0.0,
    title: str | None = None,
    thickness: int = 2,
    *,
    value_range: tuple[float, float] | None = None,
    colorbar_title: str | None = None,
    showscale: bool = True,
    compact: bool = False,
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
    value_range, colorbar_title, showscale
        As in :func:`heatmap_figure`; with ``value_range`` the levels are spaced over
        it (see :func:`isolines_image`).
    compact : bool
        Embed the dimmed image as a JPEG, and simplify each line to within 0.35 pixel
        (Douglas-Peucker, ``cv2.approxPolyDP``; its ends kept; coordinates as float32):
        about a tenth of the points, the same look.

    Returns
    -------
    plotly.graph_objects.Figure
        A ``go.Image`` trace (the image, dimmed), then one ``go.Scatter`` in
        ``"lines"`` mode per level holding all of that level's paths (separated by
        gaps; hover: its level), then, if there is at least one level and
        ``showscale``, an invisible ``go.Scatter`` of markers that only carries the
        colour bar (at most six round ticks).
    """
    width = check_int("thickness", thickness, 1, 16)
    iso = _isolines(image, saliency, colormap, n_levels, mode, dim,
                    check_value_range(value_range))
    name = _check_colormap(colormap)
    traces: list[go.BaseTraceType] = [
        _embedded_image(iso.base, "jpeg", "image") if compact else
        go.Image(z=iso.base, hovertemplate=_HOVER_IMAGE, name="image")
    ]
    decimals = _level_decimals(iso.value_range)
    for k, (level, paths, colour) in enumerate(
        zip(iso.levels, iso.contours, iso.colours, strict=True)
    ):
        if not paths:
            continue
        label = f"level {level:.{decimals}f}"
        gap = np.full((1, 2), np.nan)
        if compact:
            paths = [_simplified(path) for path in paths]
        joined = np.concatenate([part for path in paths for part in (path, gap)][:-1])
        if compact:
            joined = joined.astype(np.float32)
        traces.append(
            go.Scatter(
                x=joined[:, 1],
                y=joined[:, 0],
                mode="lines",
                line=dict(color=_rgb_string(colour), width=width),
                connectgaps=False,
                name=label,
                legendgroup=f"level-{k}",
                hovertemplate=label + "<extra></extra>",
            )
        )
    if len(iso.levels) > 0 and showscale:
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
                    colorscale=_scale(name, compact),
                    cmin=lo,
                    cmax=hi,
                    showscale=True,
                    colorbar=_colorbar(lo, hi, colorbar_title or "level"),
                ),
                hoverinfo="skip",
                name="levels",
            )
        )
    # exactly the image's extent, as for the other faces (lines and the colour-bar carrier
    # must not pad the axes, or the isolines panel comes out smaller than its neighbours)
    return _image_figure(traces, title, iso.base.shape)


def _level_decimals(value_range: tuple[float, float]) -> int:
    """Decimals that tell a range's levels apart, as for its colour-bar ticks."""
    labels = nice_ticks(*value_range, 6)[1]
    return max((len(t.split(".")[1]) if "." in t else 0) for t in labels) + 1


_AXIS_KEYS_NOT_COPIED = frozenset(
    {"domain", "anchor", "overlaying", "matches", "scaleanchor", "position", "side"}
)


def grid_figure(
    panels: Sequence[Panel | tuple[str, go.Figure]],
    cols: int = 3,
    title: str | None = None,
    *,
    panel_height: int = 320,
    horizontal_spacing: float | None = None,
) -> go.Figure:
    """Combine figures into one, in a grid of subplots (laid out as ``plotly.subplots.make_subplots`` does).

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
    horizontal_spacing : float, optional
        Space between columns as a fraction of the width (default: 0.08, less with many
        columns); small values suit panels without colour bars of their own.

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
    # the cells as plotly.subplots.make_subplots lays them out, built as one layout (its
    # figure and one update per trace cost a four-panel row about 0.1 s)
    h_gap = (horizontal_spacing if horizontal_spacing is not None else
             0.08 if ncols == 1 else min(0.08, 0.5 / (ncols - 1)))
    v_gap = 0.12 if nrows == 1 else min(0.12, 0.5 / (nrows - 1))
    width = (1.0 - h_gap * (ncols - 1)) / ncols
    height = (1.0 - v_gap * (nrows - 1)) / nrows
    layout: dict = {}
    annotations = []
    data: list[dict] = []
    for i, panel in enumerate(items):
        row, col = divmod(i, ncols)
        x_dom = [col * (width + h_gap), min(1.0, col * (width + h_gap) + width)]
        top = 1.0 - row * (height + v_gap)
        y_dom = [max(0.0, top - height), top]
        n = "" if i == 0 else str(i + 1)
        src = panel.figure.layout
        x_axis = {k: v for k, v in src.xaxis.to_plotly_json().items()
                  if k not in _AXIS_KEYS_NOT_COPIED}
        y_settings = src.yaxis.to_plotly_json()
        y_axis = {k: v for k, v in y_settings.items() if k not in _AXIS_KEYS_NOT_COPIED}
        if y_settings.get("scaleanchor") == "x":
            y_axis["scaleanchor"] = f"x{n}"
        layout[f"xaxis{n}"] = {**x_axis, "domain": x_dom, "anchor": f"y{n}"}
        layout[f"yaxis{n}"] = {**y_axis, "domain": y_dom, "anchor": f"x{n}"}
        annotations.append(dict(text=panel.title, x=(x_dom[0] + x_dom[1]) / 2, y=y_dom[1],
                                xref="paper", yref="paper", xanchor="center",
                                yanchor="bottom", showarrow=False, font=dict(size=16)))
        colorbar = dict(x=x_dom[1] + 0.005, xanchor="left", y=(y_dom[0] + y_dom[1]) / 2,
                        yanchor="middle", len=y_dom[1] - y_dom[0], lenmode="fraction",
                        thickness=10)
        for trace in panel.figure.data:
            copy = trace.to_plotly_json()  # the panels' traces are left as they are
            copy.update(xaxis=f"x{n}", yaxis=f"y{n}")
            if "colorbar" in trace and trace.showscale is not False:
                copy["colorbar"] = {**copy.get("colorbar", {}), **colorbar}
            if "marker" in trace and "colorbar" in trace.marker and trace.marker.showscale:
                copy["marker"] = {**copy["marker"],
                                  "colorbar": {**copy["marker"].get("colorbar", {}), **colorbar}}
            data.append(copy)
    layout.update(
        annotations=annotations,
        height=nrows * row_height + (60 if title else 20),
        margin=dict(l=10, r=40, t=80 if title else 40, b=10),
        plot_bgcolor="white",
        showlegend=False,
    )
    if title:
        layout["title"] = dict(text=title)
    return go.Figure(data=data, layout=layout)


def top_classes_figure(probabilities: np.ndarray, class_names: Sequence[str], k: int = 5,
                       height: int = 230) -> go.Figure:
    """Horizontal bars of the ``k`` most probable classes, the top one first.

    Each bar is labelled with the probability (3 decimals); the hover shows the class
    index too. Scores that are not probabilities are shown as they are.
    """
    p = np.asarray(probabilities, np.float64).ravel()
    if len(class_names) != len(p):
        raise ValueError(f"{len(p)} scores but {len(class_names)} class names")
    k = check_int("k", k, 1)
    top = np.argsort(-p, kind="stable")[: min(k, len(p))]
    # one category per class index: ImageNet names two classes "crane" (and two "maillot")
    ids = [str(int(i)) for i in top]
    names = [str(class_names[i]) for i in top]
    fig = go.Figure(go.Bar(
        x=p[top], y=ids, orientation="h",
        text=[f"{p[i]:.3f}" for i in top], textposition="auto",
        customdata=names, marker_color="#4c78a8",
        hovertemplate="%{customdata} (class %{y}): %{x:.3f}<extra></extra>"))
    probabilities_like = bool(len(top)) and 0.0 <= float(p[top].min()) <= float(p[top].max()) <= 1.0
    fig.update_layout(height=height, margin=dict(l=0, r=10, t=10, b=30),
                      yaxis=dict(type="category", autorange="reversed", tickmode="array",
                                 tickvals=ids, ticktext=names),
                      xaxis=dict(title="probability" if probabilities_like else "score",
                                 range=[0, 1] if probabilities_like else None))
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
