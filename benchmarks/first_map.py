"""Server time to the first complete map, per model: ``python -m benchmarks first-map``.

What the app's one click costs without the browser: for each model, the default RISE
and LIME of :func:`xai_core.explain` (auto budget on, caps 1024 masks / 1000 samples) on
one sample photo, then RISE at fixed budgets of 512 and 1024 masks (where the automatic
stop lands on photos with EfficientNet-Lite0: coffee at 512, chelsea and rocket at the
1024 cap), and the time to draw a result row (the four Plotly panels, as the page builds
them). ResNet50 and Xception use random weights unless ``--imagenet-weights``: same
compute, no download; their automatic stop is then meaningless (a random network's
scores hardly depend on the image), so read their fixed-budget rows. The model load and
its LiteRT conversion are reported apart. One JSON object per line, then a table.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

import numpy as np


def _emit(record: dict) -> None:
    print(json.dumps(record), flush=True)


def _draw_s(image: np.ndarray, sal: np.ndarray) -> float:
    """Seconds to build one result row's figure (heatmap, overlay, isolines)."""
    import xai_core as xc

    t0 = time.perf_counter()
    panels = [("image", xc.viz.image_figure(image)), ("heatmap", xc.heatmap_figure(sal)),
              ("overlay", xc.overlay_figure(image, sal)),
              ("isolines", xc.isolines_figure(image, sal, n_levels=8))]
    xc.grid_figure(panels, cols=4).to_json()  # what Streamlit sends to the browser
    return time.perf_counter() - t0


def bench_first_map(args: argparse.Namespace) -> None:
    from xai_core import explain, load_classifier, load_sample

    rows: list[dict[str, Any]] = []
    for name in args.models:
        builtin_real = name.startswith("efficientnet_lite") or args.imagenet_weights
        t0 = time.perf_counter()
        clf = load_classifier(name, weights="imagenet" if builtin_real else None)
        load_s = time.perf_counter() - t0
        img = clf.prepare(load_sample(args.image))
        clf.predict(img[None])  # warm-up (graph building) outside the timings
        target = int(np.argmax(clf.predict(img[None])[0]))
        base = {"section": "first-map", "model": clf.name, "image": args.image,
                "weights": "imagenet" if builtin_real else "random",
                "engine": getattr(clf, "engine", None)}
        _emit({**base, "what": "load", "load_s": round(load_s, 1)})
        runs: list[tuple[str, str, dict]] = [("rise", "auto", {}), ("lime", "auto", {})]
        runs += [("rise", f"fixed {n}", {"n_masks": n, "stop_at_r": None}) for n in args.fixed]
        for method, budget, params in runs:
            t0 = time.perf_counter()
            res = explain(clf.predict, img, method, target, class_names=clf.class_names,
                          params=params, seed=args.seed)
            wall = time.perf_counter() - t0
            row = {**base, "method": method, "budget": budget,
                   "passes": res.forward_passes, "wall_s": round(wall, 2),
                   "stopped": res.extra.get("stopped"),
                   "draw_s": round(_draw_s(img, res.saliency), 3)}
            rows.append(row)
            _emit(row)
    print("\n| model | weights | method | budget | passes | server s to the map | draw s |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        print(f"| {r['model']} | {r['weights']} | {r['method'].upper()} | {r['budget']}"
              f"{' (' + r['stopped'] + ')' if r['budget'] == 'auto' else ''} | {r['passes']} | "
              f"{r['wall_s']:.1f} | {r['draw_s']:.2f} |")


def register(subparsers: Any) -> None:
    """Add the ``first-map`` section to ``python -m benchmarks``."""
    p = subparsers.add_parser("first-map", help="server time to the first map, per model")
    p.add_argument("--models", nargs="+", default=["efficientnet_lite0", "resnet50", "xception"])
    p.add_argument("--image", default="coffee")
    p.add_argument("--fixed", type=int, nargs="*", default=[512, 1024],
                   help="fixed RISE budgets to time as well")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--imagenet-weights", action="store_true",
                   help="real weights for resnet50/xception (download); default random")
    p.set_defaults(func=bench_first_map)
