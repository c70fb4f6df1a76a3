"""Explainers over one result type: black-box RISE and LIME, and Grad-CAM as a white-box reference.

Every explainer is a plain function ``explain_<method>(predict, image, target, *,
parameters..., seed)`` where ``predict`` maps float32 (N, H, W, 3) RGB in [0, 255] to
(N, K) probabilities, and returns an :class:`~xai_core.explainers.base.Explanation`.

- :mod:`~xai_core.explainers.rise`: RISE (masks, estimators, the anytime run).
- :mod:`~xai_core.explainers.lime`: LIME through the ``lime`` package (explainer, segmentation).
- :mod:`~xai_core.explainers.gradcam`: Grad-CAM, white-box: ``explain_gradcam(clf, image,
  target, layer=None)`` takes a :class:`~xai_core.Classifier` (its Keras model), not ``predict``.
"""

from xai_core.explainers.base import Explanation
from xai_core.explainers.gradcam import explain_gradcam
from xai_core.explainers.lime import explain_lime
from xai_core.explainers.rise import RiseRun, explain_rise

__all__ = ["Explanation", "RiseRun", "explain_gradcam", "explain_lime", "explain_rise"]
