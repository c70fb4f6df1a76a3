"""Home: pick an image and a model, see the prediction, explain it in one click."""

import streamlit as st

from dashboard import ui
from xai_core.views import PAGE_DEFAULTS

ctx = ui.page_intro(
    "🔍 Saliency Lab",
    "Why did the classifier say *that*? Pick an image and a model in the sidebar. "
    "**RISE** hides random parts of the image thousands of times and watches the score; "
    "**LIME** splits the image into superpixels and fits a small linear model. "
    "Both only *ask* the model, they never look inside it.",
    "red areas are what the model needs to keep its answer; compare the two methods, "
    "then open the experiments on the left.",
)
if ctx is not None:
    left, right = st.columns([1, 1.3])
    with left:
        st.image(ctx.image.astype("uint8"), caption=f"{ctx.image_name}, as {ctx.clf.name} sees it "
                 f"({ctx.clf.input_size[1]}×{ctx.clf.input_size[0]})")
    with right:
        st.subheader("Top-5 classes")
        ui.top_classes(ctx, "home-top5")
        with st.expander("📷 Explain what is on your desk: take a photo"):
            ui.camera_photo()
        st.caption("One click explains the top class with the default settings "
                   "(auto budget: each method stops once its map is stable, at most "
                   "1024 masks / 1000 samples).")
    if ui.run_button("home", "Explain the top class with RISE and LIME", inputs="defaults"):
        target, _, _ = ui.target_of(ctx)
        # each row appears as soon as its map is ready: RISE first, then LIME
        ui.show_as_ready("home", [
            lambda method=method: ui.run(ctx, method, ui.default_params(method), target)
            for method in PAGE_DEFAULTS["home"]["methods"]], ctx)
    ui.auc_summary()
