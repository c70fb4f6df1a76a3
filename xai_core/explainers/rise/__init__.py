"""RISE (Petsiuk, Das & Saenko, 2018): masks, estimators and the anytime run.

- :mod:`~xai_core.explainers.rise.masks`: the mask plan (grids, shifts, samplers).
- :mod:`~xai_core.explainers.rise.estimators`: plain and centred estimators, the running sums
  over consecutive blocks of the masks (the stop's evidence), split-half r.
- :mod:`~xai_core.explainers.rise.fill`: what a hidden pixel becomes (black, mean, blur...).
- :mod:`~xai_core.explainers.rise.run`: :class:`RiseRun` (anytime) and :func:`explain_rise`.
"""

from xai_core.explainers.rise.estimators import ESTIMATORS, split_half_r
from xai_core.explainers.rise.fill import DATASET_MEAN_RGB, FILLS, check_fill, fill_image
from xai_core.explainers.rise.masks import SAMPLERS, MaskPlan, plan_masks
from xai_core.explainers.rise.run import (
    MAX_MASKS,
    MIN_AUTO_MASKS,
    RiseFrame,
    RiseRun,
    check_rise_params,
    explain_rise,
)

__all__ = [
    "DATASET_MEAN_RGB",
    "ESTIMATORS",
    "FILLS",
    "MAX_MASKS",
    "MIN_AUTO_MASKS",
    "SAMPLERS",
    "MaskPlan",
    "RiseFrame",
    "RiseRun",
    "check_fill",
    "check_rise_params",
    "explain_rise",
    "fill_image",
    "plan_masks",
    "split_half_r",
]
