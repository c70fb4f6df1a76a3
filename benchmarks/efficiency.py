"""Sample efficiency of RISE: ``python -m benchmarks efficiency [options]``.

Map quality at a budget of B masks (= forward passes) is the correlation (Pearson and
Spearman, over pixels) with a reference map of the same method at a large budget
(``--ref-masks`` masks for each of ``--ref-seeds`` seeds, averaged; plain, independent
masks, Petsiuk et al. 2018). ``B0`` is the smallest budget on the grid (multiples of
``--step``) whose seed-averaged Pearson r reaches ``--r`` (0.95); ``B0_extrapolated``
is a 1/n-law extrapolation (corrected for the reference's noise) for curves that stop
short; it is pessimistic for Sobol masks.
Compared: the paper's
plain RISE and this package's variants (centred estimator, complementary pairs, Sobol
grids), on a known-ground-truth model and on sample photos. Then the automatic budget
(``stop_at_r``) of the default configuration: passes used and the r it reached.

Reference maps are cached as ``.npy`` under ``--cache`` (default ``/tmp/xai_eff``).
One JSON object per line.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

from xai_core.explainers.rise import RiseRun
from xai_core.testing import ground_truth_model

#: Configurations compared: name -> (sampler, antithetic, estimator).
CONFIGS: dict[str, tuple[str, bool, str]] = {
    "plain": ("random", False, "plain"),
    "centered": ("random", False, "centered"),
    "centered+antithetic": ("random", True, "centered"),
    "sobol": ("sobol", False, "plain"),
    "sobol+centered+antithetic": ("sobol", True, "centered"),
    "default": ("sobol", False, "centered"),
}


def _emit(record: dict) -> None:
    print(json.dumps(record), flush=True)


def _corr(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    a, b = a.ravel().astype(np.float64), b.ravel().astype(np.float64)
    return float(np.corrcoef(a, b)[0, 1]), float(spearmanr(a, b).statistic)


def reference_map(predict, image, target: int, key: str,
                  args: argparse.Namespace) -> dict[str, np.ndarray | float]:
    """Plain and centred maps of ``--ref-seeds`` x ``--ref-masks`` independent masks (cached).

    Also the reference's own noise ceiling: with two or more seeds, the correlation ``r``
    between two seeds' maps gives (Spearman-Brown) the reliability ``R = k r / (1 + (k - 1) r)``
    of their average over k seeds; a perfect map correlates at most ``sqrt(R)`` with it.
    Dividing a correlation by that ceiling corrects it for the reference's noise
    (Spearman's correction for attenuation).
    """
    cache = Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / f"{key}_t{target}_n{args.ref_masks}_s{args.ref_seeds}_perseed.npy"
    if path.exists():
        per_seed = np.load(path)
    else:
        maps = []
        for seed in range(1000, 1000 + args.ref_seeds):
            run = RiseRun(predict, image, max_masks=args.ref_masks, batch_size=args.batch_size,
                          seed=seed, sampler="random", antithetic=False, estimator="plain")
            run.run(target)
            maps.append([run.saliency(target, e) for e in ("plain", "centered")])
        per_seed = np.asarray(maps, np.float32)  # (seeds, 2, H, W)
        np.save(path, per_seed)
    out: dict[str, np.ndarray | float] = {}
    k = per_seed.shape[0]
    for j, e in enumerate(("plain", "centered")):
        out[e] = per_seed[:, j].mean(axis=0)
        if k >= 2:
            rs = [np.corrcoef(per_seed[a, j].ravel(), per_seed[b, j].ravel())[0, 1]
                  for a in range(k) for b in range(a + 1, k)]
            r = max(float(np.mean(rs)), 1e-6)
            out[f"ceiling_{e}"] = float(np.sqrt(k * r / (1 + (k - 1) * r)))
        else:
            out[f"ceiling_{e}"] = 1.0
    return out


def curves(predict, image, target: int, ref: np.ndarray, args: argparse.Namespace,
           names: list[str], ceiling: float = 1.0) -> dict[str, dict]:
    """Pearson/Spearman r against ``ref`` at budgets step, 2 step, ... for each configuration.

    ``B0`` uses the raw Pearson r; ``B0_disattenuated`` the r divided by the reference's
    noise ``ceiling`` (see :func:`reference_map`).
    """
    budgets = list(range(args.step, args.max_masks + 1, args.step))
    res = {n: {"budgets": budgets, "pearson": np.zeros((args.seeds, len(budgets))),
               "spearman": np.zeros((args.seeds, len(budgets)))} for n in names}
    runs_needed: dict[tuple[str, bool], list[str]] = {}
    for n in names:
        sampler, anti, _ = CONFIGS[n]
        runs_needed.setdefault((sampler, anti), []).append(n)
    for (sampler, anti), group in runs_needed.items():
        for seed in range(args.seeds):
            run = RiseRun(predict, image, max_masks=args.max_masks, batch_size=args.batch_size,
                          seed=seed, sampler=sampler, antithetic=anti)
            run.track(target)
            for j, b in enumerate(budgets):
                while run.n_done < b:
                    run.step(min(args.batch_size, b - run.n_done))
                for n in group:
                    pr, sr = _corr(run.saliency(target, CONFIGS[n][2]), ref)
                    res[n]["pearson"][seed, j] = pr
                    res[n]["spearman"][seed, j] = sr
    for n in names:
        mean_p = res[n]["pearson"].mean(axis=0)
        hit = np.flatnonzero(mean_p >= args.r)
        res[n]["B0"] = int(budgets[hit[0]]) if len(hit) else None
        res[n]["B0_extrapolated"] = extrapolate_b0(budgets, mean_p, args.r, ceiling)
        hit = np.flatnonzero(mean_p / ceiling >= args.r)
        res[n]["B0_disattenuated"] = int(budgets[hit[0]]) if len(hit) else None
        res[n]["pearson"] = [round(float(v), 4) for v in mean_p]
        res[n]["spearman"] = [round(float(v), 4) for v in res[n]["spearman"].mean(axis=0)]
    return res


def extrapolate_b0(budgets: list[int], r: np.ndarray, target: float,
                   ceiling: float = 1.0) -> int | None:
    """Budget where ``r`` would reach ``target`` under Monte Carlo's 1/n error decay.

    With independent masks a map is truth + noise of variance c / n, so its correlation
    with a reference of noise ceiling ``ceiling`` is ``ceiling * sqrt(n / (n + c))``.
    Each point of the upper half of the curve gives ``c = n (ceiling^2 / r^2 - 1)``; the
    median c is solved for ``r = target * ceiling``. Right in rate for plain RISE;
    pessimistic for Sobol masks, whose error falls faster. ``None`` without usable points.
    """
    b = np.asarray(budgets, np.float64)
    r = np.asarray(r, np.float64)
    keep = (b >= b.max() / 2) & (r > 0) & (r < ceiling)
    if not keep.any():
        return None
    c = float(np.median(b[keep] * (ceiling**2 / r[keep] ** 2 - 1.0)))
    return round(c / (1.0 / target**2 - 1.0))


def auto_budget(predict, image, target: int, ref: np.ndarray, args: argparse.Namespace) -> list[dict]:
    """Passes used by the default configuration with ``stop_at_r=args.r``, per seed."""
    rows = []
    for seed in range(args.seeds):
        run = RiseRun(predict, image, max_masks=args.max_masks, batch_size=args.batch_size, seed=seed)
        sal = run.run(target, stop_at_r=args.r)
        pr, sr = _corr(sal, ref)
        rows.append({"seed": seed, "passes": run.n_done, "r_estimate": round(run.r_estimate(target), 4),
                     "pearson_vs_ref": round(pr, 4), "spearman_vs_ref": round(sr, 4)})
    return rows


def _case(label: str, predict, image, target: int, args: argparse.Namespace) -> None:
    t0 = time.perf_counter()
    refs = reference_map(predict, image, target, label, args)
    names = list(args.configs)
    plain_b0 = None
    for ref_name in ("plain", "centered"):
        if ref_name == "centered" and not args.both_refs:
            continue
        ceiling = refs[f"ceiling_{ref_name}"]
        res = curves(predict, image, target, refs[ref_name], args, names, ceiling)
        b0 = {n: res[n]["B0"] for n in names}
        for n in names:
            _emit({"section": "efficiency", "case": label, "target": target, "reference": ref_name,
                   "config": n, "sampler": CONFIGS[n][0], "antithetic": CONFIGS[n][1],
                   "estimator": CONFIGS[n][2], "seeds": args.seeds, **res[n]})
        plain, default = b0.get("plain"), b0.get("default")
        if ref_name == "plain":
            plain_b0 = plain
        _emit({"section": "efficiency", "case": label, "what": "B0", "reference": ref_name,
               "r": args.r, **{f"B0_{n}": v for n, v in b0.items()},
               **{f"B0_extrapolated_{n}": res[n]["B0_extrapolated"] for n in names},
               "reference_ceiling": round(ceiling, 4),
               **{f"B0_disattenuated_{n}": res[n]["B0_disattenuated"] for n in names},
               "ratio_plain_over_default": (round(plain / default, 2) if plain and default else None)})
    if "default" in names:
        rows = auto_budget(predict, image, target, refs["plain"], args)
        mean_passes = float(np.mean([r["passes"] for r in rows]))
        _emit({"section": "efficiency", "case": label, "what": "auto", "stop_at_r": args.r,
               "max_masks": args.max_masks, "runs": rows, "mean_passes": mean_passes,
               "saved_vs_n_masks_1000": round(1000 - mean_passes),
               "saved_vs_plain_B0": (round(plain_b0 - mean_passes) if plain_b0 else None)})
    _emit({"section": "efficiency", "case": label, "what": "time", "wall_s": round(time.perf_counter() - t0, 1)})


def bench_efficiency(args: argparse.Namespace) -> None:
    """Budget/correlation curves and B0 of plain RISE and the variants (see module doc)."""
    if not args.skip_ground_truth:
        predict, image = ground_truth_model()
        _case("ground_truth", predict, image, 1, args)
    if args.images:
        from xai_core import load_classifier, load_sample

        clf = load_classifier(args.model)
        for name in args.images:
            img = clf.prepare(load_sample(name))
            target = int(np.argmax(clf.predict(img)[0]))
            _case(f"{clf.name}:{name}", clf.predict, img, target, args)


def register(subparsers) -> argparse.ArgumentParser:
    """Add the ``efficiency`` section to ``python -m benchmarks``."""
    p = subparsers.add_parser("efficiency", help="RISE sample efficiency: r vs budget, B0, auto budget")
    p.add_argument("--model", default="efficientnet_lite0")
    p.add_argument("--images", nargs="*", default=["coffee"], help="sample photos (none: skip)")
    p.add_argument("--skip-ground-truth", action="store_true")
    p.add_argument("--configs", nargs="+", default=["plain", "centered", "sobol", "default"],
                   choices=list(CONFIGS))
    p.add_argument("--max-masks", type=int, default=1024, help="largest budget on the curves")
    p.add_argument("--step", type=int, default=64, help="budget grid step")
    p.add_argument("--seeds", type=int, default=2, help="seeds averaged per curve")
    p.add_argument("--ref-masks", type=int, default=4000, help="masks per reference seed")
    p.add_argument("--ref-seeds", type=int, default=2)
    p.add_argument("--r", type=float, default=0.95, help="target correlation for B0 and auto")
    p.add_argument("--both-refs", action="store_true", help="also score against the centred reference")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--cache", default="/tmp/xai_eff")
    p.set_defaults(func=bench_efficiency)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.efficiency")
    register(parser.add_subparsers(dest="section", required=True))
    args = parser.parse_args(["efficiency", *(argv or [])])
    args.func(args)
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main(sys.argv[1:]))
