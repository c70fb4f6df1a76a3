"""Dataset studies: many images x models x settings on Ray, with resumable results.

``python -m xai_core.study DATA --models ... --out DIR`` (see :mod:`xai_core.study.cli`);
``python -m xai_core.study summarize DIR``. The pieces: :mod:`~xai_core.study.plan` (grid,
images, row keys), :mod:`~xai_core.study.runner` (Ray actors), :mod:`~xai_core.study.results`
(results.csv, appended atomically), :mod:`~xai_core.study.report` (statistics and claims, from
:mod:`xai_core.stats`) and :mod:`~xai_core.study.summary` (Markdown).
Ray is imported only when a study runs.
"""

from xai_core.stats import mean_interval, paired_difference
from xai_core.study.cli import main
from xai_core.study.summary import summarize

__all__ = ["main", "mean_interval", "paired_difference", "summarize"]
