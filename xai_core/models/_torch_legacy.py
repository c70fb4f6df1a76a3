"""Read a PyTorch *legacy* ``.pth`` state dict into numpy arrays, without torch.

The legacy format (``torch.save(..., _use_new_zipfile_serialization=False)``) is a
sequence of pickles followed by the raw tensor storages::

    magic number | protocol version | system info | state dict | storage keys | storages...

Each storage on disk is an int64 element count followed by the raw little-endian data,
in the order of the storage-key list. The state-dict pickle refers to storages through
persistent ids and rebuilds tensors with ``torch._utils._rebuild_tensor_v2``.

Loading a pickle can run arbitrary code, so the unpickler here allows only the handful
of globals a tensor state dict needs and refuses every other one.
"""

from __future__ import annotations

import collections
import pickle
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, ClassVar

import numpy as np

_MAGIC = 0x1950A86A20F9469CFC6C
_STORAGE_DTYPES = {
    "FloatStorage": np.float32,
    "DoubleStorage": np.float64,
    "HalfStorage": np.float16,
    "LongStorage": np.int64,
    "IntStorage": np.int32,
    "ShortStorage": np.int16,
    "CharStorage": np.int8,
    "ByteStorage": np.uint8,
    "BoolStorage": np.bool_,
}


class UnsafeModelFileError(ValueError):
    """The file asked the unpickler for something other than plain tensors."""


@dataclass(frozen=True)
class _StorageRef:
    key: str
    dtype: type


@dataclass(frozen=True)
class _TensorRef:
    storage: _StorageRef
    offset: int
    shape: tuple[int, ...]
    strides: tuple[int, ...]


def _rebuild_tensor_v2(storage, offset, shape, strides, *_ignored) -> _TensorRef:
    return _TensorRef(storage, int(offset), tuple(shape), tuple(strides))


class _StorageType:
    def __init__(self, name: str):
        self.dtype = _STORAGE_DTYPES[name]


class _RestrictedUnpickler(pickle.Unpickler):
    _ALLOWED: ClassVar[dict] = {
        ("collections", "OrderedDict"): collections.OrderedDict,
        ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
    }

    def find_class(self, module: str, name: str):
        if (module, name) in self._ALLOWED:
            return self._ALLOWED[(module, name)]
        if module == "torch" and name in _STORAGE_DTYPES:
            return _StorageType(name)
        raise UnsafeModelFileError(
            f"refusing to load {module}.{name} from a model file: only plain tensors are allowed"
        )

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) >= 5 and pid[0] == "storage"):
            raise UnsafeModelFileError(f"unexpected persistent id in model file: {pid!r}")
        storage_type, key = pid[1], pid[2]
        if not isinstance(storage_type, _StorageType):
            raise UnsafeModelFileError("unexpected storage type in model file")
        return _StorageRef(str(key), storage_type.dtype)


def _load_pickle(f: BinaryIO):
    return _RestrictedUnpickler(f).load()


def read_legacy_state_dict(path: str | Path) -> dict[str, np.ndarray]:
    """Read a torch legacy-format state dict as ``{name: numpy array}``.

    Tensors keep their logical shapes (torch's NCHW / OI layouts); strides stored in
    the file are honoured.

    Raises
    ------
    UnsafeModelFileError
        When the file references any global beyond tensors and ordered dicts.
    ValueError
        When the file is not in torch's legacy format.
    """
    with open(path, "rb") as f:
        if _load_pickle(f) != _MAGIC:
            raise ValueError(f"{path} is not a torch legacy-format file (bad magic number)")
        _load_pickle(f)  # protocol version
        sys_info = _load_pickle(f)
        if isinstance(sys_info, dict) and not sys_info.get("little_endian", True):
            raise ValueError("big-endian torch files are not supported")
        state = _load_pickle(f)
        keys = _load_pickle(f)
        storages: dict[str, np.ndarray] = {}
        dtypes = _storage_dtypes(state)
        for key in keys:
            (count,) = struct.unpack("<q", f.read(8))
            dtype = np.dtype(dtypes.get(str(key), np.float32))
            raw = f.read(count * dtype.itemsize)
            if len(raw) != count * dtype.itemsize:
                raise ValueError(f"{path} is truncated (storage {key} incomplete)")
            storages[str(key)] = np.frombuffer(raw, dtype=dtype.newbyteorder("<"))
    out: dict[str, np.ndarray] = {}
    for name, ref in state.items():
        if not isinstance(ref, _TensorRef):
            continue
        base = storages[ref.storage.key]
        item = base.itemsize
        last = ref.offset + sum((n - 1) * st for n, st in zip(ref.shape, ref.strides, strict=True) if n > 0)
        if ref.offset < 0 or min(ref.strides, default=0) < 0 or last >= len(base):
            raise ValueError(f"tensor {name!r} points outside its storage: damaged model file")
        view = np.lib.stride_tricks.as_strided(
            base[ref.offset :],
            shape=ref.shape,
            strides=tuple(s * item for s in ref.strides),
            writeable=False,
        )
        out[name] = np.array(view)  # contiguous copy, independent of the file buffer
    return out


def _storage_dtypes(state) -> dict[str, type]:
    return {
        ref.storage.key: ref.storage.dtype
        for ref in state.values()
        if isinstance(ref, _TensorRef)
    }
