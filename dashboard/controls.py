"""Method parameter widgets, the run button and the target class."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import streamlit as st

import xai_core as xc
from dashboard.sidebar import Context
from dashboard.state import number, publish, selectbox, slider, toggle

#: Most masks a RISE run may use.
MAX_MASKS = xc.MAX_MASKS
#: What a pixel hidden by a RISE mask becomes, as offered in the app.
FILL_HELP = ("What the model sees where a mask hides the image: black (this app's default), "
             "the image's mean colour, the dataset's mean colour (what the RISE authors' code "
             "does: 0 after the model's preprocessing) or a strong blur of the image. "
             "Black edges are something a model can react to by themselves.")


def fill_control(key: str, default: str = "black") -> str:
    """The RISE mask-fill choice (a name of :data:`xai_core.FILLS`)."""
    return selectbox("Hidden pixels become", list(xc.FILLS), default, key, help=FILL_HELP)


def default_params(method: str) -> dict[str, Any]:
    """The library's default parameters of ``method`` (``"rise"`` or ``"lime"``)."""
    return dict(xc.DEFAULTS[method])


#: The correlation with the infinite-budget map at which an auto-budget run stops.
AUTO_R = 0.95


def _auto_budget(prefix: str, default: float | None, unit: str) -> float | None:
    """The "Auto budget" toggle: ``AUTO_R`` when on (the default), ``None`` when off."""
    on = toggle(
        "Auto budget: stop once the map is stable", default is not None, f"{prefix}auto",
        help=f"Stops as soon as the map correlates r ≥ {AUTO_R} with the map of infinitely many "
             f"{unit} (95% confidence, from how much blocks of the {unit} agree); the number of {unit} "
             "above is then the most it may use. Off: always use them all.")
    return AUTO_R if on else None


def rise_controls(prefix: str, defaults: dict[str, Any] | None = None, *,
                  auto_budget: bool = True) -> dict[str, Any]:
    """Widgets for RISE parameters; returns the parameter dict for :func:`xai_core.explain`.

    ``auto_budget=False``: no "Auto budget" toggle; every run uses exactly its masks
    (``stop_at_r=None``), for a page that compares budgets.
    """
    d = {**xc.DEFAULTS["rise"], **(defaults or {})}
    return {
        "n_masks": number("Masks (N, the cap with auto budget)" if auto_budget else "Masks (N)",
                          10, xc.MAX_MASKS, d["n_masks"], f"{prefix}n",
                          help="More masks: smoother, more stable map; time grows linearly."),
        "mask_size": slider("Mask grid size (s)", 2, 32, d["mask_size"], f"{prefix}s",
                            help="Small s finds large regions; large s finer detail."),
        "keep_prob": slider("Keep probability (p)", 0.05, 0.95, float(d["keep_prob"]), f"{prefix}p",
                            step=0.05),
        "stop_at_r": _auto_budget(prefix, d["stop_at_r"], "masks") if auto_budget else None,
        "fill": fill_control(f"{prefix}fill", d["fill"] if isinstance(d["fill"], str) else "black"),
    }


def lime_controls(prefix: str, defaults: dict[str, Any] | None = None, *,
                  auto_budget: bool = True) -> dict[str, Any]:
    """Widgets for LIME parameters; returns the parameter dict for :func:`xai_core.explain`
    (``auto_budget`` as in :func:`rise_controls`)."""
    d = {**xc.DEFAULTS["lime"], **(defaults or {})}
    hide_options = ["mean", "blur", "black", "grey", "white", "blue", "red", "green"]
    params = {"num_samples": number("Samples (the cap with auto budget)" if auto_budget
                                    else "Samples", 10, 20000, d["num_samples"], f"{prefix}n",
                                    help="Perturbed images the local linear model is fitted on.")}
    params["stop_at_r"] = (_auto_budget(prefix, d["stop_at_r"], "samples") if auto_budget
                           else None)
    params["num_features"] = number(
        "Superpixels kept (num_features; 100000 = all)", 1, 100000, d["num_features"],
        f"{prefix}f", help="Only the superpixels with the largest |weight| keep their colour.")
    params["hide_color"] = selectbox("Hidden superpixels become", hide_options, d["hide_color"],
                                     f"{prefix}h")
    params["segmentation"] = selectbox("Segmentation", ["quickshift", "slic", "felzenszwalb"],
                                       d["segmentation"], f"{prefix}g")
    params["positive_only"] = toggle("Positive evidence only", bool(d["positive_only"]),
                                     f"{prefix}pos")
    return params


def method_controls(method: str, prefix: str, defaults: dict[str, Any] | None = None, *,
                    auto_budget: bool = True) -> dict[str, Any]:
    """Widgets for ``method``'s parameters (Grad-CAM has none: it uses the last conv layer)."""
    if method == "gradcam":
        st.caption("Grad-CAM (white-box): gradients of the class score at the model's last "
                   "convolutional layer. No settings, no randomness.")
        return {}
    controls = rise_controls if method == "rise" else lime_controls
    return controls(prefix, defaults, auto_budget=auto_budget)


def target_of(ctx: Context) -> tuple[int, str, float]:
    """The model's top-1 class for the context image: (index, name, probability)."""
    probs = ctx.probabilities()
    i = int(np.argmax(probs))
    return i, ctx.clf.class_names[i], float(probs[i])


def _signature(inputs: Any) -> str:
    """What a run depends on: the page's inputs and the sidebar's model, image and seed."""
    ctx = st.session_state.get("_ctx")
    where = (ctx.model_name, ctx.image_key, ctx.seed) if ctx is not None else None
    return json.dumps([where, inputs], sort_keys=True, default=str)


def run_button(page: str, label: str = "Run", inputs: Any = None) -> bool:
    """A run button: computation starts on its click, or when a link says ``run=<page>``.

    Returns whether to compute (or fetch) the results of the current settings. After a
    run, changing ``inputs`` (the page's widgets) or the sidebar's model, image or seed
    computes nothing: the last results stay on the page under a note that they are out of
    date, until the button is clicked again. ``run=<page>`` stays in the URL while the
    results shown match the settings, so a copied link shows the same results.
    """
    state = f"{page}-ran"
    now = _signature(inputs)
    if state not in st.session_state:
        st.session_state[state] = now if st.query_params.get("run") == page else None
    if st.button(label, type="primary", key=f"{page}-run-button"):
        st.session_state[state] = now
    ran = st.session_state[state]
    if ran is None:
        return False
    if ran != now:
        if st.query_params.get("run") == page:
            del st.query_params["run"]
        st.warning(f"**Results out of date:** the settings changed since the last run. "
                   f"Click **{label}** to compute them for the new settings.", icon=":material/update:")
        shown = st.session_state.get(f"{page}-shown")
        ctx = st.session_state.get("_ctx")
        if shown and ctx is not None:
            from dashboard.comparison import show_results

            results, labels = shown
            show_results(page, results, ctx, labels=labels, stale=True)
        return False
    publish("run", page)
    return True
