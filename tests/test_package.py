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


def _pins(lines: list[str]) -> set[str]:
    return {line.split("#")[0].strip().replace("'", '"') for line in lines
            if line.strip() and not line.lstrip().startswith(("#", "-r"))}


def test_pyproject_declares_the_requirements_pins_and_the_console_script():
    import tomllib
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    required = _pins((root / "requirements.txt").read_text().splitlines())
    assert _pins(project["dependencies"]) == required
    assert project["scripts"]["saliency-lab"] == "xai_core.cli:main"


def test_subpackages_import_alone_in_any_order_and_without_streamlit():
    """No import cycle: each module imports first in a fresh interpreter; no Streamlit."""
    modules = ["xai_core.models.backends", "xai_core.models.classifier", "xai_core.models.zoo",
               "xai_core.explainers.rise.run", "xai_core.explainers.lime.explainer",
               "xai_core.metrics.report", "xai_core.viz.figures", "xai_core.export",
               "xai_core.cli", "dashboard.compute"]
    for name in modules:
        code = f"import sys, {name}; print('streamlit' in sys.modules)"
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             timeout=120)
        assert out.returncode == 0, f"{name}: {out.stderr[-400:]}"
        assert out.stdout.split() == ["False"], name
