"""The sanity-check page's parts: running the randomisation test through the shared
compute layer, its similarity plot, and showing the row of maps with a verdict."""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import plotly.graph_objects as go
import streamlit as st

import xai_core as xc
from dashboard.sidebar import Context
from dashboard.views import computed
from xai_core.export import sanity_bytes
from xai_core.sanity import MAX_STAGES
from xai_core.store import sanity_key

#: Method names as shown.
LABELS = {"rise": "RISE", "lime": "LIME", "gradcam": "Grad-CAM (white-box)"}


def sanity_check(ctx: Context, method: str, params: dict[str, Any], target: int,
                 max_stages: int = MAX_STAGES) -> xc.RandomizationResult | None:
    """The randomisation test of ``method`` on the page's model and image (cached, queued)."""
    key = sanity_key(ctx.model_name, ctx.image_key, method, params, ctx.seed, target,
                    max_stages)
    return computed("Sanity check", "explanations", key,
                    lambda progress: xc.randomization_test(
                        ctx.clf, ctx.image, target, method=method, seed=ctx.seed,
                        max_stages=max_stages, progress=progress, **params), clf=ctx.clf)


def layer_label(name: str) -> str:
    """A Keras layer name as a reader says it: ``"_blocks__14___depthwise_conv"`` →
    ``"block 14 · depthwise conv"``, ``"stem_conv"`` → ``"stem conv"``."""
    words = [w for w in re.split(r"[_/:]+", name) if w]
    parts: list[str] = []
    current: list[str] = []
    for w in words:
        current.append(w)
        if w.isdigit():  # "blocks 14": a numbered part ends here
            if len(current) > 1 and current[-2].endswith("s") and len(current[-2]) > 3:
                current[-2] = current[-2][:-1]
            parts.append(" ".join(current))
            current = []
    if current:
        parts.append(" ".join(current))
    return " · ".join(parts) or name


def is_constant(saliency: np.ndarray) -> bool:
    """Whether a map is one flat value (to float32 precision)."""
    m = np.asarray(saliency, np.float64)
    return float(np.ptp(m)) <= 1e-6 * max(1.0, float(np.max(np.abs(m))))


def sanity_figure(res: xc.RandomizationResult) -> go.Figure:
    """Spearman (of the maps and of their absolute values) and SSIM of each stage's map with
    the trained model's, against the stage."""
    x = ["trained", *[f"{i}: ↓ {layer_label(name)}" for i, name in enumerate(res.layers, 1)]]
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=x, y=[1.0, *res.spearman], mode="lines+markers",
                             name="Spearman rank correlation"))
    if res.spearman_abs:
        fig.add_trace(go.Scatter(x=x, y=[1.0, *res.spearman_abs], mode="lines+markers",
                                 name="Spearman of absolute values", line={"dash": "dashdot"}))
    fig.add_trace(go.Scatter(x=x, y=[1.0, *res.ssim], mode="lines+markers",
                             name="SSIM of normalised maps", line={"dash": "dash"}))
    if not math.isnan(res.seed_spearman):
        fig.add_hline(y=res.seed_spearman, line={"dash": "dot", "color": "grey"},
                      annotation_text="two seeds, trained model", annotation_position="top left")
    fig.add_hline(y=0.0, line={"color": "lightgrey"})
    # the legend above the plot: below it, it covered the rotated stage names
    fig.update_layout(height=420, yaxis={"range": [-1.05, 1.05], "title": "similarity to the trained map"},
                      xaxis={"title": "randomised from the output down to …", "automargin": True,
                             "tickangle": -30},
                      legend={"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom"},
                      margin={"t": 40})
    return fig


def _stage_caption(res: xc.RandomizationResult, i: int, m: np.ndarray) -> str:
    if i == 0:
        return "trained model"
    return f"stage {i} · ρ = {res.spearman[i - 1]:.2f}" + (" · constant" if is_constant(m) else "")


def report_png(res: xc.RandomizationResult, ctx: Context, maps: list[np.ndarray],
               cmap: str) -> bytes:
    """The page's "Figure for your report": the image and each stage's map (each on its own
    range, titled with its stage and ρ) under a title with the run and the similarities."""
    tiles = [("image", np.clip(ctx.image, 0, 255).astype(np.uint8))]
    for i, m in enumerate(maps):
        title = _stage_caption(res, i, m).replace("ρ", "rho").replace("·", "|")
        tiles.append((title, xc.heatmap_image(m, colormap=cmap)))
    stages = ", ".join(f"{i} ({layer_label(n)}) {r:.2f}"
                       for i, (n, r) in enumerate(zip(res.layers, res.spearman, strict=True), 1))
    name = ctx.clf.class_names[res.target] if res.target < len(ctx.clf.class_names) else res.target
    title = (f"Sanity check (model randomisation) | {LABELS.get(res.method, res.method)} | "
             f"{ctx.clf.name} | {ctx.image_name} | class {name} | seed {res.seed} | "
             f"Spearman rho with the trained map, by stage: {stages}")
    title = "".join(c if ord(c) < 128 else "-" for c in title.replace("·", "|"))
    grid = xc.grid_image(tiles, cols=len(tiles), title_height=22, gap=6, row_titles=[title])
    return xc.png_bytes(grid)


def show_sanity(res: xc.RandomizationResult, ctx: Context, key: str) -> None:
    """The trained map and each stage's map in a row, the similarity plot and the verdict."""
    maps = [np.maximum(m, 0.0) if res.method == "rise" else m for m in res.saliency]
    cmap = ctx.display.colormap or xc.viz.default_colormap(np.concatenate(maps, axis=1))
    cols = st.columns(len(maps))
    for i, (col, m) in enumerate(zip(cols, maps, strict=True)):
        col.image(xc.heatmap_image(m, colormap=cmap), caption=_stage_caption(res, i, m),
                  width="stretch")
    st.caption("Stage i re-initialises every weighted layer from the output down to the one "
               "named on the plot (cascading, Adebayo et al. 2018); each map is coloured over "
               "its own range.")
    if any(is_constant(m) for m in maps[1:]):
        st.caption("A **constant** stage map (one flat colour) means the randomised model's "
                   "score no longer changes with which part of the image is kept: the method "
                   "finds nothing to explain, so that map shares nothing with the trained one "
                   "(its ρ counts as 0). That is the expected outcome, not a fault.")
    st.plotly_chart(sanity_figure(res), key=f"{key}-similarity", config={"displaylogo": False})
    show = {"passed": st.success, "failed": st.warning}.get(res.outcome(), st.info)
    show(res.verdict())
    st.download_button("⬇ Figure for your report (PNG)", report_png(res, ctx, maps, cmap),
                       file_name=f"saliency-lab_sanity-{res.method}.png", mime="image/png",
                       key=f"{key}-report", on_click="ignore",
                       help="The image and every stage's map with its ρ, under a title with "
                            "the model, image, class, seed and the similarities by stage.")
    with st.expander("Similarities and downloads"):
        record = res.record()
        st.dataframe([{**row, "layer": layer_label(row["layer"])} for row in record["stages"]],
                     hide_index=True)
        if record["final_by_seed"]:
            st.caption("The verdict: per seed, the map of a model randomised with that seed "
                       "against the trained model's map of the next seed.")
            st.dataframe(record["final_by_seed"], hide_index=True)
        stem = f"{ctx.image_name.rsplit('.', 1)[0]}_{ctx.clf.name}_{res.method}"
        for fname, data in sanity_bytes(res, ctx.image, stem,
                                                  colormap=ctx.display.colormap).items():
            mime = "image/png" if fname.endswith(".png") else "application/json"
            st.download_button(f"⬇ {fname}", data, file_name=fname, mime=mime,
                               key=f"{key}-dl-{fname}", on_click="ignore")
