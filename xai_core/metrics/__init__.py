"""Faithfulness metrics: deletion and insertion curves, the pointing game, baseline maps.

- :mod:`~xai_core.metrics.causal`: deletion / insertion curves and their substrates.
- :mod:`~xai_core.metrics.pointing`: the pointing game.
- :mod:`~xai_core.metrics.baselines`: random blobs and a centred Gaussian.
- :mod:`~xai_core.metrics.report`: several maps and the baselines at once, AUC tables.
"""

from xai_core.metrics.baselines import baseline_maps, center_saliency, random_saliency
from xai_core.metrics.causal import (
    BLUR_SIGMA_AT_224,
    PROTOCOLS,
    CausalCurve,
    Substrate,
    causal_curves,
    deletion_curve,
    insertion_curve,
    reference_blur,
    reference_kernel,
    saliency_order,
    substrate_image,
)
from xai_core.metrics.pointing import pointing_game
from xai_core.metrics.report import auc_table, faithfulness

__all__ = [
    "BLUR_SIGMA_AT_224",
    "PROTOCOLS",
    "CausalCurve",
    "Substrate",
    "auc_table",
    "baseline_maps",
    "causal_curves",
    "center_saliency",
    "deletion_curve",
    "faithfulness",
    "insertion_curve",
    "pointing_game",
    "random_saliency",
    "reference_blur",
    "reference_kernel",
    "saliency_order",
    "substrate_image",
]
