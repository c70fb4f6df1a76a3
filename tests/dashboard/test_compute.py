"""The dashboard's compute layer, driven without Streamlit."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from dashboard.compute import SAME_VIEW, Compute, Request, workers_from_env
from xai_core.store import ExplanationStore


@pytest.fixture()
def store(tmp_path) -> ExplanationStore:
    """A fresh explanation store of its own for each test."""
    s = ExplanationStore(tmp_path / "store", size_mb=50)
    yield s
    s.close()


class Counting:
    """A black box whose class 1 is the brightness of the top-left quarter; counts images."""

    def __init__(self, delay_s: float = 0.0) -> None:
        self.images = 0
        self.delay_s = delay_s
        self.lock = threading.Lock()

    def __call__(self, x: np.ndarray) -> np.ndarray:
        with self.lock:
            self.images += len(x)
        if self.delay_s:
            threading.Event().wait(self.delay_s)
        p = np.asarray(x, np.float32)[:, :16, :16].mean(axis=(1, 2, 3)) / 255.0
        return np.stack([1.0 - p, p, np.full_like(p, 0.0)], axis=1)


class FakeClassifier:
    name = "fake"

    def __init__(self, delay_s: float = 0.0) -> None:
        self.class_names = ["dark", "bright corner", "never"]
        self.predict = Counting(delay_s)


def request(clf, method="rise", params=None, target=1, seed=0) -> Request:
    img = np.full((32, 32, 3), 30.0, np.float32)
    img[:16, :16] = 250.0
    params = params or ({"n_masks": 64, "mask_size": 4} if method == "rise"
                        else {"num_samples": 40, "segmentation": "slic"})
    return Request(clf, "fake", img, "img-key", "corner.png", method, params, target, seed)


def test_a_second_request_is_served_from_the_cache_without_model_calls(store):
    clf, compute = FakeClassifier(), Compute(max_workers=1, store=store)
    first = compute.explain(request(clf))
    used = clf.predict.images
    assert used > 0 and first.forward_passes == used
    again = compute.explain(request(clf))
    assert clf.predict.images == used and compute.computed == 1
    np.testing.assert_array_equal(again.saliency, first.saliency)
    assert again.wall_s == first.wall_s  # the original run's time, for "cached (orig. …)"
    y, x = np.unravel_index(np.argmax(first.saliency), first.saliency.shape)
    assert y < 16 and x < 16  # points at the bright corner


def test_another_class_of_the_same_image_reuses_the_shared_rise_run(store):
    clf, compute = FakeClassifier(), Compute(max_workers=1, store=store)
    compute.explain(request(clf, target=1))
    used = clf.predict.images
    other = compute.explain(request(clf, target=0))
    assert clf.predict.images == used  # every class's scores were kept: no model call
    assert other.target == 0 and other.forward_passes == 0


def test_a_different_seed_or_method_computes_again(store):
    clf, compute = FakeClassifier(), Compute(max_workers=1, store=store)
    compute.explain(request(clf))
    used = clf.predict.images
    compute.explain(request(clf, seed=1))
    assert clf.predict.images > used
    lime = compute.explain(request(clf, method="lime"))
    assert lime.method == "lime" and lime.extra["num_segments"] >= 1


def test_waiting_callers_are_told_their_place_or_share_the_same_computation(store):
    compute = Compute(max_workers=1, store=store)
    compute.queue.poll_s = 0.01
    gate, started = threading.Event(), threading.Event()
    same: list[int] = []
    other: list[int] = []

    def slow() -> int:
        started.set()
        gate.wait(5)
        return 7

    holder = threading.Thread(target=lambda: compute.compute(("k",), slow))
    holder.start()
    started.wait(5)
    out: list[int] = []
    waiter = threading.Thread(target=lambda: out.append(compute.compute(
        ("k",), lambda: pytest.fail("computed twice"), on_wait=same.append)))
    behind = threading.Thread(target=lambda: out.append(compute.compute(
        ("other",), lambda: 8, on_wait=other.append)))
    waiter.start()
    behind.start()
    while not same or not other:
        threading.Event().wait(0.01)
    gate.set()
    for t in (holder, waiter, behind):
        t.join(5)
    assert same[0] == SAME_VIEW and other[0] == 1  # the same view, or first in line
    assert sorted(out) == [7, 8] and compute.computed == 2


def test_ten_sessions_asking_for_the_same_view_at_once_compute_it_once(store):
    """Ten threads (sessions) ask for one RISE view at once; three workers could run three.

    The model takes 20 ms a batch, so the ten requests overlap the one computation."""
    clf, compute = FakeClassifier(delay_s=0.02), Compute(max_workers=3, store=store)
    compute.queue.poll_s = 0.01
    barrier = threading.Barrier(10)
    results: list = []
    errors: list[BaseException] = []

    def session() -> None:
        try:
            barrier.wait(5)
            results.append(compute.explain(request(clf, params={"n_masks": 256, "mask_size": 4,
                                                                 "stop_at_r": None})))
        except BaseException as exc:  # collected: asserts inside threads would not fail
            errors.append(exc)

    threads = [threading.Thread(target=session) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors and len(results) == 10
    assert compute.computed == 1 and clf.predict.images == results[0].forward_passes
    for r in results[1:]:
        np.testing.assert_array_equal(r.saliency, results[0].saliency)


def test_a_failed_or_abandoned_computation_is_taken_over_by_the_next_caller(store):
    compute = Compute(max_workers=1, store=store)
    compute.queue.poll_s = 0.01
    started = threading.Event()

    def fails() -> int:
        started.set()
        threading.Event().wait(0.1)
        raise RuntimeError("the page was closed")

    out: list[int] = []
    raised: list[BaseException] = []

    def leader() -> None:
        try:
            compute.compute(("k",), fails)
        except RuntimeError as exc:
            raised.append(exc)

    first = threading.Thread(target=leader)
    first.start()
    started.wait(5)
    second = threading.Thread(target=lambda: out.append(compute.compute(("k",), lambda: 5)))
    second.start()
    first.join(5)
    second.join(5)
    assert raised and out == [5] and store.get(("k",)) == 5


def test_results_survive_a_restart_of_the_server(store, tmp_path):
    """A new compute layer over the same folder (a restarted server) reads the result."""
    clf = FakeClassifier()
    first = Compute(max_workers=1, store=store).explain(request(clf))
    used = clf.predict.images
    reopened = ExplanationStore(store.folder, size_mb=50)
    again = Compute(max_workers=1, store=reopened)
    assert again.contains(request(clf).key, clf=clf)
    expl = again.explain(request(clf))
    assert clf.predict.images == used and again.computed == 0
    np.testing.assert_array_equal(expl.saliency, first.saliency)
    reopened.close()


def test_a_tampered_result_is_recomputed_never_shown(store):
    clf, compute = FakeClassifier(), Compute(max_workers=1, store=store)
    good = compute.explain(request(clf))
    used = clf.predict.images
    raw = store._cache  # the diskcache underneath: change the entry's bytes
    name = store.entry_name(request(clf).key, clf=clf)
    record = bytearray(raw[name])
    record[-50] ^= 0xFF
    raw[name] = bytes(record)
    fresh = Compute(max_workers=1, store=store)  # nothing in memory either
    again = fresh.explain(request(clf))
    assert fresh.computed == 1 and clf.predict.images == 2 * used and store.rejected == 1
    np.testing.assert_array_equal(again.saliency, good.saliency)  # same seed, same map


def test_workers_from_env(monkeypatch):
    monkeypatch.setenv("SALIENCY_LAB_WORKERS", "3")
    assert workers_from_env() == 3
    monkeypatch.setenv("SALIENCY_LAB_WORKERS", "zero")
    with pytest.raises(ValueError, match="SALIENCY_LAB_WORKERS"):
        workers_from_env()
