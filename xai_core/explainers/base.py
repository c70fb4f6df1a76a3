"""The one result type of every explainer (:class:`Explanation`) and what the anytime
explainers (RISE, LIME) share: the check of ``stop_at_r`` and the budget sentence."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True, eq=False)
class Explanation:
    """A saliency map with everything needed to reproduce and report it.

    Every explainer returns one (:func:`~xai_core.explain_rise`,
    :func:`~xai_core.explain_lime`, :func:`~xai_core.explain_gradcam`, :func:`~xai_core.explain`). ``np.asarray(expl)`` is
    the map, so an explanation can be passed wherever a map is expected.

    Attributes
    ----------
    method
        ``"rise"``, ``"lime"`` or ``"gradcam"`` (white-box reference).
    saliency
        float32 (H, W) map at the classifier's input size, read-only (signed for LIME).
    image
        float32 (H, W, 3) RGB in [0, 255]: the image that was explained.
    target
        The class explained.
    params
        The method's parameters as used (JSON-serialisable), ``seed`` and ``batch_size``
        included.
    forward_passes
        Images the model was asked about for this map (masks, samples, plus the
        unperturbed image where it was needed).
    wall_s
        Wall time in seconds.
    probability
        The model's probability for ``target`` on the whole image (``nan`` when the
        explainer never needed it).
    model, image_name, target_label
        Names for reports and file names.
    extra
        Method-specific results. Both (anytime): ``r_estimate`` (estimated correlation
        of the map with its infinite-budget limit), ``r_bound`` (its lower confidence
        bound, what ``stop_at_r`` uses), ``stopped`` (``"auto"``, ``"cap"``, ``"fixed"``,
        or ``"partial"`` for a :class:`RiseRun` read before it ended) and
        ``budget_note``, one sentence for the display (:func:`budget_note`: "stopped at
        512 masks: r ≥ 0.95 with 95% confidence").
        RISE: ``masks_used``. LIME: ``samples_used``, ``segments`` (int32 (H, W)
        superpixel ids), ``weights`` ({superpixel: signed weight}, by
        decreasing |weight|), ``lime_score_r2``, ``lime_intercept``,
        ``lime_local_prediction``, ``num_segments``. Grad-CAM: ``layer``, ``layer_shape``,
        ``cam_max``, ``white_box``.
    """

    method: str
    saliency: np.ndarray
    image: np.ndarray
    target: int
    params: dict[str, Any]
    forward_passes: int = 0
    wall_s: float = 0.0
    probability: float = math.nan
    model: str = "model"
    image_name: str = "image"
    target_label: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.target_label:
            object.__setattr__(self, "target_label", f"class {self.target}")
        if self.saliency.flags.writeable:
            self.saliency.setflags(write=False)

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        out = self.saliency if dtype is None else self.saliency.astype(dtype)
        return np.array(out, copy=True) if copy else out

    @property
    def seed(self) -> int | None:
        """The seed the map was made with."""
        return self.params.get("seed")

    @property
    def display_saliency(self) -> np.ndarray:
        """The map as drawn: RISE's is clipped at 0 (an expected score is never negative;
        the centred estimator's noise can dip just below where the map is about 0)."""
        return np.maximum(self.saliency, 0.0) if self.method == "rise" else self.saliency

    def record(self) -> dict[str, Any]:
        """The JSON record written beside the map: what, on what, with which settings.

        Array-valued extras (LIME's ``segments``) are left out; LIME's ``weights`` are
        written with the superpixel ids as strings (JSON keys).
        """
        scalars = {k: v for k, v in self.extra.items() if not isinstance(v, np.ndarray)}
        probability = None if math.isnan(self.probability) else round(self.probability, 6)
        return {
            "image": self.image_name,
            "model": self.model,
            "method": self.method,
            "target": self.target,
            "target_label": self.target_label,
            "probability": probability,
            "params": self.params,
            "seed": self.seed,
            "forward_passes": self.forward_passes,
            "wall_time_s": round(self.wall_s, 3),
            "saliency_shape": list(self.saliency.shape),
            "saliency_range": [float(self.saliency.min()), float(self.saliency.max())],
            **scalars,
        }


def check_stop_at_r(stop_at_r: float | None) -> float | None:
    """``stop_at_r`` as a float, or ``None``; ``ValueError`` unless it lies in (0, 1)."""
    if stop_at_r is None:
        return None
    if isinstance(stop_at_r, bool) or not isinstance(stop_at_r, (int, float, np.floating)):
        raise ValueError(f"stop_at_r must be None or a number in (0, 1); got {stop_at_r!r}")
    if not 0.0 < float(stop_at_r) < 1.0:
        raise ValueError(f"stop_at_r must lie strictly between 0 and 1; got {stop_at_r}")
    return float(stop_at_r)


def _approx(r: float) -> str:
    """``≈ 0.97``, or ``> 0.99`` where two decimals would round up to a perfect 1.00."""
    return "> 0.99" if r >= 0.995 else f"≈ {r:.2f}"


def budget_note(n: int, r: float | None, stop_at_r: float | None, converged: bool,
                unit: str, capped: bool = True, confidence: float = 0.95) -> dict[str, str]:
    """``stopped`` and ``budget_note`` of an anytime result (RISE masks or LIME samples).

    ``stopped``: ``"fixed"`` (no automatic stop asked), ``"auto"`` (the bound reached
    ``stop_at_r``), ``"cap"`` (used the whole budget first) or ``"partial"`` (a run read
    before either, e.g. a :class:`~xai_core.explainers.rise.RiseRun` stepped by hand).
    ``budget_note`` is one sentence that says which, never two that contradict::

        stopped at 512 masks: r ≥ 0.95 with 95% confidence
        used the cap of 1024 masks; r ≈ 0.97 estimated, not yet certain to reach 0.95
        256 masks so far; r ≈ 0.93 estimated, not yet certain to reach 0.95
        1024 masks (fixed budget); r ≈ 0.98 estimated

    ``r`` is the point estimate (``None``: too few samples to say).
    """
    est = "" if r is None else f"; r {_approx(r)} estimated"
    if stop_at_r is None:
        return {"stopped": "fixed", "budget_note": f"{n} {unit} (fixed budget){est}"}
    if converged:
        return {"stopped": "auto",
                "budget_note": f"stopped at {n} {unit}: r ≥ {stop_at_r:.2f} with "
                               f"{confidence:.0%} confidence"}
    pending = f", not yet certain to reach {stop_at_r:.2f}"
    if not capped:
        return {"stopped": "partial", "budget_note": f"{n} {unit} so far{est}{pending}"}
    return {"stopped": "cap", "budget_note": f"used the cap of {n} {unit}{est}{pending}"}
