"""The command line on a model file made in the test: files written, bad input handled."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from main import translate
from xai_core.cli import main

ROOT = Path(__file__).resolve().parent.parent


def square_png(path: Path, corner=(10, 12)) -> Path:
    img = np.full((32, 32, 3), 50, np.uint8)
    r, c = corner
    img[r : r + 8, c : c + 8] = 255
    Image.fromarray(img).save(path)
    return path


def test_singles_and_grid_runs_write_every_file(square_cnn, tmp_path, capsys):
    _, model_path = square_cnn
    img = square_png(tmp_path / "sq.png")
    out = tmp_path / "out"
    code = main([str(img), "--model", str(model_path), "--method", "both", "--n-masks", "300",
                 "--mask-size", "8", "--num-samples", "60", "--segmentation", "slic",
                 "--out", str(out), "--quiet", "--target", "1"])
    assert code == 0
    names = sorted(p.name for p in out.iterdir())
    for method in ("rise", "lime"):
        stem = f"sq_square_cnn_{method}"
        for suffix in ("_heatmap.png", "_overlay.png", "_isolines.png", ".npy", ".json"):
            assert stem + suffix in names
    sal = np.load(out / "sq_square_cnn_rise.npy")
    assert sal.shape == (32, 32) and np.isfinite(sal).all()
    r, c = np.unravel_index(sal.argmax(), sal.shape)
    assert 9 <= r <= 18 and 11 <= c <= 20  # the map points at the square
    rec = json.loads((out / "sq_square_cnn_rise.json").read_text())
    assert rec["method"] == "rise" and rec["target"] == 1 and rec["target_label"] == "class 1"
    assert rec["params"]["n_masks"] == 300 and rec["seed"] == 0 and rec["wall_time_s"] > 0
    assert 0.5 < rec["probability"] <= 1.0
    lime = json.loads((out / "sq_square_cnn_lime.json").read_text())
    assert lime["params"]["segmentation"] == "slic" and lime["params"]["num_samples"] == 60
    heat = np.asarray(Image.open(out / "sq_square_cnn_rise_heatmap.png"))
    assert heat.shape == (32, 32, 3) and heat.std() > 5
    assert "rise" in capsys.readouterr().out

    grid_out = tmp_path / "grid"
    assert main([str(img), "--model", str(model_path), "--n-masks", "50", "--display", "grid",
                 "--out", str(grid_out), "--quiet"]) == 0
    assert sorted(p.name for p in grid_out.iterdir()) == [
        "sq_square_cnn_rise.json", "sq_square_cnn_rise.npy", "sq_square_cnn_rise_grid.png"]
    grid = np.asarray(Image.open(grid_out / "sq_square_cnn_rise_grid.png"))
    assert grid.shape[1] > 4 * 32  # four tiles side by side


def test_folder_run_skips_a_bad_file_and_explains_the_rest(square_cnn, tmp_path, capsys):
    _, model_path = square_cnn
    folder = tmp_path / "imgs"
    folder.mkdir()
    square_png(folder / "a.png")
    square_png(folder / "c.png", (2, 2))
    (folder / "b.jpg").write_text("not really a jpeg")
    out = tmp_path / "out"
    code = main([str(folder), "--model", str(model_path), "--n-masks", "40", "--out", str(out),
                 "--quiet"])
    assert code == 1  # partial success
    err = capsys.readouterr().err
    assert "b.jpg" in err and "not an image" in err and "Traceback" not in err
    assert {p.name for p in out.glob("*.json")} == {"a_square_cnn_rise.json", "c_square_cnn_rise.json"}


@pytest.mark.parametrize(
    "args, words",
    [
        (["nope.png"], "no such file"),
        (["--sample", "chelsea", "--model", "vgg99"], "unknown model"),
        (["--sample", "chelsea", "--n-masks", "0"], "n_masks"),
        (["--sample", "chelsea", "--keep-prob", "1.5"], "keep_prob"),
        (["--sample", "chelsea", "--method", "lime", "--hide-color", "sparkly"], "hide_color"),
        (["--sample", "chelsea", "--alpha", "2"], "alpha"),
        ([], "at least one image"),
    ],
)
def test_bad_input_one_line_exit_2(args, words, capsys, tmp_path):
    code = main([*args, "--out", str(tmp_path)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert err[-1].startswith("error:") and words in err[-1]
    assert not any("Traceback" in line for line in err)


def test_module_entry_point_exits_2_without_traceback(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "xai_core", str(tmp_path / "missing.jpg")],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 2
    assert "error: no such file" in proc.stderr and "Traceback" not in proc.stderr


def test_seed_flags_are_translated(tmp_path):
    for name in ("b.png", "a.png", "notes.txt"):
        (tmp_path / name).write_bytes(b"x")
    args = translate(["--test_image_path", str(tmp_path), "--test_image_index", "1",
                      "--model_name=resnet50", "--display_type", "grid", "--seed", "3"])
    assert args == [str(tmp_path / "b.png"), "--model", "resnet50", "--display", "grid",
                    "--seed", "3"]
    assert translate(["--test_image_path", "cat.jpg"]) == ["cat.jpg"]


def test_metrics_flag_adds_aucs_that_beat_the_random_baseline(square_cnn, tmp_path):
    _, model_path = square_cnn
    img = square_png(tmp_path / "sq.png", (4, 20))
    out = tmp_path / "out"
    assert main([str(img), "--model", str(model_path), "--n-masks", "1000", "--mask-size", "8",
                 "--target", "1", "--metrics", "--metrics-steps", "16", "--out", str(out),
                 "--quiet"]) == 0
    rec = json.loads((out / "sq_square_cnn_rise.json").read_text())
    m = rec["metrics"]
    assert m["steps"] == 16 and set(m["baselines"]) == {"random baseline", "centre baseline"}
    assert 0.0 <= m["deletion_auc"] <= 1.0 and 0.0 <= m["insertion_auc"] <= 1.0
    # deleting the square first kills the score at once; deleting at random does not
    assert m["deletion_auc"] < m["baselines"]["random baseline"]["deletion_auc"]
    assert m["deletion_auc"] < m["baselines"]["centre baseline"]["deletion_auc"]


def test_out_must_be_writable_and_same_stems_do_not_overwrite(square_cnn, tmp_path, capsys):
    _, model_path = square_cnn
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    img = square_png(tmp_path / "sq.png")
    assert main([str(img), "--model", str(model_path), "--out", str(blocker), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: --out") and "Traceback" not in " ".join(err)

    folder = tmp_path / "same"
    folder.mkdir()
    square_png(folder / "a.png")
    Image.open(folder / "a.png").convert("RGB").save(folder / "a.jpg")
    out = tmp_path / "out"
    assert main([str(folder), "--model", str(model_path), "--n-masks", "20", "--out", str(out),
                 "--quiet", "--level-mode", "quantile"]) == 0
    records = [json.loads(p.read_text()) for p in out.glob("*.json")]
    assert sorted(r["image"] for r in records) == ["a.jpg", "a.png"]


def test_rise_rejects_lime_only_parameters():
    from xai_core import explain

    img = np.full((16, 16, 3), 100.0, np.float32)
    with pytest.raises(ValueError, match="segmentation_params"):
        explain(lambda x: np.ones((len(x), 2)) / 2, img, "rise", 0, class_names=["a", "b"],
                params={"segmentation_params": {"n_segments": 4}})


def test_argparse_errors_are_one_line_too(capsys):
    assert main(["--sample", "coffee", "--n-masks", "abc"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:") and "--n-masks" in err[0]


def test_auto_budget_by_default_and_fixed_budget_on_request(square_cnn, tmp_path):
    _, model_path = square_cnn
    img = square_png(tmp_path / "sq.png")
    for flag, out in (([], tmp_path / "auto"), (["--fixed-budget"], tmp_path / "fixed")):
        assert main([str(img), "--model", str(model_path), "--n-masks", "2000", "--method",
                     "rise", "--out", str(out), "--quiet", *flag]) == 0
    auto = json.loads((tmp_path / "auto" / "sq_square_cnn_rise.json").read_text())
    fixed = json.loads((tmp_path / "fixed" / "sq_square_cnn_rise.json").read_text())
    assert auto["params"]["stop_at_r"] == 0.95 and auto["masks_used"] < 2000
    assert auto["budget_note"].startswith("stopped at")
    assert fixed["params"]["stop_at_r"] is None and fixed["masks_used"] == 2000
