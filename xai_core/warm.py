"""The warm-up: compute every page's default views for the lab's photos into the store.

``saliency-lab warm [DATA] [--models ...] [--pages ...]`` runs it from the command line;
the dashboard runs the same tasks in the background (``SALIENCY_LAB_WARM=1``) through its
work queue, behind users' own clicks. A page clicked with its defaults then finds its
results in the :class:`~xai_core.store.ExplanationStore` instead of computing them.

What is computed is what the pages show (:mod:`xai_core.views`), keyed exactly as the
dashboard keys it: the model's app name and weights, the photo's pixels at the model's
input size, the method, the parameters as the page passes them, seed 0, the class.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from xai_core.store import ExplanationStore, explanation_key, image_key, sanity_key
from xai_core.views import PAGES, View, default_views, opening_pair

ProgressFn = Callable[[int, int], None]
#: The sidebar's seed when left alone.
SEED = 0
#: The model the dashboard opens on.
DEFAULT_MODEL = "efficientnet_lite0"


@dataclass(frozen=True)
class Task:
    """One result to have in the store: its key, the model it depends on, how to compute it."""

    key: tuple
    clf: Any
    label: str  # "home · coffee · efficientnet_lite0 · RISE"
    compute: Callable[[ProgressFn | None], Any]


def photos(data: str | Path | None = None, *, samples: bool = True) -> list[tuple[str, np.ndarray]]:
    """``(name, uint8 photo)``: the sample photos (unless ``samples`` is false), then the
    images of ``data`` (default ``data/``).

    Names are the ones the dashboard's image picker uses (``"coffee"``, ``"espresso/coffee.png"``).
    """
    from xai_core.images import SAMPLE_IMAGES, data_images, list_images, load_image, load_sample

    out = []
    for name, load in SAMPLE_IMAGES.items() if samples else ():
        try:
            out.append((name, load()))
        except (AttributeError, OSError, ValueError):  # a sample this scikit-image lacks
            continue
    if data is None:
        out += [(n, load_sample(n)) for names in data_images().values() for n in names]
    else:
        root = Path(data)
        if not root.is_dir():
            raise ValueError(f"{root.name or data}: no such folder of photos")
        out += [(str(p.relative_to(root)), load_image(p)) for p in list_images(root)]
    return out


def _explanation_task(page: str, view: View, model_key: str, clf, raw: np.ndarray,
                      image_name: str, probs: np.ndarray, runs: dict) -> Task:
    from xai_core.explain import (
        DEFAULTS,
        explain,
        rise_explanation,
        rise_run,
        rise_run_settings,
    )

    image = clf.prepare(raw)
    target = int(np.argsort(probs)[::-1][view.rank])
    ikey = image_key(raw, clf.input_size)
    params = dict(view.params)
    label = f"{page} · {image_name} · {model_key} · {view.method.upper()}"
    if view.method == "sanity":
        from xai_core.sanity import randomization_test

        key = sanity_key(model_key, ikey, view.sanity_method, params, SEED, target,
                         view.max_stages)
        return Task(key, clf, label.replace("SANITY", f"sanity ({view.sanity_method})"),
                    lambda p: randomization_test(clf, image, target, method=view.sanity_method,
                                                 seed=SEED, max_stages=view.max_stages,
                                                 progress=p, **params))
    key = explanation_key(model_key, ikey, view.method, params, SEED, target)
    common = {"class_names": clf.class_names, "model_name": clf.name, "image_name": image_name}
    if view.method == "rise":  # as the dashboard computes it: one run shared by every class
        stop = {**DEFAULTS["rise"], **params}["stop_at_r"]
        run_key = (model_key, ikey, tuple(sorted(rise_run_settings(params).items())))

        def rise(p: ProgressFn | None) -> Any:
            if run_key not in runs:
                runs[run_key] = rise_run(clf.predict, image, params, seed=SEED)
            return rise_explanation(runs[run_key], target, stop_at_r=stop, progress=p,
                                    probability=float(probs[target]), **common)

        return Task(key, clf, label, rise)
    return Task(key, clf, label, lambda p: explain(clf.predict, image, view.method, target,
                                                   params=params, seed=SEED, progress=p,
                                                   **common))


def shown_name(model: str) -> str:
    """The name the dashboard gives ``model``: a built-in model's own name, a model file's
    file name (never its folder), as the results are keyed by it."""
    from xai_core.models import MODEL_NAMES
    from xai_core.names import file_label

    return model if model in MODEL_NAMES else file_label(model)


def tasks(pages: Sequence[str], models: Sequence[str], images: Sequence[tuple[str, np.ndarray]],
          load: Callable[[str], Any], *, choices: Sequence[str] | None = None,
          weights_present: Callable[[str], bool] | None = None) -> Iterator[Task]:
    """The tasks that warm ``pages`` for each of ``models`` (as the sidebar's model) and ``images``.

    ``load(name)`` gives a loaded classifier or ``None`` (its views are skipped). The
    Compare page's two models are its opening pair among ``choices`` (default: every
    built-in model), whatever ``models`` says. Tasks come image by image, so the first
    photos are ready first; a result shared by several pages comes once.
    """
    from xai_core.models import MODEL_NAMES
    from xai_core.models import weights_present as present

    for page in pages:
        if page not in PAGES:
            raise ValueError(f"unknown page {page!r}; choose from: {', '.join(PAGES)}")
    first, second, _ = opening_pair(list(choices or MODEL_NAMES), weights_present or present)
    seen: set[tuple] = set()
    for image_name, raw in images:
        runs: dict = {}
        probs_of: dict[str, np.ndarray] = {}
        for model in models:
            for page in pages:
                for view in default_views(page, pair=(first, second)):
                    name = view.model or model
                    clf = load(name)
                    if clf is None:
                        continue
                    if view.method == "sanity" and getattr(clf, "model", None) is None:
                        continue  # the randomisation test needs the model's layers
                    if name not in probs_of:
                        probs_of[name] = np.asarray(clf.predict(clf.prepare(raw))[0])
                    task = _explanation_task(page, view, shown_name(name), clf, raw,
                                             image_name, probs_of[name], runs)
                    if (task.key, id(clf)) in seen:
                        continue
                    seen.add((task.key, id(clf)))
                    yield task


def _parser() -> argparse.ArgumentParser:
    from xai_core._cli_common import Parser

    p = Parser(prog="saliency-lab warm",
                formatter_class=argparse.ArgumentDefaultsHelpFormatter,
                description="Compute every dashboard page's default results for the sample "
                            "photos and the photos of DATA into the explanation store, so "
                            "that a page run with its defaults shows them at once.")
    p.add_argument("data", nargs="?", default=None,
                   help="folder of photos (data/<class>/<image>); default: the lab's data/")
    p.add_argument("--models", nargs="+", default=[DEFAULT_MODEL],
                   help="models chosen in the sidebar to warm for (the Compare page always "
                        "uses its own two)")
    p.add_argument("--pages", nargs="+", default=list(PAGES), choices=PAGES, metavar="PAGE",
                   help=f"pages to warm: {', '.join(PAGES)}")
    p.add_argument("--no-samples", action="store_true",
                   help="only the photos of DATA, not the sample photos that ship with the app")
    p.add_argument("--quiet", action="store_true", help="no progress line")
    return p


def main(argv: Sequence[str] | None = None, *, store: ExplanationStore | None = None) -> int:
    """``saliency-lab warm``: exit code 0 when every task is in the store, 1 if some failed."""
    from xai_core._cli_common import UsageError
    from xai_core.models import load_classifier
    from xai_core.store import default_store

    try:
        args = _parser().parse_args(list(argv or []))
        store = store or default_store()
        images = photos(args.data, samples=not args.no_samples)
    except (UsageError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    loaded: dict[str, Any] = {}

    def load(name: str) -> Any:
        if name not in loaded:
            try:
                loaded[name] = load_classifier(name)
            except Exception as exc:  # an unavailable model skips its views, not the warm-up
                print(f"warning: {name} not warmed: {exc}", file=sys.stderr)
                loaded[name] = None
        return loaded[name]

    if store.note:
        print(f"warning: {store.note}: results will not be kept", file=sys.stderr)
    t0 = time.perf_counter()
    todo = list(tasks(args.pages, args.models, images, load))
    done = computed = failed = 0
    for task in todo:
        done += 1
        t1 = time.perf_counter()
        if not args.quiet:
            sys.stderr.write(f"\r[{done}/{len(todo)}] {task.label} …\033[K")
            sys.stderr.flush()
        try:
            _, was_stored = store.get_or_compute(task.key, lambda t=task: t.compute(None),
                                                 clf=task.clf)
        except Exception as exc:
            print(f"\nerror: {task.label}: {type(exc).__name__}: {exc}", file=sys.stderr)
            failed += 1
            continue
        computed += not was_stored
        if not args.quiet:
            how = "stored already" if was_stored else f"{time.perf_counter() - t1:.1f} s"
            sys.stderr.write(f"\r[{done}/{len(todo)}] {task.label}: {how}\033[K")
            sys.stderr.flush()
    if not args.quiet:
        sys.stderr.write("\n")
    print(f"warm: {done} results for {len(images)} photos, {computed} computed, "
          f"{done - computed - failed} already stored, {failed} failed, "
          f"{time.perf_counter() - t0:.0f} s; store {store.volume() / 1e6:.1f} of "
          f"{store.size_limit / 1e6:.0f} MB")
    return 1 if failed else 0
