"""Benchmarks: ``python -m xai_core.bench rise|lime|metrics [options]``.

Each section prints one JSON object per line. This machine's speed drifts from second
to second, so speed is reported as in-run ratios: ``overhead`` = the explainer's wall
time / the time spent inside the model's forward calls during that same run. 1.00 means
the explainer costs nothing beside the model.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
import tracemalloc
from collections.abc import Callable

import numpy as np

from xai_core._common import TimedPredict


def _emit(record: dict) -> None:
    print(json.dumps(record), flush=True)


def _load(model: str, image: str):
    from xai_core import load_classifier, load_sample

    clf = load_classifier(model)
    img = clf.prepare(load_sample(image))
    target = int(np.argmax(clf.predict(img)[0]))
    return clf, img, target


def raw_throughput(clf, img: np.ndarray, batch_size: int, n_images: int) -> dict:
    """Images per second of plain forward calls at ``batch_size`` (after one warm-up call)."""
    batch = np.repeat(img[None], batch_size, axis=0)
    clf.predict(batch)
    calls = max(1, n_images // batch_size)
    t0 = time.perf_counter()
    for _ in range(calls):
        clf.predict(batch)
    dt = time.perf_counter() - t0
    return {"batch_size": batch_size, "images": calls * batch_size, "images_per_s": calls * batch_size / dt}


def timed_run(run: Callable[[TimedPredict], object], predict) -> tuple[dict, object]:
    """Run ``run(timed_predict)``; return wall time, time inside predict, overhead and memory."""
    timed = TimedPredict(predict)
    tracemalloc.start()
    t0 = time.perf_counter()
    result = run(timed)
    wall = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "wall_s": round(wall, 3),
        "inside_model_s": round(timed.seconds, 3),
        "overhead": round(wall / max(timed.seconds, 1e-9), 3),
        "model_calls": timed.calls,
        "images": timed.images,
        "peak_traced_mb": round(peak / 2**20, 1),
    }, result


def bench_rise(args: argparse.Namespace) -> None:
    from xai_core import explain_rise

    clf, img, target = _load(args.model, args.image)
    _emit({"section": "rise", "what": "raw_forward", "model": clf.name,
           **raw_throughput(clf, img, args.batch_size, 4 * args.batch_size)})
    for n in args.n_masks:
        explain_rise(clf.predict, img, target, n_masks=args.batch_size, batch_size=args.batch_size)
        stats, _ = timed_run(
            lambda p, n=n: explain_rise(p, img, target, n_masks=n, batch_size=args.batch_size),
            clf.predict,
        )
        _emit({"section": "rise", "what": "explain_rise", "model": clf.name, "n_masks": n,
               "batch_size": args.batch_size,
               "expected_calls": math.ceil(n / args.batch_size), **stats})
    # Memory at a large N, with a cheap stand-in model so the run takes seconds: what is
    # measured is the explainer's own memory (masks, masked images, accumulators).
    def cheap(x: np.ndarray) -> np.ndarray:
        s = x.mean(axis=(1, 2, 3)) / 255.0
        return np.stack([s, 1.0 - s], axis=1)

    n_big = args.memory_masks
    stats, _ = timed_run(
        lambda p: explain_rise(p, img, 0, n_masks=n_big, batch_size=args.batch_size), cheap
    )
    _emit({"section": "rise", "what": "memory", "model": "cheap mean-score stand-in",
           "n_masks": n_big, "image": list(img.shape), "peak_traced_mb": stats["peak_traced_mb"],
           "wall_s": stats["wall_s"]})


def bench_lime(args: argparse.Namespace) -> None:
    from xai_core import explain_lime
    from xai_core.segmentation import clear_segment_cache, segment

    clf, img, target = _load(args.model, args.image)
    _emit({"section": "lime", "what": "raw_forward", "model": clf.name,
           **raw_throughput(clf, img, args.batch_size, 4 * args.batch_size)})
    clear_segment_cache()
    t0 = time.perf_counter()
    segment(img, args.segmentation)
    _emit({"section": "lime", "what": "segmentation", "method": args.segmentation,
           "seconds": round(time.perf_counter() - t0, 3)})
    for n in args.num_samples:
        clear_segment_cache()  # an image not seen before: segmentation included
        stats, result = timed_run(
            lambda p, n=n: explain_lime(p, img, target, num_samples=n,
                                        segmentation=args.segmentation,
                                        batch_size=args.batch_size),
            clf.predict,
        )
        _emit({"section": "lime", "what": "explain_lime", "model": clf.name, "num_samples": n,
               "segments": result.num_segments, "batch_size": args.batch_size, **stats})


def bench_metrics(args: argparse.Namespace) -> None:
    """Deletion / insertion AUCs of RISE, LIME and the baselines on the sample photos."""
    from xai_core import DEFAULTS, explain, faithfulness, load_classifier, load_sample

    clf = load_classifier(args.model)
    rows = []
    for name in args.images:
        img = clf.prepare(load_sample(name))
        target = int(np.argmax(clf.predict(img)[0]))
        maps = {}
        for method in ("rise", "lime"):
            maps[method.upper()] = explain(clf.predict, img, method, target,
                                           class_names=clf.class_names,
                                           params=dict(DEFAULTS[method]), seed=args.seed).saliency
        results = faithfulness(clf.predict, img, maps, target, steps=args.steps, seed=args.seed)
        for map_name, curves in results.items():
            row = {"section": "metrics", "model": clf.name, "image": name,
                   "class": clf.class_names[target], "map": map_name, "steps": args.steps,
                   "deletion_auc": round(curves["deletion"].auc, 4),
                   "insertion_auc": round(curves["insertion"].auc, 4)}
            rows.append(row)
            _emit(row)
    print("\n| image | class | map | deletion AUC (lower is better) | insertion AUC (higher is better) |")
    print("| --- | --- | --- | --- | --- |")
    for r in rows:
        print(f"| {r['image']} | {r['class']} | {r['map']} | {r['deletion_auc']:.3f} | "
              f"{r['insertion_auc']:.3f} |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m xai_core.bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="section", required=True)
    p = sub.add_parser("rise", help="RISE overhead, model calls and memory")
    p.add_argument("--model", default="efficientnet_lite0")
    p.add_argument("--image", default="chelsea")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--n-masks", type=int, nargs="+", default=[256, 500])
    p.add_argument("--memory-masks", type=int, default=8000)
    p.set_defaults(func=bench_rise)
    p = sub.add_parser("lime", help="LIME overhead (segmentation included) and segmentation time")
    p.add_argument("--model", default="efficientnet_lite0")
    p.add_argument("--image", default="chelsea")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--num-samples", type=int, nargs="+", default=[300, 1000])
    p.add_argument("--segmentation", default="quickshift")
    p.set_defaults(func=bench_lime)
    p = sub.add_parser("metrics", help="deletion/insertion AUCs of RISE, LIME and the baselines")
    p.add_argument("--model", default="efficientnet_lite0")
    p.add_argument("--images", nargs="+", default=["chelsea", "coffee", "rocket"])
    p.add_argument("--steps", type=int, default=100)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=bench_metrics)
    args = parser.parse_args(argv)
    args.func(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
