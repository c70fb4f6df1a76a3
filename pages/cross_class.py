"""Experiment 2: one image for several classes, or several images with the same settings."""

import streamlit as st

from dashboard import ui
from xai_core.views import PAGE_DEFAULTS

DEFAULTS = PAGE_DEFAULTS["cross_class"]

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
    mode = ui.selectbox("Compare", ["classes", "images"], DEFAULTS["mode"], "mode",
                        format_func={"classes": "one image, several classes",
                                     "images": "several images, same settings"}.get)
    method = ui.selectbox("Method", ["rise", "lime"], DEFAULTS["method"], "method",
                          format_func=str.upper)
    with st.expander("Method settings", expanded=False):
        params = ui.method_controls(method, "c")
    names = ctx.clf.class_names
    if mode == "classes":
        probs = ctx.probabilities()
        top5 = [int(i) for i in probs.argsort()[::-1][:5]]
        picked = ui.multiselect("Classes from the top-5", top5, top5[:DEFAULTS["classes"]], "targets",
                                format_func=lambda i: f"{names[i]} ({probs[i]:.2f})",
                                max_selections=4)
        extra = ui.selectbox("…and any class by name", [-1, *range(len(names))], -1, "anyclass",
                             format_func=lambda i: "(none)" if i < 0 else f"{i}: {names[i]}")
        targets = list(dict.fromkeys([*picked, *([extra] if extra >= 0 else [])]))
        if not targets:
            st.info("Pick at least one class.")
        elif ui.run_button("cross", "Explain these classes", inputs=("classes", method, params,
                                                                        targets)):
            results = [ui.run(ctx, method, params, t, names[t]) for t in targets]
            ui.show_results("cross", results, ctx, labels=[names[t] for t in targets])
    else:
        samples = ui.sample_names()
        lab = [n for n in samples if "/" in n]  # the data/ folder's images, by class
        st.caption("The images of the data/ folder (one per class) are picked first."
                   if lab else "No images in data/<class>/ yet: the sample photos are offered "
                               "(see data/README.md to add your own class folders).")
        chosen = ui.multiselect("Images", samples, (lab or samples)[:3], "images",
                                max_selections=4, format_func=ui.image_label)
        if not chosen:
            st.info("Pick at least one image.")
        elif ui.run_button("cross", "Explain these images", inputs=("images", method, params,
                                                                       chosen)):
            results, labels = [], []
            for name in chosen:
                raw = ui.sample_image(name)
                image = ctx.clf.prepare(raw)
                key = ui.image_key(raw, ctx.clf)
                probs = ui.cached_probabilities(ctx.model_name, key, _clf=ctx.clf, _image=image)
                target = int(probs.argmax())
                results.append(ui.run(ctx, method, params, target, f"{name}: {names[target]}",
                                      image=image, image_key=key, image_name=name))
                labels.append(f"{ui.image_label(name)} → {names[target]}")
            ui.show_results("cross", results, ctx, labels=labels)
    ui.auc_summary()
