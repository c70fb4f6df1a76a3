"""Benchmark sections rise, lime, metrics, load and ``all``, and the command's parser.

Each section prints one JSON object per line. This machine's speed drifts from second
to second, so speed is reported as in-run ratios: ``overhead`` = the explainer's wall
time / the time spent inside the model's forward calls during that same run. 1.00 means
the explainer costs nothing beside the model.
"""

from __future__ import annotations

import argparse
import contextlib
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
    from xai_core.explainers.lime.segmentation import clear_segment_cache, segment

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
               "segments": result.extra["num_segments"], "batch_size": args.batch_size, **stats})


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


def bench_load(args: argparse.Namespace) -> None:
    """Many users at once: the real server, one headless-browser session per user.

    Each session opens the mask-size page with a link that runs a small RISE explanation
    (its own seed, so nothing comes from the cache), waits for the figures, then checks the
    map's value range against the same explanation computed alone in this process.
    """
    import asyncio
    import tempfile
    from pathlib import Path

    from benchmarks._server import served_app

    try:
        from playwright.async_api import async_playwright
    except ImportError:
        raise SystemExit("the load test needs playwright: pip install -r requirements-dev.txt") from None
    if not 1 <= args.sessions <= 20:
        raise SystemExit("--sessions must be between 1 and 20")
    stats_file = Path(tempfile.mkdtemp()) / "queue.json"
    with served_app({"SALIENCY_LAB_STATS_FILE": str(stats_file)}) as (base, server):
        def url(seed: int) -> str:
            return (f"{base}/mask_size?img={args.image}&n={args.n_masks}&sizes=7&p=0.5"
                    f"&seed={seed}&run=masks")

        async def session(browser, seed: int) -> dict:
            t0 = time.perf_counter()
            page = await (await browser.new_context(viewport={"width": 1200, "height": 2000})).new_page()
            try:
                await page.goto(url(seed), timeout=60_000)
                deadline = time.perf_counter() + args.timeout
                while time.perf_counter() < deadline:
                    if await page.locator('[data-testid="stException"]').count():
                        return {"seed": seed, "ok": False, "error": "exception box"}
                    if await page.locator(".js-plotly-plot").count() >= 1:  # the result row
                        break
                    await asyncio.sleep(0.5)
                else:
                    return {"seed": seed, "ok": False, "error": "timed out"}
                await page.get_by_text("Settings and downloads").first.click()
                record = await page.locator('[data-testid="stCode"]').first.inner_text()
                return {"seed": seed, "ok": True, "s": time.perf_counter() - t0, "record": record}
            finally:
                await page.context.close()

        async def drive() -> list[dict]:
            async with async_playwright() as p:
                browser = await p.chromium.launch(
                    executable_path=args.chromium,
                    args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                          "--disable-component-update", "--no-first-run", "--disable-sync"])
                try:
                    # a first visit loads the model, as the first student of the day would
                    await session(browser, 10_000)
                    return await asyncio.gather(*(session(browser, seed)
                                                  for seed in range(args.sessions)))
                finally:
                    await browser.close()

        t0 = time.perf_counter()
        results = asyncio.run(drive())
        wall = time.perf_counter() - t0
        peak_mb = _peak_rss_mb(server.pid)
    # the same explanations, computed alone here, must give the same maps
    from xai_core import explain_rise, load_classifier, load_sample

    clf = load_classifier("efficientnet_lite0")
    img = clf.prepare(load_sample(args.image))
    target = int(np.argmax(clf.predict(img)[0]))
    mismatches = 0
    for r in results:
        if not r["ok"]:
            continue
        alone = explain_rise(clf.predict, img, target, n_masks=args.n_masks, mask_size=7,
                             keep_prob=0.5, seed=r["seed"]).saliency
        lo, hi = float(alone.min()), float(alone.max())
        got = _json_range(r["record"])
        r["same_as_alone"] = got is not None and abs(got[0] - lo) < 1e-4 and abs(got[1] - hi) < 1e-4
        mismatches += not r["same_as_alone"]
    queue = json.loads(stats_file.read_text()) if stats_file.exists() else {}
    done = [r for r in results if r["ok"]]
    _emit({"section": "load", "sessions": args.sessions, "n_masks": args.n_masks,
           "finished": len(done), "errors": len(results) - len(done),
           "not_same_as_alone": mismatches,
           "errors_seen": sorted({r["error"] for r in results if not r["ok"]}),
           "slowest_session_s": round(max((r["s"] for r in done), default=0.0), 1),
           "queue_longest_wait_s": queue.get("longest_wait_s"),
           "queue_workers": queue.get("max_workers"),
           "server_peak_rss_mb": peak_mb, "wall_s": round(wall, 1)})


def _peak_rss_mb(pid: int) -> float | None:
    """Peak resident memory of a process (Linux ``VmHWM``), in MB."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def _json_range(text: str) -> tuple[float, float] | None:
    """The ``saliency_range`` pair in the text of a rendered JSON record."""
    import re

    m = re.search(r"saliency_range[^\[]*\[\s*([-0-9.e]+)\s*,\s*([-0-9.e]+)", text, re.S)
    return (float(m.group(1)), float(m.group(2))) if m else None


class _Tee:
    """Write to stdout and keep the JSON lines (so ``all`` can build its table)."""

    def __init__(self, out):
        self.out, self.records = out, []

    def write(self, text: str) -> int:
        for line in text.splitlines():
            if line.startswith("{"):
                with contextlib.suppress(ValueError):
                    self.records.append(json.loads(line))
        return self.out.write(text)

    def flush(self) -> None:
        self.out.flush()


def bench_all(args: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    """Every section in one process, then one table. Each section can also run alone."""
    sections = [["rise"], ["lime"], ["peers", "--n-masks", str(args.budget),
                                     "--num-samples", str(args.budget)], ["memory"]]
    sub_names = parser._subparsers._group_actions[0].choices  # the registered sections
    sections += [[name] for name in ("engines", "efficiency") if name in sub_names]
    tee = _Tee(sys.stdout)
    with contextlib.redirect_stdout(tee):
        for argv in sections:
            print(f"# section {argv[0]}", file=sys.stderr, flush=True)
            section_args = parser.parse_args(argv)
            try:
                section_args.func(section_args)
            except Exception as exc:  # one broken section must not hide the others
                _emit({"section": argv[0], "error": f"{type(exc).__name__}: {exc}"})
    print("\n".join(summary_table(tee.records)))


def summary_table(records: list[dict]) -> list[str]:
    """Markdown rows summarising benchmark records (engines first, then timed runs)."""
    lines = ["", "| section | tool / what | budget | wall s | inside model s | overhead | peak extra MB |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for r in records:  # engines: one row per model
        if r.get("section") == "engines" and "ratio_median" in r:
            lines.append(f"| engines | {r['model']}: keras {r['keras_images_per_s']} -> litert "
                         f"{r['litert_images_per_s']} images/s (x{r['ratio_median']}, "
                         f"max diff {r['max_abs_diff']:.1e}) | | | | | |")
    for r in records:
        if not ("wall_s" in r or "images_per_s" in r or "peak_extra_mb" in r) or r.get("what") == "time":
            continue
        tool = f"{r.get('tool') or r.get('what') or ''} {r.get('method', '')}".strip()
        budget = r.get("budget") or r.get("n_masks") or r.get("num_samples") or r.get("images") or ""
        lines.append(f"| {r.get('section')} | {tool} | {budget} | {r.get('wall_s', '')} | "
                     f"{r.get('inside_model_s', '')} | {r.get('overhead', r.get('images_per_s', ''))} | "
                     f"{r.get('peak_extra_mb', r.get('peak_traced_mb', ''))} |")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__,
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
    p = sub.add_parser("load", help="many users at once on the real server (headless browser)")
    p.add_argument("--sessions", type=int, default=10)
    p.add_argument("--n-masks", type=int, default=200)
    p.add_argument("--image", default="coffee")
    p.add_argument("--timeout", type=float, default=400.0, help="seconds per session")
    p.add_argument("--chromium", default="/usr/bin/chromium")
    p.set_defaults(func=bench_load)
    from benchmarks import autostop, efficiency, engines, first_map, peers, ray_scaling

    peers.register(sub)
    engines.register(sub)
    efficiency.register(sub)
    autostop.register(sub)
    first_map.register(sub)
    ray_scaling.register(sub)
    p = sub.add_parser("all", help="every section in one process, then one table")
    p.add_argument("--budget", type=int, default=500, help="masks / samples for the peers")
    p.set_defaults(func=None)
    args = parser.parse_args(argv)
    if args.section == "all":
        bench_all(args, parser)
    else:
        args.func(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
