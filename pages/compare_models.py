"""Experiment 3: one image, one method, the same settings, two models."""

import streamlit as st

import xai_core as xc
from dashboard import ui
from xai_core.views import PAGE_DEFAULTS
from xai_core.views import opening_pair as pair_of


def opening_pair(choices: list[str]) -> tuple[str, str, str]:
    """The two models the page opens on, and why: ResNet50 vs Xception where their weights
    are on this server (the lab's comparison), else two models that work offline
    (:func:`xai_core.views.opening_pair`, which the warm-up reads too)."""
    first, second, why = pair_of(choices, xc.models.weights_present)
    if why == "lab":
        return first, second, "ResNet50 vs Xception, the lab's comparison."
    if why == "offline":
        return (first, second, f"Opened on {ui.model_label(first)} vs {ui.model_label(second)}: "
                "ResNet50's and Xception's weights are not on this server (they are "
                "downloaded on first use), the EfficientNet-Lite models work offline.")
    return first, second, "Opened on the first two models offered here."


def movable(key: str, default: str, avoid: str, choices: list[str]) -> tuple | None:
    """Before picker ``key`` is drawn: if the model it would show cannot load, move it to
    one that can (not ``avoid``, the other picker's), so the pickers name models that run.
    Returns ``(failed, why, instead)`` when moved."""
    wanted = st.session_state.get(key, st.query_params.get(key, default))
    if wanted not in choices or ui.models.try_model(wanted)[0] is not None:
        return None
    why = ui.models.try_model(wanted)[1]
    for other in dict.fromkeys([*xc.OFFLINE_MODEL_NAMES, *choices]):
        if other in choices and other not in (wanted, avoid) \
                and ui.models.try_model(other)[0] is not None:
            st.session_state[key] = other
            return wanted, why, other
    return None


ctx = ui.page_intro(
    "⚖️ Compare models",
    "The same image explained with the same method and settings on two networks, e.g. "
    "ResNet50 (224×224, 2015) vs Xception (299×299, 2017), or EfficientNet-Lite0 (224×224) "
    "vs -Lite2 (260×260): trained on the same ImageNet classes, they see the image differently.",
    "do both models rely on the same part of the object? A model that is right for the "
    "wrong reason (background, watermark) shows it here. Compare confidences too.",
)
if ctx is not None:
    choices = ui.model_choices()
    first_default, second_default, why = opening_pair(choices)
    if "m1" not in st.session_state and "m1" not in st.query_params:
        st.caption(why)
    moved = [movable("m1", first_default, st.session_state.get(
                         "m2", st.query_params.get("m2", second_default)), choices)]
    moved.append(movable("m2", second_default, st.session_state.get(
                             "m1", st.query_params.get("m1", first_default)), choices))
    c1, c2 = st.columns(2)
    with c1:
        first = ui.selectbox("Model 1", choices, first_default, "m1", format_func=ui.model_label)
    with c2:
        second = ui.selectbox("Model 2", choices, second_default, "m2", format_func=ui.model_label)
    for note in moved:
        if note is not None:
            ui.models.unavailable_note(note[0], note[1], instead=note[2])
    method = ui.selectbox("Method", ["rise", "lime"], PAGE_DEFAULTS["compare_models"]["method"],
                          "method", format_func=str.upper)
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
    if ui.run_button("models", "Explain with both models", inputs=(first, second, method, params)):
        if all(clf is None for _, _, clf in loaded):
            st.warning("Neither model can be loaded here. Choose two of the models listed as "
                       "available above.")
        results, labels = [], []
        for col, name, clf in loaded:
            if clf is None:
                continue
            image, key = ctx.prepare(clf)
            probs = ui.cached_probabilities(name, key, _clf=clf, _image=image)
            target = int(probs.argmax())
            with col:
                st.metric(f"{ui.model_label(name)} predicts", clf.class_names[target],
                          f"confidence {probs[target]:.1%}", delta_color="off", delta_arrow="off")
            results.append(ui.run(ctx, method, params, target, ui.model_label(name), clf=clf,
                                  model_name=name, image=image, image_key=key))
            labels.append(ui.model_label(name))
        ui.show_results("models", results, ctx, labels=labels)
    ui.auc_summary()
