"""Command line: ``python -m xai_core IMAGE_OR_FOLDER ... [options]``.

Explains one image, several, or every image in a folder with RISE and/or LIME and
writes, per image and method, the heatmap / overlay / isolines PNGs (or one grid PNG),
the raw map as ``.npy`` and a JSON record. Exit codes: 0 all explained, 1 some inputs
were skipped, 2 bad input or settings (nothing explained).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

from xai_core._cli_common import Parser, UsageError
from xai_core.errors import ImageError, ModelLoadError
from xai_core.names import printable, safe_stem

__all__ = ["ProgressBar", "UsageError", "main", "run"]


class ProgressBar:
    """A one-line progress bar on stderr with an estimate of the time left."""

    def __init__(self, label: str, stream=sys.stderr, width: int = 28):
        self.label, self.stream, self.width = label, stream, width
        self.t0 = time.perf_counter()
        self._last = 0.0

    def __call__(self, done: int, total: int) -> None:
        now = time.perf_counter()
        if done < total and now - self._last < 0.25:
            return
        self._last = now
        frac = done / max(total, 1)
        elapsed = now - self.t0
        eta = elapsed / frac - elapsed if frac > 0 else 0.0
        bar = "#" * round(frac * self.width)
        end = "\n" if done >= total else ""
        self.stream.write(
            f"\r  {self.label:<5} [{bar:<{self.width}}] {done}/{total} "
            f"{elapsed:5.1f}s elapsed, ~{eta:4.0f}s left{end}"
        )
        self.stream.flush()


def _parser() -> argparse.ArgumentParser:
    p = Parser(
        prog="python -m xai_core",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        description="Explain image classifiers with RISE and LIME (and Grad-CAM, a white-box "
                    "reference); write PNGs, .npy maps and JSON records.",
        epilog="Example: python -m xai_core --sample chelsea --method both --out out/",
    )
    p.add_argument("inputs", nargs="*", help="image files or folders of images")
    p.add_argument("--sample", action="append", default=[],
                   help="a built-in sample photo (chelsea, coffee, rocket, ...); may repeat")
    p.add_argument("--method", choices=["rise", "lime", "gradcam", "both", "all"], default="rise",
                   help="both = rise and lime; all = rise, lime and gradcam (white-box: needs "
                        "the Keras model and a convolutional layer)")
    p.add_argument("--model", default="efficientnet_lite0",
                   help="efficientnet_lite0 (offline), resnet50 (or ResNet), xception, or a "
                        ".keras file; names in any case")
    p.add_argument("--preprocessing", default="none",
                   help="for a .keras model: none, unit, tf, caffe, torch or lite")
    p.add_argument("--logits", action="store_true",
                   help="for a .keras model that outputs logits: apply a softmax")
    p.add_argument("--target", default="top1",
                   help='class to explain: top1, top2, ..., a class index, or a name ("tabby")')
    p.add_argument("--fixed-budget", action="store_true",
                   help="use all --n-masks / --num-samples instead of stopping once the map "
                        "correlates r >= 0.95 with its infinite-budget limit (95%% confidence)")
    g = p.add_argument_group("RISE")
    g.add_argument("--n-masks", type=int, default=1024, help="masks (the cap unless --fixed-budget)")
    g.add_argument("--mask-size", type=int, default=7)
    g.add_argument("--keep-prob", type=float, default=0.5)
    g.add_argument("--fill", default="black",
                   help="what a hidden pixel becomes: black, mean (the image's mean colour), "
                        "dataset_mean (the preprocessing's mean colour, as in the authors' "
                        "code), blur, or R,G,B")
    g = p.add_argument_group("LIME")
    g.add_argument("--num-samples", type=int, default=1000,
                   help="perturbed images (the cap unless --fixed-budget)")
    g.add_argument("--num-features", type=int, default=100000)
    g.add_argument("--hide-color", default="mean",
                   help='"mean", "blur", a colour name ("black", "blue", ...) or "R,G,B"')
    g.add_argument("--segmentation", default="quickshift",
                   choices=["quickshift", "slic", "felzenszwalb"])
    g.add_argument("--positive-only", action="store_true")
    g = p.add_argument_group("Grad-CAM")
    g.add_argument("--layer", default=None,
                   help="convolutional layer to use (default: the last one)")
    g = p.add_argument_group("output")
    g.add_argument("--display", choices=["grid", "singles"], default="singles")
    g.add_argument("--out", default="out", help="output folder (default: out)")
    g.add_argument("--colormap", default=None, help="jet, viridis, inferno, magma, gray, RdBu")
    g.add_argument("--alpha", type=float, default=0.5, help="overlay opacity in [0, 1]")
    g.add_argument("--levels", type=int, default=8, help="number of isoline levels")
    g.add_argument("--level-mode", choices=["value", "quantile"], default="value",
                   help="isoline levels evenly spaced in value or in quantile")
    g = p.add_argument_group("faithfulness")
    g.add_argument("--metrics", action="store_true",
                   help="add deletion/insertion AUCs (and the random and centre baselines') "
                        "to the JSON record")
    g.add_argument("--metrics-steps", type=int, default=100,
                   help="steps of the deletion/insertion curves (default 100)")
    g.add_argument("--sanity", action="store_true",
                   help="also run the model-randomisation sanity check of each method "
                        "(Adebayo et al., 2018): writes <...>_sanity.png (the trained map and "
                        "each stage's) and <...>_sanity.json (Spearman and SSIM per stage)")
    g.add_argument("--sanity-stages", type=int, default=8,
                   help="most randomisation stages (deep models' layers are grouped)")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    return p


def _fill(text: str):
    parts = text.split(",")
    if len(parts) == 3:
        try:
            return tuple(float(v) for v in parts)
        except ValueError:
            raise UsageError(f"--fill {text!r}: write a colour as R,G,B numbers") from None
    return text


def _hide_color(text: str):
    parts = text.split(",")
    if len(parts) == 3:
        try:
            return tuple(float(v) for v in parts)
        except ValueError:
            raise UsageError(f"--hide-color {text!r}: write a colour as R,G,B numbers") from None
    return text


def _expand_inputs(inputs: list[str]) -> Iterator[Path]:
    from xai_core.images import list_images

    for item in inputs:
        path = Path(item)
        if path.is_dir():
            files = list_images(path)
            if not files:
                print(f"warning: no image files in folder {printable(str(path))}", file=sys.stderr)
            yield from files
        elif not path.exists():
            raise UsageError(f"no such file or folder: {printable(str(path))}")
        else:
            yield path


def _output_stems(items: list[Path | str]) -> list[str]:
    """A distinct output name per input (a file's :class:`Path` or a sample's name).

    A name used once is the file stem (or the sample's name). Names shared, ignoring
    case, get what tells them apart: ``sample-NAME`` for samples, and for files as many
    parent folders as needed plus the suffix (``p/q/x.png``, ``r/q/x.png`` ->
    ``p-q-x-png``, ``r-q-x-png``). The same input given twice gets ``-2``, ``-3``, ...
    """
    def key(stem: str) -> str:
        return stem.lower()

    base = [Path(it).stem if isinstance(it, Path) else Path(str(it)).name or "sample"
            for it in items]
    counts: dict[str, int] = {}
    for stem in base:
        counts[key(stem)] = counts.get(key(stem), 0) + 1
    stems = list(base)
    for group in {key(s) for s in base if counts[key(s)] > 1}:
        members = [i for i, s in enumerate(base) if key(s) == group]
        files = [i for i in members if isinstance(items[i], Path)]
        for i in members:
            if not isinstance(items[i], Path):
                stems[i] = f"sample-{base[i]}"
        parts = {i: Path(os.path.abspath(items[i])).parts for i in files}
        depth = max((len(p) for p in parts.values()), default=1)
        for k in range(1, depth + 1):
            names = {i: "-".join(p for p in [*parts[i][-k:-1], base[i],
                                             items[i].suffix.lstrip(".")] if p.strip(os.sep))
                     for i in files}
            if len({key(n) for n in names.values()}) == len(set(parts.values())) or k == depth:
                for i, name in names.items():
                    stems[i] = name
                break
    seen: dict[str, int] = {}
    out = []
    for stem in map(safe_stem, stems):  # no control characters in the names written
        name, n = stem, 1
        while key(name) in seen:
            n += 1
            name = f"{stem}-{n}"
        seen[key(name)] = 1
        out.append(name)
    return out


def _prepare_out_dir(out: str) -> Path:
    path = Path(out)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"--out {out}: cannot write there ({exc.strerror or exc})") from None
    return path


def run(argv: list[str] | None = None) -> int:
    """Parse ``argv``, explain every input, return the exit code (0, 1 or 2)."""
    args = _parser().parse_args(argv)
    if not args.inputs and not args.sample:
        raise UsageError("give at least one image file, folder, or --sample NAME")
    from xai_core.explain import explain, faithfulness_of, resolve_target
    from xai_core.export import export_files, sanity_bytes
    from xai_core.images import load_image, load_sample
    from xai_core.models import load_classifier
    from xai_core.sanity import randomization_test
    from xai_core.viz import COLORMAPS

    if args.colormap is not None and args.colormap not in COLORMAPS:
        raise UsageError(f"--colormap {args.colormap!r}: choose one of {', '.join(COLORMAPS)}")
    if not 0.0 <= args.alpha <= 1.0:
        raise UsageError(f"--alpha must be between 0 and 1; got {args.alpha}")
    methods = {"both": ["rise", "lime"], "all": ["rise", "lime", "gradcam"]}.get(
        args.method, [args.method])
    params = {
        "rise": {"n_masks": args.n_masks, "mask_size": args.mask_size, "keep_prob": args.keep_prob,
                 "fill": _fill(args.fill)},
        "gradcam": {"layer": args.layer},
        "lime": {"num_samples": args.num_samples, "num_features": args.num_features,
                 "hide_color": _hide_color(args.hide_color), "segmentation": args.segmentation,
                 "positive_only": args.positive_only},
    }
    if args.fixed_budget:
        for method_params in params.values():
            method_params["stop_at_r"] = None
    _check_params(methods, params, args)
    files = list(_expand_inputs(args.inputs))
    items: list[Path | str] = [*args.sample, *files]
    labels = [printable(f"sample:{s}") for s in args.sample] + [printable(str(p)) for p in files]
    sources = list(zip(labels, items, _output_stems(items), strict=True))
    if not sources:
        raise UsageError("no images to explain")
    out_dir = _prepare_out_dir(args.out)
    clf = load_classifier(args.model, preprocessing=args.preprocessing,
                          outputs_logits=args.logits)
    _check_rank(args.target, clf.name, len(clf.class_names))
    done = failed = 0
    for i, (label, src, stem) in enumerate(sources, 1):
        print(f"[{i}/{len(sources)}] {label} · {clf.name}", file=sys.stderr)
        try:
            raw = load_sample(src) if label.startswith("sample:") else load_image(src)
            image = clf.prepare(raw)
            probabilities = clf.predict(image)[0]
            target = resolve_target(args.target, clf.class_names, probabilities)
            rank = int((probabilities > probabilities[target]).sum())  # 0: the most probable
        except (ImageError, ValueError, OSError) as exc:
            print(f"error: {label}: {exc} (skipped)", file=sys.stderr)
            failed += 1
            continue
        name = printable(src if label.startswith("sample:") else Path(src).name)
        try:
            for method in methods:
                bar = None if args.quiet else ProgressBar(method.upper())
                expl = explain(clf.predict, image, method, target, class_names=clf.class_names,
                               params=params[method], seed=args.seed, batch_size=args.batch_size,
                               progress=bar, model_name=clf.name, image_name=str(name))
                expl = replace(expl, extra={**expl.extra, "target_rank": rank})
                if args.metrics:
                    bar = None if args.quiet else ProgressBar("AUC")
                    scores = faithfulness_of(expl, clf.predict, steps=args.metrics_steps,
                                             batch_size=args.batch_size, progress=bar)
                    expl = replace(expl, extra={**expl.extra, "metrics": scores})
                written = export_files(expl, out_dir, display=args.display, colormap=args.colormap,
                                       alpha=args.alpha, n_levels=args.levels,
                                       level_mode=args.level_mode, stem=stem)
                print(f"{label}\t{clf.name}\t{method}\t{expl.target_label} "
                      f"({_ordinal(rank + 1)} most probable, p={expl.probability:.3f})\t"
                      f"{expl.wall_s:.1f}s\t{len(written)} files in {out_dir}")
                if args.sanity:
                    bar = None if args.quiet else ProgressBar("SANITY")
                    res = randomization_test(clf, image, target, method=method, seed=args.seed,
                                             max_stages=args.sanity_stages,
                                             batch_size=args.batch_size, progress=bar,
                                             **params[method])
                    files = sanity_bytes(res, image, f"{stem}_{clf.name}_{method}",
                                         colormap=args.colormap)
                    for fname, data in files.items():
                        (out_dir / fname).write_bytes(data)
                    rhos = " ".join(f"{r:.2f}" for r in res.spearman)
                    print(f"{label}\t{method}\tsanity: Spearman per stage {rhos}\t"
                          f"{'passed' if res.passed() else res.outcome().upper()}")
        except KeyboardInterrupt:
            raise
        except Exception as exc:  # one image's failure must not end a folder run
            print(f"error: {label}: {type(exc).__name__}: {exc} (skipped)", file=sys.stderr)
            failed += 1
            continue
        done += 1
    if done == 0:
        return 2
    return 1 if failed else 0


def _ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 4th, ..., 11th, 12th, 13th, ..., 21st."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _check_rank(target: str, model: str, n_classes: int) -> None:
    """Refuse ``topK`` past the model's classes once, before any image is read."""
    low = target.strip().lower()
    if not (low.startswith("top") and low[3:].isdigit()):
        return
    rank = int(low[3:])
    if rank < 1:
        raise UsageError(f"--target {target}: ranks start at top1 (the most probable class)")
    if rank > n_classes:
        raise UsageError(f"cannot explain the {_ordinal(rank)} most probable class: "
                         f"the model {model} has {n_classes} classes")


def _check_params(methods: list[str], params: dict, args: argparse.Namespace) -> None:
    """Validate every parameter before any model is loaded, so mistakes fail fast."""
    from xai_core.explainers.lime import check_lime_params
    from xai_core.explainers.rise import check_fill, check_rise_params

    if "rise" in methods:
        check_rise_params(args.n_masks, args.mask_size, args.keep_prob, args.batch_size)
        if params["rise"]["fill"] != "dataset_mean":  # that one needs the model: checked later
            check_fill(params["rise"]["fill"])
    if "lime" in methods:
        check_lime_params(**{k: v for k, v in params["lime"].items() if k != "stop_at_r"},
                          batch_size=args.batch_size)
    if args.seed < 0:
        raise UsageError(f"--seed must be 0 or more; got {args.seed}")
    from xai_core.viz.contours import _MAX_LEVELS as MAX_LEVELS

    if not 1 <= args.levels <= MAX_LEVELS:
        raise UsageError(f"--levels must be between 1 and {MAX_LEVELS}; got {args.levels}")
    if not 1 <= args.sanity_stages <= 100:
        raise UsageError(f"--sanity-stages must be between 1 and 100; got {args.sanity_stages}")
    if not 1 <= args.metrics_steps <= 1000:
        raise UsageError(f"--metrics-steps must be between 1 and 1000; got {args.metrics_steps}")


def main(argv: list[str] | None = None) -> int:
    """Entry point: one clear line on stderr and exit code 2 for bad input, no traceback.

    ``saliency-lab study ...`` (first argument ``study``) runs a dataset study instead:
    see :mod:`xai_core.study`.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    args = sys.argv[1:] if argv is None else list(argv)
    if args[:1] == ["study"]:
        from xai_core.study import main as study_main

        return study_main(args[1:])
    if args[:1] == ["warm"]:  # every dashboard page's default results into the store
        from xai_core.warm import main as warm_main

        return warm_main(args[1:])
    argv = args
    try:
        return run(argv)
    except (UsageError, ImageError, ModelLoadError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
