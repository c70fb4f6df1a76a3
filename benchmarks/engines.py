"""Keras vs LiteRT on the same model: images per second in one run, and their agreement.

``python -m benchmarks engines [--models ...]``
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import statistics
import time
from typing import Any

import numpy as np

from xai_core.models.backends import TOLERANCE, build_litert


def _rate(predict, x: np.ndarray, calls: int) -> float:
    t0 = time.perf_counter()
    for _ in range(calls):
        predict(x)
    return calls * len(x) / (time.perf_counter() - t0)


def bench_engines(args: argparse.Namespace) -> None:
    """Images per second of Keras and LiteRT on the same model, measured in the same run.

    For each model, prints one JSON line: median images/s of each engine, the median of
    the per-round ratios litert / keras (rounds alternate which engine goes first, since
    this machine's speed drifts), the max abs difference on the check batch, and whether
    ``engine="auto"`` picks LiteRT. Built-in models other than EfficientNet-Lite0 use
    random weights (same compute; no download).
    """
    from xai_core.models import load_classifier

    for name in args.models:
        weights = "imagenet" if name == "efficientnet_lite0" or not args.random_weights else None
        clf = load_classifier(name, weights=weights, engine="keras")
        clf.batch_size = args.batch_size
        record: dict[str, Any] = {"section": "engines", "model": clf.name,
                                  "batch_size": args.batch_size, "cpus": os.cpu_count()}
        t0 = time.perf_counter()
        try:
            predictor, diff = build_litert(clf, use_cache=False)
        except Exception as exc:
            record.update(litert_error=f"{type(exc).__name__}: {exc}", auto_picks="keras")
            print(json.dumps(record), flush=True)
            continue
        record["convert_s"] = round(time.perf_counter() - t0, 2)
        record["max_abs_diff"] = diff if np.isfinite(diff) else None
        record["auto_picks"] = "litert" if diff <= TOLERANCE else "keras"
        x = np.random.default_rng(0).uniform(0, 255, (args.batch_size, *clf.input_size, 3))
        x = x.astype(np.float32)
        runs = {"keras": clf._predict_keras, "litert": functools.partial(
            predictor.predict, batch_size=args.batch_size)}
        for fn in runs.values():  # warm-up
            fn(x)
        rates: dict[str, list[float]] = {"keras": [], "litert": []}
        for r in range(args.rounds):
            order = ("keras", "litert") if r % 2 == 0 else ("litert", "keras")
            for key in order:
                rates[key].append(_rate(runs[key], x, args.calls))
        ratios = [lt / k for lt, k in zip(rates["litert"], rates["keras"], strict=True)]
        record.update(
            keras_images_per_s=round(statistics.median(rates["keras"]), 2),
            litert_images_per_s=round(statistics.median(rates["litert"]), 2),
            ratio_median=round(statistics.median(ratios), 3),
            ratio_min=round(min(ratios), 3),
            ratio_max=round(max(ratios), 3),
            rounds=args.rounds,
        )
        print(json.dumps(record), flush=True)


def register(subparsers: Any) -> None:
    """Add the ``engines`` section to ``python -m benchmarks``."""
    from xai_core.models import MODEL_NAMES

    p = subparsers.add_parser("engines", help="Keras vs LiteRT throughput and agreement")
    p.add_argument("--models", nargs="+", default=list(MODEL_NAMES))
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--rounds", type=int, default=6, help="alternating rounds per engine")
    p.add_argument("--calls", type=int, default=1, help="batches per round")
    p.add_argument("--imagenet-weights", dest="random_weights", action="store_false",
                   help="real weights for resnet50/xception (download); default random")
    p.set_defaults(func=bench_engines)
