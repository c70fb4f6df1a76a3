"""The dashboard's compute layer: one cache, one line of work and shared RISE runs.

Nothing here imports Streamlit, so tests drive it directly. The Streamlit side
(:mod:`dashboard.views`) passes callbacks that draw the place in line, the progress
bar and the live preview.

- Results are cached for the whole server process (every session), keyed by what
  determines them: model, image hash, method, parameters, seed, target.
- Heavy work goes through one first-come, first-served :class:`~dashboard.queue.WorkQueue`.
- RISE runs keep every class's scores, so one run per (model, image, settings, seed) is
  shared by every target and session: another class of the same image costs no model call.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

import xai_core as xc
from dashboard.cache import ResultCache
from dashboard.queue import WorkQueue

T = TypeVar("T")
ProgressFn = Callable[[int, int], None]


def workers_from_env() -> int:
    """``SALIENCY_LAB_WORKERS`` (default: half the CPU cores, at least 1)."""
    raw = os.environ.get("SALIENCY_LAB_WORKERS", str(max(1, (os.cpu_count() or 2) // 2)))
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"SALIENCY_LAB_WORKERS must be a whole number of at least 1; got {raw!r}")
    return int(raw)


@dataclass(eq=False)
class SharedRun:
    """A RISE run shared by every target (and session) with the same image and settings."""

    run: xc.RiseRun
    lock: threading.Lock


@dataclass(frozen=True)
class Request:
    """One explanation asked for: what to explain, how, and the names to report it under."""

    clf: xc.Classifier
    model_key: str  # the app's unique name of the model (a file stem may repeat)
    image: np.ndarray  # float32 (H, W, 3) at the model's input size
    image_key: str
    image_name: str
    method: str
    params: dict[str, Any]
    target: int
    seed: int

    @property
    def key(self) -> tuple:
        return (self.model_key, self.image_key, self.method,
                json.dumps(self.params, sort_keys=True), self.seed, int(self.target))


class Compute:
    """Cached, queued computations shared by every session of one server process.

    Parameters
    ----------
    max_workers
        Computations that may run at once; the others wait in line.
    max_entries
        Results (and shared RISE runs) kept.
    """

    def __init__(self, max_workers: int = 1, max_entries: int = 128):
        self.cache: ResultCache[Any] = ResultCache(max_entries=max_entries)
        self.queue = WorkQueue(max_workers=max_workers)
        self._runs_lock = threading.Lock()

    def cached(self, key: tuple) -> Any | None:
        """The result stored under ``key``, or ``None``; never computes."""
        return self.cache.get(key)

    def compute(self, key: tuple, fn: Callable[[], T], *,
                on_wait: Callable[[int], None] | None = None,
                on_start: Callable[[], None] | None = None) -> T:
        """The value of ``key``: from the cache, or computed by ``fn`` once a worker is free.

        ``on_wait(place)`` is called while waiting in line (an exception it raises leaves
        the line); ``on_start()`` once the work starts. A result that someone ahead in line
        computed meanwhile is returned without running ``fn``. Explanations are stored
        read-only.
        """
        found = self.cache.get(key)
        if found is not None:
            return found
        with self.queue.slot(on_wait=on_wait):
            found = self.cache.get(key)
            if found is not None:
                return found
            if on_start is not None:
                on_start()
            value = fn()
        self.cache.put(key, value)
        return value

    def shared_rise_run(self, req: Request) -> SharedRun:
        """The RISE run of ``req``'s model, image, settings and seed (made on first use)."""
        settings = {**xc.DEFAULTS["rise"], **req.params}
        settings.pop("stop_at_r")
        key = ("rise-run", req.model_key, req.image_key, json.dumps(settings, sort_keys=True),
               req.seed)
        with self._runs_lock:  # one creator per key
            shared = self.cache.get(key)
            if shared is None:
                shared = SharedRun(xc.RiseRun(req.clf.predict, req.image,
                                              max_masks=settings["n_masks"],
                                              mask_size=settings["mask_size"],
                                              keep_prob=settings["keep_prob"], seed=req.seed,
                                              fill=settings["fill"]),
                                   threading.Lock())
                self.cache.put(key, shared)
        return shared

    def explain(self, req: Request, *, probability: float | None = None,
                progress: ProgressFn | None = None,
                on_frame: Callable[[Any], None] | None = None,
                on_wait: Callable[[int], None] | None = None,
                on_start: Callable[[], None] | None = None) -> xc.Explanation:
        """The explanation of ``req`` (cached); RISE through the shared run of its image.

        ``probability``: the model's score for the target on the whole image, if already
        known (saves RISE one model call). ``on_frame`` receives each preview frame
        (:class:`~xai_core.RiseFrame` or :class:`~xai_core.explainers.lime.LimeFrame`).
        """

        def work() -> xc.Explanation:
            clf = req.clf
            if req.method == "rise":
                shared = self.shared_rise_run(req)
                with shared.lock:
                    return xc.rise_explanation(
                        shared.run, req.target, class_names=clf.class_names,
                        stop_at_r={**xc.DEFAULTS["rise"], **req.params}["stop_at_r"],
                        progress=progress, on_frame=on_frame, model_name=clf.name,
                        image_name=req.image_name, probability=probability)
            return xc.explain(clf.predict, req.image, req.method, req.target,
                              class_names=clf.class_names, params=req.params, seed=req.seed,
                              progress=progress, model_name=clf.name,
                              image_name=req.image_name, on_frame=on_frame)

        return self.compute(req.key, work, on_wait=on_wait, on_start=on_start)

