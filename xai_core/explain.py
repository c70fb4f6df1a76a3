"""One explanation, end to end: run a method on a classifier, describe it, export it.

The command line and the dashboard both go through :func:`explain` and
:func:`export_files`, so a PNG downloaded from the app and one written by
``python -m xai_core`` are the same file.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from xai_core._common import ProgressFn, check_image
from xai_core.lime_explainer import explain_lime
from xai_core.render import default_colormap, grid_image, png_bytes, representations
from xai_core.rise import RiseFrame, RiseRun

#: Explanation methods by name.
METHODS = ("rise", "lime")
#: Default parameters of each method (the library's defaults).
DEFAULTS: Mapping[str, Mapping[str, Any]] = MappingProxyType({
    "rise": MappingProxyType({"n_masks": 1000, "mask_size": 7, "keep_prob": 0.5,
                              "stop_at_r": None}),
    "lime": MappingProxyType({
        "num_samples": 1000,
        "num_features": 100000,
        "hide_color": "mean",
        "segmentation": "quickshift",
        "positive_only": False,
    }),
})


@dataclass(frozen=True, eq=False)
class Explanation:
    """A saliency map with everything needed to reproduce and report it.

    Attributes
    ----------
    method
        ``"rise"`` or ``"lime"``.
    saliency
        float32 (H, W) map at the classifier's input size (signed for LIME).
    image
        float32 (H, W, 3) RGB in [0, 255]: the prepared image that was explained.
    model, image_name
        Names for reports and file names.
    target, target_label, probability
        The class explained, its name, and the model's probability for it.
    params
        The method's parameters as used (JSON-serialisable), seed and batch size included.
    wall_s
        Wall time of the explanation in seconds.
    extra
        Method-specific figures (LIME: local model R², intercept, number of superpixels).
    """

    method: str
    saliency: np.ndarray
    image: np.ndarray
    model: str
    image_name: str
    target: int
    target_label: str
    probability: float
    params: dict[str, Any]
    wall_s: float
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def display_saliency(self) -> np.ndarray:
        """The map as drawn: RISE's is clipped at 0 (an expected score is never negative;
        the centred estimator's noise can dip just below where the map is about 0)."""
        return np.maximum(self.saliency, 0.0) if self.method == "rise" else self.saliency

    def record(self) -> dict[str, Any]:
        """The JSON record written beside the map: what, on what, with which settings."""
        return {
            "image": self.image_name,
            "model": self.model,
            "method": self.method,
            "target": self.target,
            "target_label": self.target_label,
            "probability": round(self.probability, 6),
            "params": self.params,
            "seed": self.params.get("seed"),
            "wall_time_s": round(self.wall_s, 3),
            "saliency_shape": list(self.saliency.shape),
            "saliency_range": [float(self.saliency.min()), float(self.saliency.max())],
            **self.extra,
        }


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
    on_frame: Callable[[RiseFrame], None] | None = None,
) -> Explanation:
    """Explain ``image`` for class ``target`` with ``method`` and describe the result.

    Parameters
    ----------
    predict
        Black-box classifier (see :func:`xai_core.explain_rise`).
    image
        float32 (H, W, 3) RGB in [0, 255] at the classifier's input size.
    method
        ``"rise"`` or ``"lime"``.
    target
        Class index.
    class_names
        Names of the classifier's classes (for the record).
    params
        Method parameters; missing ones take :data:`DEFAULTS`. Unknown keys raise.
    seed, batch_size, progress
        As in :func:`xai_core.explain_rise` / :func:`xai_core.explain_lime`.
    on_frame
        RISE only: called with each :class:`~xai_core.rise.RiseFrame` (the map so far and
        its convergence estimate), for a live preview.
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of: {', '.join(METHODS)}")
    img = check_image(image)
    given = dict(params or {})
    allowed = set(DEFAULTS[method]) | ({"segmentation_params"} if method == "lime" else set())
    unknown = set(given) - allowed
    if unknown:
        raise ValueError(
            f"unknown {method.upper()} parameter(s) {', '.join(sorted(unknown))}; "
            f"allowed: {', '.join(DEFAULTS[method])}"
        )
    settings = {**DEFAULTS[method], **given}
    t0 = time.perf_counter()
    extra: dict[str, Any] = {}
    if method == "rise":
        run = RiseRun(predict, img, max_masks=settings["n_masks"],
                      mask_size=settings["mask_size"], keep_prob=settings["keep_prob"],
                      batch_size=batch_size, seed=seed)
        return rise_explanation(run, target, stop_at_r=settings["stop_at_r"], progress=progress,
                                on_frame=on_frame, class_names=class_names,
                                model_name=model_name, image_name=image_name)
    else:
        result = explain_lime(predict, img, target, **settings, batch_size=batch_size,
                              seed=seed, progress=progress)
        saliency, used = result.saliency, dict(result.params)
        extra = {"lime_score_r2": result.score, "lime_intercept": result.intercept,
                 "lime_local_prediction": result.local_prediction,
                 "num_segments": result.num_segments}
    wall = time.perf_counter() - t0
    probability = float(np.asarray(predict(img[None]))[0, target])
    return Explanation(method, np.asarray(saliency, np.float32), img, model_name, image_name,
                       int(target), class_names[target], probability, used, wall, extra)


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
    if on_frame is None:  # no preview: skip building the map after every batch
        run.run(target, stop_at_r=stop_at_r, progress=progress)
    else:
        for frame in run.frames(target, stop_at_r=stop_at_r, progress=progress):
            on_frame(frame)
    saliency = run.saliency(target)
    if probability is None:
        probability = float(np.asarray(run.predict_image())[target])
    used = {"method": "rise", "n_masks": run.max_masks, "mask_size": run.plan.mask_size,
            "keep_prob": run.plan.keep_prob, "stop_at_r": stop_at_r,
            "batch_size": run.batch_size, "seed": run.seed, "estimator": run.estimator,
            "sampler": run.sampler}
    extra = {"masks_used": run.n_done,
             "r_estimate": round(run.r_estimate(target), 4) if run.n_done else None}
    return Explanation("rise", np.asarray(saliency, np.float32), run.image, model_name,
                       image_name, int(target), class_names[target], float(probability), used,
                       time.perf_counter() - t0, extra)


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
    following the RISE paper's protocol (see :mod:`xai_core.metrics`).
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


def export_bytes(
    expl: Explanation,
    *,
    display: str = "singles",
    colormap: str | None = None,
    alpha: float = 0.5,
    n_levels: int = 8,
    level_mode: str = "value",
    stem: str | None = None,
) -> dict[str, bytes]:
    """The files describing one explanation, as ``{file name: content}``.

    ``display="singles"`` gives heatmap, overlay and isolines PNGs; ``"grid"`` one PNG
    with the image and the three representations side by side. Always adds the raw map
    (``.npy``) and the JSON record. Files are named ``<stem>_<model>_<method>...``;
    ``stem`` defaults to the image's file name without its extension.
    """
    if display not in ("singles", "grid"):
        raise ValueError(f"display must be 'singles' or 'grid'; got {display!r}")
    cmap = colormap or default_colormap(expl.display_saliency)
    faces = representations(expl.image, expl.display_saliency, colormap=cmap, alpha=alpha,
                            n_levels=n_levels, mode=level_mode)
    stem = f"{stem or Path(expl.image_name).stem}_{expl.model}_{expl.method}"
    files: dict[str, bytes] = {}
    if display == "grid":
        tiles = [("image", np.clip(expl.image, 0, 255).astype(np.uint8))]
        tiles += [(f"{expl.method.upper()} {name}", faces[name]) for name in ("heatmap", "overlay", "isolines")]
        files[f"{stem}_grid.png"] = png_bytes(grid_image(tiles, cols=4))
    else:
        for name, face in faces.items():
            files[f"{stem}_{name}.png"] = png_bytes(face)
    buf = io.BytesIO()
    np.save(buf, expl.saliency)
    files[f"{stem}.npy"] = buf.getvalue()
    files[f"{stem}.json"] = json.dumps(expl.record(), indent=2).encode()
    return files


def export_files(expl: Explanation, out_dir: str | Path, **kwargs: Any) -> list[Path]:
    """Write :func:`export_bytes` into ``out_dir`` (created if needed); return the paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, data in export_bytes(expl, **kwargs).items():
        path = out / name
        path.write_bytes(data)
        paths.append(path)
    return paths
