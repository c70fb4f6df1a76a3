"""The legacy torch weight reader on hostile files built in the test (issue 12)."""

from __future__ import annotations

import collections
import io
import pickle
import struct
import sys
import types

import numpy as np
import pytest

from xai_core.models import _torch_legacy
from xai_core.models._torch_legacy import UnsafeModelFileError, read_legacy_state_dict

MAGIC = 0x1950A86A20F9469CFC6C


class _Storage:
    def __init__(self, key: str, data: np.ndarray):
        self.key, self.data = key, data


class _Tensor:
    def __init__(self, storage: _Storage, offset: int, shape, strides):
        self.storage, self.offset, self.shape, self.strides = storage, offset, shape, strides


@pytest.fixture
def fake_torch(monkeypatch):
    """Just enough of a ``torch`` module for pickle to name its globals."""
    torch = types.ModuleType("torch")
    utils = types.ModuleType("torch._utils")

    class FloatStorage:
        pass

    def _rebuild_tensor_v2(*args):
        raise AssertionError("never called while writing")

    FloatStorage.__module__ = "torch"
    FloatStorage.__qualname__ = "FloatStorage"
    _rebuild_tensor_v2.__module__ = "torch._utils"
    _rebuild_tensor_v2.__qualname__ = "_rebuild_tensor_v2"
    torch.FloatStorage, utils._rebuild_tensor_v2, torch._utils = FloatStorage, _rebuild_tensor_v2, utils
    monkeypatch.setitem(sys.modules, "torch", torch)
    monkeypatch.setitem(sys.modules, "torch._utils", utils)
    return torch


def legacy_bytes(torch, tensors: dict[str, _Tensor], counts: dict[str, int] | None = None) -> bytes:
    """A legacy-format file: magic, version, sys info, state dict, keys, storages."""

    class Pickler(pickle.Pickler):
        def persistent_id(self, obj):
            if isinstance(obj, _Storage):
                return ("storage", torch.FloatStorage, obj.key, "cpu", obj.data.size)
            return None

        def reducer_override(self, obj):
            if isinstance(obj, _Tensor):
                return (torch._utils._rebuild_tensor_v2,
                        (obj.storage, obj.offset, obj.shape, obj.strides, False,
                         collections.OrderedDict()))
            return NotImplemented

    buf = io.BytesIO()
    for head in (MAGIC, 1001, {"little_endian": True}):
        pickle.dump(head, buf, protocol=2)
    Pickler(buf, protocol=2).dump(collections.OrderedDict(tensors))
    storages = {t.storage.key: t.storage for t in tensors.values()}
    pickle.dump(list(storages), buf, protocol=2)
    for key, st in storages.items():
        count = (counts or {}).get(key, st.data.size)
        buf.write(struct.pack("<q", count))
        buf.write(st.data.astype("<f4").tobytes())
    return buf.getvalue()


def good_file(torch) -> bytes:
    st = _Storage("0", np.arange(12, dtype=np.float32))
    return legacy_bytes(torch, {"w": _Tensor(st, 0, (3, 4), (4, 1)),
                                "b": _Tensor(st, 8, (4,), (1,))})


def test_a_small_file_built_here_reads_back(fake_torch, tmp_path):
    path = tmp_path / "w.pth"
    path.write_bytes(good_file(fake_torch))
    sd = read_legacy_state_dict(path)
    np.testing.assert_array_equal(sd["w"], np.arange(12).reshape(3, 4))
    np.testing.assert_array_equal(sd["b"], [8, 9, 10, 11])


def test_every_truncation_and_byte_flip_gives_the_documented_error(fake_torch, tmp_path):
    data = good_file(fake_torch)
    path = tmp_path / "w.pth"
    rng = np.random.default_rng(0)
    variants = [data[:n] for n in range(len(data))]
    for _ in range(400):
        b = bytearray(data)
        for i in rng.integers(0, len(b), 3):
            b[i] = int(rng.integers(0, 256))
        variants.append(bytes(b))
    for variant in variants:
        path.write_bytes(variant)
        try:
            read_legacy_state_dict(path)
        except ValueError as exc:  # UnsafeModelFileError is a ValueError
            assert "/tmp" not in str(exc) and str(tmp_path) not in str(exc)


def test_stride_zero_tensor_is_refused_before_allocating(fake_torch, tmp_path):
    st = _Storage("0", np.ones(1, np.float32))
    path = tmp_path / "w.pth"
    # one stored number viewed as 20000 x 20000 (1.6 GB once copied)
    path.write_bytes(legacy_bytes(fake_torch, {"w": _Tensor(st, 0, (20000, 20000), (0, 0))}))
    with pytest.raises(ValueError, match="outside its storage"):
        read_legacy_state_dict(path)


def test_storage_counts_are_bounded_by_the_file(fake_torch, tmp_path):
    st = _Storage("0", np.ones(4, np.float32))
    path = tmp_path / "w.pth"
    for count in (2**60, 2**40, -5, 10**9):
        path.write_bytes(legacy_bytes(fake_torch, {"w": _Tensor(st, 0, (4,), (1,))},
                                      counts={"0": count}))
        with pytest.raises(ValueError, match="damaged|too large"):
            read_legacy_state_dict(path)


def test_build_on_an_allowed_function_is_refused(tmp_path):
    before = _torch_legacy._rebuild_tensor_v2.__doc__
    state = (b"\x80\x02ctorch._utils\n_rebuild_tensor_v2\n}"
             b"X\x07\x00\x00\x00__doc__X\x05\x00\x00\x00pwneds"
             b"X\x08\x00\x00\x00__code__cbuiltins\nprint\nsb.")
    path = tmp_path / "w.pth"
    with open(path, "wb") as f:
        for head in (MAGIC, 1001, {"little_endian": True}):
            pickle.dump(head, f, protocol=2)
        f.write(state)
    with pytest.raises(UnsafeModelFileError):
        read_legacy_state_dict(path)
    assert _torch_legacy._rebuild_tensor_v2.__doc__ == before
    # BUILD on the allowed class itself is refused too
    path.write_bytes(path.read_bytes().replace(b"torch._utils\n_rebuild_tensor_v2",
                                               b"collections\nOrderedDict"))
    with pytest.raises(UnsafeModelFileError):
        read_legacy_state_dict(path)
    assert not hasattr(collections.OrderedDict, "pwned")


def test_damaged_weights_become_a_model_load_error(fake_torch, tmp_path, monkeypatch):
    from xai_core import ModelLoadError, load_classifier
    from xai_core.models import efficientnet_lite

    bad = tmp_path / "weights.pth"
    bad.write_bytes(good_file(fake_torch))  # readable, but not EfficientNet's tensors
    monkeypatch.setattr(efficientnet_lite, "weights_path", lambda variant="lite0": bad)
    monkeypatch.setenv("XAI_CACHE_DIR", str(tmp_path / "cache"))
    with pytest.raises(ModelLoadError, match="EfficientNet-Lite0 weights") as info:
        load_classifier("efficientnet_lite0", engine="keras")
    assert str(tmp_path) not in str(info.value)
    bad.write_bytes(good_file(fake_torch)[:-7])  # truncated
    with pytest.raises(ModelLoadError, match="EfficientNet-Lite0 weights"):
        load_classifier("efficientnet_lite0", engine="keras")
