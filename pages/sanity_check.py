"""Experiment 6: does the map explain the model? The model-randomisation sanity check."""

import streamlit as st

from dashboard import ui
from xai_core.views import PAGE_DEFAULTS

DEFAULTS = PAGE_DEFAULTS["sanity_check"]

ctx = ui.page_intro(
    "🎲 Sanity check",
    "If a map explains the *model*, it must change when the model's learned weights are "
    "destroyed. Here the weights are replaced by random ones, from the output layer down, "
    "stage by stage (Adebayo et al., *Sanity checks for saliency maps*, NeurIPS 2018), and "
    "the same image is explained again after each stage. Your loaded model is never changed: "
    "the randomised models are copies.",
    "the maps should stop resembling the trained model's map, and the similarity curve should "
    "fall towards 0. A map that survives randomisation shows the image's edges and colours, "
    "not what the model learned. The verdict repeats the last stage with 3 seeds and bounds "
    "the Spearman correlation of the maps and of their absolute values.",
)
if ctx is not None:
    c1, c2 = st.columns([1, 2])
    with c1:
        method = ui.selectbox("Method", ["gradcam", "rise", "lime"], DEFAULTS["method"], "sm",
                              format_func=ui.sanity_labels.get)
        stages = ui.slider("Most stages", 2, 12, DEFAULTS["max_stages"], "sst",
                           help="A deep model's weighted layers are grouped into this many "
                                "stages; each stage costs one explanation.")
    with c2:
        params = ui.method_controls(method, "s", DEFAULTS["overrides"])
    if ui.run_button("sanity", "Run the sanity check"):
        target, name, _ = ui.target_of(ctx)
        st.caption(f"Explaining the top class: **{name}**")
        res = ui.sanity_check(ctx, method, params, target, stages)
        if res is not None:
            ui.show_sanity(res, ctx, f"sanity-{method}")
