"""TensorFlow's C++ start-up lines stay off the console; real errors do not."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from xai_core._tf import _is_noise

ROOT = Path(__file__).resolve().parents[1]


def test_known_start_up_lines_are_noise_and_others_are_not():
    assert _is_noise("WARNING: All log messages before absl::InitializeLog() is called are "
                     "written to STDERR")
    assert _is_noise("I0000 00:00:1796146412.224418   12095 port.cc:153] oneDNN custom "
                     "operations are on.")
    assert _is_noise("I0000 00:00:1796146412.255810   12095 cpu_feature_guard.cc:227] This "
                     "TensorFlow binary is optimized")
    assert not _is_noise("E0000 00:00:1796146412.224418   12095 port.cc:153] a real error")
    assert not _is_noise("Traceback (most recent call last):")
    assert not _is_noise("error: no such file")


def test_cli_with_a_bad_model_prints_only_its_error_line(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("TF_CPP")}
    proc = subprocess.run(
        [sys.executable, "-m", "xai_core", "--sample", "chelsea", "--model",
         str(tmp_path / "missing.keras"), "--out", str(tmp_path / "out")],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)
    assert proc.returncode == 2
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), proc.stderr
