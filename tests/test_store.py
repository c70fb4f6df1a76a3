"""The explanation store: bounded in bytes, kept across restarts, checked on every read."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from xai_core.store import ExplanationStore, image_key, model_id, store_mb_from_env

ROOT = Path(__file__).resolve().parents[1]


def blob(i: int, kb: int = 40) -> np.ndarray:
    return np.full(kb * 1024 // 4, i, np.float32)


def test_the_store_never_exceeds_its_byte_limit_and_evicts_the_least_recently_used(tmp_path):
    store = ExplanationStore(tmp_path, size_mb=0.5)
    for i in range(40):  # 40 entries of 40 kB: three times the bound
        assert store.put(("k", i), blob(i))
        assert store.volume() <= store.size_limit
        if i >= 3:
            assert store.get(("k", 0)) is not None  # used: kept as the most recent
    assert len(store) < 40
    assert store.get(("k", 0)) is not None and store.get(("k", 1)) is None  # evicted
    np.testing.assert_array_equal(store.get(("k", 39)), blob(39))
    assert not store.put(("big",), blob(0, kb=200))  # over a quarter of the bound: not kept
    assert store.volume() <= store.size_limit


def test_the_store_survives_a_restart_in_another_process(tmp_path):
    store = ExplanationStore(tmp_path, size_mb=5)
    store.put(("view", "coffee", 3), {"map": blob(3), "wall_s": 12.3})
    store.close()
    reopened = ExplanationStore(tmp_path, size_mb=5)  # a new object over the same folder
    assert reopened.get(("view", "coffee", 3))["wall_s"] == 12.3
    reopened.close()
    code = ("import sys; from xai_core.store import ExplanationStore; "
            "v = ExplanationStore(sys.argv[1], size_mb=5).get(('view', 'coffee', 3)); "
            "print(v['wall_s'], float(v['map'].sum()))")
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path)], cwd=ROOT,
                         capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.split() == ["12.3", str(float(blob(3).sum()))]


def test_a_damaged_entry_is_dropped_not_shown(tmp_path):
    store = ExplanationStore(tmp_path, size_mb=5)
    store.put(("big",), blob(7, kb=100))  # over 32 kB: diskcache keeps it in a file
    files = [p for p in tmp_path.rglob("*.val")]
    assert len(files) == 1
    data = bytearray(files[0].read_bytes())
    data[len(data) // 2] ^= 0x01  # one bit flipped on disk
    files[0].write_bytes(bytes(data))
    assert store.get(("big",)) is None and store.rejected == 1
    assert not store.contains(("big",))  # deleted: the next request recomputes it


def test_an_entry_moved_under_another_key_is_refused(tmp_path):
    store = ExplanationStore(tmp_path, size_mb=5)
    store.put(("cat",), "a map of the cat")
    raw = store._cache
    raw[store.entry_name(("dog",))] = raw[store.entry_name(("cat",))]  # a foreign entry
    assert store.get(("dog",)) is None and store.get(("cat",)) == "a map of the cat"
    raw[store.entry_name(("pickle",))] = b"not a record"
    assert store.get(("pickle",)) is None and store.rejected == 2


class _Weight:
    def __init__(self, value: np.ndarray) -> None:
        self.value = value

    def numpy(self) -> np.ndarray:
        return self.value


class _Model:
    def __init__(self, w: np.ndarray) -> None:
        self.weights = [_Weight(w)]


class _Clf:
    name, input_size, preprocessing, outputs_logits = "tiny", (8, 8), "none", False

    def __init__(self, w: np.ndarray) -> None:
        self.model = _Model(w)


def test_results_are_keyed_by_the_models_weights(tmp_path):
    a, b = _Clf(np.zeros(4, np.float32)), _Clf(np.ones(4, np.float32))
    assert model_id(a) != model_id(b) and model_id(a) == model_id(_Clf(np.zeros(4, np.float32)))
    store = ExplanationStore(tmp_path, size_mb=5)
    store.put(("view",), "from a", clf=a)
    assert store.get(("view",), clf=b) is None and store.get(("view",), clf=a) == "from a"


def test_image_key_is_the_dashboards():
    raw = np.arange(48, dtype=np.uint8).reshape(4, 4, 3)
    key = image_key(raw, (224, 224))
    assert key.endswith("@224x224") and image_key(raw, (224, 224), "pad") == key + "-pad"
    assert image_key(raw[::-1].copy(), (224, 224)) != key


def test_store_size_setting(monkeypatch):
    monkeypatch.delenv("SALIENCY_LAB_STORE_MB", raising=False)
    assert store_mb_from_env() == 500
    monkeypatch.setenv("SALIENCY_LAB_STORE_MB", "50")
    assert store_mb_from_env() == 50
    for bad in ("lots", "0", "-3"):
        monkeypatch.setenv("SALIENCY_LAB_STORE_MB", bad)
        with pytest.raises(ValueError, match="SALIENCY_LAB_STORE_MB"):
            store_mb_from_env()
