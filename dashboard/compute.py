"""The dashboard's compute layer: the explanation store, one line of work and shared RISE runs.

Nothing here imports Streamlit, so tests drive it directly. The Streamlit side
(:mod:`dashboard.views`) passes callbacks that draw the place in line, the progress
bar and the live preview.

- Results live in the :class:`~xai_core.store.ExplanationStore` on disk: shared by every
  session and process of the server (and the command line's ``warm``), kept across
  restarts, keyed by what determines them: model and its weights, image content, method,
  parameters, seed, target, package version.
- Heavy work goes through one first-come, first-served :class:`~dashboard.queue.WorkQueue`;
  sessions asking for the same result at once share one computation.
- RISE runs keep every class's scores, so one run per (model, image, settings, seed) is
  shared by every target and session: another class of the same image costs no model call.
"""

from __future__ import annotations

import json
import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np

import xai_core as xc
from dashboard.queue import WorkQueue
from xai_core.explain import rise_run, rise_run_settings
from xai_core.store import ExplanationStore, default_store, explanation_key, model_id

T = TypeVar("T")
ProgressFn = Callable[[int, int], None]

#: ``on_wait(SAME_VIEW)``: the result is being computed for another session right now.
SAME_VIEW = 0


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
        return explanation_key(self.model_key, self.image_key, self.method, self.params,
                               self.seed, self.target)


@dataclass(eq=False)
class _Flight:
    """One computation in progress, awaited by every other caller of the same key."""

    done: threading.Event = field(default_factory=threading.Event)
    value: Any = None
    ok: bool = False


class Compute:
    """Stored, queued computations shared by every session of one server process.

    Parameters
    ----------
    max_workers
        Computations that may run at once; the others wait in line.
    store
        Where results are kept; default :func:`xai_core.store.default_store` (the
        project's cache folder, shared with other processes and kept across restarts).
    max_runs
        Shared RISE runs kept in memory (each holds every class's scores of one image).
    """

    def __init__(self, max_workers: int = 1, store: ExplanationStore | None = None,
                 max_runs: int = 16):
        if max_runs < 1:
            raise ValueError(f"max_runs must be at least 1; got {max_runs}")
        self.store = store if store is not None else default_store()
        self.queue = WorkQueue(max_workers=max_workers)
        self.max_runs = max_runs
        self.computed = 0  # computations run by this object (the rest came from the store)
        self._runs: OrderedDict[tuple, SharedRun] = OrderedDict()
        self._runs_lock = threading.Lock()
        self._flights: dict[str, _Flight] = {}
        self._flights_lock = threading.Lock()

    def cached(self, key: tuple, *, clf: Any | None = None) -> Any | None:
        """The result stored under ``key`` (for model ``clf``), or ``None``; never computes."""
        return self.store.get(key, clf=clf)

    def contains(self, key: tuple, *, clf: Any | None = None) -> bool:
        """Whether a result is stored under ``key`` (cheap: nothing is read)."""
        return self.store.contains(key, clf=clf)

    def compute(self, key: tuple, fn: Callable[[], T], *, clf: Any | None = None,
                on_wait: Callable[[int], None] | None = None,
                on_start: Callable[[], None] | None = None, priority: int = 0) -> T:
        """The value of ``key``: from the store, or computed by ``fn`` once a worker is free.

        ``clf``: the model the value depends on (its weights join the key). ``on_wait(place)``
        is called while waiting in line, or with :data:`SAME_VIEW` while another session
        computes this very key (an exception it raises leaves the line); ``on_start()``
        once the work starts. Callers asking for one key at once share one computation;
        if it fails or its caller leaves, the next caller computes it. ``priority`` 1 is
        background work: served after every user waiting.
        """
        name = self.store.entry_name(key, clf=clf)
        while True:
            found = self.store.get(key, clf=clf)
            if found is not None:
                return found
            with self._flights_lock:
                flight = self._flights.get(name)
                leader = flight is None
                if leader:
                    flight = self._flights[name] = _Flight()
            if not leader:
                while not flight.done.wait(self.queue.poll_s):
                    if on_wait is not None:
                        on_wait(SAME_VIEW)
                if flight.ok:
                    return flight.value
                continue  # its caller failed or left: try again (perhaps as the leader)
            try:
                with self.queue.slot(on_wait=on_wait, priority=priority):
                    value = self.store.get(key, clf=clf)  # another process may have stored it
                    if value is None:
                        if on_start is not None:
                            on_start()
                        value = fn()
                        self.computed += 1
                        self.store.put(key, value, clf=clf)
                flight.value, flight.ok = value, True
                return value
            finally:
                with self._flights_lock:
                    self._flights.pop(name, None)
                flight.done.set()

    def shared_rise_run(self, req: Request) -> SharedRun:
        """The RISE run of ``req``'s model, image, settings and seed (made on first use)."""
        settings = rise_run_settings(req.params)
        key = ("rise-run", req.model_key, model_id(req.clf), req.image_key,
               json.dumps(settings, sort_keys=True), req.seed)
        with self._runs_lock:  # one creator per key
            shared = self._runs.get(key)
            if shared is None:
                shared = SharedRun(rise_run(req.clf.predict, req.image, req.params,
                                            seed=req.seed),
                                   threading.Lock())
                self._runs[key] = shared
                while len(self._runs) > self.max_runs:
                    self._runs.popitem(last=False)
            self._runs.move_to_end(key)
        return shared

    def explain(self, req: Request, *, probability: float | None = None,
                progress: ProgressFn | None = None,
                on_frame: Callable[[Any], None] | None = None,
                on_wait: Callable[[int], None] | None = None,
                on_start: Callable[[], None] | None = None,
                priority: int = 0) -> xc.Explanation:
        """The explanation of ``req`` (stored); RISE through the shared run of its image.

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

        return self.compute(req.key, work, clf=req.clf, on_wait=on_wait, on_start=on_start,
                            priority=priority)

