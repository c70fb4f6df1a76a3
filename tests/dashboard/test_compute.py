"""The dashboard's compute layer, driven without Streamlit."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from dashboard.compute import Compute, Request, workers_from_env


class Counting:
    """A black box whose class 1 is the brightness of the top-left quarter; counts images."""

    def __init__(self) -> None:
        self.images = 0
        self.lock = threading.Lock()

    def __call__(self, x: np.ndarray) -> np.ndarray:
        with self.lock:
            self.images += len(x)
        p = np.asarray(x, np.float32)[:, :16, :16].mean(axis=(1, 2, 3)) / 255.0
        return np.stack([1.0 - p, p, np.full_like(p, 0.0)], axis=1)


class FakeClassifier:
    name = "fake"

    def __init__(self) -> None:
        self.class_names = ["dark", "bright corner", "never"]
        self.predict = Counting()


def request(clf, method="rise", params=None, target=1, seed=0) -> Request:
    img = np.full((32, 32, 3), 30.0, np.float32)
    img[:16, :16] = 250.0
    params = params or ({"n_masks": 64, "mask_size": 4} if method == "rise"
                        else {"num_samples": 40, "segmentation": "slic"})
    return Request(clf, "fake", img, "img-key", "corner.png", method, params, target, seed)


def test_a_second_request_is_served_from_the_cache_without_model_calls():
    clf, compute = FakeClassifier(), Compute(max_workers=1)
    first = compute.explain(request(clf))
    used = clf.predict.images
    assert used > 0 and first.forward_passes == used
    again = compute.explain(request(clf))
    assert again is first and clf.predict.images == used
    y, x = np.unravel_index(np.argmax(first.saliency), first.saliency.shape)
    assert y < 16 and x < 16  # points at the bright corner


def test_another_class_of_the_same_image_reuses_the_shared_rise_run():
    clf, compute = FakeClassifier(), Compute(max_workers=1)
    compute.explain(request(clf, target=1))
    used = clf.predict.images
    other = compute.explain(request(clf, target=0))
    assert clf.predict.images == used  # every class's scores were kept: no model call
    assert other.target == 0 and other.forward_passes == 0


def test_a_different_seed_or_method_computes_again():
    clf, compute = FakeClassifier(), Compute(max_workers=1)
    compute.explain(request(clf))
    used = clf.predict.images
    compute.explain(request(clf, seed=1))
    assert clf.predict.images > used
    lime = compute.explain(request(clf, method="lime"))
    assert lime.method == "lime" and lime.extra["num_segments"] >= 1


def test_waiting_callers_are_told_their_place_and_get_the_result_computed_ahead():
    compute = Compute(max_workers=1)
    compute.queue.poll_s = 0.01
    gate, started = threading.Event(), threading.Event()
    places: list[int] = []

    def slow() -> int:
        started.set()
        gate.wait(5)
        return 7

    holder = threading.Thread(target=lambda: compute.compute(("k",), slow))
    holder.start()
    started.wait(5)
    out: list[int] = []
    waiter = threading.Thread(target=lambda: out.append(compute.compute(
        ("k",), lambda: pytest.fail("computed twice"), on_wait=places.append)))
    waiter.start()
    while not places:
        threading.Event().wait(0.01)
    gate.set()
    holder.join(5)
    waiter.join(5)
    assert places[0] == 1 and out == [7]


def test_workers_from_env(monkeypatch):
    monkeypatch.setenv("SALIENCY_LAB_WORKERS", "3")
    assert workers_from_env() == 3
    monkeypatch.setenv("SALIENCY_LAB_WORKERS", "zero")
    with pytest.raises(ValueError, match="SALIENCY_LAB_WORKERS"):
        workers_from_env()
