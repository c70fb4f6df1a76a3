"""Method parameter widgets, the run button and the target class."""

from __future__ import annotations

from typing import Any

import numpy as np
import streamlit as st

import xai_core as xc
from dashboard.sidebar import Context
from dashboard.state import number, publish, selectbox, slider, toggle

#: Most masks a RISE run may use.
MAX_MASKS = xc.MAX_MASKS


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
             f"{unit} (95% confidence, from independent replicates); the number of {unit} "
             "above is then the most it may use. Off: always use them all.")
    return AUTO_R if on else None


def rise_controls(prefix: str, defaults: dict[str, Any] | None = None) -> dict[str, Any]:
    """Widgets for RISE parameters; returns the parameter dict for :func:`xai_core.explain`."""
    d = {**xc.DEFAULTS["rise"], **(defaults or {})}
    return {
        "n_masks": number("Masks (N, the cap with auto budget)", 10, xc.MAX_MASKS, d["n_masks"],
                          f"{prefix}n",
                          help="More masks: smoother, more stable map; time grows linearly."),
        "mask_size": slider("Mask grid size (s)", 2, 32, d["mask_size"], f"{prefix}s",
                            help="Small s finds large regions; large s finer detail."),
        "keep_prob": slider("Keep probability (p)", 0.05, 0.95, float(d["keep_prob"]), f"{prefix}p",
                            step=0.05),
        "stop_at_r": _auto_budget(prefix, d["stop_at_r"], "masks"),
    }


def lime_controls(prefix: str, defaults: dict[str, Any] | None = None) -> dict[str, Any]:
    """Widgets for LIME parameters; returns the parameter dict for :func:`xai_core.explain`."""
    d = {**xc.DEFAULTS["lime"], **(defaults or {})}
    hide_options = ["mean", "blur", "black", "grey", "white", "blue", "red", "green"]
    params = {"num_samples": number("Samples (the cap with auto budget)", 10, 20000,
                                    d["num_samples"], f"{prefix}n",
                                    help="Perturbed images the local linear model is fitted on.")}
    params["stop_at_r"] = _auto_budget(prefix, d["stop_at_r"], "samples")
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


def method_controls(method: str, prefix: str, defaults: dict[str, Any] | None = None) -> dict[str, Any]:
    return rise_controls(prefix, defaults) if method == "rise" else lime_controls(prefix, defaults)


def target_of(ctx: Context) -> tuple[int, str, float]:
    """The model's top-1 class for the context image: (index, name, probability)."""
    probs = ctx.probabilities()
    i = int(np.argmax(probs))
    return i, ctx.clf.class_names[i], float(probs[i])


def run_button(page: str, label: str = "Run") -> bool:
    """A run button that stays pressed (``run=1`` in the URL), so a shared link shows results."""
    state = f"{page}-ran"
    if state not in st.session_state:
        st.session_state[state] = st.query_params.get("run") == page
    if st.button(label, type="primary", key=f"{page}-run-button"):
        st.session_state[state] = True
    if st.session_state[state]:
        publish("run", page)
    return bool(st.session_state[state])
