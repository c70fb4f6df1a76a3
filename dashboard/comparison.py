"""A page's results as one comparison: every map legible, magnitudes on demand, compact
titled rows, flat maps flagged, and one PNG of the whole comparison for a report.

Every result is one row: image | heatmap | overlay | isolines, under a title with the
method, model, class, probability, the map's spread (1st–99th percentile, in its units),
key settings, forward passes and time. By default each map is drawn on its own range with
its own colour bar. The page's toggle *One colour range per kind of map* puts maps of one
kind on one range instead (see :func:`page_scales`): RISE maps centred (each minus its
mean) on a diverging scale symmetric about 0, LIME's weights as they are. The report
figure follows the choice on screen.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import streamlit as st

import xai_core as xc
from dashboard.models import model_label
from dashboard.sidebar import Context
from dashboard.state import toggle
from dashboard.views import Result, aucs, curves

#: What the values of each kind of map are, for colour bars and the units note.
UNITS = {
    "rise": ("RISE score", "expected class probability when that part is kept"),
    "lime": ("LIME weight", "change of class probability a superpixel brings (linear model)"),
    "gradcam": ("Grad-CAM value", "gradient-weighted activation, scaled to [0, 1]; white-box"),
}

#: Height of a row's panels in pixels: about their width in a 1400 px wide window, so the
#: square images fill their cells.
ROW_HEIGHT = 210


@dataclass(frozen=True)
class Scale:
    """How one kind of map is drawn on a page: a colormap, and one range or each its own.

    ``centred``: the maps are drawn minus their mean (RISE on one range).
    """

    kind: str
    colormap: str
    value_range: tuple[float, float] | None  # None: each map on its own range
    signed: bool
    centred: bool = False

    def values(self, saliency: np.ndarray) -> np.ndarray:
        """The values drawn for ``saliency``: the map, or the map minus its mean."""
        return xc.viz.centred(saliency) if self.centred else saliency

    def range_of(self, saliency: np.ndarray) -> tuple[float, float]:
        """The colour range of ``saliency`` (as given, not yet :meth:`values`)."""
        if self.value_range is not None:
            return self.value_range
        return own_range(self.values(saliency), self.signed)

    @property
    def title(self) -> str:
        name = UNITS.get(self.kind, (self.kind.upper(), ""))[0]
        if self.value_range is None:
            return f"{name}<br>own range"
        return f"{name}<br>{'minus its mean, ' if self.centred else ''}page range"


def own_range(values: np.ndarray, signed: bool) -> tuple[float, float]:
    """A map's own colour range: min to max, or ``(-m, m)`` around 0 for a signed map."""
    lo, hi = float(np.min(values)), float(np.max(values))
    if signed:
        m = max(-lo, hi, 0.0)
        return (-m, m) if m > 0 else (lo, hi)
    return lo, hi


def page_scales(results: Sequence[Result], colormap: str | None,
                shared: bool = False) -> dict[str, Scale]:
    """One :class:`Scale` per kind of map among ``results``.

    ``shared=False`` (the default): each map on its own range; signed kinds (LIME with
    negative weights) symmetric about 0 with a diverging colormap (RdBu), unsigned ones
    min-max with jet. ``shared=True``: one range per kind; RISE maps centred (each minus
    its mean, so maps made with different settings, whose levels differ, compare by how
    much each part raises the score above the map's average) on a diverging scale
    symmetric about 0; LIME's signed weights as they are, symmetric about 0; Grad-CAM from
    the smallest to the largest value. A colormap chosen in the sidebar is used for every
    kind.
    """
    scales = {}
    for kind in dict.fromkeys(r.expl.method for r in results):
        maps = [r.expl.display_saliency for r in results if r.expl.method == kind]
        centred = shared and kind == "rise"
        if centred:
            maps = [xc.viz.centred(m) for m in maps]
        whole = xc.viz.shared_value_range(maps)
        signed = whole[0] < 0.0
        cmap = colormap or ("RdBu" if signed else "jet")
        vr = whole if shared and whole[1] > whole[0] else None
        scales[kind] = Scale(kind, cmap, vr, signed, centred)
    return scales


def spread(expl: xc.Explanation) -> str:
    """``"RISE score 0.045–0.057 (1st–99th pct)"``: where the map's values lie."""
    lo, hi = xc.viz.percentile_range(expl.display_saliency)
    name = UNITS.get(expl.method, (expl.method, ""))[0]
    decimals = max(2, min(5, 1 - int(np.floor(np.log10(max(hi - lo, 1e-9))))))
    return f"{name} {lo:.{decimals}f}–{hi:.{decimals}f} (1st–99th pct)"


_COLOUR_NAMES = {(0, 0, 0): "black", (255, 255, 255): "white", (0, 0, 255): "blue",
                 (255, 0, 0): "red", (0, 255, 0): "green", (128, 128, 128): "grey",
                 (127, 127, 127): "grey"}


def _key_params(expl: xc.Explanation) -> str:
    p = expl.params
    note = expl.extra.get("budget_note")  # anytime runs: "stopped at N masks, r ≈ 0.97"
    if expl.method == "gradcam":
        return f"white-box, layer {p.get('layer') or 'last convolution'}"
    if expl.method == "rise":
        used = expl.extra.get("masks_used", p.get("n_masks"))
        r = expl.extra.get("r_estimate")
        masks = note or (f"{used} masks" + (f" (r ≈ {r:.2f})" if r is not None else ""))
        fill = p.get("fill", "black")
        return (f"{masks}, s = {p.get('mask_size')}, p = {p.get('keep_prob')}"
                + (f", fill {fill}" if fill != "black" else ""))
    hide = p.get("hide_color")
    if isinstance(hide, (list, tuple)):  # a colour given by name is recorded as RGB
        hide = _COLOUR_NAMES.get(tuple(round(float(v)) for v in hide),
                                 "RGB " + ", ".join(f"{float(v):.0f}" for v in hide))
    parts = [note or f"{p.get('num_samples')} samples", str(p.get("segmentation")),
             f"hide {hide}"]
    if p.get("num_features") not in (None, 100000):
        parts.append(f"{p.get('num_features')} superpixels")
    if p.get("positive_only"):
        parts.append("positive only")
    return ", ".join(parts)


def timing(expl: xc.Explanation, cached: bool) -> str:
    """``"12.3 s"``; ``"cached (orig. 12.3 s)"`` for a result taken from the cache; for a
    RISE map made from a run shared with the image's other classes (no model call of its
    own), says so instead of a meaningless "0.0 s"."""
    if cached:
        return f"cached (orig. {expl.wall_s:.1f} s)"
    if expl.method == "rise" and expl.forward_passes == 0:
        return "no new model calls: the masks' scores of this image's RISE run were reused"
    return f"{expl.wall_s:.1f} s"


#: How each method is named in titles.
METHOD_NAMES = {"rise": "RISE", "lime": "LIME", "gradcam": "Grad-CAM"}


def describe(res: Result) -> str:
    """The row's title: method, model, class, probability, the map's spread, settings,
    passes, time, seed."""
    e = res.expl
    seed = f" · seed {e.seed}" if e.seed is not None else ""  # Grad-CAM draws nothing
    return (f"**{METHOD_NAMES.get(e.method, e.method.upper())}** · {model_label(res.model_key)}"
            f" · {e.image_name} · class **{e.target_label}** (p = {e.probability:.3f}) · "
            f"{spread(e)} · {_key_params(e)} · {_passes(e)}{timing(e, res.cached)}{seed}")


def _passes(e: xc.Explanation) -> str:
    """The model calls this result made; for a RISE map whose run was shared between the
    image's classes, says so where its masks and forward passes differ."""
    n = e.forward_passes
    text = f"{n} forward pass{'' if n == 1 else 'es'}"
    masks = e.extra.get("masks_used") if e.method == "rise" else None
    if n and masks is not None and n < masks:
        text += (f" (run shared between this image's classes: {masks - n} of the {masks} "
                 "masks were scored for another class)")
    return f"{text} · " if n else ""


def _plain(text: str) -> str:
    """``text`` for the PNG's ASCII font."""
    for a, b in (("**", ""), ("·", "|"), ("≈", "~"), ("≥", ">="), ("–", "-"), ("…", "...")):
        text = text.replace(a, b)
    return text


def flat_notice(expl: xc.Explanation) -> str | None:
    """A plain note when a map is nearly flat (:func:`xai_core.viz.flatness`), else ``None``.

    Only for the black-box maps, which are in score units; Grad-CAM's map is normalised to
    [0, 1] and says nothing about how much the score moves.
    """
    if expl.method not in ("rise", "lime"):
        return None
    f = xc.viz.flatness(expl.display_saliency, expl.method, expl.probability)
    if f >= xc.viz.FLAT_BELOW:
        return None
    return (f"**Nearly flat map** ({f:.0%} spread next to the class score): the score hardly "
            "depends on which part of the image is hidden, so the colours mostly stretch small "
            "differences and noise. Don't read much into its shape.")


def row_figure(res: Result, scale: Scale, ctx: Context):
    """One row: image | heatmap | overlay | isolines, with one colour bar on the right."""
    e, display = res.expl, ctx.display
    vr = scale.range_of(e.display_saliency)
    vr = vr if vr[1] > vr[0] else None
    sal = scale.values(e.display_saliency)
    common = dict(colormap=scale.colormap, value_range=vr, colorbar_title=scale.title)
    panels = [
        ("image", xc.viz.image_figure(e.image, compact=True)),
        ("heatmap", xc.heatmap_figure(sal, showscale=False, compact=True, **common)),
        ("overlay", xc.overlay_figure(e.image, sal, alpha=display.alpha, showscale=False,
                                      compact=True, **common)),
        ("isolines", xc.isolines_figure(e.image, sal, n_levels=display.levels,
                                        mode=display.level_mode, dim=0.3, compact=True,
                                        **common)),
    ]
    fig = xc.grid_figure(panels, cols=4, panel_height=ROW_HEIGHT, horizontal_spacing=0.015)
    fig.update_layout(margin=dict(l=0, r=70, t=22, b=0), height=ROW_HEIGHT + 22)
    fig.update_annotations(font_size=13, yshift=-2)
    if len(fig.data) and not any(getattr(t, "showscale", None) or
                                 (t.type == "scatter" and t.marker.showscale) for t in fig.data):
        # isolines without levels (a flat map): the heatmap carries the colour bar instead
        for t in fig.data:
            if t.type == "heatmap":
                t.showscale = True
                break
    return fig


def report_png(results: Sequence[Result], scales: dict[str, Scale], ctx: Context) -> bytes:
    """One PNG of the whole comparison: a titled row per result and its colour bars
    (the command line's renderer, :func:`xai_core.viz.grid_image`)."""
    display = ctx.display
    tiles, titles, bars = [], [], []
    for i, res in enumerate(results):
        e = res.expl
        scale = scales[e.method]
        vr = scale.range_of(e.display_saliency)
        vr = vr if vr[1] > vr[0] else None
        sal = scale.values(e.display_saliency)
        img = np.clip(e.image, 0, 255).astype(np.uint8)
        faces = xc.representations(img, sal, colormap=scale.colormap,
                                   alpha=display.alpha, n_levels=display.levels,
                                   mode=display.level_mode, dim=0.3, value_range=vr)
        faces["isolines"] = xc.viz.isolines_image(img, sal, scale.colormap,
                                                  display.levels, display.level_mode, 0.3,
                                                  thickness=2, value_range=vr)
        tiles += [("image", img)] + [(k, faces[k]) for k in ("heatmap", "overlay", "isolines")]
        titles.append(_plain(f"{i + 1}. " + describe(res)))
        if scale.value_range is None and vr is not None:
            bars.append(xc.viz.Colorbar(f"{i + 1}. {UNITS[e.method][0]}\nown range",
                                        scale.colormap, vr))
    for scale in scales.values():
        if scale.value_range is not None:
            what = "minus mean" if scale.centred else "page range"
            bars.append(xc.viz.Colorbar(f"{UNITS[scale.kind][0]}\n{what}", scale.colormap,
                                        scale.value_range))
    grid = xc.grid_image(tiles, cols=4, title_height=24, gap=6, row_titles=titles,
                         colorbars=bars)
    return xc.png_bytes(grid)


def units_note(scales: dict[str, Scale], counts: dict[str, int] | None = None) -> str:
    """The caption above the rows: what the colours show, kind by kind."""
    parts = []
    for s in scales.values():
        name, meaning = UNITS.get(s.kind, (s.kind, ""))
        if s.value_range is None:
            where = "each map on its own range (its colour bar)"
        elif s.centred:
            where = (f"centred, each map minus its mean (how much more likely the class is when "
                     f"a part is kept than on average), on one range "
                     f"{s.value_range[0]:.3g} to {s.value_range[1]:.3g} around 0")
        else:
            where = f"on one range, {s.value_range[0]:.3g} to {s.value_range[1]:.3g}"
        parts.append(f"**{name}s** ({meaning}) in {s.colormap}, {where}")
    text = "Colours: " + "; ".join(parts) + "."
    several = any((counts or {}).get(k, 0) > 1 for k in scales)
    if several and all(s.value_range is None for s in scales.values()):
        text += (" Each map uses all its colours, so shapes compare but colours do not: the "
                 "row titles give each map's spread. Turn on *One colour range per kind of "
                 "map* to compare magnitudes.")
    elif several:
        text += (" Equal colours mean equal values; a weak map looks pale. Turn the toggle "
                 "off to see each map's shape.")
    if len(scales) > 1:
        text += (" The methods are in different units, so compare *where* each map is "
                 "high, not the values across methods.")
    return text


class _View:
    """A page's comparison being drawn: the scale toggle and the colours note on top, then
    one titled row per result, then the report download."""

    def __init__(self, page: str, ctx: Context, *, stale: bool = False):
        self.page, self.ctx, self.stale = page, ctx, stale
        self.shared = toggle("One colour range per kind of map", False, "onescale",
                             help="Off (default): each map on its own range with its own colour "
                                  "bar, so every map's shape is legible; the row titles give its "
                                  "spread. On: maps of one kind on one range, so equal colours "
                                  "mean equal values; RISE maps are centred (each minus its "
                                  "mean) around 0, LIME's weights shown as they are.")
        self.note = st.empty()
        self.done: list[Result] = []
        self.scales: dict[str, Scale] = {}
        self.draw_s = 0.0

    def rows(self, pairs: Sequence[tuple[str | None, Result]]) -> None:
        """Draw ``pairs`` (label, result), each kind on one scale over all of them."""
        new = [r for _, r in pairs]
        self.scales.update(page_scales(new, self.ctx.display.colormap, self.shared))
        first = len(self.done)
        self.done += new
        self._note()
        t0 = time.perf_counter()
        for i, (label, res) in enumerate(pairs):
            self._row(first + i, label, res)
        self.draw_s += time.perf_counter() - t0

    def _note(self) -> None:
        counts = {k: sum(r.expl.method == k for r in self.done) for k in self.scales}
        self.note.caption(("**Out of date: these results are for the earlier settings.** "
                           if self.stale else "") + units_note(self.scales, counts))

    def _row(self, i: int, label: str | None, res: Result) -> None:
        key = f"{self.page}-{i}"
        st.markdown((f"##### {label}\n" if label else "") + describe(res))
        note = flat_notice(res.expl)
        if note:
            st.info(note, icon=":material/blur_on:")
        scores = res.expl.extra.get("scores_note")
        if scores:
            st.warning(f"{scores[:1].upper()}{scores[1:]}.", icon=":material/warning:")
        st.plotly_chart(row_figure(res, self.scales[res.expl.method], self.ctx),
                        key=f"{key}-row", config={"displaylogo": False})
        _details(res, self.ctx, key, label)

    def finish(self) -> None:
        if not self.done:
            return
        st.session_state["_draw_s"] = self.draw_s / len(self.done)
        done, scales, ctx = list(self.done), dict(self.scales), self.ctx
        st.download_button("⬇ Figure for your report (PNG)",
                           lambda: report_png(done, scales, ctx),  # drawn when clicked
                           file_name=f"saliency-lab_{self.page}.png", mime="image/png",
                           key=f"{self.page}-report", on_click="ignore",
                           help="The whole comparison in one image: every row with its title, "
                                "and the colour bars, coloured as on screen.")


def show_results(page: str, results: Sequence[Result | None], ctx: Context, *,
                 labels: Sequence[str] | None = None, stale: bool = False) -> None:
    """Show a page's results as one comparison (see the module docstring)."""
    pairs = [(labels[i] if labels else None, r) for i, r in enumerate(results) if r is not None]
    if not pairs:
        return
    if not stale:
        st.session_state[f"{page}-shown"] = (list(results), list(labels) if labels else None)
    view = _View(page, ctx, stale=stale)
    view.rows(pairs)
    view.finish()


def show(res: Result, ctx: Context, key: str, *, label: str | None = None) -> None:
    """One result as a titled row (image | heatmap | overlay | isolines) with its downloads.

    Pages with several results call :func:`show_results` once with all of them instead.
    """
    show_results(key, [res], ctx, labels=[label] if label else None)


def show_as_ready(page: str, makers: Sequence[Callable[[], Result | None]], ctx: Context, *,
                  labels: Sequence[str] | None = None) -> list[Result | None]:
    """Compute results one after another, drawing each row as soon as it is ready.

    For results of *different kinds* (the home page's RISE, then LIME): each kind's scale
    depends only on maps of that kind, so a row drawn before the next result exists is
    already on its final scale. Two results of one kind would need the second before the
    first could be drawn: use :func:`show_results` for those. Returns the results.
    """
    view: _View | None = None
    results: list[Result | None] = []
    for i, make in enumerate(makers):
        if view is None:
            view = _View(page, ctx)
        res = make()
        results.append(res)
        if res is None:
            continue
        if res.expl.method in view.scales:
            raise ValueError(f"show_as_ready draws one result per kind of map; "
                             f"{res.expl.method} came twice")
        view.rows([(labels[i] if labels else None, res)])
    if any(r is not None for r in results):  # as show_results: only what was shown
        st.session_state[f"{page}-shown"] = (results, list(labels) if labels else None)
    if view is not None:
        view.finish()
    return results


def _details(res: Result, ctx: Context, key: str, label: str | None) -> None:
    expl, display = res.expl, ctx.display
    if display.metrics:
        results = curves(res, ctx.seed)
        if results is not None:
            own = results[expl.method.upper()]
            st.plotly_chart(
                xc.curves_figure([(expl.method.upper(), own["deletion"]),
                                  (expl.method.upper(), own["insertion"])],
                                 title="deletion (solid) and insertion (dashed)"),
                key=f"{key}-curves", config={"displaylogo": False})
            rows = st.session_state.get("_auc_rows", [])
            where = f"{expl.model}, {expl.image_name}, {expl.target_label}"
            new = [{"map": label or expl.method.upper(), "for": where, **aucs(own)}]
            new += [{"map": name, "for": where, **aucs(c)} for name, c in results.items()
                    if name.endswith("baseline")]
            st.session_state["_auc_rows"] = rows + [r for r in new if r not in rows]
    with st.expander("Settings and downloads"):
        st.code(json.dumps(expl.record(), indent=2), language="json")
        files = xc.export_bytes(expl, colormap=display.colormap, alpha=display.alpha,
                                n_levels=display.levels, level_mode=display.level_mode)
        for fname, data in files.items():
            mime = {"png": "image/png", "json": "application/json"}.get(fname.rsplit(".", 1)[-1],
                                                                          "application/octet-stream")
            st.download_button(f"⬇ {fname}", data, file_name=fname, mime=mime,
                               key=f"{key}-dl-{fname}", on_click="ignore")
