"""The benchmark command runs and counts model calls exactly (no timing is asserted)."""

from __future__ import annotations

import json
import math

from xai_core import bench


def records(capsys) -> list[dict]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()
            if line.startswith("{")]


def test_rise_section_reports_exact_calls_and_memory(square_cnn, capsys):
    _, path = square_cnn
    assert bench.main(["rise", "--model", str(path), "--n-masks", "70", "--batch-size", "16",
                       "--memory-masks", "300"]) == 0
    rows = records(capsys)
    run = next(r for r in rows if r["what"] == "explain_rise")
    assert run["model_calls"] == run["expected_calls"] == math.ceil(70 / 16)
    assert run["images"] == 70 and run["overhead"] >= 1.0 and run["inside_model_s"] > 0
    mem = next(r for r in rows if r["what"] == "memory")
    assert mem["n_masks"] == 300 and mem["peak_traced_mb"] > 0
    assert next(r for r in rows if r["what"] == "raw_forward")["images_per_s"] > 0


def test_lime_section_includes_segmentation(square_cnn, capsys):
    _, path = square_cnn
    assert bench.main(["lime", "--model", str(path), "--num-samples", "40",
                       "--segmentation", "slic"]) == 0
    rows = records(capsys)
    assert next(r for r in rows if r["what"] == "segmentation")["seconds"] >= 0
    run = next(r for r in rows if r["what"] == "explain_lime")
    assert run["num_samples"] == 40 and run["images"] >= 40 and run["overhead"] >= 1.0
