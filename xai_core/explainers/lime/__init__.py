"""LIME (Ribeiro et al., 2016) through the ``lime`` package: explainer and segmentation.

- :mod:`~xai_core.explainers.lime.explainer`: :func:`explain_lime`.
- :mod:`~xai_core.explainers.lime.segmentation`: cached superpixels (quickshift, SLIC,
  Felzenszwalb).
"""

from xai_core.explainers.lime.explainer import (
    HIDE_COLORS,
    LimeFrame,
    LimeResult,
    blur_sigma,
    check_lime_params,
    explain_lime,
    hidden_image,
)
from xai_core.explainers.lime.segmentation import segment

__all__ = [
    "HIDE_COLORS",
    "LimeFrame",
    "LimeResult",
    "blur_sigma",
    "check_lime_params",
    "explain_lime",
    "hidden_image",
    "segment",
]
