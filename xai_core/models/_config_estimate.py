"""Estimates of a Keras model configuration, without building it (no TensorFlow).

Used by :mod:`xai_core.models.model_file`: layer by layer, from the shapes the
configuration implies, the parameters (exact for the common layers), the largest
activation per image and the multiply-adds per image. A layer whose weights depend on an
input size that cannot be told (after a layer this module does not know) needs the
``build_config`` shape Keras itself would build it with; otherwise :class:`ConfigRefused`.
"""

from __future__ import annotations

import math
import re
from typing import Any

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


class ConfigRefused(Exception):
    """The configuration cannot be bounded; the message says why, for a person."""


class Estimate:
    """Parameters and the largest activation, accumulated over the layers seen."""

    def __init__(self, name: str):
        self.name = name
        self.params = 0
        self.largest = 0  # elements of the largest layer input/output, per image
        self.step = 0  # elements of the largest layer's inputs and output together, per image
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


def _layer(entry: dict, inputs: list[Shape], est: Estimate) -> Shape:
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
        return estimate_model(entry, shape, est)
    weighted = cls in _WEIGHTED or (rank and cls.startswith(
        ("Conv", "Convolution", "DepthwiseConv", "SeparableConv")))
    if weighted and (shape is None or not shape or shape[-1] is None):
        # Keras builds such a layer with the shape in its build_config (a file it saved
        # always has one); without either, its size cannot be bounded: refuse.
        build = entry.get("build_config")
        built = _shape(build.get("input_shape")) if isinstance(build, dict) else None
        if built is None or not built or built[-1] is None:
            raise ConfigRefused(f"the size of its {cls} layer cannot be told from its "
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
    est.step = max(est.step, sum(_elements(s) for s in [*inputs, out]))
    return out


def _elements(shape: Shape) -> int:
    """Elements per image of a tensor of ``shape`` (0 when a size is unknown)."""
    if shape is None or len(shape) < 2 or any(d is None for d in shape[1:]):
        return 0
    return math.prod(shape[1:])


def estimate_model(entry: dict, shape: Shape, est: Estimate) -> Shape:
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


def largest_size_setting(tree: Any, depth: int = 0) -> tuple[str, int] | None:
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
            sub = largest_size_setting(value, depth + 1)
            if sub is not None and (best is None or sub[1] > best[1]):
                best = sub
    elif isinstance(tree, list):
        for value in tree:
            sub = largest_size_setting(value, depth + 1)
            if sub is not None and (best is None or sub[1] > best[1]):
                best = sub
    return best


def build_shapes(tree: Any, est: Estimate, depth: int = 0) -> None:
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
                probe = Estimate(est.name)
                _layer(tree, [shape], probe)
                est.params += probe.params
                est.largest = max(est.largest, probe.largest)
        for value in tree.values():
            build_shapes(value, est, depth + 1)
    elif isinstance(tree, list):
        for value in tree:
            build_shapes(value, est, depth + 1)
