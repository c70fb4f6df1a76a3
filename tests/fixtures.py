"""Known-answer models shared by the tests.

The black-box one lives in :mod:`xai_core.testing` (the benchmarks use it too, and they
import nothing from the tests); it is re-exported here for the tests that import it from
this module. The tiny trained CNN lives in conftest.py, as a fixture, because it needs
TensorFlow.
"""

from __future__ import annotations

from xai_core.testing import ground_truth_model

__all__ = ["ground_truth_model"]
