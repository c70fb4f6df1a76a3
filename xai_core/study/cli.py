"""``python -m xai_core.study``: a dataset study on Ray, and its summary.

``python -m xai_core.study DATA --models A,B --methods rise,lime --set rise.mask_size=7,15
--out DIR`` explains every image of DATA with every model and setting, scores each map
with deletion and insertion under the chosen protocols and appends one row per image x
model x setting x protocol to ``DIR/results.csv``. Rerunning the same command computes
only the missing rows. ``python -m xai_core.study summarize DIR`` writes ``DIR/summary.md``.

Exit codes: 0 every row ok, 1 some rows failed (their ``status`` says why), 2 bad
arguments (one ``error:`` line on stderr), 130 interrupted (finished rows are kept).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from xai_core._cli_common import Parser, UsageError

PROG = "python -m xai_core.study"


def _parser() -> argparse.ArgumentParser:
    p = Parser(
        prog=PROG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Explain every image of a folder with several models, methods and settings "
                    "on Ray; write one row per image, model, setting and protocol to "
                    "OUT/results.csv (resumable).\nSummary: python -m xai_core.study summarize OUT",
        epilog="Example: python -m xai_core.study data --models efficientnet_lite0 "
               "--methods rise,lime --set rise.mask_size=7,15 --set rise.n_masks=500 "
               "--set lime.num_samples=300 --protocol lab,rise-reference --out study/lite0",
    )
    p.add_argument("data", help="folder of images: DATA/<class>/<image> or images directly in DATA")
    p.add_argument("--models", default="efficientnet_lite0",
                   help="comma-separated: efficientnet_lite0, resnet50 (or ResNet), xception or "
                        ".keras files (default: efficientnet_lite0)")
    p.add_argument("--methods", default="rise", help="comma-separated: rise, lime (default: rise)")
    p.add_argument("--set", action="append", default=[], metavar="METHOD.NAME=V1,V2",
                   help="a parameter's values; several values span a grid (may repeat), "
                        "e.g. rise.mask_size=7,15")
    p.add_argument("--protocol", default="lab",
                   help="comma-separated deletion/insertion protocols: lab, rise-reference "
                        "(default: lab)")
    p.add_argument("--out", required=True, help="results folder (created; reused to resume)")
    p.add_argument("--address", default=None,
                   help="an existing Ray cluster: auto or ray://host:10001 "
                        "(default: start Ray in this process)")
    p.add_argument("--workers", type=int, default=None,
                   help="model replicas (actors) at once (default: the machine's or the "
                        "cluster's CPUs)")
    p.add_argument("--save-maps", action="store_true", help="also write each map as .npy")
    p.add_argument("--seed", type=int, default=0, help="seed of every explanation and curve")
    p.add_argument("--preprocessing", default="none",
                   help="for .keras model files: none, unit, tf, lite, caffe or torch")
    p.add_argument("--engine", default=None, help="auto, keras or litert (default: auto)")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--retry-failed", action="store_true",
                   help="recompute rows whose status is an error (default: keep them)")
    p.add_argument("--quiet", action="store_true", help="no progress line")
    return p


def _split(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


class Progress:
    """One progress line on stderr: a bar, rows done and failed, time left."""

    def __init__(self, total: int, stream=None, width: int = 24) -> None:
        self.stream = sys.stderr if stream is None else stream
        self.total, self.width = total, width
        self.done = self.failed = 0
        self.t0 = time.perf_counter()
        self._last = 0.0
        # a terminal gets one line redrawn in place; a log file a new line every 10 s
        self._tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._every = 0.5 if self._tty else 10.0

    def add(self, rows: int, failed: int) -> None:
        self.done += rows
        self.failed += failed
        now = time.perf_counter()
        if self.done < self.total and now - self._last < self._every:
            return
        self._last = now
        frac = self.done / max(self.total, 1)
        elapsed = now - self.t0
        left = elapsed / frac - elapsed if frac > 0 else float("nan")
        left_text = f"~{left:4.0f}s left" if left == left else "   ?s left"
        bar = "#" * round(frac * self.width)
        start, end = ("\r", "\n" if self.done >= self.total else "") if self._tty else ("", "\n")
        self.stream.write(f"{start}  study [{bar:<{self.width}}] {self.done}/{self.total} rows, "
                          f"{self.failed} failed, {elapsed:5.0f}s elapsed, {left_text}{end}")
        self.stream.flush()


def _versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {"python": platform.python_version()}
    for pkg in ("saliency-lab", "numpy", "tensorflow-cpu", "tensorflow", "keras", "ray",
                "ai-edge-litert", "scikit-image", "lime"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            continue
    return out


def _write_json(path: Path, record: dict[str, Any]) -> None:
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def _check_models(models: list[str]) -> list[str]:
    """The models by their canonical names (``ResNet`` -> ``resnet50``), each checked."""
    from xai_core.models import MODEL_NAMES, resolve_model_name

    names = [resolve_model_name(m) for m in models]
    for m in names:
        if m in MODEL_NAMES:
            continue
        if m.lower().endswith(".keras"):
            if not Path(m).is_file():
                raise UsageError(f"--models: no such model file: {m}")
            continue
        raise UsageError(f"--models: unknown model {m!r}; choose among "
                         f"{', '.join(MODEL_NAMES)} or give a .keras file")
    return names


def _check_gradcam_layers(models: list[str], settings: list, preprocessing: str) -> None:
    """Refuse a ``--set gradcam.layer=NAME`` that a model lacks, before Ray starts.

    Only when a layer is named: each model is built in this process (random weights for a
    built-in model, so nothing is downloaded) and its Grad-CAM layers listed. A model that
    cannot be loaded is left to the workers, whose rows then say why.
    """
    layers = {s.as_dict["layer"] for s in settings if s.method == "gradcam"} - {None}
    if not layers:
        return
    from xai_core.explainers.gradcam import conv_layer_names
    from xai_core.models import MODEL_NAMES, load_classifier
    from xai_core.study.plan import model_label

    for m in models:
        try:
            clf = load_classifier(m, weights=None, engine="keras") if m in MODEL_NAMES else \
                load_classifier(m, preprocessing=preprocessing, engine="keras")
            names = conv_layer_names(clf.model)
        except Exception:  # the workers will record why it cannot be loaded
            continue
        missing = sorted(layers - set(names))
        if missing:
            shown = ", ".join(names[-3:]) if names else "none"
            raise UsageError(f"--set gradcam.layer={missing[0]}: {model_label(m)} has no such "
                             f"convolutional layer (its last ones: {shown})")


def _setup_note(existing: list[dict[str, str]], tasks: list) -> str | None:
    """One line on rows of results.csv that are computed again because the setup they were
    made with (model file content, preprocessing, engine, version) differs from this run's."""
    from xai_core.study.results import key_of

    planned = {t.key(p)[:6]: t for t in tasks for p in t.protocols}
    changed: dict[str, set[str]] = {}
    n = 0
    for row in existing:
        task = planned.get(key_of(row)[:6])
        if task is None or task.setup is None or \
                row.get("setup", "") == task.setup.digest(task.setting.method):
            continue
        n += 1
        changed.setdefault(row["model"], set()).update(task.setup.differences(row))
    if not n:
        return None
    what = "; ".join(f"{m}: {', '.join(sorted(d))}" for m, d in sorted(changed.items()))
    return (f"note: {n} row(s) in results.csv were made with another setup ({what}); "
            "they are computed again and replaced")


def run(argv: list[str] | None = None) -> int:
    """Run (or resume) a study; return the exit code."""
    from xai_core.study.plan import (
        check_protocols,
        discover_images,
        model_label,
        model_setup,
        parse_sets,
        plan_tasks,
        settings_grid,
    )
    from xai_core.study.results import ResultsFile, key_of, one_line_error

    args = _parser().parse_args(argv)
    models, methods, protocols = _split(args.models), _split(args.methods), _split(args.protocol)
    if not models or not methods or not protocols:
        raise UsageError("--models, --methods and --protocol need at least one name each")
    models = _check_models(models)
    for name, items in (("--models", models), ("--methods", methods), ("--protocol", protocols)):
        if len(set(items)) != len(items):
            raise UsageError(f"{name}: a name is repeated")
    if len({model_label(m) for m in models}) != len(models):
        raise UsageError("--models: two models have the same file name")
    if args.seed < 0:
        raise UsageError(f"--seed must be 0 or more; got {args.seed}")
    if args.workers is not None and args.workers < 1:
        raise UsageError(f"--workers must be at least 1; got {args.workers}")
    if args.address is not None and args.address != "auto" and ":" not in args.address:
        raise UsageError(f"--address {args.address!r}: use auto, ray://host:port or host:port")
    from xai_core.models import PREPROCESSING

    if args.preprocessing not in PREPROCESSING:
        raise UsageError(f"--preprocessing {args.preprocessing!r}: choose one of "
                         f"{', '.join(PREPROCESSING)}")
    if args.engine is not None and args.engine not in ("auto", "keras", "litert"):
        raise UsageError(f"--engine {args.engine!r}: choose auto, keras or litert")
    images = discover_images(args.data)
    settings = settings_grid(methods, parse_sets(args.set, methods), args.batch_size)
    check_protocols(protocols)
    setups = {m: model_setup(m, args.preprocessing, args.engine) for m in models}
    _check_gradcam_layers(models, settings, args.preprocessing)
    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
        results = ResultsFile(out)
    except OSError as exc:
        raise UsageError(f"--out {args.out}: cannot write there ({exc.strerror or exc})") from None
    existing = results.rows()
    done_keys = {key_of(r) for r in existing if r["status"] == "ok" or not args.retry_failed}
    tasks = plan_tasks(images, models, settings, protocols, args.seed, done_keys, setups)
    total_rows = len(images) * len(models) * len(settings) * len(protocols)
    note = _setup_note(existing, tasks)
    if note:
        print(note, file=sys.stderr)

    run_path = out / "run.json"
    record: dict[str, Any] = {}
    if run_path.is_file():
        try:
            record = json.loads(run_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            record = {}
    record.update({
        "data": Path(args.data).name, "images": len(images), "models": models,
        "methods": methods, "grid": [{"method": s.method, **s.as_dict} for s in settings],
        "protocols": protocols, "seed": args.seed, "rows": total_rows,
        "versions": _versions(),
    })
    record.setdefault("model_info", {})
    sessions = record.setdefault("sessions", [])
    started = datetime.now(UTC).isoformat(timespec="seconds")
    if not tasks:
        print(f"all {total_rows} rows are already in {results.path}; nothing to compute",
              file=sys.stderr)
        _write_json(run_path, record)
        return 1 if any(r["status"] != "ok" for r in results.rows()) else 0

    from xai_core.study import runner

    t0 = time.perf_counter()
    try:
        owns_ray = runner.start_ray(args.address, args.workers)
    except (ConnectionError, RuntimeError) as exc:
        where = f"the Ray cluster at {args.address}" if args.address else "a local Ray"
        raise UsageError(f"could not start or reach {where}: "
                         f"{one_line_error(exc).removeprefix('error: ')}") from None
    try:
        workers, per_worker, clamp_note = runner.plan_workers(
            runner.node_cpus(), args.workers, max(sum(t.model == m for t in tasks)
                                                  for m in models))
    except RuntimeError as exc:
        if owns_ray:
            import ray

            ray.shutdown()
        raise UsageError(str(exc)) from None
    if clamp_note:
        print(clamp_note, file=sys.stderr)
    session = {"started": started, "engine": "ray", "address": args.address or "local",
               "workers": workers, "cpus_per_worker": per_worker,
               "rows_to_compute": sum(len(t.protocols) for t in tasks)}
    sessions.append(session)
    record["engine"] = {"name": "ray", "address": args.address or "local", "workers": workers,
                        "cpus_per_worker": per_worker}
    _write_json(run_path, record)
    print(f"{len(tasks)} explanations ({session['rows_to_compute']} rows of {total_rows}) "
          f"on {workers} Ray worker(s); results in {results.path}", file=sys.stderr)
    bar = None if args.quiet else Progress(session["rows_to_compute"])
    data_root = Path(args.data).resolve()

    def read(task) -> bytes | str:
        from xai_core.errors import FileRefusedError
        from xai_core.images import MAX_FILE_BYTES
        from xai_core.reading import read_file

        try:  # bounded and non-blocking: a huge file or a FIFO is refused, not read
            return read_file(task.image.path, MAX_FILE_BYTES)
        except (OSError, FileRefusedError) as exc:
            return one_line_error(exc, hide=[data_root])

    def on_result(task, result) -> None:
        map_file = None
        if result.saliency is not None:
            import numpy as np

            rel = Path("maps") / model_label(task.model) / task.setting.method / (
                f"{task.image.rel.replace('/', '__')}__{_slug(task.setting.params_text)}"
                f"__seed{task.seed}.npy")
            (out / rel).parent.mkdir(parents=True, exist_ok=True)
            np.save(out / rel, result.saliency)
            map_file = rel.as_posix()
        for row in result.rows:
            if map_file is not None and row.get("status") == "ok":
                row["map_file"] = map_file
            results.append(row)
        if bar is not None:
            bar.add(len(result.rows), sum(r.get("status") != "ok" for r in result.rows))

    try:
        for model in models:
            todo = [t for t in tasks if t.model == model]
            if not todo:
                continue
            info = runner.run_tasks(todo, model, workers=workers, on_result=on_result, read=read,
                                    preprocessing=args.preprocessing, engine=args.engine,
                                    batch_size=args.batch_size, save_maps=args.save_maps,
                                    cpus_per_worker=per_worker)
            record["model_info"][model_label(model)] = info
    except RuntimeError as exc:  # the cluster could not reserve the workers' CPUs
        raise UsageError(one_line_error(exc).removeprefix("error: ")) from None
    except KeyboardInterrupt:
        session["interrupted"] = True
        raise
    finally:
        session["wall_s"] = round(time.perf_counter() - t0, 2)
        session["finished"] = datetime.now(UTC).isoformat(timespec="seconds")
        _write_json(run_path, record)
        if owns_ray:
            import ray

            ray.shutdown()
    rows = results.rows()
    failed = sum(r["status"] != "ok" for r in rows)
    print(f"{len(rows)} rows in {results.path}, {failed} failed; {session['wall_s']:.1f}s",
          file=sys.stderr)
    return 1 if failed else 0


def _slug(text: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-." else "_" for ch in text.replace(";", "_"))


def summarize_main(argv: list[str]) -> int:
    """``summarize DIR``: print the summary and write DIR/summary.md."""
    from xai_core.study.results import ResultsFile
    from xai_core.study.summary import summarize

    p = Parser(prog=f"{PROG} summarize", description="Summarize a study's results.csv")
    p.add_argument("out", help="the study's folder (holding results.csv)")
    p.add_argument("--seed", type=int, default=0,
                   help="seed of the sign-flip test's random sign patterns (over 16 images)")
    args = p.parse_args(argv)
    path = Path(args.out) / ResultsFile.name
    if not path.is_file():
        raise UsageError(f"no {ResultsFile.name} in {args.out}")
    from xai_core.study.results import read_rows

    text = summarize(read_rows(path), seed=args.seed)
    (Path(args.out) / "summary.md").write_text(text, encoding="utf-8")
    print(text)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point (also for ``saliency-lab study ...``): returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        if argv[:1] == ["summarize"]:
            return summarize_main(argv[1:])
        return run(argv)
    except (UsageError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted: finished rows are kept; rerun the same command to resume",
              file=sys.stderr)
        return 130
