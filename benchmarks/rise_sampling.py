"""How RISE should sample its masks: ``python -m benchmarks.rise_sampling [options]``.

Two questions (issue 24), answered on *held-out* known-answer models (analytic black boxes
that no setting of the package was tuned on; defined here) and, optionally, on photos:

1. Fixed budget: which sampling gives the most accurate map for its size? Compared: R
   interleaved, independently scrambled Sobol sequences (R = 1, 2, 4) and plain random
   masks. Accuracy is the Pearson r with a large-budget plain-RISE reference (two
   independent runs of ``--ref-n`` random masks, averaged; r divided by the reference's
   own noise ceiling, Spearman's correction for attenuation).
2. The automatic stop: which construction of the error estimate keeps the promise (no
   check's stops below r* in more than 5% of runs) and stops early? Compared:

   - ``interleaved4``: the previous release: 4 interleaved independent sequences, noise
     dimension estimated from the same 3 contrasts that estimate the noise;
   - ``blocks4-same``: one sequence (the map of a fixed budget), its 4 consecutive
     blocks at each check, dimension from the same contrasts (the package's default);
   - ``blocks4-within``: one sequence, 4 blocks, the dimension estimated from the two
     halves of each block (4 within-block contrasts, independent of the between-block
     ones for independent blocks);
   - ``blocks2-within``: one sequence, 2 blocks of 4 sub-blocks each;
   - ``hybrid``: stop when either ``blocks4-same`` or ``blocks2-within`` holds, each at
     half the level.

All runs of a seed share one plan, so the comparison is paired. One JSON object per line,
then tables.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from xai_core.explainers.rise.masks import plan_masks
from xai_core.stats import STOP_ALPHA, doubling_looks, noise_dof, noise_dof_within, replicate_r
from xai_core.testing import ground_truth_model

Predict = Callable[[np.ndarray], np.ndarray]


# ----------------------------------------------------------------------------------------
# Held-out known-answer models (64 x 64, class 1 explained)
# ----------------------------------------------------------------------------------------

def _grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    y, x = np.mgrid[0:size, 0:size].astype(np.float32)
    return y / size, x / size


def disk_model(size: int = 64) -> tuple[Predict, np.ndarray]:
    """A scene with a planted disk: the score rises with the disk's brightness and falls
    with a bar's, with an interaction (the disk counts more while the bar is dark)."""
    y, x = _grid(size)
    disk = ((y - 0.35) ** 2 + (x - 0.62) ** 2 < 0.16**2).astype(np.float32)
    bar = ((np.abs(y - 0.75) < 0.06) & (x > 0.15) & (x < 0.55)).astype(np.float32)
    wd, wb = disk / disk.sum(), bar / bar.sum()

    def predict(images: np.ndarray) -> np.ndarray:
        g = np.asarray(images, np.float32).mean(axis=3) / 255.0
        d = np.tensordot(g, wd, axes=([1, 2], [0, 1]))
        b = np.tensordot(g, wb, axes=([1, 2], [0, 1]))
        z = 5.0 * d - 2.0 * b - 1.5 * d * b - 0.8
        s = 1.0 / (1.0 + np.exp(-z))
        return np.stack([1.0 - s, s], axis=1).astype(np.float32)

    rng = np.random.default_rng(7)
    img = 140.0 + 60.0 * rng.random((size, size, 3)) + 50.0 * disk[..., None]
    return predict, np.clip(img, 0, 255).astype(np.float32)


def texture_model(size: int = 64) -> tuple[Predict, np.ndarray]:
    """A textured scene: the score reads the texture's contrast in a soft window (the
    mean absolute difference of horizontal neighbours, weighted by a Gaussian), so it
    depends on the texture itself, not only on brightness; a second, weaker window
    lowers it."""
    y, x = _grid(size)
    w1 = np.exp(-((y - 0.3) ** 2 + (x - 0.3) ** 2) / (2 * 0.12**2))[:, :-1]
    w2 = np.exp(-((y - 0.7) ** 2 + (x - 0.7) ** 2) / (2 * 0.1**2))[:, :-1]
    w1, w2 = (w1 / w1.sum()).astype(np.float32), (w2 / w2.sum()).astype(np.float32)

    def predict(images: np.ndarray) -> np.ndarray:
        g = np.asarray(images, np.float32).mean(axis=3) / 255.0
        edge = np.abs(np.diff(g, axis=2))
        c1 = np.tensordot(edge, w1, axes=([1, 2], [0, 1]))
        c2 = np.tensordot(edge, w2, axes=([1, 2], [0, 1]))
        s = 1.0 / (1.0 + np.exp(-(12.0 * c1 - 6.0 * c2 - 0.5)))
        return np.stack([1.0 - s, s], axis=1).astype(np.float32)

    stripes = 0.5 + 0.5 * np.sin(2 * np.pi * (6 * x + 3 * y))
    rng = np.random.default_rng(11)
    img = 80.0 + 120.0 * stripes[..., None] + 30.0 * rng.random((size, size, 3))
    return predict, np.clip(img, 0, 255).astype(np.float32)


def three_regions_model(size: int = 64) -> tuple[Predict, np.ndarray]:
    """The tests' known-answer model (:func:`xai_core.testing.ground_truth_model`): the
    model the stop was tuned on, not held out."""
    return ground_truth_model(size)


def blobs_model(size: int = 64) -> tuple[Predict, np.ndarray]:
    """A busy scene: twelve small Gaussian blobs of either sign and an interaction of the
    two strongest, through a steep sigmoid: a detailed map, much like a photo's."""
    y, x = _grid(size)
    rng = np.random.default_rng(5)
    centres = rng.uniform(0.1, 0.9, (12, 2))
    widths = rng.uniform(0.03, 0.07, 12)
    signs = np.where(np.arange(12) % 3 == 2, -1.0, 1.0) * rng.uniform(0.5, 1.5, 12)
    w = np.stack([np.exp(-((y - cy) ** 2 + (x - cx) ** 2) / (2 * s**2))
                  for (cy, cx), s in zip(centres, widths, strict=True)])
    w = (w / w.sum(axis=(1, 2), keepdims=True)).astype(np.float32)

    def predict(images: np.ndarray) -> np.ndarray:
        g = np.asarray(images, np.float32).mean(axis=3) / 255.0
        b = np.tensordot(g, w, axes=([1, 2], [1, 2]))  # (N, 12)
        z = 4.0 * (b @ signs) / np.abs(signs).sum() * 3.0 + 4.0 * b[:, 0] * b[:, 1] - 2.0
        s = 1.0 / (1.0 + np.exp(-2.0 * z))
        return np.stack([1.0 - s, s], axis=1).astype(np.float32)

    img = 120.0 + 100.0 * rng.random((size, size, 3))
    return predict, img.astype(np.float32)


def threshold_model(size: int = 64) -> tuple[Predict, np.ndarray]:
    """A near-threshold black box: the score jumps once a small square is mostly shown,
    so a few mask patterns dominate the noise (a low noise dimension, the hard case
    for the stop's bound)."""
    q = size // 8

    def predict(images: np.ndarray) -> np.ndarray:
        g = np.asarray(images, np.float32)[:, 3 * q:5 * q, 2 * q:4 * q].mean(axis=(1, 2, 3))
        s = 1.0 / (1.0 + np.exp(-20.0 * (g / 255.0 - 0.45)))
        return np.stack([1.0 - s, s], axis=1).astype(np.float32)

    rng = np.random.default_rng(3)
    return predict, (150.0 + 80.0 * rng.random((size, size, 3))).astype(np.float32)


MODELS = {"disk": disk_model, "texture": texture_model, "blobs": blobs_model,
          "threshold": threshold_model, "three-regions": three_regions_model}


# ----------------------------------------------------------------------------------------
# Maps from a plan's scores
# ----------------------------------------------------------------------------------------

def _scores_and_masks(predict: Predict, image: np.ndarray, plan, target: int,
                      chunk: int = 512) -> tuple[np.ndarray, np.ndarray]:
    n = plan.n_masks
    masks = np.empty((n, image.shape[0] * image.shape[1]), np.float32)
    scores = np.empty(n, np.float64)
    for a in range(0, n, chunk):
        b = min(a + chunk, n)
        m = plan.render(a, b)
        masks[a:b] = m.reshape(b - a, -1)
        scores[a:b] = predict(m[..., None] * image[None])[:, target]
    return scores, masks


def centred(scores: np.ndarray, masks: np.ndarray, p: float) -> np.ndarray:
    """The centred RISE map of these masks (float64, flat)."""
    s = scores - scores.mean()
    return scores.mean() + (s @ masks) / (len(scores) * p)


def plain(scores: np.ndarray, masks: np.ndarray, p: float) -> np.ndarray:
    return (scores @ masks) / (len(scores) * p)


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a.ravel(), b.ravel())[0, 1])


def reference(predict: Predict, image: np.ndarray, target: int, n: int,
              p: float = 0.5, s: int = 7, sobol: bool = False) -> tuple[np.ndarray, float]:
    """Average of two independent plain-RISE maps of ``n`` random masks (``sobol``: two
    centred maps of one scrambled Sobol sequence each), and its noise ceiling
    ``sqrt(2 c / (1 + c))`` (c: the two maps' correlation)."""
    maps = []
    for seed in (900_001, 900_002):
        rng = np.random.default_rng(seed)
        if sobol:
            plan = plan_masks(n, s, p, image.shape[:2], rng, sampler="sobol")
        else:
            plan = plan_masks(n, s, p, image.shape[:2], rng)
        ws = msum = 0.0
        total = 0.0
        for a in range(0, n, 256):  # streamed: a photo's masks do not fit in memory
            b = min(a + 256, n)
            m = plan.render(a, b)
            sc = predict(m[..., None] * image[None])[:, target].astype(np.float64)
            flat = m.reshape(b - a, -1)
            ws = ws + sc @ flat
            msum = msum + flat.sum(axis=0, dtype=np.float64)
            total += float(sc.sum())
        mean = total / n
        maps.append(mean + (ws - mean * msum) / (n * p) if sobol else ws / (n * p))
    c = max(_corr(*maps), 1e-6)
    return np.mean(maps, axis=0), float(np.sqrt(2 * c / (1 + c)))


# ----------------------------------------------------------------------------------------
# The stop's candidates
# ----------------------------------------------------------------------------------------

def _group_maps(scores: np.ndarray, masks: np.ndarray, n: int, groups: int,
                p: float, interleaved: bool) -> np.ndarray:
    """(groups, P) centred maps of the first ``n`` masks split into ``groups``."""
    idx = np.arange(n)
    lab = idx % groups if interleaved else idx // (n // groups)
    return np.stack([centred(scores[:n][lab == g], masks[:n][lab == g], p)
                     for g in range(groups)])


def bound(name: str, scores: np.ndarray, masks: np.ndarray, n: int, p: float,
          alpha: float) -> tuple[float, float]:
    """(estimate, lower bound) of the candidate ``name`` at ``n`` masks."""
    if name == "interleaved4":
        maps = _group_maps(scores, masks, n, 4, p, True)
        dof = noise_dof(maps)
    elif name == "blocks4-same":
        maps = _group_maps(scores, masks, n, 4, p, False)
        dof = noise_dof(maps)
    elif name.startswith("hybrid"):  # either of two bounds, the level split between them
        share = int(name[6:] or 50) / 100  # the quarters' share
        a = bound("blocks4-same", scores, masks, n, p, alpha * share)
        b = bound("blocks2-within", scores, masks, n, p, alpha * (1 - share))
        return a[0], max(a[1], b[1])
    elif name.startswith("blocks"):
        r = int(name[6])
        sub = _group_maps(scores, masks, n, 8, p, False)
        maps = _group_maps(scores, masks, n, r, p, False)
        dof = noise_dof_within(sub, r)
    else:
        raise ValueError(name)
    return replicate_r(maps), replicate_r(maps, dof_per_replicate=dof, alpha=alpha)


CANDIDATES = ("interleaved4", "blocks4-same", "blocks4-within", "blocks2-within", "hybrid",
              "hybrid75", "hybrid90")
CHECKS = (64, 128, 256, 512, 1024)


def simulate(model: str, args: argparse.Namespace, predict: Predict | None = None,
             image: np.ndarray | None = None, target: int = 1,
             samplings: tuple[str, ...] = ("random", "sobol1", "sobol2", "sobol4"),
             candidates: tuple[str, ...] = CANDIDATES) -> list[dict]:
    """Fixed-budget accuracy of each sampling and the stops of each candidate, per seed
    (one sampling's masks at a time, so a photo's 224 x 224 masks fit in memory)."""
    if predict is None:
        predict, image = MODELS[model]()
    p, cap = 0.5, CHECKS[-1]
    t0 = time.perf_counter()
    cache = Path(args.cache) / f"{model.replace(':', '_')}_t{target}_n{args.ref_n}_{image.shape[0]}" \
        f"{'_sobol' if args.sobol_ref else ''}.npz"
    if cache.exists():
        saved = np.load(cache)
        ref, ceiling = saved["ref"], float(saved["ceiling"])
    else:
        ref, ceiling = reference(predict, image, target, args.ref_n, sobol=args.sobol_ref)
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.savez(cache, ref=ref, ceiling=ceiling)
    looks = doubling_looks(CHECKS[0], cap)
    fixed = {k: {n: [] for n in CHECKS} for k in samplings}
    stops = {c: [] for c in candidates}  # (n stopped, r there, auto?)
    uses = {c: "sobol4" if c == "interleaved4" else "sobol1" for c in candidates}
    for seed in range(args.seed0, args.seed0 + args.seeds):
        for k in samplings:
            rng = np.random.default_rng(seed)
            plan = (plan_masks(cap, 7, p, image.shape[:2], rng) if k == "random" else
                    plan_masks(cap, 7, p, image.shape[:2], rng, sampler="sobol",
                               replicates=int(k[5:])))
            sc, m = _scores_and_masks(predict, image, plan, target)
            for n in CHECKS:
                fixed[k][n].append(_corr(centred(sc[:n], m[:n], p), ref) / ceiling)
            for c in candidates:
                if uses[c] != k:
                    continue
                for n in CHECKS:
                    _, low = bound(c, sc, m, n, p, STOP_ALPHA / looks)
                    if low >= args.r or n == cap:
                        r_true = _corr(centred(sc[:n], m[:n], p), ref) / ceiling
                        stops[c].append((n, r_true, low >= args.r))
                        break
            del m
    rows = []
    for k, per_n in fixed.items():
        row = {"section": "fixed", "model": model, "sampling": k, "seeds": args.seeds,
               "ceiling": round(ceiling, 4)}
        for n, rs in per_n.items():
            row[f"mean_r_{n}"] = round(float(np.mean(rs)), 4)
            row[f"worst_r_{n}"] = round(float(np.min(rs)), 4)
        rows.append(row)
    for c, st in stops.items():
        ns = np.array([s[0] for s in st])
        rs = np.array([s[1] for s in st])
        auto = np.array([s[2] for s in st])
        per_check = {}
        for n in CHECKS:
            sel = (ns == n) & auto
            per_check[str(n)] = [int(sel.sum()), int((rs[sel] < args.r).sum())]
        rows.append({"section": "stop", "model": model, "candidate": c, "seeds": args.seeds,
                     "median_stop": float(np.median(ns)), "auto_stops": int(auto.sum()),
                     "short_overall": int(((rs < args.r) & auto).sum()),
                     "per_check_stops_short": per_check,
                     "min_r_auto": round(float(rs[auto].min()), 4) if auto.any() else None})
    rows.append({"section": "time", "model": model, "wall_s": round(time.perf_counter() - t0, 1)})
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.rise_sampling")
    ap.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    ap.add_argument("--seeds", type=int, default=16)
    ap.add_argument("--seed0", type=int, default=0)
    ap.add_argument("--ref-n", type=int, default=32768)
    ap.add_argument("--r", type=float, default=0.95)
    ap.add_argument("--photos", nargs="*", default=[],
                    help="sample photos on --model instead of the analytic models")
    ap.add_argument("--model", default="efficientnet_lite0")
    ap.add_argument("--samplings", nargs="+", default=["random", "sobol1", "sobol2", "sobol4"])
    ap.add_argument("--sobol-ref", action="store_true",
                    help="reference from one Sobol sequence per seed (photos: cheaper)")
    ap.add_argument("--cache", default="/tmp/xai_rise_sampling", help="reference maps (.npz)")
    ap.add_argument("--candidates", nargs="+", default=list(CANDIDATES), choices=CANDIDATES)
    args = ap.parse_args(argv)
    if args.photos:
        from xai_core import load_classifier, load_sample

        clf = load_classifier(args.model)
        for name in args.photos:
            img = clf.prepare(load_sample(name))
            target = int(np.argmax(clf.predict(img)[0]))
            for row in simulate(f"{clf.name}:{name}", args, clf.predict, img, target,
                                tuple(args.samplings), tuple(args.candidates)):
                print(json.dumps(row), flush=True)
        return 0
    for model in args.models:
        for row in simulate(model, args, samplings=tuple(args.samplings),
                            candidates=tuple(args.candidates)):
            print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main(sys.argv[1:]))
