"""The server's background warm-up: it fills the store, and gives way to users."""

from __future__ import annotations

import threading

import pytest

from dashboard.compute import Compute
from dashboard.warm import run_warm_up, warm_enabled
from xai_core.store import ExplanationStore
from xai_core.warm import Task


@pytest.fixture()
def compute(tmp_path):
    store = ExplanationStore(tmp_path, size_mb=5)
    c = Compute(max_workers=1, store=store)
    c.queue.poll_s = 0.01
    yield c
    store.close()


def test_the_warm_up_gives_its_worker_to_a_user_and_finishes_afterwards(compute):
    started, user_done = threading.Event(), threading.Event()
    steps: list[str] = []

    def slow(progress) -> str:  # a long view: 200 progress updates of 10 ms
        started.set()
        for i in range(200):
            threading.Event().wait(0.01)
            progress(i, 200)
        steps.append("warm finished" + (" after the user" if user_done.is_set() else ""))
        return "warm result"

    tasks = [Task(("warm", 1), None, "page · photo · model · RISE", slow)]
    counts: dict = {}
    warm = threading.Thread(target=lambda: counts.update(run_warm_up(compute, tasks,
                                                                     pause_s=0.01)))
    warm.start()
    started.wait(5)
    assert compute.compute(("user",), lambda: "user result") == "user result"
    user_done.set()
    warm.join(30)
    assert counts["yielded"] >= 1 and counts["done"] == 1 and counts["computed"] == 1
    assert steps == ["warm finished after the user"]
    assert compute.store.get(("warm", 1)) == "warm result"
    # a second warm-up finds everything stored
    assert run_warm_up(compute, tasks)["computed"] == 0


def test_warm_enabled(monkeypatch):
    monkeypatch.setenv("SALIENCY_LAB_WARM", "1")
    assert warm_enabled()
    monkeypatch.setenv("SALIENCY_LAB_WARM", "0")
    assert not warm_enabled()
