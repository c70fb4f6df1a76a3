"""A first-come, first-served limit on heavy work shared by every user of a process.

A shared demo server has a few cores; ten students pressing "Explain" at once must not
start ten explanations that each get a tenth of the machine (and ten times the memory).
:class:`WorkQueue` lets ``max_workers`` computations run and lines the rest up in
arrival order, telling each waiting caller its place while it waits. Background work
(the warm-up) asks with a lower priority: it takes a free place only when no user waits.
"""

from __future__ import annotations

import bisect
import itertools
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager


class WorkQueue:
    """At most ``max_workers`` holders at a time; the others wait in arrival order
    (by priority first: 0, users, before 1, background work).

    Parameters
    ----------
    max_workers
        How many computations may run at once (at least 1).
    poll_s
        How often a waiting caller is told its place (and may give up by raising from
        its ``on_wait`` callback, e.g. because its page was closed).
    """

    def __init__(self, max_workers: int = 1, poll_s: float = 0.5):
        if isinstance(max_workers, bool) or not isinstance(max_workers, int) or max_workers < 1:
            raise ValueError(f"max_workers must be a whole number of at least 1; got {max_workers!r}")
        if poll_s <= 0:
            raise ValueError(f"poll_s must be positive; got {poll_s}")
        self.max_workers = max_workers
        self.poll_s = poll_s
        self._cond = threading.Condition()
        self._tickets = itertools.count()
        self._waiting: list[tuple[int, int]] = []  # (priority, ticket), in serving order
        self._running = 0
        self.longest_wait_s = 0.0
        self.finished = 0

    @property
    def running(self) -> int:
        with self._cond:
            return self._running

    @property
    def waiting(self) -> int:
        with self._cond:
            return len(self._waiting)

    def users_waiting(self) -> int:
        """Callers of priority 0 (users) waiting in line."""
        with self._cond:
            return sum(1 for prio, _ in self._waiting if prio == 0)

    @contextmanager
    def slot(self, on_wait: Callable[[int], None] | None = None,
             priority: int = 0) -> Iterator[float]:
        """Hold one of the ``max_workers`` places for the duration of the ``with`` block.

        ``on_wait(place)`` is called while waiting (place 1 = next in line), at least every
        ``poll_s`` seconds; an exception it raises abandons the place in line. A caller of
        ``priority`` 1 (background work) is served after every caller of priority 0 that
        is waiting, whenever it arrived. Yields the seconds spent waiting.
        """
        if priority not in (0, 1):
            raise ValueError(f"priority must be 0 (a user) or 1 (background work); got {priority!r}")
        t0 = time.perf_counter()
        with self._cond:
            ticket = (priority, next(self._tickets))
            bisect.insort(self._waiting, ticket)
        try:
            while True:
                with self._cond:
                    place = self._waiting.index(ticket) + 1
                    if place == 1 and self._running < self.max_workers:
                        self._waiting.remove(ticket)
                        self._running += 1
                        break
                if on_wait is not None:
                    on_wait(place)
                with self._cond:
                    self._cond.wait(self.poll_s)
        except BaseException:
            with self._cond:
                if ticket in self._waiting:
                    self._waiting.remove(ticket)
                self._cond.notify_all()
            raise
        waited = time.perf_counter() - t0
        with self._cond:
            self.longest_wait_s = max(self.longest_wait_s, waited)
        try:
            yield waited
        finally:
            with self._cond:
                self._running -= 1
                self.finished += 1
                self._cond.notify_all()

    def stats(self) -> dict[str, float | int]:
        """Running and waiting counts, finished runs, the longest wait so far (seconds)."""
        with self._cond:
            return {"max_workers": self.max_workers, "running": self._running,
                    "waiting": len(self._waiting), "finished": self.finished,
                    "longest_wait_s": round(self.longest_wait_s, 3)}
