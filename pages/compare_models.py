"""Experiment 3: one image, one method, the same settings, two models."""

import streamlit as st

from dashboard import ui

ctx = ui.page_intro(
    "⚖️ ResNet vs Xception",
    "The same image explained with the same method and settings on two networks. "
    "ResNet50 (224×224, 2015) and Xception (299×299, 2017) were both trained on ImageNet "
    "but see the image differently. Any two available models can be compared.",
    "do both models rely on the same part of the object? A model that is right for the "
    "wrong reason (background, watermark) shows it here. Compare confidences too.",
)
if ctx is not None:
    choices = ui.model_choices()
    c1, c2 = st.columns(2)
    with c1:
        first = ui.selectbox("Model 1", choices, "resnet50", "m1", format_func=ui.model_label)
    with c2:
        second = ui.selectbox("Model 2", choices,
                              "xception" if "xception" in choices else choices[min(1, len(choices) - 1)],
                              "m2", format_func=ui.model_label)
    method = ui.selectbox("Method", ["rise", "lime"], "rise", "method", format_func=str.upper)
    with st.expander("Method settings (shared by both models)", expanded=False):
        params = ui.method_controls(method, "m")
    if first == second:
        st.info("Both sides use the same model: pick two different ones to compare.")
    loaded = []
    for col, name in ((c1, first), (c2, second)):
        with col:
            clf = ui.get_model(name)
            if clf is None:
                ok = [m for m in choices if not ui.needs_download(m) and m != name]
                st.info("Available here: " + (", ".join(ui.model_label(m) for m in ok) or "none")
                        + ". Choose one of them above.")
            loaded.append((col, name, clf))
    if ui.run_button("models", "Explain with both models"):
        if all(clf is None for _, _, clf in loaded):
            st.warning("Neither model can be loaded here. Choose EfficientNet-Lite0 (offline), "
                       "or another available model, as Model 1 or Model 2.")
        for side, (col, name, clf) in enumerate(loaded):
            if clf is None:
                continue
            with col:
                image = clf.prepare(ctx.raw)
                key = ui.image_key(ctx.raw, clf)
                probs = ui.cached_probabilities(name, key, _clf=clf, _image=image)
                target = int(probs.argmax())
                st.metric(f"{ui.model_label(name)} predicts", clf.class_names[target],
                          f"confidence {probs[target]:.1%}", delta_color="off")
                res = ui.run(ctx, method, params, target, ui.model_label(name), clf=clf,
                              model_name=name, image=image, image_key=key)
                if res is not None:
                    ui.show(res, ctx, f"models-{side}", label=ui.model_label(name))
    ui.auc_summary()
