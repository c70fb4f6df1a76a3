"""Each dashboard page's opening settings and the results they show: one place, as data.

The pages take their widgets' defaults from here, and the warm-up
(:mod:`xai_core.warm`, ``saliency-lab warm``) computes the results these defaults show, so
a page run with its defaults finds them in the explanation store. Change a page's
defaults here, and both follow.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from xai_core.explain import DEFAULTS

#: The correlation with the infinite-budget map at which an auto-budget run stops.
AUTO_R = 0.95


def _frozen(d: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(d))


#: Opening settings per page (the pages' widget defaults).
PAGE_DEFAULTS: Mapping[str, Mapping[str, Any]] = MappingProxyType({
    # the top class with each method's library defaults
    "home": _frozen({"methods": ("rise", "lime")}),
    # set A: the method's defaults; set B: these changes to them; both at a fixed budget
    # (the automatic stop would end both sets at the same point)
    "parameter_effect": _frozen({"method": "lime",
                                 "set_b": _frozen({"n_masks": 300, "mask_size": 12,
                                                   "num_samples": 300, "hide_color": "blue",
                                                   "num_features": 5, "stop_at_r": None})}),
    # one image, its two most probable classes
    "cross_class": _frozen({"mode": "classes", "method": "rise", "classes": 2}),
    # one method with its defaults on two models (see :func:`opening_pair`)
    "compare_models": _frozen({"method": "rise"}),
    "mask_size": _frozen({"sizes": (7, 15), "n_masks": 1000, "keep_prob": 0.5, "fill": "black"}),
    "lime_vs_rise": _frozen({"methods": ("lime", "rise", "gradcam")}),
    "sanity_check": _frozen({"method": "gradcam", "max_stages": 8,
                             "overrides": _frozen({"n_masks": 300, "num_samples": 300})}),
})

#: Pages whose default views the warm-up computes, in the order of the app's menu.
PAGES = ("home", "parameter_effect", "cross_class", "compare_models", "mask_size",
         "lime_vs_rise", "sanity_check")


@dataclass(frozen=True)
class View:
    """One result a page shows with its default settings.

    Attributes
    ----------
    method
        ``"rise"``, ``"lime"``, ``"gradcam"``, or ``"sanity"`` (the randomisation test).
    params
        The parameters exactly as the page passes them (what the result is keyed by).
    rank
        Which class: 0 the model's top class, 1 the second, ...
    model
        The model, for a page that picks its own (Compare models); ``None``: the sidebar's.
    sanity_method, max_stages
        For ``"sanity"``: the method tested and the most randomisation stages.
    """

    method: str
    params: Mapping[str, Any] = field(default_factory=dict)
    rank: int = 0
    model: str | None = None
    sanity_method: str = ""
    max_stages: int = 0


def method_params(method: str, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The parameters a page's settings widgets give for ``method`` when left alone.

    The library's defaults, with ``overrides`` for the keys ``method`` has (Grad-CAM's
    page widgets give no parameters).
    """
    if method == "gradcam":
        return {}
    base = dict(DEFAULTS[method])
    base.update({k: v for k, v in (overrides or {}).items() if k in base})
    return base


def opening_pair(choices: Sequence[str], weights_present) -> tuple[str, str, str]:
    """The two models the Compare page opens on, and why (``"lab"``, ``"offline"``, ``"first"``).

    ResNet50 vs Xception where ``weights_present(name)`` says their weights are on this
    machine (the lab's comparison), else the first and last offline models offered, else
    the first two models offered.
    """
    from xai_core.models import OFFLINE_MODEL_NAMES

    if all(m in choices and weights_present(m) for m in ("resnet50", "xception")):
        return "resnet50", "xception", "lab"
    offline = [m for m in choices if m in OFFLINE_MODEL_NAMES]
    if len(offline) >= 2:
        return offline[0], offline[-1], "offline"
    return choices[0], choices[min(1, len(choices) - 1)], "first"


def default_views(page: str, *, pair: tuple[str, str] | None = None) -> list[View]:
    """The results ``page`` shows when its run button is clicked with its defaults.

    ``pair``: the Compare page's two models (see :func:`opening_pair`).
    """
    if page not in PAGE_DEFAULTS:
        raise ValueError(f"unknown page {page!r}; choose from: {', '.join(PAGES)}")
    d = PAGE_DEFAULTS[page]
    if page == "home":
        return [View(m, method_params(m)) for m in d["methods"]]
    if page == "parameter_effect":
        m = d["method"]
        fixed = {"stop_at_r": None}
        return [View(m, method_params(m, fixed)), View(m, method_params(m, {**d["set_b"], **fixed}))]
    if page == "cross_class":
        return [View(d["method"], method_params(d["method"]), rank=r) for r in range(d["classes"])]
    if page == "compare_models":
        return [View(d["method"], method_params(d["method"]), model=name) for name in pair or ()]
    if page == "mask_size":
        return [View("rise", {"n_masks": d["n_masks"], "mask_size": s, "keep_prob": d["keep_prob"],
                              "fill": d["fill"]}) for s in sorted(d["sizes"])]
    if page == "lime_vs_rise":
        return [View(m, method_params(m)) for m in d["methods"]]
    return [View("sanity", method_params(d["method"], d["overrides"]), sanity_method=d["method"],
                 max_stages=d["max_stages"])]
