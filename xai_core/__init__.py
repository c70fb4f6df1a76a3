"""xai_core: black-box saliency (RISE, LIME) for image classifiers.

Public names are exported here; modules whose names start with ``_`` are private.
TensorFlow is imported only when a model is loaded.
"""

from xai_core.errors import ImageError, ModelLoadError
from xai_core.images import MAX_PIXELS, fit_to_size, load_image, load_sample, sample_names
from xai_core.models import (
    MODEL_NAMES,
    PREPROCESSING,
    Classifier,
    imagenet_class_names,
    load_classifier,
)
from xai_core.rise import explain_rise

__all__ = [
    "MAX_PIXELS",
    "MODEL_NAMES",
    "PREPROCESSING",
    "Classifier",
    "ImageError",
    "ModelLoadError",
    "explain_rise",
    "fit_to_size",
    "imagenet_class_names",
    "load_classifier",
    "load_image",
    "load_sample",
    "sample_names",
]
