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
    # --test_image_index is the class by rank (0 = the most probable), for a file or a folder
    args = translate(["--test_image_path", str(tmp_path), "--test_image_index", "1",
                      "--model_name=ResNet", "--display_type", "grid", "--seed", "3"])
    assert args == [str(tmp_path), "--seed", "3", "--model", "ResNet", "--display", "grid",
                    "--target", "top2"]
    assert translate(["--test_image_path", "cat.jpg"]) == ["cat.jpg"]
    assert translate(["--test_image_path=cat.jpg", "--test_image_index=0"]) == [
        "cat.jpg", "--target", "top1"]
    # one image of a folder has its own flag
    assert translate(["--test_image_path", str(tmp_path), "--folder_index", "1"]) == [
        str(tmp_path / "b.png")]


@pytest.mark.parametrize("args, words", [
    (["--test_image_path", "x.png", "--test_image_index", "-1"], "--test_image_index '-1'"),
    (["--test_image_path", "x.png", "--test_image_index", "first"], "whole number"),
    (["--test_image_path", "x.png", "--display_type", "mosaic"], "choose singles or grid"),
    (["--test_image_path", "x.png", "--folder_index", "0"], "give the folder"),
])
def test_report_flags_with_bad_values_exit_2_in_one_line(args, words, capsys):
    import main as report

    assert report.main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:") and words in err[0]


def _report_call(model: str) -> list[str]:
    """The lab report's call, as the README shows it, with ``model`` as --model_name."""
    import shlex

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    line = next(ln for ln in readme.splitlines() if ln.startswith("python main.py --test_image_path='ILSVRC"))
    assert line == ("python main.py --test_image_path='ILSVRC2012_val_00001177.JPEG' "
                    "--test_image_index=0 --model_name='ResNet' --display_type='grid'")
    return shlex.split(line.replace("'ResNet'", f"'{model}'"))[2:]


@pytest.mark.parametrize("model, weights", [
    ("ResNet", "resnet50_weights_tf_dim_ordering_tf_kernels.h5"),
    ("Xception", "xception_weights_tf_dim_ordering_tf_kernels.h5"),
])
def test_the_reports_call_runs_and_offline_stops_with_the_weights_line(
        model, weights, offline, tmp_path, monkeypatch, capsys):
    """Offline (the ``offline`` fixture blocks the network): one line naming the weights
    file and where to put it, exit 2; nothing is downloaded."""
    import main as report

    work = tmp_path / "work"
    work.mkdir()
    Image.fromarray(np.full((40, 60, 3), 120, np.uint8)).save(work / "ILSVRC2012_val_00001177.JPEG")
    monkeypatch.chdir(work)
    assert report.main(_report_call(model)) == 2
    err = [ln for ln in capsys.readouterr().err.strip().splitlines() if ln.strip()]
    assert err[-1].startswith("error: could not download the ImageNet weights for "
                              + model.lower().replace("resnet", "resnet50"))
    assert weights in err[-1] and "Traceback" not in " ".join(err)
    assert not list((offline / "models").glob("*.h5"))


def test_test_image_index_1_explains_the_second_most_probable_class(tmp_path, capsys):
    """On coffee, EfficientNet-Lite0 (offline weights): index 1 is the runner-up class, for
    the file and the JSON record; an index past the 1000 classes is refused in one line."""
    import main as report
    import xai_core as xc

    coffee = ROOT / "data" / "espresso" / "coffee.png"
    out = tmp_path / "out"
    assert report.main(["--test_image_path", str(coffee), "--test_image_index=1",
                        "--model_name=efficientnet_lite0", "--out", str(out), "--quiet",
                        "--n-masks", "64", "--fixed-budget", "--mask-size", "5"]) == 0
    rec = json.loads((out / "coffee_efficientnet_lite0_rise.json").read_text())
    clf = xc.load_classifier("efficientnet_lite0")
    probs = clf.predict(clf.prepare(xc.load_image(coffee)))[0]
    second = int(np.argsort(probs)[::-1][1])
    assert rec["target"] == second and rec["target_rank"] == 1 and rec["model"] == "efficientnet_lite0"
    assert rec["target_label"] == clf.class_names[second]
    printed = capsys.readouterr().out
    assert f"efficientnet_lite0\trise\t{clf.class_names[second]} (2nd most probable" in printed

    assert report.main(["--test_image_path", str(coffee), "--test_image_index=1000",
                        "--model_name=EfficientNet-Lite0", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == ("error: cannot explain the 1001st most probable class: the model "
                       "efficientnet_lite0 has 1000 classes")
    assert not any("Traceback" in ln or ln.startswith("[1/") for ln in err)


def test_model_names_in_any_usual_spelling_reach_one_model(tmp_path):
    """The command line, main.py and the study read model names through one function."""
    from xai_core.models import resolve_model_name
    from xai_core.study.cli import _check_models

    for spelling, name in (("ResNet", "resnet50"), ("resnet", "resnet50"),
                           ("ResNet50", "resnet50"), ("resnet-50", "resnet50"),
                           ("Xception", "xception"), ("XCEPTION", "xception"),
                           ("EfficientNet-Lite0", "efficientnet_lite0"),
                           ("efficientnet_lite2", "efficientnet_lite2")):
        assert resolve_model_name(spelling) == name
    assert resolve_model_name("my_model.keras") == "my_model.keras"
    assert resolve_model_name("vgg16") == "vgg16"
    assert _check_models(["ResNet", "Xception", "efficientnet-lite0"]) == [
        "resnet50", "xception", "efficientnet_lite0"]
    with pytest.raises(Exception, match="unknown model 'vgg16'"):
        _check_models(["vgg16"])


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


def test_every_input_gets_its_own_outputs(square_cnn, tmp_path, monkeypatch):
    _, model_path = square_cnn
    for folder in ("p/q", "r/q"):
        (tmp_path / folder).mkdir(parents=True)
        square_png(tmp_path / folder / "x.png")
    square_png(tmp_path / "camera.png")
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "out"
    assert main(["p/q/x.png", "r/q/x.png", "camera.png", "--sample", "camera",
                 "--model", str(model_path), "--n-masks", "20", "--out", str(out),
                 "--quiet"]) == 0
    records = [json.loads(p.read_text()) for p in out.glob("*.json")]
    assert len(records) == 4
    assert sorted(r["image"] for r in records) == ["camera", "camera.png", "x.png", "x.png"]
    assert len(list(out.glob("*.npy"))) == 4


def test_output_stems_are_distinct_for_any_inputs():
    from xai_core.cli import _output_stems

    items = ["chelsea", Path("chelsea.png"), Path("p/q/x.png"), Path("r/q/x.png"),
             Path("z.png"), Path("z.png"), Path("sample-chelsea.png"), Path("solo.jpg")]
    stems = _output_stems(items)
    assert len({s.lower() for s in stems}) == len(items)
    assert stems[-1] == "solo" and stems[2:4] == ["p-q-x-png", "r-q-x-png"]


@pytest.mark.parametrize("flag, value", [("--levels", "1000000"), ("--levels", "0")])
def test_output_settings_are_checked_before_any_model_is_loaded(flag, value, capsys, tmp_path):
    # the model file does not exist: an error about it would mean the setting came second
    code = main(["--sample", "chelsea", "--model", str(tmp_path / "none.keras"),
                 flag, value, "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and err[-1].startswith(f"error: {flag} must be between")


def test_folder_run_skips_postscript_and_thin_strips(square_cnn, tmp_path, capsys):
    _, model_path = square_cnn
    folder = tmp_path / "mixed"
    folder.mkdir()
    square_png(folder / "good.png")
    (folder / "eps.png").write_bytes(b"%!PS-Adobe-3.0 EPSF-3.0\n{ } loop\n")
    Image.new("RGB", (100_000, 8)).save(folder / "strip.png")
    code = main([str(folder), "--model", str(model_path), "--n-masks", "20",
                 "--out", str(tmp_path / "out"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err
    assert "eps.png: this is a PostScript/EPS or PDF document" in err
    assert "strip.png: the image is a thin strip" in err
    assert len(list((tmp_path / "out").glob("*.json"))) == 1

def test_gradcam_fill_and_sanity(square_cnn, tmp_path, capsys):
    _, model_path = square_cnn
    img = square_png(tmp_path / "sq.png", corner=(4, 20))
    out = tmp_path / "out"
    code = main([str(img), "--model", str(model_path), "--method", "all", "--n-masks", "200",
                 "--mask-size", "8", "--fill", "blur", "--num-samples", "40",
                 "--segmentation", "slic", "--sanity", "--out", str(out), "--quiet",
                 "--target", "1"])
    assert code == 0
    gradcam = np.load(out / "sq_square_cnn_gradcam.npy")
    r, c = np.unravel_index(gradcam.argmax(), gradcam.shape)
    assert 3 <= r <= 12 and 19 <= c <= 28  # on the square
    rec = json.loads((out / "sq_square_cnn_gradcam.json").read_text())
    assert rec["method"] == "gradcam" and rec["white_box"] is True
    assert json.loads((out / "sq_square_cnn_rise.json").read_text())["params"]["fill"] == "blur"
    for method in ("rise", "lime", "gradcam"):
        sanity = json.loads((out / f"sq_square_cnn_{method}_sanity.json").read_text())
        assert sanity["method"] == method and len(sanity["stages"]) == 3  # conv, conv, dense
        assert all(-1 <= s["spearman"] <= 1 for s in sanity["stages"])
        row = np.asarray(Image.open(out / f"sq_square_cnn_{method}_sanity.png"))
        assert row.shape[1] > 5 * 32  # image, trained map and three stages side by side
    assert "sanity: Spearman per stage" in capsys.readouterr().out


@pytest.mark.parametrize("args, message", [
    (["--fill", "purple"], "fill must be"),
    (["--sanity-stages", "0"], "--sanity-stages"),
])
def test_bad_fill_and_stages(tmp_path, capsys, args, message):
    assert main(["--sample", "coffee", *args, "--out", str(tmp_path)]) == 2
    assert message in capsys.readouterr().err

def test_seed_flags_read_the_labs_class_folders(square_cnn, tmp_path, monkeypatch, capsys):
    """``main.py --test_image_path data/ --folder_index i`` over ``data/<class>/<image>``,
    a whole class folder and a single ``data/<class>/<image>`` path, all explained."""
    import numpy as np
    from PIL import Image

    import main as report

    _, model_path = square_cnn
    for cls, name in (("espresso", "coffee.png"), ("egyptian_cat", "chelsea.png")):
        (tmp_path / "data" / cls).mkdir(parents=True)
        Image.fromarray(np.full((32, 32, 3), 100, np.uint8)).save(tmp_path / "data" / cls / name)
    data = tmp_path / "data"
    args = translate(["--test_image_path", str(data), "--folder_index", "1"])
    assert args == [str(data / "espresso" / "coffee.png")]  # classes in order, then files
    out = tmp_path / "out"
    assert report.main(["--test_image_path", str(data / "egyptian_cat" / "chelsea.png"),
                        "--model_name", str(model_path), "--n-masks", "20", "--out", str(out),
                        "--quiet"]) == 0
    assert (out / "chelsea_square_cnn_rise.json").is_file()
    # a folder and --test_image_index: every image, each with its own second class
    assert report.main(["--test_image_path", str(data), "--test_image_index", "1",
                        "--model_name", str(model_path), "--n-masks", "20",
                        "--out", str(tmp_path / "both"), "--quiet"]) == 0
    records = [json.loads(p.read_text()) for p in (tmp_path / "both").glob("*.json")]
    assert sorted(r["image"] for r in records) == ["chelsea.png", "coffee.png"]
    assert all(r["target_rank"] == 1 for r in records)
    assert report.main(["--test_image_path", str(data), "--folder_index", "2"]) == 2
    assert "has 2 images (index 0 to 1)" in capsys.readouterr().err

def test_auto_budget_by_default_and_fixed_budget_on_request(square_cnn, tmp_path):
    _, model_path = square_cnn
    img = square_png(tmp_path / "sq.png")
    for flag, out in (([], tmp_path / "auto"), (["--fixed-budget"], tmp_path / "fixed")):
        assert main([str(img), "--model", str(model_path), "--n-masks", "4096", "--method",
                     "rise", "--out", str(out), "--quiet", *flag]) == 0
    auto = json.loads((tmp_path / "auto" / "sq_square_cnn_rise.json").read_text())
    fixed = json.loads((tmp_path / "fixed" / "sq_square_cnn_rise.json").read_text())
    assert auto["params"]["stop_at_r"] == 0.95 and auto["masks_used"] < 4096
    assert auto["budget_note"].startswith("stopped at")
    assert fixed["params"]["stop_at_r"] is None and fixed["masks_used"] == 4096


def test_the_two_command_lines_do_not_import_each_other():
    """No import circle: the shared parser lives below both (``xai_core._cli_common``)."""
    for first, other in (("xai_core.study.cli", "xai_core.cli"),
                         ("xai_core.cli", "xai_core.study.cli")):
        code = f"import sys, {first}; print({other!r} in sys.modules)"
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             cwd=ROOT, timeout=120)
        assert out.returncode == 0, out.stderr[-400:]
        assert out.stdout.split() == ["False"], f"{first} imports {other}"


def test_both_command_lines_report_a_bad_flag_in_one_line(capsys):
    from xai_core.study import main as study_main

    assert main(["--sample", "coffee", "--no-such-flag"]) == 2
    assert study_main(["data", "--out", "x", "--no-such-flag"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all(line.startswith("error: unrecognized arguments") for line in err)
    assert err[0].endswith("(see python -m xai_core --help)")
    assert err[1].endswith("(see python -m xai_core.study --help)")


def test_main_py_help_lists_the_reports_flags(capsys):
    import main as report

    assert report.main(["--help"]) == 0
    text = capsys.readouterr().out
    for flag in ("--test_image_path", "--test_image_index", "--model_name", "--display_type",
                 "--folder_index"):
        assert flag in text
    assert "most probable class" in text and "``" not in text
