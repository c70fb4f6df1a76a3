"""Experiment 1: the same image explained with two parameter sets."""

import numpy as np
import streamlit as st

from dashboard import ui
from xai_core.views import PAGE_DEFAULTS

DEFAULTS = PAGE_DEFAULTS["parameter_effect"]

ctx = ui.page_intro(
    "🎛️ Parameter effect",
    "The same image and class, explained twice with different settings. "
    "For **LIME**: how many perturbed samples, how many superpixels are kept, "
    "what colour hides a superpixel, how the image is cut into superpixels. "
    "For **RISE**: how many masks and how much of the image each mask keeps.",
    "does the important region stay the same? Few samples or masks give noisy, unstable maps; "
    "a hiding colour close to the object's own colour hides little and weakens LIME's evidence.",
)
if ctx is not None:
    method = ui.selectbox("Method", ["lime", "rise"], DEFAULTS["method"], "method",
                          format_func=str.upper)
    if st.button("🎲 Random set B"):
        rng = np.random.default_rng()
        if method == "rise":
            st.session_state.update(bn=int(rng.choice([200, 500, 1000, 2000])),
                                    bs=int(rng.integers(3, 16)),
                                    bp=float(rng.choice([0.2, 0.3, 0.5, 0.7])))
        else:
            st.session_state.update(bn=int(rng.choice([100, 300, 1000])),
                                    bf=int(rng.choice([3, 5, 10, 100000])),
                                    bh=str(rng.choice(["mean", "blur", "black", "blue", "grey"])),
                                    bg=str(rng.choice(["quickshift", "slic", "felzenszwalb"])))
    st.caption("Fixed budgets on this page: each set uses exactly its masks or samples (the "
               "automatic stop of the other pages would end both at the same point and make "
               "the budget moot). It opens on a pair whose maps differ at a glance.")
    col_a, col_b = st.columns(2)
    with col_a:
        st.subheader("Set A")
        params_a = ui.method_controls(method, "a", auto_budget=False)
    with col_b:
        st.subheader("Set B")
        params_b = ui.method_controls(method, "b", DEFAULTS["set_b"], auto_budget=False)
    if ui.run_button("params", "Compare A and B", inputs=(method, params_a, params_b)):
        target, name, _ = ui.target_of(ctx)
        st.caption(f"Explaining the top class: **{name}**")
        results = [ui.run(ctx, method, params, target, f"Set {tag}")
                   for params, tag in zip((params_a, params_b), "AB", strict=True)]
        ui.show_results("params", results, ctx, labels=["Set A", "Set B"])
    ui.auc_summary()
