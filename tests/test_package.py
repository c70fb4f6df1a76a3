"""The public API: every exported name exists, and importing stays light."""

from __future__ import annotations

import subprocess
import sys

import xai_core


def test_every_exported_name_resolves():
    missing = [name for name in xai_core.__all__ if not hasattr(xai_core, name)]
    assert not missing
    namespace: dict = {}
    exec("from xai_core import *", namespace)
    assert set(xai_core.__all__) <= set(namespace)


def test_importing_the_package_does_not_import_tensorflow_or_streamlit():
    code = "import sys, xai_core; print('tensorflow' in sys.modules, 'streamlit' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.split() == ["False", "False"]
