"""Issue 15's measurements on EfficientNet-Lite0 and the bundled photos (coffee, chelsea, rocket).

1. Deletion / insertion AUCs of RISE per ``fill`` under two protocols: the project's
   (deleted pixels black, insertion from a blur) and the authors'-code-like one (deleted
   pixels the dataset's mean colour, i.e. 0 after preprocessing; insertion from the blur).
2. The cascading model-randomisation curves (Spearman of the maps and of their absolute
   values, SSIM per stage) of RISE, LIME and Grad-CAM, and the verdict over ``--seeds`` seeds.

Run: ``python -m benchmarks.sanity_report OUT_DIR [--n-masks 500] [--samples 256] [--seeds 3]``; writes
``fill.json``, ``randomization.json`` and prints Markdown tables as results come in.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

import xai_core as xc
from xai_core.explainers.rise import DATASET_MEAN_RGB

IMAGES = ("coffee", "chelsea", "rocket")


def fill_table(clf, out: Path, n_masks: int, steps: int) -> list[dict]:
    rows = []
    grey = np.broadcast_to(np.float32(DATASET_MEAN_RGB[clf.preprocessing]), (*clf.input_size, 3))
    for name in IMAGES:
        img = clf.prepare(xc.load_sample(name))
        target = int(clf.predict(img)[0].argmax())
        for fill in xc.FILLS:
            t0 = time.perf_counter()
            expl = xc.explain_rise(clf.predict, img, target, n_masks=n_masks, fill=fill, seed=0)
            row = {"image": name, "fill": fill, "n_masks": n_masks}
            for proto, dele in (("project", "black"), ("reference", grey.copy())):
                res = xc.faithfulness(clf.predict, img, {"rise": expl.saliency}, target,
                                      steps=steps, deletion_substrate=dele,
                                      insertion_substrate="blur", with_baselines=False)["rise"]
                row[f"{proto}_deletion"] = round(res["deletion"].auc, 4)
                row[f"{proto}_insertion"] = round(res["insertion"].auc, 4)
            row["wall_s"] = round(time.perf_counter() - t0, 1)
            rows.append(row)
            print(json.dumps(row), flush=True)
            (out / "fill.json").write_text(json.dumps(rows, indent=1))
    return rows


def randomization(clf, out: Path, n_masks: int, samples: int,
                  methods: tuple[str, ...] = ("gradcam", "rise", "lime"),
                  fill: str = "black", n_seeds: int = 3) -> list[dict]:
    rows = []
    params = {"rise": {"n_masks": n_masks, "fill": fill}, "lime": {"num_samples": samples},
              "gradcam": {}}
    tag = "" if fill == "black" else f"_{fill}"
    for method in methods:
        for name in IMAGES:
            img = clf.prepare(xc.load_sample(name))
            target = int(clf.predict(img)[0].argmax())
            res = xc.randomization_test(clf, img, target, method=method, seed=0,
                                        n_seeds=n_seeds, **params[method])
            row = {"image": name, **res.record()}
            rows.append(row)
            print(json.dumps({"image": name, "method": method, "fill": fill,
                              "spearman": [round(s, 2) for s in res.spearman],
                              "spearman_abs": [round(s, 2) for s in res.spearman_abs],
                              "ssim": [round(s, 2) for s in res.ssim],
                              "final_by_seed": [round(s, 2) for s in res.final_spearman_seeds],
                              "final_abs_by_seed": [round(s, 2)
                                                    for s in res.final_spearman_abs_seeds],
                              "seed_spearman": row["seed_spearman"],
                              "outcome": row["outcome"], "wall_s": row["wall_time_s"]}),
                  flush=True)
            np.save(out / f"rand_{method}{tag}_{name}.npy", np.stack(res.saliency))
            (out / f"randomization{tag}.json").write_text(json.dumps(rows, indent=1))
    return rows


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("--n-masks", type=int, default=500)
    p.add_argument("--fill-masks", type=int, default=1000)
    p.add_argument("--samples", type=int, default=256)
    p.add_argument("--steps", type=int, default=50)
    p.add_argument("--only", choices=["fill", "randomization"], default=None)
    p.add_argument("--methods", default="gradcam,rise,lime",
                   help="methods of the randomisation test, comma-separated")
    p.add_argument("--rise-fill", default="black", help="RISE's fill in the randomisation test")
    p.add_argument("--seeds", type=int, default=3, help="seeds of the randomisation verdict")
    args = p.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    clf = xc.load_classifier("efficientnet_lite0")
    print(f"engine: {clf.engine}", flush=True)
    if args.only in (None, "fill"):
        fill_table(clf, out, args.fill_masks, args.steps)
    if args.only in (None, "randomization"):
        randomization(clf, out, args.n_masks, args.samples,
                      tuple(args.methods.split(",")), args.rise_fill, args.seeds)


if __name__ == "__main__":
    main()
