"""Dataset studies: many images x models x settings on Ray, with resumable results.

``python -m xai_core.study DATA --models ... --out DIR`` (see :mod:`xai_core.study.cli`);
``python -m xai_core.study summarize DIR``. The pieces: :mod:`~xai_core.study.plan` (grid,
images, row keys), :mod:`~xai_core.study.runner` (Ray actors), :mod:`~xai_core.study.results`
(results.csv, appended atomically) and :mod:`~xai_core.study.summary` (bootstrap statistics).
Ray is imported only when a study runs.
"""

from xai_core.study.cli import main
from xai_core.study.summary import bootstrap_mean, paired_comparison, summarize

__all__ = ["bootstrap_mean", "main", "paired_comparison", "summarize"]
