"""What a pixel hidden by a RISE mask becomes: the ``fill`` option.

RISE (Petsiuk, Das & Saenko, 2018) multiplies the image by a soft mask, so a hidden pixel
becomes "nothing" -- but what "nothing" looks like to the model is a choice:

- ``"black"`` (default): 0 in RGB, before the model's preprocessing (this project's
  choice so far: ``image * mask``).
- ``"mean"``: the image's own mean colour.
- ``"dataset_mean"``: what the authors' code does. It multiplies the *normalised* input by
  the mask, so a hidden pixel is 0 after preprocessing, i.e. the preprocessing's mean
  colour: the ImageNet mean for ``caffe`` and ``torch``, 127 for ``lite``, 127.5 for
  ``tf``; for ``unit`` and ``none`` that is black again.
- ``"blur"``: a strong Gaussian blur of the image (sigma = 1/20 of the longer side, about
  11 px at 224 px; the blur of LIME's ``hide_color="blur"``).
- an RGB triple in [0, 255]: that colour.

A pixel with mask value m becomes ``m * image + (1 - m) * fill``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import cv2
import numpy as np

from xai_core.models.classifier import PREPROCESSING, zero_input_rgb

#: Named fills accepted by :func:`~xai_core.explain_rise` and :class:`~xai_core.RiseRun`.
FILLS = ("black", "mean", "dataset_mean", "blur")

#: The RGB colour that is 0 after each preprocessing mode (see :data:`xai_core.PREPROCESSING`).
DATASET_MEAN_RGB: dict[str, tuple[float, float, float]] = {
    mode: zero_input_rgb(mode) for mode in PREPROCESSING
}


def _preprocessing_of(predict: Callable[..., Any]) -> str | None:
    """The preprocessing mode of a classifier or of its bound ``predict``, else ``None``."""
    for obj in (predict, getattr(predict, "__self__", None)):
        mode = getattr(obj, "preprocessing", None)
        if isinstance(mode, str) and mode in DATASET_MEAN_RGB:
            return mode
    return None


def check_fill(fill: object, predict: Callable[..., Any] | None = None) -> str | tuple[float, float, float]:
    """Validate ``fill``; return a name of :data:`FILLS` or an RGB triple.

    ``"dataset_mean"`` is resolved to a colour here, from the preprocessing of
    ``predict`` (a :class:`~xai_core.Classifier` or its ``predict`` method); a plain
    function has none, so the colour must then be given as an RGB triple.
    """
    if isinstance(fill, str):
        if fill not in FILLS:
            raise ValueError(f"fill must be one of {', '.join(FILLS)} or an RGB triple in "
                             f"[0, 255]; got {fill!r}")
        if fill == "dataset_mean":
            mode = None if predict is None else _preprocessing_of(predict)
            if mode is None:
                raise ValueError(
                    "fill='dataset_mean' needs the model's preprocessing to know its mean colour: "
                    "pass a Classifier's predict (clf.predict), or give the colour as (R, G, B), "
                    "e.g. fill=(123.68, 116.78, 103.94) for the ImageNet mean"
                )
            return DATASET_MEAN_RGB[mode]
        return fill
    try:
        rgb = np.asarray(fill, dtype=np.float64)
    except (TypeError, ValueError):
        rgb = np.zeros(0)
    if isinstance(fill, (bool, np.bool_)) or rgb.shape != (3,) or not np.all(np.isfinite(rgb)) \
            or rgb.min() < 0 or rgb.max() > 255:
        raise ValueError(f"fill must be one of {', '.join(FILLS)} or an RGB triple in "
                         f"[0, 255]; got {fill!r}")
    return (float(rgb[0]), float(rgb[1]), float(rgb[2]))


def fill_image(image: np.ndarray, fill: str | tuple[float, float, float]) -> np.ndarray | None:
    """The image hidden pixels are taken from: float32 (H, W, 3), or ``None`` for black.

    ``fill`` is a value returned by :func:`check_fill`.
    """
    if fill == "black":
        return None
    h, w = image.shape[:2]
    if fill == "mean":
        colour = image.reshape(-1, 3).mean(axis=0)
    elif fill == "blur":
        sigma = max(1.0, max(h, w) / 20.0)
        return cv2.GaussianBlur(np.ascontiguousarray(image, np.float32), (0, 0), sigmaX=sigma,
                                sigmaY=sigma, borderType=cv2.BORDER_REFLECT)
    else:
        colour = np.asarray(fill, np.float32)
    return np.broadcast_to(np.asarray(colour, np.float32), image.shape).copy()


def fill_record(fill: str | tuple[float, float, float]) -> str | list[float]:
    """A value returned by :func:`check_fill` as written in a JSON record."""
    return fill if isinstance(fill, str) else [round(float(v), 3) for v in fill]
