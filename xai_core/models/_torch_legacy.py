"""Read a PyTorch *legacy* ``.pth`` state dict into numpy arrays, without torch.

The legacy format (``torch.save(..., _use_new_zipfile_serialization=False)``) is a
sequence of pickles followed by the raw tensor storages::

    magic number | protocol version | system info | state dict | storage keys | storages...

Each storage on disk is an int64 element count followed by the raw little-endian data,
in the order of the storage-key list. The state-dict pickle refers to storages through
persistent ids and rebuilds tensors with ``torch._utils._rebuild_tensor_v2``.

Loading a pickle can run arbitrary code, so the unpickler here allows only the handful
of globals a tensor state dict needs and refuses every other one; only a plain ordered
dict may receive state (``BUILD``), never an allowed function or class. Sizes are bounded
before anything is allocated (a storage by the bytes left in the file, a tensor by its
storage and by :data:`MAX_ELEMENTS`), and every failure is a ``ValueError`` saying the
file is damaged or unsafe.
"""

from __future__ import annotations

import collections
import math
import os
import pickle
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, ClassVar

import numpy as np

from xai_core.reading import open_file

_MAGIC = 0x1950A86A20F9469CFC6C
#: Most elements in one file (all tensors together): 100 million, 400 MB of float32.
MAX_ELEMENTS = 100_000_000
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


def _ints(value: object, what: str) -> tuple[int, ...]:
    if not isinstance(value, (tuple, list)) or len(value) > 16:
        raise ValueError(f"the tensor {what} in the model file is not a short list of numbers")
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        raise ValueError(f"the tensor {what} in the model file is not a list of whole numbers")
    return tuple(value)


def _rebuild_tensor_v2(storage, offset, shape, strides, *_ignored) -> _TensorRef:
    if not isinstance(storage, _StorageRef) or not isinstance(offset, int):
        raise ValueError("a tensor in the model file does not point to a storage")
    shape, strides = _ints(shape, "shape"), _ints(strides, "strides")
    if len(shape) != len(strides):
        raise ValueError("a tensor in the model file has as many strides as dimensions")
    return _TensorRef(storage, offset, shape, strides)


class _StorageType:
    def __init__(self, name: str):
        self.dtype = _STORAGE_DTYPES[name]


class _RestrictedUnpickler(pickle._Unpickler):
    """The pure-Python unpickler (its opcodes can be overridden), restricted."""

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

    def load_build(self) -> None:
        """``BUILD`` (set an object's state): only a plain ordered dict may receive it.

        Torch records an ordered dict's ``_metadata`` this way; it is not needed and is
        dropped. On anything else (an allowed function, a class) it would change that
        object for the whole process, so it is refused.
        """
        state = self.stack.pop()
        target = self.stack[-1]
        if type(target) is not collections.OrderedDict:
            raise UnsafeModelFileError(
                "refusing a model file that tries to change an object other than a plain "
                "dictionary: only plain tensors are allowed"
            )
        del state

    dispatch: ClassVar[dict] = {**pickle._Unpickler.dispatch, pickle.BUILD[0]: load_build}

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
        When the file references any global beyond tensors and ordered dicts, or sets
        the state of anything but a plain dictionary.
    ValueError
        When the file is not in torch's legacy format, is damaged or truncated, or holds
        more than :data:`MAX_ELEMENTS` elements. Nothing else escapes: every other
        failure of reading it is turned into this error.
    OSError
        When the file cannot be opened.
    """
    name = Path(path).name
    # a regular file of at most 4 bytes per element allowed (plus the pickles); never a pipe
    with open_file(path, 4 * MAX_ELEMENTS + 2**20) as f:
        size = os.fstat(f.fileno()).st_size
        try:
            return _read(f, size, name)
        except (UnsafeModelFileError, ValueError):
            raise
        except (TypeError, KeyError, AttributeError, IndexError, OverflowError, EOFError,
                MemoryError, RecursionError, struct.error, pickle.UnpicklingError,
                UnicodeDecodeError, ImportError) as exc:
            raise ValueError(
                f"{name} is damaged: it is not a readable torch weights file ({type(exc).__name__})"
            ) from None


def _read(f: BinaryIO, size: int, name: str) -> dict[str, np.ndarray]:
    if _load_pickle(f) != _MAGIC:
        raise ValueError(f"{name} is not a torch legacy-format file (bad magic number)")
    _load_pickle(f)  # protocol version
    sys_info = _load_pickle(f)
    if isinstance(sys_info, dict) and not sys_info.get("little_endian", True):
        raise ValueError("big-endian torch files are not supported")
    state = _load_pickle(f)
    keys = _load_pickle(f)
    if not isinstance(state, dict) or not isinstance(keys, (list, tuple)):
        raise ValueError(f"{name} is damaged: it does not hold a state dict")
    storages: dict[str, np.ndarray] = {}
    dtypes = _storage_dtypes(state)
    total = 0
    for key in keys:
        (count,) = struct.unpack("<q", f.read(8))
        dtype = np.dtype(dtypes.get(str(key), np.float32))
        left = size - f.tell()
        total += max(count, 0)
        if count < 0 or count * dtype.itemsize > left or total > MAX_ELEMENTS:
            raise ValueError(
                f"{name} is damaged or too large: storage {key} declares {count} elements "
                f"({left} bytes are left in the file; at most {MAX_ELEMENTS} elements in all)"
            )
        raw = f.read(count * dtype.itemsize)
        if len(raw) != count * dtype.itemsize:
            raise ValueError(f"{name} is truncated (storage {key} incomplete)")
        storages[str(key)] = np.frombuffer(raw, dtype=dtype.newbyteorder("<"))
    out: dict[str, np.ndarray] = {}
    for tname, ref in state.items():
        if not isinstance(ref, _TensorRef):
            continue
        base = storages.get(ref.storage.key)
        if base is None:
            raise ValueError(f"{name} is damaged: tensor {tname!r} has no storage")
        numel = math.prod(ref.shape)
        last = ref.offset + sum((n - 1) * st for n, st in zip(ref.shape, ref.strides, strict=True)
                                if n > 0)
        if (ref.offset < 0 or min(ref.shape, default=0) < 0 or min(ref.strides, default=0) < 0
                or (numel > 0 and last >= len(base)) or numel > len(base)):
            # numel > len(base): a stride-0 view would turn a tiny file into a huge copy
            raise ValueError(f"tensor {tname!r} points outside its storage: damaged model file")
        view = np.lib.stride_tricks.as_strided(
            base[ref.offset :],
            shape=ref.shape,
            strides=tuple(s * base.itemsize for s in ref.strides),
            writeable=False,
        )
        out[str(tname)] = np.array(view)  # contiguous copy, independent of the file buffer
    return out


def _storage_dtypes(state) -> dict[str, type]:
    return {
        ref.storage.key: ref.storage.dtype
        for ref in state.values()
        if isinstance(ref, _TensorRef)
    }
