"""Several maps (and the baselines) scored at once, as curves and as a table of AUCs."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from xai_core._common import PredictFn, ProgressFn, check_image
from xai_core.metrics.baselines import baseline_maps
from xai_core.metrics.causal import CausalCurve, Substrate, deletion_curve, insertion_curve


def faithfulness(predict: PredictFn, image: np.ndarray, maps: Mapping[str, np.ndarray],
                 target: int, *, steps: int = 100, batch_size: int = 32, seed: int = 0,
                 deletion_substrate: Substrate = "black", insertion_substrate: Substrate = "blur",
                 with_baselines: bool = True,
                 progress: ProgressFn | None = None) -> dict[str, dict[str, CausalCurve]]:
    """Deletion and insertion curves of several maps (and the baselines) for one image.

    Substrates default to this project's protocol (black for deletion, a blurred image for
    insertion); the RISE authors' code differs in what a hidden pixel becomes (see
    :mod:`xai_core.metrics.causal`).
    Returns ``{map name: {"deletion": CausalCurve, "insertion": CausalCurve}}``; the
    baselines are named ``"random baseline"`` and ``"centre baseline"``.
    """
    img = check_image(image)
    all_maps = dict(maps)
    if with_baselines:
        for name, m in baseline_maps(img.shape[:2], seed).items():
            all_maps[f"{name} baseline"] = m
    total = 2 * len(all_maps) * (steps + 1)
    done = 0
    out: dict[str, dict[str, CausalCurve]] = {}

    def step(d: int, _t: int, base: int) -> None:
        if progress is not None:
            progress(base + d, total)

    for name, sal in all_maps.items():
        curves = {}
        for fn, sub in ((deletion_curve, deletion_substrate),
                        (insertion_curve, insertion_substrate)):
            base = done
            curve = fn(predict, img, sal, target, steps=steps, substrate=sub,
                       batch_size=batch_size, seed=seed,
                       progress=lambda d, t, base=base: step(d, t, base))
            curves[curve.kind] = curve
            done += steps + 1
        out[name] = curves
    return out


def auc_table(results: Mapping[str, Mapping[str, CausalCurve]]) -> list[dict[str, object]]:
    """Rows ``{"map", "deletion_auc", "insertion_auc"}`` for display and JSON records."""
    return [
        {"map": name, "deletion_auc": round(c["deletion"].auc, 4),
         "insertion_auc": round(c["insertion"].auc, 4)}
        for name, c in results.items()
    ]
