"""Experiment 2: one image for several classes, or several images with the same settings."""

import streamlit as st

from dashboard import ui

ctx = ui.page_intro(
    "🐾 Cross-class",
    "An explanation answers *one* question: why this class? Explain the same image for "
    "different classes (any of the top-5, or any class by name), or run the same settings "
    "on photos of different things.",
    "a good explanation moves when the class changes (the cat's face for *tabby*, the "
    "background for an unrelated class). If every class gives the same map, the method "
    "is showing edges or contrast, not the model's reasons.",
)
if ctx is not None:
    mode = ui.selectbox("Compare", ["classes", "images"], "classes", "mode",
                        format_func={"classes": "one image, several classes",
                                     "images": "several images, same settings"}.get)
    method = ui.selectbox("Method", ["rise", "lime"], "rise", "method", format_func=str.upper)
    with st.expander("Method settings", expanded=False):
        params = ui.method_controls(method, "c")
    names = ctx.clf.class_names
    if mode == "classes":
        probs = ctx.probabilities()
        top5 = [int(i) for i in probs.argsort()[::-1][:5]]
        picked = ui.multiselect("Classes from the top-5", top5, top5[:2], "targets",
                                format_func=lambda i: f"{names[i]} ({probs[i]:.2f})",
                                max_selections=4)
        extra = ui.selectbox("…and any class by name", [-1, *range(len(names))], -1, "anyclass",
                             format_func=lambda i: "(none)" if i < 0 else f"{i}: {names[i]}")
        targets = list(dict.fromkeys([*picked, *([extra] if extra >= 0 else [])]))
        if not targets:
            st.info("Pick at least one class.")
        elif ui.run_button("cross", "Explain these classes"):
            for col, t in zip(st.columns(len(targets)), targets, strict=True):
                with col:
                    res = ui.run(ctx, method, params, t, names[t])
                    if res is not None:
                        ui.show(res, ctx, f"cross-{t}", label=f"{method.upper()} {names[t]}")
    else:
        samples = ui.sample_names()
        chosen = ui.multiselect("Images", samples, samples[:3], "images", max_selections=4)
        if not chosen:
            st.info("Pick at least one image.")
        elif ui.run_button("cross", "Explain these images"):
            for col, name in zip(st.columns(len(chosen)), chosen, strict=True):
                with col:
                    raw = ui.sample_image(name)
                    image = ctx.clf.prepare(raw)
                    key = ui.image_key(raw, ctx.clf)
                    probs = ui.cached_probabilities(ctx.model_name, key, _clf=ctx.clf, _image=image)
                    target = int(probs.argmax())
                    res = ui.run(ctx, method, params, target, f"{name}: {names[target]}",
                                  image=image, image_key=key, image_name=name)
                    if res is not None:
                        ui.show(res, ctx, f"cross-img-{name}", label=f"{method.upper()} {name}")
    ui.auc_summary()
