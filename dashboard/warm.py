"""The server's background warm-up (``SALIENCY_LAB_WARM=1``), behind users' own clicks.

Runs :func:`xai_core.warm.tasks` (every page's default views for the sample photos and
``data/``, for the model the sidebar opens on) through the server's
:class:`~dashboard.compute.Compute` with priority 1: a task takes a worker only when no
user waits, and a task running when a user starts waiting gives its worker up at its
next progress update and is tried again later. No Streamlit call is made here.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from typing import Any

from dashboard.compute import Compute

log = logging.getLogger(__name__)


class YieldToUser(Exception):
    """Raised from a warm-up task's progress when a user waits for a worker."""


def warm_enabled() -> bool:
    """``SALIENCY_LAB_WARM=1`` (also ``true``, ``yes``, ``on``)."""
    return os.environ.get("SALIENCY_LAB_WARM", "").strip().lower() in {"1", "true", "yes", "on"}


def run_warm_up(service: Compute, tasks, *, pause_s: float = 0.5,
                stop: threading.Event | None = None) -> dict[str, int]:
    """Put every task's result into ``service``'s store, yielding to users; returns counts.

    ``tasks``: :class:`xai_core.warm.Task` objects. A task interrupted for a user is
    retried once the line is free of users again.
    """
    counts = {"done": 0, "computed": 0, "yielded": 0, "failed": 0}

    def progress(done: int, total: int) -> None:
        if service.queue.users_waiting():
            raise YieldToUser

    for task in tasks:
        while stop is None or not stop.is_set():
            if service.queue.users_waiting():
                time.sleep(pause_s)
                continue
            before = service.computed
            try:
                service.compute(task.key, lambda t=task: t.compute(progress), clf=task.clf,
                                priority=1)
            except YieldToUser:
                counts["yielded"] += 1
                continue
            except Exception as exc:  # one failing view must not end the warm-up
                log.info("warm-up: %s failed: %s", task.label, type(exc).__name__)
                counts["failed"] += 1
                break
            counts["done"] += 1
            counts["computed"] += service.computed - before
            break
    return counts


_THREAD = "saliency-lab-warm-up"


def _not_from_warm_up(record: logging.LogRecord) -> bool:
    # The shared model loader draws a spinner; this thread has no page to draw it on.
    return not (record.getMessage().startswith(f"Thread '{_THREAD}': missing ScriptRunContext"))


def _load(name: str) -> Any:
    from dashboard.models import try_model

    clf, _ = try_model(name)  # the sessions' copy of the model: loaded once per process
    return clf


def start_from_env(service: Compute, *, load: Callable[[str], Any] = _load) -> threading.Thread | None:
    """With ``SALIENCY_LAB_WARM=1``: start the warm-up in a background thread (else nothing).

    Warms the model the sidebar opens on, every page, the sample photos and ``data/``.
    """
    if not warm_enabled():
        return None
    from dashboard.models import default_model, model_choices
    from xai_core import warm
    from xai_core.models import weights_present

    def work() -> None:
        t0 = time.perf_counter()
        try:
            todo = warm.tasks(warm.PAGES, [default_model()], warm.photos(), load,
                              choices=model_choices(), weights_present=weights_present)
            counts = run_warm_up(service, todo)
        except Exception:
            log.exception("warm-up stopped")  # the server's log, never a user's page
            return
        log.warning("warm-up finished in %.0f s: %s", time.perf_counter() - t0, counts)

    logging.getLogger("streamlit.runtime.scriptrunner_utils.script_run_context").addFilter(
        _not_from_warm_up)
    thread = threading.Thread(target=work, name=_THREAD, daemon=True)
    thread.start()
    return thread
