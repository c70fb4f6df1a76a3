"""Calibration of the automatic stops: ``python -m benchmarks.autostop [options]``.

Per case (the known-answer model; sample photos on a real model) and method (RISE,
LIME), ``--seeds`` runs with ``stop_at_r = r*`` and a cap; each stopped map is compared
with an unbiased reference of the same method:

- RISE: the average of ``--ref-runs`` independent default runs of ``--ref-n`` masks each
  (a scrambled Sobol sequence is unbiased for the paper's expected map, the centred
  estimator up to O(1/N));
- LIME: the average of ``--ref-runs`` independent large-sample fits of lime's local model
  on the *same* segmentation (SLIC here: deterministic, so every seed's run has it).

The reference's own noise is accounted for: with k independent reference maps of
pairwise correlation c, their average has reliability ``R = k c / (1 + (k - 1) c)``, and
each observed correlation is divided by ``sqrt(R)`` (Spearman's correction for
attenuation). Reported: how many runs stopped by themselves (the others used the whole
cap), the share of those automatic stops whose corrected r reached r*, overall and per
check (``per_check_stops_short``: passes -> [stops, of which short of r*]), and the median
and 90th percentile of forward passes at the stop. Peer: Xplique's RISE at a fixed
budget (``--peer-n``), scored the same way against our RISE reference (its masks are
nearest-neighbour grids, so its limit differs slightly from ours); skipped when Xplique
is not installed. One JSON object per line, then a table.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from xai_core.explainers.lime.explainer import (
    _BatchedLimeImageExplainer,
    explain_lime,
    hidden_image,
)
from xai_core.explainers.lime.segmentation import segment
from xai_core.explainers.rise import RiseRun
from xai_core.testing import ground_truth_model


def _emit(record: dict) -> None:
    print(json.dumps(record), flush=True)


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(np.ravel(a), np.ravel(b))[0, 1])


def reliability_ceiling(maps: list[np.ndarray]) -> float:
    """``sqrt`` of the Spearman-Brown reliability of the average of independent maps."""
    k = len(maps)
    if k < 2:
        return 1.0
    c = float(np.mean([_corr(maps[i], maps[j]) for i in range(k) for j in range(i + 1, k)]))
    c = max(c, 1e-6)
    return float(np.sqrt(k * c / (1 + (k - 1) * c)))


def _cached(key: str, args, make) -> tuple[np.ndarray, float]:
    """The reference maps of ``key`` from ``--cache`` (a second run reuses them), or made."""
    path = Path(args.cache) / f"{key.replace(':', '_')}_n{args.ref_n}_k{args.ref_runs}.npy"
    if path.exists():
        maps = list(np.load(path))
    else:
        maps = make()
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(path, np.asarray(maps, np.float32))
    return np.mean(maps, axis=0), reliability_ceiling(maps)


def rise_reference(predict, image, target, args) -> list[np.ndarray]:
    maps = []
    for j in range(args.ref_runs):
        run = RiseRun(predict, image, max_masks=args.ref_n, batch_size=args.batch_size,
                      seed=100_000 + j)
        maps.append(run.run(target))
    return maps


def lime_reference(predict, image, target, args) -> list[np.ndarray]:
    segments = segment(image, "slic", None, seed=0)
    fudged = hidden_image(image, segments, "mean")
    n_seg = int(segments.max()) + 1
    maps = []
    for j in range(args.ref_runs):
        ex = _BatchedLimeImageExplainer(kernel_width=0.25, random_state=100_000 + j,
                                        feature_selection="highest_weights")
        data = ex.draw(n_seg, args.ref_n)
        labels = np.concatenate([
            np.asarray(predict(ex.perturbed(image, fudged, segments,
                                            data[i:i + args.batch_size])))
            for i in range(0, args.ref_n, args.batch_size)])
        _, pairs, _, _ = ex.fit(data, labels, target, n_seg)
        w = np.zeros(n_seg)
        for s, v in pairs:
            w[int(s)] = v
        maps.append(w[segments])
    return maps


def _summary(case: str, method: str, passes: list[int], rs: list[float], r_star: float,
             ceiling: float, extra: dict | None = None,
             auto: list[bool] | None = None) -> dict:
    """Per case and method: how the stops went. ``auto[i]``: run i stopped by itself (the
    promise is about those); the others used the whole cap and say so."""
    auto = auto if auto is not None else [False] * len(passes)
    r = np.asarray(rs)
    stopped = r[np.asarray(auto, bool)]
    per_check: dict[str, list[int]] = {}  # passes -> [automatic stops, of which short]
    for n, ok, rr in zip(passes, auto, rs, strict=True):
        if ok:
            row = per_check.setdefault(str(n), [0, 0])
            row[0] += 1
            row[1] += int(rr < r_star)
    return {"case": case, "method": method, "runs": len(rs),
            "auto_stops": int(sum(auto)), "per_check_stops_short": per_check,
            "share_reached_auto": (round(float(np.mean(stopped >= r_star)), 3)
                                   if len(stopped) else None),
            "share_reached": round(float(np.mean(r >= r_star)), 3),
            "median_passes": float(np.median(passes)),
            "p90_passes": float(np.percentile(passes, 90)),
            "min_r": round(float(np.min(rs)), 4), "median_r": round(float(np.median(rs)), 4),
            "ref_ceiling": round(ceiling, 4), **(extra or {})}


def _case(case: str, predict, image, target: int, args, keras_model=None) -> list[dict]:
    t0 = time.perf_counter()
    rows = []
    ref, ceiling = _cached(f"{case}_t{target}_rise", args,
                           lambda: rise_reference(predict, image, target, args))
    passes, rs, auto = [], [], []
    for seed in range(args.seed0, args.seed0 + args.seeds):
        run = RiseRun(predict, image, max_masks=args.cap, batch_size=args.batch_size, seed=seed)
        sal = run.run(target, stop_at_r=args.r)
        passes.append(run.n_done)
        rs.append(_corr(sal, ref) / ceiling)
        auto.append(run.converged(target, args.r))
    rows.append(_summary(case, "rise", passes, rs, args.r, ceiling, auto=auto))
    if keras_model is not None and args.peer_n:
        rows.append(_xplique(case, keras_model, image, target, ref, ceiling, args))
    lref, lceiling = _cached(f"{case}_t{target}_lime", args,
                             lambda: lime_reference(predict, image, target, args))
    passes, rs, auto = [], [], []
    for seed in range(args.seed0, args.seed0 + args.seeds):
        res = explain_lime(predict, image, target, num_samples=args.cap, segmentation="slic",
                           batch_size=args.batch_size, seed=seed, stop_at_r=args.r)
        passes.append(res.forward_passes)
        rs.append(_corr(res.saliency, lref) / lceiling)
        auto.append(res.extra["stopped"] == "auto")
    rows.append(_summary(case, "lime", passes, rs, args.r, lceiling, auto=auto))
    for row in rows:
        _emit({"section": "autostop", **row})
    _emit({"section": "autostop", "case": case, "wall_s": round(time.perf_counter() - t0, 1)})
    return rows


def _xplique(case, keras_model, image, target, ref, ceiling, args) -> dict:
    try:
        import tensorflow as tf
        from xplique.attributions import Rise as XRise
    except ImportError as exc:
        return {"case": case, "method": "xplique-rise", "skipped": f"not installed ({exc})"}
    rs = []
    x = tf.convert_to_tensor(image[None])
    one_hot = tf.one_hot([target], int(keras_model.output_shape[-1]))
    # Xplique has no seed argument: TF's global state, set once per benchmark run (reset
    # before every call, it gave the very same masks each time)
    tf.random.set_seed(args.seed0)
    for _ in range(args.peer_seeds):
        expl = XRise(keras_model, batch_size=args.batch_size, nb_samples=args.peer_n,
                     grid_size=7, preservation_probability=0.5).explain(x, one_hot)
        rs.append(_corr(np.asarray(expl)[0], ref) / ceiling)
    return _summary(case, "xplique-rise (fixed)", [args.peer_n] * len(rs), rs, args.r, ceiling)


def bench_autostop(args: argparse.Namespace) -> None:
    rows: list[dict] = []
    if not args.skip_ground_truth:
        predict, image = ground_truth_model()
        rows += _case("known-answer", predict, image, 1, args)
    if args.images:
        from benchmarks.peers import _full_keras_model
        from xai_core import load_classifier, load_sample

        clf = load_classifier(args.model)
        keras_model = None
        if args.peer_n:
            try:
                keras_model = _full_keras_model(clf)
            except Exception as exc:  # the peer is optional
                _emit({"section": "autostop", "peer": "xplique", "skipped": repr(exc)})
        for name in args.images:
            img = clf.prepare(load_sample(name))
            target = int(np.argmax(clf.predict(img)[0]))
            rows += _case(f"{clf.name}:{name}", clf.predict, img, target, args, keras_model)
    print(f"\n| case | method | automatic stops | of those r >= {args.r} | all runs r >= {args.r} "
          "| median / p90 passes | min r | ref ceiling |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        if "skipped" in r:
            print(f"| {r['case']} | {r['method']} | skipped | | | | | |")
            continue
        share = r["share_reached_auto"]
        print(f"| {r['case']} | {r['method']} | {r['auto_stops']} of {r['runs']} | "
              f"{'-' if share is None else f'{share:.2f}'} | {r['share_reached']:.2f} | "
              f"{r['median_passes']:.0f} / {r['p90_passes']:.0f} | {r['min_r']:.3f} | "
              f"{r['ref_ceiling']:.4f} |")


def register(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser("autostop", help="calibration of RISE's and LIME's automatic stops")
    p.add_argument("--model", default="efficientnet_lite0")
    p.add_argument("--images", nargs="*", default=["coffee", "chelsea", "rocket"])
    p.add_argument("--skip-ground-truth", action="store_true")
    p.add_argument("--seeds", type=int, default=10)
    p.add_argument("--seed0", type=int, default=0, help="first seed (a second run: another range)")
    p.add_argument("--cap", type=int, default=1024,
                   help="masks and samples at most (the app: 1024 masks, 1000 samples)")
    p.add_argument("--r", type=float, default=0.95)
    p.add_argument("--ref-n", type=int, default=4000, help="masks / samples per reference run")
    p.add_argument("--ref-runs", type=int, default=2)
    p.add_argument("--peer-n", type=int, default=500, help="Xplique RISE budget (0: skip)")
    p.add_argument("--peer-seeds", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--cache", default="/tmp/xai_autostop", help="reference maps (.npy)")
    p.set_defaults(func=bench_autostop)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.autostop")
    register(parser.add_subparsers(dest="section", required=True))
    args = parser.parse_args(["autostop", *(argv or [])])
    args.func(args)
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main(sys.argv[1:]))
