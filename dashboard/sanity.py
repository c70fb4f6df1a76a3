"""The sanity-check page's parts: running the randomisation test through the shared
compute layer, its similarity plot, and showing the row of maps with a verdict."""

from __future__ import annotations

import math
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


def sanity_figure(res: xc.RandomizationResult) -> go.Figure:
    """Spearman and SSIM of each stage's map with the trained model's, against the stage."""
    x = ["trained", *[f"{i}: ↓ {name}" for i, name in enumerate(res.layers, 1)]]
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=x, y=[1.0, *res.spearman], mode="lines+markers",
                             name="Spearman rank correlation"))
    fig.add_trace(go.Scatter(x=x, y=[1.0, *res.ssim], mode="lines+markers",
                             name="SSIM of normalised maps", line={"dash": "dash"}))
    if not math.isnan(res.seed_spearman):
        fig.add_hline(y=res.seed_spearman, line={"dash": "dot", "color": "grey"},
                      annotation_text="two seeds, trained model", annotation_position="top left")
    fig.add_hline(y=0.0, line={"color": "lightgrey"})
    fig.update_layout(height=340, yaxis={"range": [-1.05, 1.05], "title": "similarity to the trained map"},
                      xaxis={"title": "randomised from the output down to …"},
                      legend={"orientation": "h", "y": -0.35}, margin={"t": 30})
    return fig


def show_sanity(res: xc.RandomizationResult, ctx: Context, key: str) -> None:
    """The trained map and each stage's map in a row, the similarity plot and the verdict."""
    maps = [np.maximum(m, 0.0) if res.method == "rise" else m for m in res.saliency]
    cmap = ctx.display.colormap or xc.viz.default_colormap(np.concatenate(maps, axis=1))
    cols = st.columns(len(maps))
    for i, (col, m) in enumerate(zip(cols, maps, strict=True)):
        caption = ("trained model" if i == 0 else
                   f"stage {i} · ρ = {res.spearman[i - 1]:.2f}")
        col.image(xc.heatmap_image(m, colormap=cmap), caption=caption, width="stretch")
    st.caption("Stage i re-initialises every weighted layer from the output down to the one "
               "named on the plot (cascading, Adebayo et al. 2018); each map is coloured over "
               "its own range.")
    st.plotly_chart(sanity_figure(res), key=f"{key}-similarity", config={"displaylogo": False})
    (st.success if res.passed() else st.warning)(res.verdict())
    with st.expander("Similarities and downloads"):
        record = res.record()
        st.dataframe(record["stages"], hide_index=True)
        stem = f"{ctx.image_name.rsplit('.', 1)[0]}_{ctx.clf.name}_{res.method}"
        for fname, data in sanity_bytes(res, ctx.image, stem,
                                                  colormap=ctx.display.colormap).items():
            mime = "image/png" if fname.endswith(".png") else "application/json"
            st.download_button(f"⬇ {fname}", data, file_name=fname, mime=mime,
                               key=f"{key}-dl-{fname}", on_click="ignore")
