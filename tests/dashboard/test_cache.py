from __future__ import annotations

import threading

import pytest
from dashboard.cache import ResultCache


def test_lru_evicts_the_least_recently_used():
    cache: ResultCache[int] = ResultCache(2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # "a" is now the most recent
    cache.put("c", 3)
    assert "b" not in cache and cache.get("a") == 1 and cache.get("c") == 3
    assert cache.get("b") is None
    assert len(cache) == 2 and cache.hits == 3 and cache.misses == 1


def test_threads_share_one_consistent_cache():
    cache: ResultCache[int] = ResultCache(5000)  # room for all: no eviction between put and get
    wrong: list[tuple[int, int]] = []  # asserts inside threads would not fail the test

    def work(offset: int) -> None:
        for i in range(500):
            cache.put((offset, i), i)
            if cache.get((offset, i)) != i:
                wrong.append((offset, i))

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not wrong
    assert len(cache) == 2000


def test_bad_size():
    with pytest.raises(ValueError):
        ResultCache(0)
