"""Checks of a user's ``.keras`` file *before* Keras builds anything from it.

Keras allocates every weight a model's configuration declares while it builds the model,
before it reads (or misses) the weights: a 20 KB file whose config declares a Conv2D with
20 000 000 filters costs gigabytes before Keras refuses it. A ``.keras`` file is a zip
archive holding ``config.json``, ``metadata.json`` and ``model.weights.h5``, so the
archive and the configuration can be read, bounded and estimated first:

- the archive: at most :data:`MAX_MEMBERS` members, :data:`MAX_CONFIG_BYTES` of
  configuration, :data:`MAX_ARCHIVE_BYTES` unpacked in all, no member packed more than
  :data:`MAX_COMPRESSION_RATIO` times (a zip bomb);
- the weights file inside (its metadata only): no links or data outside itself, only
  numbers, no dataset packed more than :data:`MAX_COMPRESSION_RATIO` times;
- the configuration, without building it: no module outside Keras; inputs at most :data:`MAX_INPUT_SIDE` pixels on
  a side, about :data:`MAX_PARAMS` parameters at most (estimated layer by layer from the
  shapes the configuration implies), no more weights declared than the weights file can
  hold, at most :data:`MAX_CLASSES` outputs, at most :data:`MAX_MACS` multiply-adds per
  image, and an estimated memory for one batch within :data:`MAX_MEMORY_BYTES`.

Everything refused raises :class:`~xai_core.errors.ModelLoadError` with a sentence for a
person, naming the file by its name only (never a folder of the server).
"""

from __future__ import annotations

import io
import json
import math
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from xai_core.errors import FileRefusedError, ModelLoadError
from xai_core.models._config_estimate import (
    ConfigRefused,
    Estimate,
    build_shapes,
    estimate_model,
    largest_size_setting,
)
from xai_core.names import printable
from xai_core.reading import open_file

#: Most members of a ``.keras`` archive (Keras writes three, plus assets of some layers).
MAX_MEMBERS = 100
#: Largest ``config.json``, in bytes (Xception's is about 0.2 MB).
MAX_CONFIG_BYTES = 16 * 2**20
#: Most bytes of all members once unpacked (150 M float32 parameters are 600 MB).
MAX_ARCHIVE_BYTES = 1536 * 2**20
#: Largest ``.keras`` file read (its members stored, plus the zip's own records).
MAX_FILE_BYTES = MAX_ARCHIVE_BYTES + 16 * 2**20
#: Largest ratio of a member's unpacked to packed size, for members over 1 MB.
MAX_COMPRESSION_RATIO = 50
#: Largest input height and width, in pixels.
MAX_INPUT_SIDE = 1024
#: Most parameters (Xception has 23 M, ResNet50 26 M, VGG19 144 M).
MAX_PARAMS = 150_000_000
#: Largest estimated memory of one batch (see :func:`memory_estimate`).
MAX_MEMORY_BYTES = 4 * 2**30
#: The memory model, fitted to the peak RSS of loading eight models and classifying a
#: batch of 32 (``benchmarks/model_memory.py``, table in ``docs/model_memory.md``), above
#: what TensorFlow itself holds (about 0.7 GB): bytes per weight (loading keeps the initial
#: values, the values read from the file and the variables: 6 float32 copies at the peak),
#: per element of the largest layer step (its inputs and output, per image) and per input
#: element, per image of the batch.
MEMORY_PER_PARAM = 6 * 4
MEMORY_PER_STEP_ELEMENT = 1.1 * 4
MEMORY_PER_INPUT_ELEMENT = 2.9 * 4
#: Images per model call assumed by the memory estimate (``Classifier.batch_size``).
BATCH_SIZE = 32
#: Most multiply-adds for one image (Xception 8.4 G at 299 px, VGG19 20 G at 224 px).
MAX_MACS = 40_000_000_000
#: Most outputs (classes) per image (ImageNet-21k has 21 843).
MAX_CLASSES = 100_000
#: Largest value of a size setting (units, filters, ...) of any layer, known or not.
MAX_LAYER_SIZE = 1_000_000

@dataclass(frozen=True)
class ModelFileReport:
    """What :func:`check_model_file` found: estimates made from the configuration."""

    input_shape: tuple[int | None, ...]
    params: int
    memory_bytes: int
    weights_bytes: int
    macs: int = 0


def _fail(name: str, why: str) -> ModelLoadError:
    return ModelLoadError(f"{name} could not be loaded: {why}")


def _read_archive(path: Path) -> tuple[dict, int]:
    """The parsed ``config.json`` and the unpacked size of ``model.weights.h5``."""
    name = printable(path.name)
    try:
        # bounded and non-blocking: a pipe, a device or a huge file is refused unread
        archive = open_file(path, MAX_FILE_BYTES)
    except FileRefusedError as exc:
        raise _fail(name, str(exc).removeprefix(f"{name} ")) from None
    except OSError as exc:
        raise _fail(name, f"the file cannot be opened ({exc.strerror or type(exc).__name__})"
                    ) from None
    with archive:
        return _read_open_archive(archive, name)


def _read_open_archive(archive: BinaryIO, name: str) -> tuple[dict, int]:
    try:
        if not zipfile.is_zipfile(archive):
            raise _fail(name, "it is not a Keras .keras model file (a .keras file is a zip "
                              "archive; save the model with model.save('name.keras'))")
        with zipfile.ZipFile(archive) as zf:
            infos = zf.infolist()
            if len(infos) > MAX_MEMBERS:
                raise _fail(name, f"the archive holds {len(infos)} files; a Keras model has "
                                  f"a few (at most {MAX_MEMBERS} are accepted)")
            total = sum(max(i.file_size, 0) for i in infos)
            if total > MAX_ARCHIVE_BYTES:
                raise _fail(name, f"it unpacks to {total / 2**20:.0f} MB; the limit is "
                                  f"{MAX_ARCHIVE_BYTES / 2**20:.0f} MB")
            for info in infos:
                ratio = info.file_size / max(info.compress_size, 1)
                if info.file_size > 2**20 and ratio > MAX_COMPRESSION_RATIO:
                    raise _fail(name, f"one of its parts is packed {ratio:.0f} times (a "
                                      "'zip bomb'); a real model file is not")
            by_name = {i.filename: i for i in infos}
            if "config.json" not in by_name:
                raise _fail(name, "the archive has no config.json, so it is not a Keras "
                                  "model file")
            info = by_name["config.json"]
            if info.file_size > MAX_CONFIG_BYTES:
                raise _fail(name, f"its configuration is {info.file_size / 2**20:.0f} MB; "
                                  f"the limit is {MAX_CONFIG_BYTES / 2**20:.0f} MB")
            with zf.open(info) as f:
                raw = f.read(MAX_CONFIG_BYTES + 1)
            weights = by_name.get("model.weights.h5")
            weights_bytes = weights.file_size if weights is not None else 0
            if weights is not None:
                _check_weights(archive, name, zf, weights)
    except ModelLoadError:
        raise
    except (OSError, zipfile.BadZipFile, EOFError, ValueError, RuntimeError,
            NotImplementedError, OverflowError, MemoryError) as exc:
        raise _fail(name, f"the archive is damaged ({type(exc).__name__})") from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise _fail(name, "its configuration is larger than its archive says")
    try:
        config = json.loads(raw)
    except (ValueError, RecursionError, MemoryError):
        raise _fail(name, "its configuration (config.json) is not valid JSON") from None
    if not isinstance(config, dict):
        raise _fail(name, "its configuration (config.json) does not describe a model")
    return config, weights_bytes


# --- the weights file inside -----------------------------------------------------------


class _Window(io.RawIOBase):
    """A read-only view of ``size`` bytes of an open file from ``start`` (a stored zip member)."""

    def __init__(self, f: BinaryIO, start: int, size: int):
        self._f, self._start, self._size, self._pos = f, start, size, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = 0) -> int:
        base = {0: 0, 1: self._pos, 2: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer) -> int:
        n = max(0, min(len(buffer), self._size - self._pos))
        if n == 0:
            return 0
        self._f.seek(self._start + self._pos)
        data = self._f.read(n)
        buffer[: len(data)] = data
        self._pos += len(data)
        return len(data)


#: Largest packed (deflated) weights file examined in memory; Keras writes them stored.
_MAX_PACKED_WEIGHTS = 64 * 2**20
_MAX_H5_OBJECTS = 100_000


def _check_weights(raw: BinaryIO, name: str, zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
    """Refuse an HDF5 weights file that reaches outside itself or unpacks to far more than
    it holds (a compression bomb inside the archive), reading only its metadata.

    ``raw`` is the archive's open file (read through a window at the member's place).
    """
    import h5py

    if info.compress_type == zipfile.ZIP_STORED:
        raw.seek(info.header_offset)
        header = raw.read(30)
        if len(header) != 30 or header[:4] != b"PK\x03\x04":
            raise _fail(name, "the archive is damaged")
        start = info.header_offset + 30 + int.from_bytes(header[26:28], "little") + \
            int.from_bytes(header[28:30], "little")
        source: BinaryIO = io.BufferedReader(_Window(raw, start, info.file_size))
    else:
        if info.file_size > _MAX_PACKED_WEIGHTS:
            raise _fail(name, "its weights are compressed inside the archive and larger than "
                              f"{_MAX_PACKED_WEIGHTS // 2**20} MB; save it again with model.save")
        source = io.BytesIO(zf.read(info))
    try:
        with h5py.File(source, "r") as h5:
            _walk_h5(h5, name, [0, 0], set(), 0)
    except ModelLoadError:
        raise
    except Exception as exc:  # h5py raises OSError, KeyError, ValueError, RuntimeError, ...
        raise _fail(name, f"its weights file is damaged ({type(exc).__name__})") from None


def _walk_h5(group: Any, name: str, totals: list[int], seen: set, depth: int) -> None:
    import h5py

    if depth > 64:
        raise _fail(name, "its weights file is nested too deeply")
    for key in group:
        link = group.get(key, getlink=True)
        if not isinstance(link, h5py.HardLink):
            raise _fail(name, "its weights file links to other files or places; Keras never "
                              "writes such links")
        obj = group[key]
        totals[0] += 1
        if totals[0] > _MAX_H5_OBJECTS:
            raise _fail(name, "its weights file holds too many entries")
        if isinstance(obj, h5py.Group):
            addr = obj.id.__hash__()
            if addr in seen:
                continue
            seen.add(addr)
            _walk_h5(obj, name, totals, seen, depth + 1)
        elif isinstance(obj, h5py.Dataset):
            if obj.is_virtual or obj.external:
                raise _fail(name, "its weights file takes data from other files")
            if obj.dtype.kind not in "biuf":
                raise _fail(name, "its weights file holds something other than numbers")
            nbytes = int(obj.size) * obj.dtype.itemsize
            totals[1] += nbytes
            if totals[1] > MAX_ARCHIVE_BYTES:
                raise _fail(name, f"its weights unpack to more than "
                                  f"{MAX_ARCHIVE_BYTES / 2**20:.0f} MB")
            stored = int(obj.id.get_storage_size())
            if nbytes > MAX_COMPRESSION_RATIO * stored + 2**20:
                raise _fail(name, f"its weights are packed {nbytes / max(stored, 1):.0f} times "
                                  "(a 'zip bomb'); real weights are not")


def _check_modules(tree: Any, name: str, depth: int = 0) -> None:
    """Refuse a configuration that names code outside Keras (``"module": "os"``)."""
    if depth > 100:
        raise RecursionError
    if isinstance(tree, dict):
        module = tree.get("module")
        if isinstance(module, str) and module != "keras" and not module.startswith("keras."):
            raise _fail(name, f"its configuration refers to code outside Keras ({module[:60]}); "
                              "models with custom code are refused")
        for value in tree.values():
            _check_modules(value, name, depth + 1)
    elif isinstance(tree, list):
        for value in tree:
            _check_modules(value, name, depth + 1)


def memory_estimate(params: int, step: int, input_elements: int,
                    batch_size: int = BATCH_SIZE) -> int:
    """Bytes a model takes to load and to classify one batch, beyond TensorFlow's own.

    Parameters
    ----------
    params
        Number of weights.
    step
        Elements (per image) of the largest layer step: the layer's inputs and output.
    input_elements
        Elements of one input image (height x width x channels).
    batch_size
        Images per model call.

    Notes
    -----
    Fitted on eight models from 0.003 to 103 million weights and 128 to 1024 px
    (EfficientNet-Lite0/1/2, plain and residual CNNs, a dense head): it is within -8 % to
    +19 % of the measured peak for all but residual networks, which it overestimates by
    up to 45 % (their additions count three tensors where TensorFlow reuses one). The
    former estimate (4 bytes per weight and twice the largest activation) was 17 % to 83 %
    low.
    """
    return int(MEMORY_PER_PARAM * params + batch_size * (MEMORY_PER_STEP_ELEMENT * step
                                                         + MEMORY_PER_INPUT_ELEMENT * input_elements))


def check_model_file(path: str | Path) -> ModelFileReport:
    """Check a ``.keras`` file before any of it is built; see the module's limits.

    Parameters
    ----------
    path
        The model file.

    Returns
    -------
    ModelFileReport
        The estimates (input shape, parameters, memory of one batch, weights bytes).

    Raises
    ------
    ModelLoadError
        The file is not a readable ``.keras`` archive or exceeds a limit; the message
        says which, in plain words.
    """
    path = Path(path)
    name = printable(path.name)
    config, weights_bytes = _read_archive(path)
    est = Estimate(name)
    try:
        _check_modules(config, name)
        biggest = largest_size_setting(config)
        if biggest is not None and biggest[1] > MAX_LAYER_SIZE:
            raise _fail(name, f"a layer declares {biggest[0]}={biggest[1]:,}, far beyond any "
                              f"image classifier (at most {MAX_LAYER_SIZE:,} is accepted)")
        est.output = estimate_model(config, None, est)
        build_est = Estimate(name)
        build_shapes(config, build_est)
    except ConfigRefused as exc:
        raise _fail(name, str(exc)) from None
    except (RecursionError, MemoryError):
        raise _fail(name, "its configuration is nested too deeply") from None
    except (TypeError, ValueError, AttributeError, KeyError, OverflowError, ZeroDivisionError):
        raise _fail(name, "its configuration is damaged") from None
    params = max(est.params, build_est.params)
    largest = max(est.largest, build_est.largest)
    if not est.inputs:
        raise _fail(name, "its configuration declares no input of fixed shape")
    for shape in est.inputs:
        if len(shape) == 4:
            h, w = shape[1], shape[2]
            if (h or 0) > MAX_INPUT_SIDE or (w or 0) > MAX_INPUT_SIDE:
                raise _fail(name, f"its input is {h} x {w} pixels; at most {MAX_INPUT_SIDE} x "
                                  f"{MAX_INPUT_SIDE} is accepted (classifiers use a few hundred)")
        elif any(d is not None and d > MAX_INPUT_SIDE * MAX_INPUT_SIDE * 3 for d in shape[1:]):
            raise _fail(name, f"its input shape {shape} is too large")
    if est.output is not None and (est.output[-1] or 0) > MAX_CLASSES:
        raise _fail(name, f"it outputs {est.output[-1]:,} scores per image; at most "
                          f"{MAX_CLASSES:,} classes are accepted")
    if params > MAX_PARAMS:
        raise _fail(name, f"its configuration declares about {params / 1e6:,.0f} million "
                          f"parameters; at most {MAX_PARAMS / 1e6:.0f} million are accepted "
                          "(Xception has 23 million, VGG19 144 million)")
    if est.macs > MAX_MACS:
        raise _fail(name, f"one image would take about {est.macs / 1e9:,.0f} billion "
                          f"multiply-adds; at most {MAX_MACS / 1e9:.0f} billion are accepted "
                          "(Xception takes 8.4, VGG19 20), so explanations finish in minutes")
    step = max(est.step, build_est.step) or 2 * largest
    pixels = max((math.prod(d or 1 for d in shape[1:]) for shape in est.inputs), default=0)
    memory = memory_estimate(params, step, pixels)
    if memory > MAX_MEMORY_BYTES:
        raise _fail(name, f"running it would need about {memory / 2**30:.1f} GB of memory for "
                          f"a batch of {BATCH_SIZE} images; the limit is "
                          f"{MAX_MEMORY_BYTES / 2**30:.0f} GB")
    if params * 2 > weights_bytes + 2**20:
        raise _fail(name, f"its configuration declares about {params:,} parameters, more than "
                          f"its weights file can hold ({weights_bytes:,} bytes): the file is "
                          "damaged or was made by hand")
    return ModelFileReport(est.inputs[0], int(params), int(memory), int(weights_bytes),
                           int(est.macs))
