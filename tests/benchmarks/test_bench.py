"""The benchmark command runs and counts model calls exactly (no timing is asserted)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from benchmarks import core as bench


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


def test_summary_table_lists_engines_and_timed_runs():
    rows = bench.summary_table([
        {"section": "engines", "model": "m", "keras_images_per_s": 10, "litert_images_per_s": 19,
         "ratio_median": 1.9, "max_abs_diff": 5e-7},
        {"section": "peers", "tool": "xplique", "method": "rise", "budget": 500, "wall_s": 7.2,
         "inside_model_s": 5.2, "overhead": 1.39},
        {"section": "efficiency", "what": "time", "wall_s": 2.0},
    ])
    assert rows[1].startswith("| section |")
    assert "keras 10 -> litert 19 images/s (x1.9" in rows[3]
    assert rows[4] == "| peers | xplique rise | 500 | 7.2 | 5.2 | 1.39 |  |"
    assert len(rows) == 5  # the efficiency timing line is not a timed run


def test_autostop_benchmark_reports_shares_and_passes(tmp_path, capsys):
    import json

    import numpy as np

    from benchmarks.autostop import main, reliability_ceiling

    main(["--images", "--seeds", "2", "--ref-n", "512", "--cap", "1024", "--cache", str(tmp_path)])
    out = capsys.readouterr().out
    rows = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    by_method = {r["method"]: r for r in rows if "method" in r}
    assert set(by_method) == {"rise", "lime"}
    for row in by_method.values():
        assert 0.0 <= row["share_reached"] <= 1.0 and row["runs"] == 2
        assert 64 <= row["median_passes"] <= 1024 and 0.0 < row["ref_ceiling"] <= 1.0
    assert "| known-answer | rise |" in out and len(list(tmp_path.glob("*.npy"))) == 2
    # two identical maps are a perfectly reliable reference
    assert reliability_ceiling([np.arange(5.0), np.arange(5.0)]) == pytest.approx(1.0)


def test_first_map_section_times_each_method_and_budget(square_cnn, capsys):
    _, path = square_cnn
    assert bench.main(["first-map", "--models", str(path), "--image", "coffee",
                       "--fixed", "128"]) == 0
    rows = [r for r in records(capsys) if r.get("section") == "first-map"]
    assert rows[0]["what"] == "load" and rows[0]["load_s"] >= 0
    runs = {(r["method"], r["budget"]): r for r in rows[1:]}
    assert set(runs) == {("rise", "auto"), ("lime", "auto"), ("rise", "fixed 128")}
    assert runs[("rise", "fixed 128")]["passes"] == 129  # 128 masks and the whole image
    assert runs[("rise", "fixed 128")]["stopped"] == "fixed"
    assert runs[("rise", "auto")]["stopped"] in ("auto", "cap")
    assert 65 <= runs[("rise", "auto")]["passes"] <= 1025
    assert all(r["wall_s"] > 0 and r["draw_s"] > 0 for r in runs.values())


def test_benchmarks_import_nothing_from_the_tests():
    """The benchmarks sit beside the tests, not on them: no module imports ``tests``."""
    import ast
    from pathlib import Path

    folder = Path(bench.__file__).parent
    offenders = []
    for path in sorted(folder.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] == "tests"]
    assert offenders == []


def test_known_answer_model_points_at_its_regions_and_refuses_tiny_sizes():
    from xai_core.testing import ground_truth_model

    predict, image = ground_truth_model(64)
    darker = image.copy()
    darker[8:24, 40:56] = 0  # region 1 (rows q..3q, cols 5q..7q at q = 8): class 1 drops
    outside = image.copy()
    outside[0:4, 0:4] = 0  # a corner no region covers: nothing changes
    p, p_dark, p_out = predict(np.stack([image, darker, outside]))[:, 1]
    assert p_dark < p - 0.1 and p_out == pytest.approx(p)
    with pytest.raises(ValueError, match="at least 8 pixels"):
        ground_truth_model(4)
