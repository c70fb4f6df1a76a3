"""The classifier behind the black-box contract: preprocessing, batching, softmax, backend.

A :class:`Classifier` takes float32 (N, H, W, 3) RGB images in [0, 255] at its input
size and returns (N, n_classes) probabilities. It owns the model's preprocessing (run
inside the compiled graph, so the caller's array is never touched), the softmax for
models that output logits, and batching (a compiled function called on fixed-size chunks).
Where a faster backend runs the same function (see :mod:`xai_core.models.backends`), it is
given to the classifier when it is made; nothing patches a classifier afterwards.

TensorFlow is imported only when a model runs, so ``import xai_core`` stays fast.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from xai_core.images import fit_to_size


class Backend(Protocol):
    """Something that runs a classifier's whole forward function faster than Keras."""

    name: str

    def predict(self, x: np.ndarray, batch_size: int) -> np.ndarray:
        """float32 (N, n_classes) probabilities of a validated float32 (N, H, W, 3) batch."""
        ...


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


def _check_preprocessing(mode: str) -> None:
    if mode not in PREPROCESSING:
        raise ValueError(f"unknown preprocessing {mode!r}; choose one of {', '.join(PREPROCESSING)}")


def zero_input_rgb(preprocessing: str) -> tuple[float, float, float]:
    """The RGB colour in [0, 255] that ``preprocessing`` maps to 0 in the model's input.

    This is what "a hidden pixel" means in the RISE authors' code, which zeroes the
    normalised tensor: black for ``"none"`` and ``"unit"``, grey 127.5 for ``"tf"``, grey
    127 for ``"lite"``, and the ImageNet mean colour for ``"caffe"`` and ``"torch"``. Used
    by RISE's ``fill="dataset_mean"`` and by the ``rise-reference`` deletion protocol.

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
    return (255.0 * _TORCH_MEAN[0], 255.0 * _TORCH_MEAN[1], 255.0 * _TORCH_MEAN[2])


def one_output_message(name: str) -> str:
    """Why a model with one output is refused, and what to do instead."""
    return (
        f"{name} outputs a single score per image, and explanations need one score per "
        "class: read as a logit, a softmax over one score is always 1 (every map would be "
        "flat), and read as a probability it is not known which class it belongs to. "
        "Save a two-class model instead: for a sigmoid output p, "
        "keras.layers.Concatenate()([1 - p, p]); or a Dense(2) layer with a softmax"
    )


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
        to LiteRT, used only where it matches Keras; see :mod:`xai_core.models.backends`).
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
    backend: Backend | None = field(default=None, repr=False)
    engine_note: str = field(default="", repr=False)
    _fn: Callable | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        _check_preprocessing(self.preprocessing)
        if not self.class_names:
            raise ValueError("class_names must name at least one class")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be at least 1; got {self.batch_size}")

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    @property
    def engine(self) -> str:
        """The engine that runs :meth:`predict`: ``"keras"`` or the backend's name."""
        return "keras" if self.backend is None else self.backend.name

    def with_backend(self, backend: Backend | None, note: str) -> Classifier:
        """A copy of this classifier run by ``backend`` (``None``: Keras); this one is unchanged."""
        return dataclasses.replace(self, backend=backend, engine_note=note)

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
        if self.backend is not None:
            out = self.backend.predict(x, self.batch_size)
        else:
            out = self._predict_keras(x)
        self._check_outputs(out)
        return out

    def _check_outputs(self, out: np.ndarray) -> None:
        """Refuse an output that cannot be read as one probability per named class."""
        k = out.shape[-1] if out.ndim == 2 else None
        if k == 1 and self.n_classes <= 1:
            raise ValueError(one_output_message(self.name))
        if k != self.n_classes:
            raise ValueError(
                f"{self.name} outputs {k} scores per image but has {self.n_classes} class "
                f"names: give exactly one name per output"
            )

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

    def prepare(self, image: np.ndarray, fit: str = "crop") -> np.ndarray:
        """Resize a :func:`~xai_core.load_image` result to :attr:`input_size`.

        ``fit="crop"`` keeps the centre (default), ``"pad"`` the whole photo with grey
        bands (see :func:`~xai_core.images.fit_to_size`). Returns float32 (H, W, 3) in
        [0, 255].
        """
        return fit_to_size(image, self.input_size, fit)

    def top_k(self, image: np.ndarray, k: int = 5) -> list[tuple[int, str, float]]:
        """The ``k`` most probable classes for one prepared image: (index, name, probability)."""
        probs = self.predict(image)[0]
        order = np.argsort(probs)[::-1][:k]
        return [(int(i), self.class_names[i], float(probs[i])) for i in order]
