"""Run a function in a child process whose address space is capped, for tests that must
prove a hostile input is refused *before* it allocates gigabytes (no test may need them)."""

from __future__ import annotations

import multiprocessing as mp
import resource
from collections.abc import Callable
from typing import Any


def _vm_bytes() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def _child(fn: Callable[..., Any], args: tuple, headroom: int, queue: Any) -> None:
    try:
        limit = _vm_bytes() + headroom
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        queue.put(("ok", fn(*args)))
    except BaseException as exc:  # report everything, MemoryError included
        queue.put(("raised", f"{type(exc).__name__}: {exc}"))


def run_capped(fn: Callable[..., Any], *args: Any, headroom_mb: int = 1024,
               timeout: float = 300.0) -> tuple[str, Any]:
    """``fn(*args)`` in a forked child allowed ``headroom_mb`` MB more address space than
    it starts with; returns ``("ok", result)`` or ``("raised", "Type: message")``.

    ``fn`` and its result must be picklable (a module-level function).
    """
    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(fn, args, headroom_mb * 2**20, queue))
    proc.start()
    try:
        return queue.get(timeout=timeout)
    finally:
        proc.join(timeout=30)
        if proc.is_alive():
            proc.kill()
