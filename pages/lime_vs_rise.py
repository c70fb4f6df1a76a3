"""Experiment 5: LIME and RISE on one image and model."""

import streamlit as st

from dashboard import ui

ctx = ui.page_intro(
    "🆚 LIME vs RISE",
    "Two black-box methods, one question. LIME's map is made of superpixels with signed "
    "weights (blue pushes *against* the class); RISE's map is smooth and always positive.",
    "where do they agree? Agreement from two different methods is stronger evidence. "
    "LIME follows object boundaries; RISE can find evidence that crosses them. Grad-CAM, "
    "on the right, is a white-box reference: it reads the model's gradients instead of "
    "asking it questions.",
)
if ctx is not None:
    c1, c2 = st.columns(2)
    with c1:
        st.subheader("LIME")
        lime = ui.lime_controls("l")
    with c2:
        st.subheader("RISE")
        rise = ui.rise_controls("r")
    if ui.run_button("versus", "Explain with both"):
        target, name, _ = ui.target_of(ctx)
        st.caption(f"Explaining the top class: **{name}**")
        cols = st.columns(3)
        for col, method, params in zip(cols[:2], ("lime", "rise"), (lime, rise), strict=True):
            with col:
                res = ui.run(ctx, method, params, target)
                if res is not None:
                    ui.show(res, ctx, f"versus-{method}", label=method.upper())
        with cols[2]:
            res = ui.run(ctx, "gradcam", {}, target, "Grad-CAM")
            if res is not None:
                ui.show(res, ctx, "versus-gradcam", label="Grad-CAM (white-box reference)")
                st.caption("Not a black-box method: Grad-CAM (Selvaraju et al., 2017) uses the "
                           "gradients at the model's last convolutional layer. A yardstick for "
                           "the two maps on the left, not a third opinion of the same kind.")
    ui.auc_summary()
