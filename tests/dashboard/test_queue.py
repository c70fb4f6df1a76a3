from __future__ import annotations

import threading
import time

import pytest

from dashboard.queue import WorkQueue


def wait_until(condition, timeout: float = 5.0) -> None:
    deadline = time.time() + timeout
    while not condition():
        assert time.time() < deadline, "timed out"
        time.sleep(0.001)


def test_never_more_than_max_workers_and_first_come_first_served():
    q = WorkQueue(max_workers=2, poll_s=0.01)
    active, peak, order = 0, 0, []
    lock = threading.Lock()
    gate = threading.Event()

    def job(i: int) -> None:
        nonlocal active, peak
        with q.slot():
            with lock:
                active += 1
                peak = max(peak, active)
                order.append(i)
            gate.wait(5)
            time.sleep(0.02)
            with lock:
                active -= 1

    threads = []
    for i in range(6):  # arrivals one at a time, in a known order
        t = threading.Thread(target=job, args=(i,))
        t.start()
        threads.append(t)
        wait_until(lambda i=i: q.running + q.waiting == i + 1)
    assert q.running == 2 and q.waiting == 4
    gate.set()
    for t in threads:
        t.join()
    assert peak == 2
    assert order == [0, 1, 2, 3, 4, 5]
    stats = q.stats()
    assert stats["finished"] == 6 and stats["running"] == 0 and stats["waiting"] == 0
    assert stats["longest_wait_s"] > 0.02


def test_waiters_are_told_their_place_and_can_give_up():
    q = WorkQueue(max_workers=1, poll_s=0.01)
    places: list[int] = []
    release = threading.Event()

    def holder() -> None:
        with q.slot():
            release.wait(2)

    t = threading.Thread(target=holder)
    t.start()
    while q.running == 0:
        time.sleep(0.001)

    class PageClosed(Exception):
        pass

    def on_wait(place: int) -> None:
        places.append(place)
        if len(places) >= 3:
            raise PageClosed

    with pytest.raises(PageClosed), q.slot(on_wait=on_wait):
        pass
    assert places[:3] == [1, 1, 1] and q.waiting == 0  # gave its place up
    release.set()
    t.join()
    with q.slot() as waited:  # the queue still works
        assert waited < 1.0


def test_bad_settings():
    with pytest.raises(ValueError):
        WorkQueue(0)
    with pytest.raises(ValueError):
        WorkQueue(1, poll_s=0)


def test_background_work_waits_behind_every_user_whenever_it_arrived():
    q = WorkQueue(max_workers=1, poll_s=0.01)
    order: list[str] = []
    release = threading.Event()

    def holder() -> None:
        with q.slot():
            release.wait(5)

    def job(name: str, priority: int) -> None:
        with q.slot(priority=priority):
            order.append(name)

    threads = [threading.Thread(target=holder)]
    threads[0].start()
    wait_until(lambda: q.running == 1)
    for waiting, (name, prio) in enumerate((("warm", 1), ("user", 0)), 1):  # warm-up first
        threads.append(threading.Thread(target=job, args=(name, prio)))
        threads[-1].start()
        wait_until(lambda n=waiting: q.waiting == n)
    assert q.users_waiting() == 1
    release.set()
    for t in threads:
        t.join(5)
    assert order == ["user", "warm"]
    with pytest.raises(ValueError, match="priority"), q.slot(priority=5):
        pass
