"""Experiment 4: RISE with several mask grid sizes side by side."""

import streamlit as st

from dashboard import ui
from xai_core.views import PAGE_DEFAULTS

DEFAULTS = PAGE_DEFAULTS["mask_size"]

ctx = ui.page_intro(
    "🧩 RISE mask size",
    "RISE masks are random low-resolution grids (s × s cells) blown up to the image size. "
    "The grid size s sets the scale of what RISE can find.",
    "small grids (s = 4–7) find large, blobby regions and converge fast; large grids "
    "(s = 15–20) outline finer parts but are noisier for the same number of masks.",
)
if ctx is not None:
    sizes = ui.multiselect("Grid sizes s", [3, 4, 5, 7, 10, 12, 15, 20, 25, 32],
                           list(DEFAULTS["sizes"]), "sizes",
                           max_selections=4)
    c1, c2, c3 = st.columns(3)
    with c1:
        n_masks = ui.number("Masks (N)", 10, ui.MAX_MASKS, DEFAULTS["n_masks"], "n")
    with c2:
        keep = ui.slider("Keep probability (p)", 0.05, 0.95, DEFAULTS["keep_prob"], "p", step=0.05)
    with c3:
        fill = ui.fill_control("fill", DEFAULTS["fill"])
    if not sizes:
        st.info("Pick at least one grid size.")
    elif ui.run_button("masks", "Compare mask sizes", inputs=(sorted(sizes), n_masks, keep, fill)):
        target, name, _ = ui.target_of(ctx)
        st.caption(f"Explaining the top class: **{name}**")
        results = [ui.run(ctx, "rise", {"n_masks": n_masks, "mask_size": s, "keep_prob": keep,
                                        "fill": fill},
                          target, f"s = {s}") for s in sorted(sizes)]
        ui.show_results("masks", results, ctx, labels=[f"s = {s}" for s in sorted(sizes)])
    ui.auc_summary()
