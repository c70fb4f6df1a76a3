"""RISE (Petsiuk, Das & Saenko, 2018): masks, estimators and the anytime run.

- :mod:`~xai_core.explainers.rise.masks`: the mask plan (grids, shifts, samplers).
- :mod:`~xai_core.explainers.rise.estimators`: plain and centred estimators, split-half r.
- :mod:`~xai_core.explainers.rise.run`: :class:`RiseRun` (anytime) and :func:`explain_rise`.
"""

from xai_core.explainers.rise.estimators import ESTIMATORS, split_half_r
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
    "ESTIMATORS",
    "MAX_MASKS",
    "MIN_AUTO_MASKS",
    "SAMPLERS",
    "MaskPlan",
    "RiseFrame",
    "RiseRun",
    "check_rise_params",
    "explain_rise",
    "plan_masks",
    "split_half_r",
]
