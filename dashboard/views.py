"""Results on a page: computing them through the shared compute layer, and showing them."""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import streamlit as st

import xai_core as xc
from dashboard.compute import SAME_VIEW, Compute, Request, workers_from_env
from dashboard.sidebar import Context, cached_probabilities


@dataclass(frozen=True, eq=False)
class Result:
    """An explanation with what is needed to score it: the model and the image's cache key."""

    expl: xc.Explanation
    clf: xc.Classifier
    image_key: str
    model_key: str  # the app's name of the model (unique, unlike the file stem in expl.model)
    cached: bool = False  # taken from the cache: expl.wall_s is the original run's time


@st.cache_resource
def compute_service() -> Compute:
    """The compute layer shared by every session of this server process.

    ``SALIENCY_LAB_WORKERS`` explanations run at once (default: half the CPU cores, at
    least 1: the model already uses every core); the others wait their turn. A plain
    ``st.cache_data`` cannot hold results: it refuses the progress-bar updates made while
    an explanation runs (CacheReplayClosureError). Results are kept in the explanation
    store on disk (see :mod:`xai_core.store`); ``SALIENCY_LAB_WARM=1`` starts the warm-up
    of every page's default views in the background (see :mod:`dashboard.warm`).
    """
    service = Compute(max_workers=workers_from_env())
    from dashboard.warm import start_from_env

    start_from_env(service)
    return service


#: Least seconds between two redraws of a progress bar, and of a live preview.
PROGRESS_EVERY_S = 0.3
PREVIEW_EVERY_S = 1.0


def _progress_bar(label: str, unit: str) -> tuple[Callable[[int, int], None], Any]:
    bar = st.progress(0.0, text=f"{label}: starting…")
    t0 = time.perf_counter()
    shown = [t0]

    def update(done: int, total: int) -> None:
        now = time.perf_counter()
        if now - shown[0] < PROGRESS_EVERY_S and done < total:
            return  # the browser shares the machine: redraw the bar a few times a second
        shown[0] = now
        frac = min(done / max(total, 1), 1.0)
        elapsed = now - t0
        left = elapsed / frac - elapsed if frac > 0 else 0.0
        bar.progress(frac, text=f"{label}: {done}/{total} {unit} · about {left:.0f} s left")

    return update, bar


def run(ctx: Context, method: str, params: dict[str, Any], target: int,
        label: str | None = None, *, clf: xc.Classifier | None = None,
        model_name: str | None = None, image: np.ndarray | None = None,
        image_key: str | None = None, image_name: str | None = None) -> Result | None:
    """Compute (or fetch from the cache) one explanation, with a progress bar.

    RISE shows a live preview of the map improving batch by batch with its convergence
    estimate. Any error is shown on this result only; the page keeps working.
    """
    clf = clf or ctx.clf
    image = ctx.image if image is None else image
    req = Request(clf, model_name or ctx.model_name, image, image_key or ctx.image_key,
                  image_name or ctx.image_name, method, dict(params), int(target), ctx.seed)
    label = label or method.upper()
    unit = "masks" if method == "rise" else "samples"
    probability = float(cached_probabilities(req.model_key, req.image_key, _clf=clf,
                                             _image=image)[req.target])
    preview = st.empty()
    shown = [0.0]

    def on_frame(frame: Any) -> None:  # a RiseFrame or a LimeFrame
        now = time.perf_counter()
        if now - shown[0] < PREVIEW_EVERY_S:
            return
        shown[0] = now
        done = frame.n_masks if method == "rise" else frame.n_samples
        sal = np.maximum(frame.saliency, 0.0) if method == "rise" else frame.saliency
        r = "" if np.isnan(frame.r_estimate) else f", r ≈ {frame.r_estimate:.2f}"
        with preview.container():
            st.image(xc.heatmap_image(sal, xc.viz.default_colormap(sal)), width=160,
                     caption=f"{label}: {done} {unit}{r}")

    cached = compute_service().contains(req.key, clf=clf)
    expl = _computed(label, unit, lambda progress, **kw: compute_service().explain(
        req, probability=probability, progress=progress,
        on_frame=on_frame, **kw), key=req.key, clf=clf)
    preview.empty()
    return None if expl is None else Result(expl, clf, req.image_key, req.model_key, cached)


def computed(label: str, unit: str, key: tuple,
             compute: Callable[[Callable[[int, int], None]], Any], *,
             clf: xc.Classifier | None = None) -> Any:
    """Fetch ``key`` (for model ``clf``) from the store, or wait for a worker and compute it.

    See :func:`_computed`; ``compute(progress)`` returns the value.
    """
    service = compute_service()
    return _computed(label, unit, lambda progress, **kw: service.compute(
        key, lambda: compute(progress), clf=clf, **kw), key=key, clf=clf)


def _computed(label: str, unit: str, call: Callable[..., Any], *, key: tuple,
              clf: xc.Classifier | None = None) -> Any:
    """Run ``call(progress, on_wait=..., on_start=...)`` through the compute layer.

    Shows the place in line while waiting and a progress bar with the time left while
    computing. A page that is rerun or closed stops its computation at the next progress
    update (Streamlit interrupts the script there) and leaves the line. Any error is shown
    on this result only, without a stack trace or server details; ``None`` is returned then.
    """
    service = compute_service()
    found = service.cached(key, clf=clf)
    if found is not None:
        return found
    note = st.empty()
    bar: list[Any] = []
    progress_fn: list[Callable[[int, int], None]] = []

    def waiting(place: int) -> None:
        if place == SAME_VIEW:
            note.info(f"⏳ {label}: being computed for another user right now; it shows "
                      "here as soon as it is ready.")
            return
        note.info(f"⏳ {label}: waiting for a free worker, number {place} in line "
                  f"({service.queue.running} running).")

    def started() -> None:
        note.empty()
        update, widget = _progress_bar(label, unit)
        progress_fn.append(update)
        bar.append(widget)

    def progress(done: int, total: int) -> None:
        if progress_fn:
            progress_fn[0](done, total)

    try:
        value = call(progress, on_wait=waiting, on_start=started)
    except ValueError as exc:
        st.error(f"{label}: {exc}")
        return None
    except Exception as exc:  # a model failing inside predict must not take the page down
        st.error(f"{label} failed: the model raised {type(exc).__name__} while computing. "
                 "Try another model or image.")
        return None
    finally:
        note.empty()
        for widget in bar:
            widget.empty()
    _write_stats()
    return value


def _write_stats() -> None:
    """For the load test: the queue's figures, to ``SALIENCY_LAB_STATS_FILE`` if set."""
    path = os.environ.get("SALIENCY_LAB_STATS_FILE")
    if path:
        with contextlib.suppress(OSError), open(path, "w", encoding="utf-8") as f:
            json.dump(compute_service().queue.stats(), f)


def top_classes(ctx: Context, key: str, k: int = 5) -> None:
    """The image's ``k`` most probable classes as a Plotly bar chart.

    Being a Plotly chart, it also loads Plotly in the browser before any result exists,
    so the first result row is drawn as soon as its map is ready (measured on the home
    page: the RISE row 1.7 s sooner than when the row was the page's first Plotly chart).
    """
    st.plotly_chart(xc.viz.top_classes_figure(ctx.probabilities(), ctx.clf.class_names, k),
                    key=key, config={"displaylogo": False})


METRIC_STEPS = 50


def curves(res: Result, seed: int) -> dict[str, dict[str, Any]] | None:
    """Deletion/insertion curves of the map and of the baselines (each cached)."""
    e = res.expl
    own = computed("Deletion / insertion", "model calls", (
        "curves", res.model_key, res.image_key, e.method, json.dumps(e.params, sort_keys=True),
        e.target),
        lambda p: xc.faithfulness(res.clf.predict, e.image, {e.method.upper(): e.saliency},
                                  e.target, steps=METRIC_STEPS, seed=seed,
                                  with_baselines=False, progress=p), clf=res.clf)
    base = computed("Baselines", "model calls", ("baselines", res.model_key, res.image_key, e.target, seed),
                   lambda p: xc.faithfulness(res.clf.predict, e.image, {}, e.target,
                                             steps=METRIC_STEPS, seed=seed, progress=p),
                   clf=res.clf)
    if own is None or base is None:
        return None
    return {**own, **base}


def aucs(c: dict[str, Any]) -> dict[str, float]:
    return {"deletion AUC ↓": round(c["deletion"].auc, 3),
            "insertion AUC ↑": round(c["insertion"].auc, 3)}


def auc_summary() -> None:
    """The page's table of AUCs: every map shown, and the baselines it should beat."""
    rows = st.session_state.get("_auc_rows")
    if not rows:
        return
    rows = sorted(rows, key=lambda r: r["map"].endswith("baseline"))  # the maps first
    st.subheader("Faithfulness")
    st.caption(f"Deletion and insertion over {METRIC_STEPS} steps (the RISE paper's procedure; "
               "hidden pixels black, insertion from a blurred image). A map should beat the "
               "baselines: random blobs, and a centred Gaussian (\"the object is in the "
               "middle\"). Where the object fills the whole photo, the centred map is hard to "
               "beat: there most of the picture is evidence.")
    st.dataframe(rows, hide_index=True)
