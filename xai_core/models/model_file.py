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
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from xai_core.errors import ModelLoadError

#: Most members of a ``.keras`` archive (Keras writes three, plus assets of some layers).
MAX_MEMBERS = 100
#: Largest ``config.json``, in bytes (Xception's is about 0.2 MB).
MAX_CONFIG_BYTES = 16 * 2**20
#: Most bytes of all members once unpacked (150 M float32 parameters are 600 MB).
MAX_ARCHIVE_BYTES = 1536 * 2**20
#: Largest ratio of a member's unpacked to packed size, for members over 1 MB.
MAX_COMPRESSION_RATIO = 50
#: Largest input height and width, in pixels.
MAX_INPUT_SIDE = 1024
#: Most parameters (Xception has 23 M, ResNet50 26 M, VGG19 144 M).
MAX_PARAMS = 150_000_000
#: Largest estimated memory of one batch: weights plus the largest layer's input and output.
MAX_MEMORY_BYTES = 4 * 2**30
#: Images per model call assumed by the memory estimate (``Classifier.batch_size``).
BATCH_SIZE = 32
#: Most multiply-adds for one image (Xception 8.4 G at 299 px, VGG19 20 G at 224 px).
MAX_MACS = 40_000_000_000
#: Most outputs (classes) per image (ImageNet-21k has 21 843).
MAX_CLASSES = 100_000
#: Largest value of a size setting (units, filters, ...) of any layer, known or not.
MAX_LAYER_SIZE = 1_000_000

_SIZE_KEYS = frozenset({
    "units", "filters", "output_dim", "input_dim", "num_heads", "key_dim", "value_dim",
    "depth_multiplier", "kernel_size", "pool_size", "size", "target_shape", "dims",
    "n", "height", "width", "intermediate_dim", "hidden_dim", "embed_dim", "num_tokens",
    "max_tokens", "output_shape", "groups", "num_bins", "padding", "cropping",
})

Shape = tuple[int | None, ...] | None

#: Layers with weights whose size depends on their input (the input must be known).
_WEIGHTED = frozenset({
    "Dense", "EinsumDense", "BatchNormalization", "LayerNormalization", "GroupNormalization",
    "Normalization", "PReLU", "LSTM", "GRU", "SimpleRNN", "MultiHeadAttention", "LayerScale",
})
#: Layers whose output has their input's shape.
_SAME_SHAPE = frozenset({
    "Activation", "ReLU", "LeakyReLU", "ELU", "PReLU", "Softmax", "ThresholdedReLU",
    "Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D", "GaussianNoise",
    "GaussianDropout", "AlphaDropout", "Rescaling", "Normalization", "ActivityRegularization",
    "Masking", "Identity", "BatchNormalization", "LayerNormalization", "GroupNormalization",
    "UnitNormalization", "LayerScale", "MultiHeadAttention", "RandomFlip", "RandomRotation",
    "RandomZoom", "RandomTranslation", "RandomContrast", "RandomBrightness",
    "RandomGrayscale", "RandomHue", "RandomSaturation", "RandomSharpness",
    "RandomColorJitter", "RandomColorDegeneration", "RandomPosterization", "RandomInvert",
    "AutoContrast", "Equalization", "Solarization", "RandomErasing", "RandomGaussianBlur",
    "RandomShear", "RandomPerspective", "RandomElasticTransform", "InputLayer",
})


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
    name = path.name
    try:
        if not zipfile.is_zipfile(path):
            raise _fail(name, "it is not a Keras .keras model file (a .keras file is a zip "
                              "archive; save the model with model.save('name.keras'))")
        with zipfile.ZipFile(path) as zf:
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
                _check_weights(path, zf, weights)
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


def _check_weights(path: Path, zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
    """Refuse an HDF5 weights file that reaches outside itself or unpacks to far more than
    it holds (a compression bomb inside the archive), reading only its metadata."""
    import h5py

    name = path.name
    if info.compress_type == zipfile.ZIP_STORED:
        raw = open(path, "rb")  # noqa: SIM115 - closed below, after h5py is done with it
        raw.seek(info.header_offset)
        header = raw.read(30)
        if len(header) != 30 or header[:4] != b"PK\x03\x04":
            raw.close()
            raise _fail(name, "the archive is damaged")
        start = info.header_offset + 30 + int.from_bytes(header[26:28], "little") + \
            int.from_bytes(header[28:30], "little")
        source: BinaryIO = io.BufferedReader(_Window(raw, start, info.file_size))
    else:
        if info.file_size > _MAX_PACKED_WEIGHTS:
            raise _fail(name, "its weights are compressed inside the archive and larger than "
                              f"{_MAX_PACKED_WEIGHTS // 2**20} MB; save it again with model.save")
        raw = None
        source = io.BytesIO(zf.read(info))
    try:
        with h5py.File(source, "r") as h5:
            _walk_h5(h5, name, [0, 0], set(), 0)
    except ModelLoadError:
        raise
    except Exception as exc:  # h5py raises OSError, KeyError, ValueError, RuntimeError, ...
        raise _fail(name, f"its weights file is damaged ({type(exc).__name__})") from None
    finally:
        if raw is not None:
            raw.close()


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


# --- estimating a configuration ----------------------------------------------------------


class _Estimate:
    """Parameters and the largest activation, accumulated over the layers seen."""

    def __init__(self, name: str):
        self.name = name
        self.params = 0
        self.largest = 0  # elements of the largest layer input/output, per image
        self.macs = 0  # multiply-adds of one image through the weighted layers
        self.output: Shape = None
        self.inputs: list[tuple[int | None, ...]] = []
        self.seen: set[int] = set()

    def activation(self, shape: Shape) -> None:
        if shape is not None and len(shape) > 1 and all(d is not None for d in shape[1:]):
            self.largest = max(self.largest, math.prod(shape[1:]))


def _ints(value: Any, n: int) -> tuple[int, ...] | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return (value,) * n
    if isinstance(value, (list, tuple)) and all(isinstance(v, int) and not isinstance(v, bool)
                                                 for v in value):
        return tuple(value)
    return None


def _shape(value: Any) -> Shape:
    if not isinstance(value, (list, tuple)) or len(value) > 8:
        return None
    if not all(v is None or (isinstance(v, int) and not isinstance(v, bool) and v >= 0)
               for v in value):
        return None
    return tuple(value)


def _spatial(n: int | None, k: int, s: int, d: int, padding: str) -> int | None:
    if n is None:
        return None
    if padding == "same":
        return -(-n // max(s, 1))
    return max((n - d * (k - 1) - 1) // max(s, 1) + 1, 0)


def _conv(cfg: dict, shape: Shape, rank: int, kind: str) -> tuple[Shape, int]:
    """Output shape and parameters of a (transposed, depthwise, separable) convolution."""
    k = _ints(cfg.get("kernel_size", 1), rank) or (1,) * rank
    s = _ints(cfg.get("strides", 1), rank) or (1,) * rank
    d = _ints(cfg.get("dilation_rate", 1), rank) or (1,) * rank
    pad = str(cfg.get("padding", "valid")).lower()
    bias = bool(cfg.get("use_bias", True))
    filters = int(cfg.get("filters") or 0)
    mult = int(cfg.get("depth_multiplier") or 1)
    groups = max(int(cfg.get("groups") or 1), 1)
    cin = shape[-1] if shape is not None and len(shape) == rank + 2 else None
    cin_n = cin or 1
    kk = math.prod(k)
    if kind == "depthwise":
        cout = cin_n * mult
        params = kk * cin_n * mult + (cout if bias else 0)
    elif kind == "separable":
        cout = filters
        params = kk * cin_n * mult + cin_n * mult * filters + (filters if bias else 0)
    else:
        cout = filters
        params = kk * (cin_n // groups or 1) * filters + (filters if bias else 0)
    if shape is None or len(shape) != rank + 2:
        return None, params
    dims = []
    for i in range(rank):
        n = shape[1 + i]
        if kind == "transpose":
            dims.append(None if n is None else
                        (n * s[i] if pad == "same" else (n - 1) * s[i] + d[i] * (k[i] - 1) + 1))
        else:
            dims.append(_spatial(n, k[i], s[i], d[i], pad))
    return (shape[0], *dims, cout), params


def _pool(cfg: dict, shape: Shape, rank: int) -> Shape:
    if shape is None or len(shape) != rank + 2:
        return shape
    k = _ints(cfg.get("pool_size", 2), rank) or (2,) * rank
    s = _ints(cfg.get("strides") or k, rank) or k
    pad = str(cfg.get("padding", "valid")).lower()
    return (shape[0], *(_spatial(shape[1 + i], k[i], s[i], 1, pad) for i in range(rank)),
            shape[-1])


def _scale_spatial(shape: Shape, rank: int, per_axis: tuple[int, ...] | None, add: bool) -> Shape:
    if shape is None or len(shape) != rank + 2 or per_axis is None:
        return shape
    per_axis = per_axis[:rank] + (per_axis[-1],) * (rank - len(per_axis))
    return (shape[0], *(None if n is None else (n + f if add else n * f)
                        for n, f in zip(shape[1:-1], per_axis, strict=False)), shape[-1])


def _merge(shapes: list[Shape], cfg: dict, concat: bool) -> Shape:
    known = [s for s in shapes if s is not None]
    if not known or len({len(s) for s in known}) != 1:
        return known[0] if known else None
    if concat:
        axis = int(cfg.get("axis", -1)) % len(known[0])
        parts = [s[axis] for s in known]
        total = None if any(p is None for p in parts) else sum(parts)
        return tuple(total if i == axis else known[0][i] for i in range(len(known[0])))
    return tuple(None if any(s[i] is None for s in known) else max(s[i] for s in known)
                 for i in range(len(known[0])))


def _layer(entry: dict, inputs: list[Shape], est: _Estimate) -> Shape:
    """Account for one layer called on ``inputs``; return its output shape (``None``: unknown)."""
    cls = str(entry.get("class_name", ""))
    cfg = entry.get("config") if isinstance(entry.get("config"), dict) else {}
    shape = inputs[0] if inputs else None
    first_call = id(entry) not in est.seen
    est.seen.add(id(entry))
    params = 0
    out: Shape = shape
    found = re.search(r"([123])D", cls)
    rank = int(found.group(1)) if found else 0
    if cls in ("Functional", "Sequential", "Model"):
        return _model(entry, shape, est)
    weighted = cls in _WEIGHTED or (rank and cls.startswith(
        ("Conv", "Convolution", "DepthwiseConv", "SeparableConv")))
    if weighted and (shape is None or not shape or shape[-1] is None):
        # Keras builds such a layer with the shape in its build_config (a file it saved
        # always has one); without either, its size cannot be bounded: refuse.
        build = entry.get("build_config")
        built = _shape(build.get("input_shape")) if isinstance(build, dict) else None
        if built is None or not built or built[-1] is None:
            raise _fail(est.name, f"the size of its {cls} layer cannot be told from its "
                                  "configuration (the file was not saved by Keras)")
        shape = built
        inputs = [built, *inputs[1:]]
    if cls == "InputLayer":
        out = _shape(cfg.get("batch_shape") or cfg.get("batch_input_shape"))
        if out is None and _shape(cfg.get("shape")) is not None:
            out = (None, *_shape(cfg.get("shape")))
        if out is not None:
            est.inputs.append(out)
    elif cls.startswith(("Conv", "Convolution")) and rank:
        out, params = _conv(cfg, shape, rank, "transpose" if "Transpose" in cls else "conv")
    elif cls.startswith("DepthwiseConv") and rank:
        out, params = _conv(cfg, shape, rank, "depthwise")
    elif cls.startswith("SeparableConv") and rank:
        out, params = _conv(cfg, shape, rank, "separable")
    elif cls == "Dense":
        units = int(cfg.get("units") or 0)
        cin = shape[-1] if shape else None
        params = (cin or 1) * units + (units if cfg.get("use_bias", True) else 0)
        out = (*shape[:-1], units) if shape else None
    elif cls == "EinsumDense":
        dims = _ints(cfg.get("output_shape"), 1) or (1,)
        cin = shape[-1] if shape else None
        params = (cin or 1) * math.prod(d for d in dims if d)
        out = None
    elif cls == "Embedding":
        params = int(cfg.get("input_dim") or 0) * int(cfg.get("output_dim") or 0)
        out = (*shape, int(cfg.get("output_dim") or 0)) if shape else None
    elif cls in ("BatchNormalization", "LayerNormalization", "GroupNormalization",
                 "Normalization"):
        c = shape[-1] if shape and shape[-1] else 1
        per = {"BatchNormalization": 4, "Normalization": 2}.get(cls)
        if per is None:
            per = int(cfg.get("center", True) is not False) + int(cfg.get("scale", True) is not False)
        params = per * c + (1 if cls == "Normalization" else 0)
    elif cls == "PReLU":
        known = [d for d in (shape or ())[1:] if d]
        params = math.prod(known) if known else 1
    elif cls in ("LSTM", "GRU", "SimpleRNN"):
        units = int(cfg.get("units") or 0)
        gates = {"LSTM": 4, "GRU": 3}.get(cls, 1)
        cin = shape[-1] if shape else None
        params = gates * ((cin or 1) * units + units * units + 2 * units)
        if shape:
            out = (*shape[:-1], units) if cfg.get("return_sequences") else (shape[0], units)
    elif cls == "MultiHeadAttention":
        heads, key = int(cfg.get("num_heads") or 0), int(cfg.get("key_dim") or 0)
        value = int(cfg.get("value_dim") or key)
        cin = shape[-1] if shape else None
        params = (cin or 1) * heads * (2 * key + 2 * value)
    elif cls == "Flatten":
        if shape is not None and all(d is not None for d in shape[1:]):
            out = (shape[0], math.prod(shape[1:]))
        else:
            out = None
    elif cls == "Reshape":
        target = _ints(cfg.get("target_shape"), 1)
        if target is not None and shape is not None and all(d is not None for d in shape[1:]):
            total = math.prod(shape[1:])
            known = math.prod(t for t in target if t != -1) or 1
            out = (shape[0], *(total // known if t == -1 else t for t in target))
        else:
            out = None
    elif cls.startswith("Global") and rank:
        if shape is not None and len(shape) == rank + 2:
            out = ((shape[0], *(1,) * rank, shape[-1]) if cfg.get("keepdims")
                   else (shape[0], shape[-1]))
    elif cls.startswith(("MaxPooling", "AveragePooling", "MaxPool", "AvgPool")) and rank:
        out = _pool(cfg, shape, rank)
    elif cls.startswith("UpSampling") and rank:
        out = _scale_spatial(shape, rank, _ints(cfg.get("size", 2), rank), add=False)
    elif cls.startswith("ZeroPadding") and rank:
        pad = cfg.get("padding", 1)
        flat = _ints(pad, rank)
        if flat is None and isinstance(pad, (list, tuple)):
            flat = tuple(sum(_ints(p, 2) or (0, 0)) for p in pad)
        elif flat is not None:
            flat = tuple(2 * p for p in flat)
        out = _scale_spatial(shape, rank, flat, add=True)
    elif cls in ("Resizing", "CenterCrop"):
        h, w = cfg.get("height"), cfg.get("width")
        if isinstance(h, int) and isinstance(w, int) and shape is not None and len(shape) == 4:
            out = (shape[0], h, w, shape[3])
    elif cls == "Concatenate":
        out = _merge(inputs, cfg, concat=True)
    elif cls in ("Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum"):
        out = _merge(inputs, cfg, concat=False)
    elif cls == "RepeatVector":
        n = cfg.get("n")
        out = (shape[0], n, *shape[1:]) if shape and isinstance(n, int) else None
    elif cls == "LayerScale":
        params = shape[-1] if shape and shape[-1] else 1
    elif cls.startswith("Cropping") and rank:
        crop = cfg.get("cropping", 1)
        flat = _ints(crop, rank)
        if flat is None and isinstance(crop, (list, tuple)):
            flat = tuple(-sum(_ints(c, 2) or (0, 0)) for c in crop)
        elif flat is not None:
            flat = tuple(-2 * c for c in flat)
        out = _scale_spatial(shape, rank, flat, add=True)
    elif cls == "Permute":
        dims = _ints(cfg.get("dims"), 1)
        if shape is not None and dims is not None and sorted(dims) == list(
                range(1, len(shape))):
            out = (shape[0], *(shape[d] for d in dims))
        else:
            out = None
    elif cls == "CategoryEncoding":
        n = cfg.get("num_tokens")
        out = (shape[0], n) if shape and isinstance(n, int) else None
    elif cls == "RandomCrop":
        h, w = cfg.get("height"), cfg.get("width")
        if isinstance(h, int) and isinstance(w, int) and shape is not None and len(shape) == 4:
            out = (shape[0], h, w, shape[3])
    elif cls not in _SAME_SHAPE and cls not in ("TimeDistributed", "Bidirectional"):
        out = None  # a layer whose output we cannot tell: later weighted layers need build_config
    if cls in ("TimeDistributed", "Bidirectional"):
        inner = cfg.get("layer")
        if isinstance(inner, dict):
            sub = (shape[0], *shape[2:]) if shape and len(shape) > 2 else shape
            before = est.params
            res = _layer(inner, [sub], est)
            if cls == "Bidirectional":
                est.params += est.params - before
            out = (shape[0], shape[1], *res[1:]) if (res and shape and cls == "TimeDistributed"
                                                    and len(shape) > 1) else res
    if first_call:
        est.params += params
    conv_like = rank and cls.startswith(("Conv", "Convolution", "DepthwiseConv", "SeparableConv"))
    spatial_of = shape if "Transpose" in cls else out
    if conv_like and spatial_of is not None and all(d is not None for d in spatial_of[1:-1]):
        est.macs += params * math.prod(spatial_of[1:-1])
    elif cls in ("Dense", "EinsumDense") and shape is not None:
        est.macs += params * math.prod(d or 1 for d in shape[1:-1])
    for s in inputs:
        est.activation(s)
    est.activation(out)
    return out


def _model(entry: dict, shape: Shape, est: _Estimate) -> Shape:
    cfg = entry.get("config") if isinstance(entry.get("config"), dict) else {}
    layers = cfg.get("layers") if isinstance(cfg.get("layers"), list) else []
    layers = [e for e in layers if isinstance(e, dict)]
    if str(entry.get("class_name")) == "Sequential":
        if shape is None and not any(e.get("class_name") == "InputLayer" for e in layers):
            shape = _shape(cfg.get("build_input_shape"))
            if shape is not None:
                est.inputs.append(shape)
        for e in layers:
            shape = _layer(e, [shape] if e.get("class_name") != "InputLayer" else [], est)
        return shape
    # functional: tensors by the name of the layer that made them
    made: dict[str, Shape] = {}
    first_input = True
    for e in layers:
        name = str(e.get("name") or (e.get("config") or {}).get("name"))
        if e.get("class_name") == "InputLayer":
            made[name] = _layer(e, [], est)
            if first_input and shape is not None:  # a nested model called on a tensor
                made[name] = shape
            first_input = False
            continue
        nodes = e.get("inbound_nodes") if isinstance(e.get("inbound_nodes"), list) else []
        for node in nodes or [None]:
            ins = [made.get(h) for h in _histories(node)]
            made[name] = _layer(e, ins, est)
    outs = cfg.get("output_layers")
    for h in _histories(outs):
        return made.get(h)
    return None


def _histories(node: Any, depth: int = 0) -> list[str]:
    """Names of the layers whose tensors a node uses (``keras_history``), in order."""
    if depth > 50:
        return []
    found: list[str] = []
    if isinstance(node, dict):
        hist = node.get("config", {}).get("keras_history") if isinstance(
            node.get("config"), dict) else None
        if isinstance(hist, list) and hist:
            return [str(hist[0])]
        for v in node.values():
            found += _histories(v, depth + 1)
    elif isinstance(node, list):
        if len(node) == 3 and isinstance(node[0], str) and isinstance(node[1], int):
            return [node[0]]  # an output_layers entry: [name, node, tensor]
        for v in node:
            found += _histories(v, depth + 1)
    return found


def _largest_size_setting(tree: Any, depth: int = 0) -> tuple[str, int] | None:
    """The largest integer under a size key (units, filters, ...) anywhere in the config."""
    best: tuple[str, int] | None = None
    if depth > 100:
        raise RecursionError
    if isinstance(tree, dict):
        for key, value in tree.items():
            if key in _SIZE_KEYS:
                vals = _ints(value, 1) or ()
                for v in vals:
                    if best is None or abs(v) > best[1]:
                        best = (key, abs(v))
            sub = _largest_size_setting(value, depth + 1)
            if sub is not None and (best is None or sub[1] > best[1]):
                best = sub
    elif isinstance(tree, list):
        for value in tree:
            sub = _largest_size_setting(value, depth + 1)
            if sub is not None and (best is None or sub[1] > best[1]):
                best = sub
    return best


def _build_shapes(tree: Any, est: _Estimate, depth: int = 0) -> None:
    """Account for the shapes layers are *built* with (``build_config``), which Keras uses
    before it connects them: each layer's weights for those shapes count too."""
    if depth > 100:
        raise RecursionError
    if isinstance(tree, dict):
        build = tree.get("build_config")
        if isinstance(build, dict) and "class_name" in tree:
            shape = _shape(build.get("input_shape"))
            if shape is not None and tree.get("class_name") not in ("Functional", "Sequential",
                                                                    "Model"):
                probe = _Estimate(est.name)
                _layer(tree, [shape], probe)
                est.params += probe.params
                est.largest = max(est.largest, probe.largest)
        for value in tree.values():
            _build_shapes(value, est, depth + 1)
    elif isinstance(tree, list):
        for value in tree:
            _build_shapes(value, est, depth + 1)


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
    name = path.name
    config, weights_bytes = _read_archive(path)
    est = _Estimate(name)
    try:
        _check_modules(config, name)
        biggest = _largest_size_setting(config)
        if biggest is not None and biggest[1] > MAX_LAYER_SIZE:
            raise _fail(name, f"a layer declares {biggest[0]}={biggest[1]:,}, far beyond any "
                              f"image classifier (at most {MAX_LAYER_SIZE:,} is accepted)")
        est.output = _model(config, None, est)
        build_est = _Estimate(name)
        _build_shapes(config, build_est)
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
    memory = 4 * params + 2 * 4 * BATCH_SIZE * largest
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
