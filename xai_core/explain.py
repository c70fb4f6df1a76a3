"""One explanation, end to end: a method chosen by name, on a classifier, described.

The command line and the dashboard both go through :func:`explain` (and
:mod:`xai_core.export` for the files), so a PNG downloaded from the app and one written
by ``python -m xai_core`` are the same file.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

import numpy as np

from xai_core._common import ProgressFn, check_image
from xai_core.explainers.base import Explanation
from xai_core.explainers.gradcam import explain_gradcam
from xai_core.explainers.lime import explain_lime
from xai_core.explainers.lime.explainer import LimeFrame
from xai_core.explainers.rise import RiseFrame, RiseRun

#: Explanation methods by name (``"gradcam"`` is white-box: it needs a Classifier).
METHODS = ("rise", "lime", "gradcam")
#: Default parameters of each method. RISE and LIME are anytime: they stop once the map
#: correlates r >= 0.95 with its infinite-budget limit (95% confidence), the budget being
#: the cap.
DEFAULTS: Mapping[str, Mapping[str, Any]] = MappingProxyType({
    "rise": MappingProxyType({"n_masks": 1024, "mask_size": 7, "keep_prob": 0.5,
                              "stop_at_r": 0.95, "fill": "black"}),
    "lime": MappingProxyType({
        "num_samples": 1000,
        "stop_at_r": 0.95,
        "num_features": 100000,
        "hide_color": "mean",
        "segmentation": "quickshift",
        "positive_only": False,
    }),
    "gradcam": MappingProxyType({"layer": None}),
})


def classifier_of(predict: Callable[[np.ndarray], np.ndarray]) -> Any:
    """The :class:`~xai_core.Classifier` behind ``predict`` (itself, or the owner of its
    bound ``predict`` method), or ``None`` for a plain function."""
    for obj in (predict, getattr(predict, "__self__", None)):
        if getattr(obj, "model", None) is not None and hasattr(obj, "preprocessing"):
            return obj
    return None


def resolve_target(spec: int | str, class_names: list[str], probabilities: np.ndarray) -> int:
    """Turn a target given by a user into a class index.

    Parameters
    ----------
    spec
        ``"top1"``, ``"top2"``, ... (rank by ``probabilities``), a class index (int or
        digits), or a class name: an exact name, or a case-insensitive part of exactly one
        name (``"tabby"``).
    class_names
        One name per class.
    probabilities
        float (K,) probabilities of the image, used for ``topK``.
    """
    n = len(class_names)
    if isinstance(spec, (int, np.integer)) and not isinstance(spec, bool):
        index = int(spec)
    else:
        text = str(spec).strip()
        low = text.lower()
        if low.startswith("top") and low[3:].isdigit():
            rank = int(low[3:])
            if not 1 <= rank <= n:
                raise ValueError(f"target {text!r}: rank must be between top1 and top{n}")
            return int(np.argsort(probabilities)[::-1][rank - 1])
        if text.lstrip("-").isdigit():
            index = int(text)
        else:
            exact = [i for i, name in enumerate(class_names) if name.lower() == low]
            if exact:
                return exact[0]
            parts = [i for i, name in enumerate(class_names) if low in name.lower()]
            if len(parts) == 1:
                return parts[0]
            if not parts:
                raise ValueError(f"no class is called {text!r}")
            shown = "; ".join(class_names[i] for i in parts[:5])
            raise ValueError(
                f"{text!r} matches {len(parts)} classes ({shown}{'; ...' if len(parts) > 5 else ''}): "
                "be more precise or give the class index"
            )
    if not 0 <= index < n:
        raise ValueError(f"target class index must be between 0 and {n - 1}; got {index}")
    return index


def _label_of(class_names: list[str], target: int) -> str:
    """The name of class ``target``, or a ``ValueError`` when ``class_names`` has none."""
    n = len(class_names)
    if isinstance(target, (int, np.integer)) and not isinstance(target, bool) and 0 <= target < n:
        return str(class_names[target])
    raise ValueError(f"class {target!r} has no name: class_names lists {n} name(s) "
                     f"(classes 0 to {n - 1}); give one name per output of the model")


def explain(
    predict: Callable[[np.ndarray], np.ndarray],
    image: np.ndarray,
    method: str,
    target: int,
    *,
    class_names: list[str],
    params: Mapping[str, Any] | None = None,
    seed: int = 0,
    batch_size: int = 32,
    progress: ProgressFn | None = None,
    model_name: str = "model",
    image_name: str = "image",
    on_frame: Callable[[RiseFrame | LimeFrame], None] | None = None,
) -> Explanation:
    """Explain ``image`` for class ``target`` with ``method`` and describe the result.

    Parameters
    ----------
    predict
        Black-box classifier (see :func:`xai_core.explain_rise`). For ``"gradcam"`` (and
        RISE's ``fill="dataset_mean"``) a :class:`~xai_core.Classifier` or its bound
        ``predict`` method, which carries the Keras model and its preprocessing.
    image
        float32 (H, W, 3) RGB in [0, 255] at the classifier's input size.
    method
        ``"rise"``, ``"lime"`` or ``"gradcam"`` (white-box reference, see
        :func:`xai_core.explain_gradcam`).
    target
        Class index.
    class_names
        Names of the classifier's classes (for the record).
    params
        Method parameters; missing ones take :data:`DEFAULTS`. Unknown keys raise.
    seed, batch_size, progress
        As in :func:`xai_core.explain_rise` / :func:`xai_core.explain_lime`.
    on_frame
        Called with each :class:`~xai_core.explainers.rise.RiseFrame` (RISE, after each
        batch) or :class:`~xai_core.explainers.lime.explainer.LimeFrame` (LIME, every 32
        samples): the map so far and its convergence estimate, for a live preview.
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of: {', '.join(METHODS)}")
    img = check_image(image)
    if isinstance(target, (int, np.integer)) and not isinstance(target, bool) and target >= 0:
        _label_of(class_names, target)  # before any model call, not after the whole run
    given = dict(params or {})
    allowed = set(DEFAULTS[method]) | ({"segmentation_params"} if method == "lime" else set())
    unknown = set(given) - allowed
    if unknown:
        raise ValueError(
            f"unknown {method.upper()} parameter(s) {', '.join(sorted(unknown))}; "
            f"allowed: {', '.join(DEFAULTS[method])}"
        )
    settings = {**DEFAULTS[method], **given}
    if method == "gradcam":
        clf = classifier_of(predict)
        if clf is None:
            raise ValueError("Grad-CAM is a white-box method: it needs a Classifier "
                             "(pass clf.predict or clf), not a plain predict function")
        result = explain_gradcam(clf, img, target, **settings)
        return dataclasses.replace(result, model=model_name, image_name=image_name,
                                   target_label=_label_of(class_names, target))
    if method == "rise":
        run = rise_run(predict, img, settings, seed=seed, batch_size=batch_size)
        return rise_explanation(run, target, stop_at_r=settings["stop_at_r"], progress=progress,
                                on_frame=on_frame, class_names=class_names,
                                model_name=model_name, image_name=image_name)
    result = explain_lime(predict, img, target, **settings, batch_size=batch_size,
                          seed=seed, progress=progress, on_frame=on_frame)
    return dataclasses.replace(result, model=model_name, image_name=image_name,
                               target_label=_label_of(class_names, target))


def rise_run_settings(params: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The settings of the RISE run behind ``params``: :data:`DEFAULTS` ``["rise"]`` with
    ``params`` over them, less ``stop_at_r`` (which belongs to each explanation of a run,
    not to the run). Runs with equal settings (and seed) give equal maps, so callers that
    share runs between classes key them by this. An unknown parameter is a ``ValueError``."""
    unknown = set(params or {}) - set(DEFAULTS["rise"])
    if unknown:
        raise ValueError(f"unknown RISE parameter(s) {', '.join(sorted(unknown))}; "
                         f"allowed: {', '.join(DEFAULTS['rise'])}")
    settings = {**DEFAULTS["rise"], **(params or {})}
    settings.pop("stop_at_r")
    return settings


def rise_run(predict: Callable[[np.ndarray], np.ndarray], image: np.ndarray,
             params: Mapping[str, Any] | None = None, *, seed: int = 0,
             batch_size: int = 32) -> RiseRun:
    """A :class:`RiseRun` with the settings of ``params`` (see :func:`rise_run_settings`):
    ``n_masks`` is its cap, ``mask_size``, ``keep_prob`` and ``fill`` as given."""
    settings = rise_run_settings(params)
    return RiseRun(predict, image, max_masks=settings["n_masks"],
                   mask_size=settings["mask_size"], keep_prob=settings["keep_prob"],
                   batch_size=batch_size, seed=seed, fill=settings["fill"])


def rise_explanation(
    run: RiseRun,
    target: int,
    *,
    class_names: list[str],
    stop_at_r: float | None = None,
    progress: ProgressFn | None = None,
    on_frame: Callable[[RiseFrame], None] | None = None,
    model_name: str = "model",
    image_name: str = "image",
    probability: float | None = None,
) -> Explanation:
    """A RISE explanation of ``target`` from a (possibly already advanced) :class:`RiseRun`.

    The run keeps every class's scores, so explaining another class of the same run costs
    no model call unless more masks are needed (e.g. ``stop_at_r`` not reached yet).
    ``probability`` (the model's score for ``target`` on the whole image) is computed with
    one call when not given.
    """
    t0 = time.perf_counter()
    passes = run.forward_passes
    if on_frame is None:  # no preview: skip building the map after every batch
        run.run(target, stop_at_r=stop_at_r, progress=progress)
    else:
        for frame in run.frames(target, stop_at_r=stop_at_r, progress=progress):
            on_frame(frame)
    if probability is None:
        probability = float(np.asarray(run.predict_image())[target])
    expl = run.explanation(target, stop_at_r=stop_at_r, wall_s=time.perf_counter() - t0,
                           probability=float(probability))
    # forward passes of this call only (a shared run may have been advanced before)
    return dataclasses.replace(expl, model=model_name, image_name=image_name,
                               target_label=_label_of(class_names, target),
                               forward_passes=run.forward_passes - passes)


def faithfulness_of(
    expl: Explanation,
    predict: Callable[[np.ndarray], np.ndarray],
    *,
    steps: int = 100,
    batch_size: int = 32,
    baselines: bool = True,
    progress: ProgressFn | None = None,
) -> dict[str, Any]:
    """Deletion and insertion AUCs of an explanation (and of the baselines), for its record.

    Returns ``{"deletion_auc", "insertion_auc", "steps", "baselines": {name: {...}}}``,
    with the RISE paper's procedure and this project's substrates (see
    :mod:`xai_core.metrics.causal` for how they differ from the authors' code).
    """
    from xai_core.metrics import faithfulness

    results = faithfulness(predict, expl.image, {expl.method: expl.saliency}, expl.target,
                           steps=steps, batch_size=batch_size, seed=int(expl.params.get("seed", 0)),
                           with_baselines=baselines, progress=progress)
    own = results.pop(expl.method)
    return {
        "deletion_auc": round(own["deletion"].auc, 4),
        "insertion_auc": round(own["insertion"].auc, 4),
        "steps": steps,
        "baselines": {name: {"deletion_auc": round(c["deletion"].auc, 4),
                             "insertion_auc": round(c["insertion"].auc, 4)}
                      for name, c in results.items()},
    }
