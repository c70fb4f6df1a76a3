"""Dataset studies: a folder of photos made here, a tiny CNN, a local Ray with 2 workers."""

from __future__ import annotations

import csv
import io
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from xai_core.study import main, mean_interval
from xai_core.study.plan import (
    Setting,
    Task,
    discover_images,
    parse_sets,
    plan_tasks,
    settings_grid,
)
from xai_core.study.results import COLUMNS, ResultsFile, one_line_error, read_rows
from xai_core.study.runner import StudyWorker

pytest.importorskip("ray")

SETS = ["--set", "rise.mask_size=4,8", "--set", "rise.n_masks=64", "--set", "lime.num_samples=50"]
PROTOCOLS = ("lab", "rise-reference")
N_SETTINGS = 3  # RISE s=4, RISE s=8, LIME


def _png(path: Path, square: bool, seed: int) -> None:
    rng = np.random.default_rng(seed)
    img = rng.uniform(0, 120, (40, 40, 3)).astype(np.uint8)
    if square:
        r, c = rng.integers(4, 24, 2)
        img[r : r + 10, c : c + 10] = 255
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(img).save(path)


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> Path:
    """data/square/{a,b}.png, data/plain/{c,d}.png and a damaged data/plain/broken.png."""
    root = tmp_path_factory.mktemp("photos")
    _png(root / "square" / "a.png", True, 1)
    _png(root / "square" / "b.png", True, 2)
    _png(root / "plain" / "c.png", False, 3)
    _png(root / "plain" / "d.png", False, 4)
    (root / "plain" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"not really" * 10)
    return root


@pytest.fixture(scope="module")
def ray_session():
    """One local Ray (2 CPUs) for the whole module: starting Ray takes seconds."""
    import ray

    from xai_core.study.runner import start_ray

    started = start_ray(None, 2)
    yield
    if started:
        ray.shutdown()


def _argv(photos: Path, model: Path, out: Path, *extra: str) -> list[str]:
    return [str(photos), "--models", str(model), "--methods", "rise,lime", *SETS,
            "--protocol", ",".join(PROTOCOLS), "--out", str(out), "--workers", "2",
            "--engine", "keras", "--save-maps", "--quiet", *extra]


@pytest.fixture(scope="module")
def study(photos, square_cnn, ray_session, tmp_path_factory):
    """The study run once: (argv, out folder, exit code)."""
    out = tmp_path_factory.mktemp("study")
    argv = _argv(photos, square_cnn[1], out)
    code = main(argv)
    return argv, out, code


def test_rows_of_a_study(study, photos):
    _, out, code = study
    rows = read_rows(out / "results.csv")
    assert code == 1  # the damaged file failed
    assert len(rows) == 5 * N_SETTINGS * len(PROTOCOLS)
    assert {r["image"] for r in rows} == {"square/a.png", "square/b.png", "plain/c.png",
                                          "plain/d.png", "plain/broken.png"}
    assert {r["class"] for r in rows} == {"square", "plain"}
    assert {r["protocol"] for r in rows} == set(PROTOCOLS)
    assert {(r["method"], r["rise.mask_size"]) for r in rows} == {("rise", "4"), ("rise", "8"),
                                                                 ("lime", "")}
    ok = [r for r in rows if r["status"] == "ok"]
    assert len(ok) == 4 * N_SETTINGS * len(PROTOCOLS)
    for r in ok:
        for col in ("deletion_auc", "insertion_auc", "probability"):
            assert 0.0 <= float(r[col]) <= 1.0 and np.isfinite(float(r[col]))
        assert int(r["forward_passes"]) > 0 and float(r["wall_s"]) > 0
        assert r["seed"] == "0" and r["model"] == "square_cnn.keras"
        assert (out / r["map_file"]).is_file()
    assert {r["target"] for r in ok if r["class"] == "square"} == {"1"}  # the CNN sees the square
    broken = [r for r in rows if r["image"] == "plain/broken.png"]
    assert len(broken) == N_SETTINGS * len(PROTOCOLS)
    for r in broken:
        assert r["status"].startswith("error") and "\n" not in r["status"]
        assert str(photos) not in r["status"] and "/" not in r["status"].replace("plain/", "")
    run = (out / "run.json").read_text()
    assert '"workers": 2' in run and '"ray"' in run and "rise-reference" in run


def test_a_second_run_computes_nothing(study, capsys):
    argv, out, _ = study
    before = (out / "results.csv").read_bytes()
    t0 = time.perf_counter()
    code = main(argv)
    assert time.perf_counter() - t0 < 5.0
    assert code == 1  # the damaged image's rows are still failed
    assert (out / "results.csv").read_bytes() == before
    assert "nothing to compute" in capsys.readouterr().err


def test_row_aucs_equal_the_library_curves(study, square_cnn, photos):
    from xai_core import deletion_curve, insertion_curve, load_image
    from xai_core.metrics import causal_curves
    from xai_core.models import zero_input_rgb

    _, out, _ = study
    clf = square_cnn[0]
    rows = [r for r in read_rows(out / "results.csv")
            if r["status"] == "ok" and r["image"] == "square/a.png"]
    assert len(rows) == N_SETTINGS * len(PROTOCOLS)
    image = clf.prepare(load_image(photos / "square" / "a.png"))
    for r in rows:
        sal = np.load(out / r["map_file"])
        target = int(r["target"])
        if r["protocol"] == "lab":
            dele = deletion_curve(clf.predict, image, sal, target, seed=0).auc
            ins = insertion_curve(clf.predict, image, sal, target, seed=0).auc
        else:
            curves = causal_curves(clf.predict, image, sal, target, protocol="rise-reference",
                                   zero_colour=zero_input_rgb("none"))
            dele, ins = curves["deletion"].auc, curves["insertion"].auc
            # the same with the library's building blocks: black (0 in a raw-pixel model's
            # input) and 224 pixels per step
            black = np.zeros_like(image)
            assert deletion_curve(clf.predict, image, sal, target, substrate=black,
                                  pixels_per_step=224).auc == pytest.approx(dele, abs=1e-6)
        assert float(r["deletion_auc"]) == pytest.approx(dele, abs=1e-6)
        assert float(r["insertion_auc"]) == pytest.approx(ins, abs=1e-6)


def test_an_interrupted_study_resumes_with_the_same_rows(study, tmp_path):
    argv, out, _ = study
    lines = (out / "results.csv").read_text().splitlines(keepends=True)
    resumed = tmp_path / "resumed"
    resumed.mkdir()
    # rows 1..10 kept, then a torn line (as if the machine died mid-write)
    (resumed / "results.csv").write_text("".join(lines[:11]) + lines[11][:20])
    (resumed / "maps").symlink_to(out / "maps")
    argv = [a if a != str(out) else str(resumed) for a in argv]
    assert main(argv) == 1
    full = {tuple(r[c] for c in COLUMNS[:14]): r for r in read_rows(out / "results.csv")}
    again = read_rows(resumed / "results.csv")
    assert len(again) == len(full)
    for r in again:  # same seed, same rows: recomputed AUCs equal the first run's
        first = full[tuple(r[c] for c in COLUMNS[:14])]
        for col in ("status", "target", "deletion_auc", "insertion_auc"):
            if first["status"] == "ok":
                assert float(r[col] or 0) == pytest.approx(float(first[col] or 0), abs=1e-6) \
                    if col != "status" else r[col] == first[col]
    text = (resumed / "results.csv").read_text()
    assert text.endswith("\n") and len(text.splitlines()) == len(full) + 1


def test_summarize_writes_intervals_around_the_means(study, capsys):
    _, out, _ = study
    assert main(["summarize", str(out)]) == 0
    text = (out / "summary.md").read_text()
    assert text.strip() in capsys.readouterr().out
    assert "## Protocol `lab`" in text and "## Protocol `rise-reference`" in text
    assert "| rise.mask_size |" in text and "| method |" in text
    rows = [r for r in read_rows(out / "results.csv") if r["status"] == "ok"
            and r["method"] == "rise" and r["rise.mask_size"] == "4" and r["protocol"] == "lab"]
    iv = mean_interval([float(r["deletion_auc"]) for r in rows])
    iv = replace(iv, low=max(iv.low, 0.0), high=min(iv.high, 1.0))  # AUCs lie in [0, 1]
    assert iv.low <= iv.mean <= iv.high and iv.text() in text


@pytest.mark.parametrize("extra, message", [
    (["--models", "no_such_model"], "unknown model"),
    (["--set", "rise.foo=1"], "no study parameter"),
    (["--set", "lime.num_samples=many"], "not a whole number"),
    (["--set", "rise.mask_size=1"], "mask_size"),
    (["--protocol", "paper"], "unknown protocol"),
    (["--methods", "occlusion"], "unknown method"),
    (["--workers", "0"], "--workers"),
    (["--seed", "-1"], "--seed"),
    (["--preprocessing", "imagenet"], "--preprocessing"),
    (["--address", "nowhere"], "--address"),
])
def test_bad_arguments_exit_2_with_one_line(photos, tmp_path, capsys, extra, message):
    argv = [str(photos), "--methods", "rise,lime", "--out", str(tmp_path / "o"), "--quiet", *extra]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "\n" not in err and message in err


def test_bad_arguments_no_data_and_summarize_nothing(tmp_path, capsys):
    assert main([str(tmp_path / "missing"), "--out", str(tmp_path / "o")]) == 2
    assert main([str(tmp_path), "--out", str(tmp_path / "o")]) == 2  # no images
    assert main(["summarize", str(tmp_path)]) == 2
    assert main([]) == 2
    errs = capsys.readouterr().err.strip().splitlines()
    assert len(errs) == 4 and all(e.startswith("error:") for e in errs)


# --- pieces without Ray -------------------------------------------------------------------


class _NanClassifier:
    name, input_size, class_names, preprocessing = "nan", (16, 16), ["a", "b"], "none"
    n_classes, engine, engine_note = 2, "keras", ""

    def prepare(self, image):
        from xai_core import fit_to_size

        return fit_to_size(image, self.input_size)

    def predict(self, images):
        out = np.full((len(images), 2), 0.5, np.float32)
        out[1:] = np.nan  # the whole image scores; perturbed ones are NaN
        return out


def _task(photos: Path, method: str = "rise") -> Task:
    item = discover_images(photos)[-1]
    params = {"rise": (("n_masks", 8), ("mask_size", 4), ("keep_prob", 0.5))}
    return Task(item, "nan", Setting(method, params[method]), 0, PROTOCOLS)


def test_non_finite_scores_end_in_an_error_row(photos):
    worker = StudyWorker("nan")
    worker.clf = _NanClassifier()
    task = _task(photos)
    result = worker.run(task, task.image.path.read_bytes())
    assert [r["protocol"] for r in result.rows] == list(PROTOCOLS)
    assert all("not finite" in r["status"] for r in result.rows)


def test_a_damaged_image_ends_in_an_error_row(photos):
    worker = StudyWorker("nan")
    worker.clf = _NanClassifier()
    task = _task(photos)
    result = worker.run(task, b"garbage")
    assert all(r["status"].startswith("error") for r in result.rows) and result.saliency is None


def test_grid_images_and_plan(photos):
    sets = parse_sets(["rise.mask_size=7,15", "rise.n_masks=100,200", "lime.num_samples=50"],
                      ["rise", "lime"])
    grid = settings_grid(["rise", "lime"], sets)
    assert len(grid) == 5 and grid[0].as_dict == {"n_masks": 100, "mask_size": 7, "keep_prob": 0.5,
                                                  "fill": "black"}
    images = discover_images(photos)
    assert [i.rel for i in images][:2] == ["plain/broken.png", "plain/c.png"]
    flat = discover_images(photos / "square")
    assert [(i.rel, i.label) for i in flat] == [("a.png", ""), ("b.png", "")]
    tasks = plan_tasks(images, ["m"], grid, ["lab"], 0)
    assert len(tasks) == 5 * 5
    done = {t.key("lab") for t in tasks[:7]}
    assert len(plan_tasks(images, ["m"], grid, ["lab"], 0, done)) == 18
    with pytest.raises(ValueError, match="given twice"):
        parse_sets(["rise.mask_size=7", "rise.mask_size=9"], ["rise"])
    with pytest.raises(ValueError, match="not among --methods"):
        parse_sets(["lime.num_samples=9"], ["rise"])


def test_results_file_appends_whole_lines_and_checks_its_header(tmp_path):
    res = ResultsFile(tmp_path)
    res.append({"image": "a.png", "model": "m", "method": "rise", "protocol": "lab", "seed": 0,
                "rise.n_masks": 8, "status": "ok", "deletion_auc": 0.25})
    with open(res.path, "a") as f:
        f.write("b.png,,m,ri")  # torn
    res = ResultsFile(tmp_path)  # reopening cuts the torn line
    rows = list(csv.DictReader(io.StringIO(res.path.read_text())))
    assert len(rows) == 1 and rows[0]["deletion_auc"] == "0.25"
    with pytest.raises(ValueError, match="unknown result columns"):
        res.append({"nope": 1})
    other = tmp_path / "other"
    other.mkdir()
    (other / "results.csv").write_text("a,b\n")
    with pytest.raises(ValueError, match="other columns"):
        ResultsFile(other)


def test_one_line_error_hides_server_paths():
    exc = ValueError("cannot read /srv/data/private/x.png:\nbad header")
    text = one_line_error(exc)
    assert text == "error: cannot read x.png: bad header"


def test_a_model_that_cannot_load_fails_its_rows_not_the_run(photos, ray_session, tmp_path):
    bad = tmp_path / "bad.keras"
    bad.write_bytes(b"not a model")
    out = tmp_path / "out"
    code = main([str(photos / "square"), "--models", str(bad), "--set", "rise.n_masks=8",
                 "--out", str(out), "--workers", "1", "--quiet"])
    rows = read_rows(out / "results.csv")
    assert code == 1 and len(rows) == 2
    assert all("could not be loaded" in r["status"] and str(tmp_path) not in r["status"]
               for r in rows)


class _DyingWorker(StudyWorker):
    """Its process exits on image c every time, and on image b the first time only.

    ``markers`` (a folder, set on a subclass) remembers which images killed a worker.
    """

    markers = ""

    def run(self, task, data):
        import os

        marker = Path(self.markers) / task.image.path.name
        if task.image.path.stem == "c" or (task.image.path.stem == "b" and not marker.exists()):
            marker.touch()
            os._exit(1)
        return super().run(task, data)


def test_a_dying_worker_is_replaced_and_its_task_retried_once(photos, square_cnn, ray_session,
                                                              tmp_path):
    from xai_core.study import runner

    worker = type("_DyingHere", (_DyingWorker,), {"markers": str(tmp_path)})
    images = [i for i in discover_images(photos) if i.path.stem in ("a", "b", "c")]
    setting = settings_grid(["rise"], {"rise": {"n_masks": [8]}})[0]
    tasks = plan_tasks(images, [str(square_cnn[1])], [setting], ["lab"], 0)
    got = {}
    info = runner.run_tasks(tasks, str(square_cnn[1]), workers=2, engine="keras",
                            read=lambda t: t.image.path.read_bytes(),
                            on_result=lambda t, r: got.update({t.image.rel: r.rows[0]["status"]}),
                            worker_class=worker)
    assert isinstance(info, dict) and len(got) == 3
    assert got["square/a.png"] == "ok" and got["square/b.png"] == "ok"  # b: died once, retried
    assert "died twice" in got["plain/c.png"]  # c: kills its worker every time


def test_gradcam_rows_use_the_white_box_reference(photos, square_cnn):
    """``--methods gradcam`` works in a study: the worker hands Grad-CAM the classifier."""
    worker = StudyWorker(str(square_cnn[1]), engine="keras", save_maps=True)
    square = next(i for i in discover_images(photos) if i.label == "square")
    task = Task(square, "square_cnn", Setting("gradcam", (("layer", None),)), 0, PROTOCOLS)
    result = worker.run(task, square.path.read_bytes())
    assert [r["status"] for r in result.rows] == ["ok"] * len(PROTOCOLS)
    assert all(0.0 <= r["deletion_auc"] <= 1.0 and 0.0 <= r["insertion_auc"] <= 1.0
               for r in result.rows)
    assert result.saliency is not None and result.saliency.max() > 0


def test_console_script_dispatches_study(tmp_path, capsys):
    from xai_core.cli import main as saliency_lab

    assert saliency_lab(["study", str(tmp_path / "missing"), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "not a folder" in err
