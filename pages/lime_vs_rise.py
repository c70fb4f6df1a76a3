"""Experiment 5: LIME and RISE on one image and model."""

import streamlit as st

from dashboard import ui

ctx = ui.page_intro(
    "🆚 LIME vs RISE",
    "Two black-box methods, one question. LIME's map is made of superpixels with signed "
    "weights (blue pushes *against* the class); RISE's map is smooth and always positive.",
    "where do they agree? Agreement from two different methods is stronger evidence. "
    "LIME follows object boundaries; RISE can find evidence that crosses them. Grad-CAM, "
    "in the last row, is a white-box reference: it reads the model's gradients instead of "
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
    if ui.run_button("versus", "Explain with both", inputs=(lime, rise)):
        target, name, _ = ui.target_of(ctx)
        st.caption(f"Explaining the top class: **{name}**")
        ui.show_as_ready("versus", [  # each row as soon as its map is ready
            lambda m=method, p=params, lab=label: ui.run(ctx, m, p, target, lab)
            for method, params, label in (("lime", lime, "LIME"), ("rise", rise, "RISE"),
                                          ("gradcam", {}, "Grad-CAM"))],
            ctx, labels=["LIME", "RISE", "Grad-CAM (white-box reference)"])
        st.caption("Grad-CAM is not a black-box method: it uses the gradients at the model's "
                   "last convolutional layer (Selvaraju et al., 2017). It is a yardstick for "
                   "the two maps above, not a third opinion of the same kind.")
    ui.auc_summary()
