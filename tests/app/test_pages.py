"""Every dashboard page, run headless by Streamlit's AppTest on a tiny model file."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[2] / "app.py")
PAGES = [
    "pages/parameter_effect.py",
    "pages/cross_class.py",
    "pages/compare_models.py",
    "pages/mask_size.py",
    "pages/lime_vs_rise.py",
]


@pytest.fixture(scope="module")
def stub_models(square_cnn, tmp_path_factory):
    """Two copies of the tiny CNN as the only models the app offers."""
    _, path = square_cnn
    folder = tmp_path_factory.mktemp("app_models")
    a, b = folder / "tiny_a.keras", folder / "tiny_b.keras"
    shutil.copy(path, a)
    shutil.copy(path, b)
    old = os.environ.get("SALIENCY_LAB_MODELS")
    os.environ["SALIENCY_LAB_MODELS"] = os.pathsep.join([str(a), str(b)])
    yield a, b
    if old is None:
        os.environ.pop("SALIENCY_LAB_MODELS", None)
    else:
        os.environ["SALIENCY_LAB_MODELS"] = old


def app(query: dict[str, str] | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    return at


def assert_clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def charts(at: AppTest) -> int:
    return len(at.get("plotly_chart"))


def top5(at: AppTest) -> list[str]:
    """The class names of the home page's top-5 bar chart (empty when it is missing)."""
    for c in at.get("plotly_chart"):
        fig = json.loads(c.proto.spec)
        if fig["data"] and fig["data"][0]["type"] == "bar":
            return list(fig["layout"]["yaxis"]["ticktext"])
    return []


def test_home_shows_prediction_and_explains_in_one_click(stub_models):
    at = app({"n": "1"})
    at.run()
    assert_clean(at)
    ctx = at.session_state["_ctx"]
    assert top5(at) == [ctx.clf.class_names[i] for i in ctx.probabilities().argsort()[::-1][:5]]
    assert charts(at) == 1  # the top-5 bars; nothing computed yet
    at.button(key="home-run-button").click().run()
    assert_clean(at)
    assert charts(at) == 3  # and RISE and LIME, one row (image | heatmap | overlay | isolines) each
    assert at.query_params["run"] in ("home", ["home"])
    # changing a display option re-renders from the cache: no new computation
    from dashboard import ui

    service = ui.compute_service()
    computed = service.computed
    at.session_state["alpha"] = 0.8  # the sidebar slider's state
    at.run()
    assert_clean(at)
    assert charts(at) == 3 and service.computed == computed


@pytest.mark.parametrize("page", PAGES)
def test_each_experiment_page_runs(stub_models, page):
    at = app()
    at.switch_page(page).run()
    assert_clean(at)
    buttons = [b for b in at.button if b.key and b.key.endswith("-run-button")]
    assert len(buttons) == 1
    if page.endswith(("lime_vs_rise.py", "parameter_effect.py")):
        for key in ("ln", "an", "bn"):
            if key in at.session_state:
                at.number_input(key=key).set_value(60)
    buttons[0].click().run()
    assert_clean(at)
    assert charts(at) >= 2, f"{page}: expected two result rows"
    downloads = at.get("download_button")
    assert len(downloads) >= 2 * 5 + 1
    assert any("Figure for your report" in d.proto.label for d in downloads)


def test_model_comparison_shows_each_prediction(stub_models):
    at = app()
    at.switch_page("pages/compare_models.py").run()
    at.button(key="models-run-button").click().run()
    assert_clean(at)
    labels = [m.label for m in at.metric]
    assert labels == ["tiny_a.keras predicts", "tiny_b.keras predicts"]


def test_shared_link_reproduces_the_view(stub_models):
    at = app({"img": "coffee", "method": "rise", "sizes": "4,7", "n": "50", "run": "masks",
              "seed": "3"})
    at.switch_page("pages/mask_size.py").run()
    assert_clean(at)
    assert at.session_state["img"] == "coffee"
    assert at.number_input(key="n").value == 50
    assert charts(at) == 2  # the link opened with results, no click needed
    assert any("seed 3" in m.value for m in at.markdown)


def test_bad_link_values_fall_back_with_a_warning(stub_models):
    at = app({"img": "nonexistent", "alpha": "7", "levels": "many", "n": "-4", "model": "vgg"})
    at.switch_page("pages/mask_size.py").run()
    assert_clean(at)
    text = " ".join(w.value for w in at.warning)
    for key in ("img=nonexistent", "alpha=7", "levels=many", "n=-4", "model=vgg"):
        assert key in text
    assert at.session_state["alpha"] == 1.0  # out of range: the nearest allowed value
    assert at.session_state["n"] == 10
    assert at.session_state["img"] == "coffee"  # unknown: the default


def _png(w: int, h: int) -> bytes:
    import io

    import numpy as np
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.full((h, w, 3), 120, np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def _damaged_tiff() -> bytes:
    from tests.test_hardening import _retype_tag, _tiff

    return _retype_tag(_tiff(), 273, 5)  # StripOffsets as a rational


@pytest.mark.parametrize(
    "name, data, words",
    [
        ("notes.jpg", b"this is a text file, not a photo", "not an image"),
        ("empty.png", b"", "empty"),
        ("cut.png", _png(64, 64)[:60], "truncated|damaged"),
        ("dot.png", _png(1, 1), "too small"),
        ("drawing.svg", b"<svg xmlns='http://www.w3.org/2000/svg'></svg>", "SVG"),
        ("cat.png", b"%!PS-Adobe-3.0 EPSF-3.0\n{ } loop\n", "PostScript"),
        ("strip.png", _png(1000, 8), "thin strip"),
        ("bad.tif", _damaged_tiff(), "damaged"),  # Pillow raised TypeError (issue 23)
    ],
)
def test_bad_uploads_say_why_and_the_app_keeps_working(stub_models, name, data, words):
    import re

    at = app({"img": "upload your own…"})
    at.run()
    assert any("until an image is uploaded" in i.value for i in at.info)
    at.file_uploader(key="upload").upload(name, data).run()
    assert not at.exception
    errors = " ".join(e.value for e in at.error)
    assert name in errors and re.search(words, errors), errors
    assert "Traceback" not in errors
    assert top5(at)  # the page still shows the sample image's prediction


def test_a_good_upload_is_used(stub_models):
    at = app({"img": "upload your own…"})
    at.run()
    at.file_uploader(key="upload").upload("grey.png", _png(300, 200)).run()
    assert_clean(at)
    assert not any("until an image is uploaded" in i.value for i in at.info)
    assert top5(at)
    from dashboard import ui

    ctx = at.session_state["_ctx"]
    assert isinstance(ctx, ui.Context) and ctx.uploaded and ctx.image_name == "grey.png"


def test_models_that_cannot_be_downloaded_are_explained_not_crashed(stub_models, monkeypatch,
                                                                      offline):
    from dashboard import ui

    a, _ = stub_models
    monkeypatch.setenv("SALIENCY_LAB_MODELS", os.pathsep.join([str(a), "resnet50"]))
    ui.models.load_model.clear()
    ui.models._load_failures().clear()
    try:
        at = app({"m1": "resnet50", "m2": a.name})
        at.switch_page("pages/compare_models.py").run()
        assert not at.exception
        text = " ".join(w.value for w in at.warning)
        assert "ResNet50 is not available" in text
        assert len(text) < 200  # one line; the details are folded away
        details = " ".join(m.value for m in at.markdown)
        assert "resnet50_weights" in details and "Traceback" not in details
        assert any("Available here: tiny_a.keras" in i.value for i in at.info)
        at.button(key="models-run-button").click().run()
        assert not at.exception
        assert charts(at) == 1  # the available model is still explained
    finally:
        ui.models.load_model.clear()
        ui.models._load_failures().clear()


def test_compare_models_pickers_move_off_a_model_that_cannot_load(stub_models, monkeypatch,
                                                                  offline):
    from dashboard import ui

    a, b = stub_models
    monkeypatch.setenv("SALIENCY_LAB_MODELS", os.pathsep.join([str(a), str(b), "resnet50"]))
    ui.models.load_model.clear()
    ui.models._load_failures().clear()
    try:
        at = app({"m1": "resnet50", "m2": a.name})  # model files go by name, never by path
        at.switch_page("pages/compare_models.py").run()
        assert not at.exception
        assert at.selectbox(key="m1").value == b.name  # moved to a model that loads
        assert at.query_params["m1"] in (b.name, [b.name])
        text = " ".join(w.value for w in at.warning)
        assert "ResNet50 is not available" in text and "Using **tiny_b.keras** instead" in text
    finally:
        ui.models.load_model.clear()
        ui.models._load_failures().clear()


def test_a_link_made_after_an_upload_says_so_and_shows_no_other_image(stub_models):
    at = app({"img": "upload your own…", "run": "masks", "sizes": "3", "n": "30"})
    at.switch_page("pages/mask_size.py").run()
    assert_clean(at)
    assert any("cannot travel in a link" in w.value for w in at.warning)
    assert charts(at) == 0  # no result for the sample image instead


def test_a_wide_sample_photo_gets_the_crop_or_pad_offer_and_each_photo_is_listed_once(
        stub_models):
    at = app()
    at.run()
    assert_clean(at)
    options = at.selectbox(key="img").options
    assert sum("coffee" in o for o in options) == 1, options  # not again as data/'s copy
    at = app({"img": "chelsea"})  # 451 x 300
    at.run()
    assert_clean(at)
    assert at.radio(key="fit").value == "crop"
    at.radio(key="fit").set_value("pad").run()
    assert_clean(at)
    assert at.session_state["_ctx"].fit == "pad"
    assert at.query_params["fit"] in ("pad", ["pad"])


def test_faithfulness_curves_and_auc_table_on_demand(stub_models):
    at = app({"run": "versus", "metrics": "True", "ln": "60", "rn": "200"})
    at.switch_page("pages/lime_vs_rise.py").run()
    assert_clean(at)
    assert charts(at) == 6  # LIME, RISE, Grad-CAM x (one row + one curves figure)
    table = at.dataframe[-1].value
    assert list(table["map"]) == ["LIME", "RISE", "Grad-CAM (white-box reference)",
                                  "random baseline", "centre baseline"]
    assert table["deletion AUC ↓"].between(0, 1).all()
    assert table["insertion AUC ↑"].between(0, 1).all()
    # turning the toggle off hides them without recomputing the maps
    at.toggle(key="metrics").set_value(False).run()
    assert_clean(at)
    assert charts(at) == 3


def test_explanations_wait_their_turn_in_the_shared_queue(stub_models):
    import threading

    from dashboard import ui

    queue = ui.compute_service().queue
    held, release = threading.Event(), threading.Event()

    def another_user() -> None:
        with queue.slot():
            held.set()
            release.wait(10)

    worker = threading.Thread(target=another_user)
    worker.start()
    held.wait(5)
    def release_when_someone_waits() -> None:
        for _ in range(1000):
            if queue.waiting:
                break
            threading.Event().wait(0.01)
        threading.Event().wait(1.0)
        release.set()

    threading.Thread(target=release_when_someone_waits, daemon=True).start()
    try:
        at = app({"run": "masks", "n": "30", "sizes": "3", "seed": "11"})
        at.switch_page("pages/mask_size.py").run()
    finally:
        release.set()
        worker.join()
    assert_clean(at)
    assert charts(at) == 1
    assert queue.stats()["longest_wait_s"] >= 1.0  # it waited for the other user's run


def test_a_model_failing_inside_predict_breaks_only_its_own_result():
    def script():
        import streamlit as st

        from dashboard import ui

        def boom(progress):
            progress(1, 10)
            raise RuntimeError("the model exploded on batch 1")

        first = ui.computed("RISE", "masks", ("test-boom",), boom)
        second = ui.computed("other", "masks", ("test-fine",), lambda progress: 42)
        st.write(f"results: {first} {second}")

    at = AppTest.from_function(script, default_timeout=60).run()
    assert not at.exception
    assert [e.value for e in at.error] == [
        "RISE failed: the model raised RuntimeError while computing. Try another model or image."]
    assert any("results: None 42" in m.value for m in at.markdown)


def test_user_model_upload_good_unsafe_and_legacy(stub_models, tmp_path):
    import keras

    a, _ = stub_models
    at = app({"model": "upload a .keras model…"})
    at.run()
    assert any("until a model file is uploaded" in i.value for i in at.info)
    at.file_uploader(key="model_upload").upload("mine.keras", a.read_bytes()).run()
    assert_clean(at)
    ctx = at.session_state["_ctx"]
    assert ctx.clf.input_size == (32, 32) and ctx.model_name.endswith(":mine.keras")

    inp = keras.Input((16, 16, 3))
    out = keras.layers.Dense(2)(keras.layers.Flatten()(keras.layers.Lambda(lambda t: t * 2)(inp)))
    unsafe = tmp_path / "unsafe.keras"
    keras.Model(inp, out).save(unsafe)
    for name, data, words in [("unsafe.keras", unsafe.read_bytes(), "refused"),
                              ("old.h5", b"\x89HDF\r\n\x1a\n" + b"0" * 100, ".h5"),
                              ("junk.keras", b"not a zip at all", "could not be loaded")]:
        at = app({"model": "upload a .keras model…"})
        at.run()
        at.file_uploader(key="model_upload").upload(name, data).run()
        assert not at.exception
        errors = " ".join(e.value for e in at.error)
        assert name in errors and words in errors, errors
        assert any("instead" in i.value for i in at.info)  # falls back to a working model


def test_non_finite_and_too_many_link_values_fall_back_with_the_note(stub_models):
    at = app({"alpha": "nan", "p": "nan", "levels": "inf", "sizes": "3,4,5,7,10,12,15,20",
              "n": "1e999", "run": "masks"})
    at.switch_page("pages/mask_size.py").run()
    assert_clean(at)
    text = " ".join(w.value for w in at.warning)
    for key in ("alpha=nan", "p=nan", "levels=inf", "sizes=3,4,5,7,10,12,15,20", "n=1e999"):
        assert key in text, text
    assert "at most 4" in text
    assert at.session_state["alpha"] == 0.5 and at.session_state["sizes"] == [3, 4, 5, 7]
    assert charts(at) >= 4  # the maps are drawn with the fallback values


def test_sizes_within_the_limit_are_kept(stub_models):
    at = app({"sizes": "4,4,7"})
    at.switch_page("pages/mask_size.py").run()
    assert_clean(at)
    assert at.session_state["sizes"] == [4, 7]

@pytest.mark.parametrize("method", ["gradcam", "rise"])
def test_sanity_check_page_runs_on_click(stub_models, method):
    at = app({"sm": method, "sn": "40", "sst": "3"})
    at.switch_page("pages/sanity_check.py").run()
    assert_clean(at)
    assert charts(at) == 0 and not at.get("image")  # nothing is computed before the click
    if method == "rise":
        assert at.selectbox(key="sfill").value == "black"  # the fill sits with RISE's settings
    at.button(key="sanity-run-button").click().run()
    assert_clean(at)
    assert charts(at) == 1  # similarity against the stage
    captions = [c for img in at.get("image") for c in img.captions]
    assert captions[0] == "trained model" and len(captions) == 4  # trained + 3 stages
    verdicts = [m.value for m in [*at.success, *at.warning, *at.info]]
    assert any(v.startswith(("Passed", "Failed", "Inconclusive")) for v in verdicts)
    downloads = at.get("download_button")
    assert len(downloads) == 3
    assert any("Figure for your report" in d.proto.label for d in downloads)


def test_lime_vs_rise_shows_gradcam_as_white_box_reference(stub_models):
    at = app({"ln": "40", "rn": "40", "rfill": "blur"})
    at.switch_page("pages/lime_vs_rise.py").run()
    at.button(key="versus-run-button").click().run()
    assert_clean(at)
    assert charts(at) == 3  # LIME, RISE and Grad-CAM, one row each
    assert any("Grad-CAM (white-box reference)" in m.value for m in at.markdown)
    assert any('"fill": "blur"' in c.value for c in at.code)

def _figures(at: AppTest) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def _scales(fig: dict) -> list[tuple]:
    """(colorscale, zmin, zmax) of every map trace in a figure (heatmaps and the isolines'
    colour-bar carrier)."""
    out = []
    for t in fig["data"]:
        if t["type"] == "heatmap":
            out.append((json.dumps(t["colorscale"]), t["zmin"], t["zmax"]))
        elif t["type"] == "scatter" and t.get("marker", {}).get("showscale"):
            m = t["marker"]
            out.append((json.dumps(m["colorscale"]), m["cmin"], m["cmax"]))
    return out


def _coverage(fig: dict) -> list[float]:
    """How much of its colour range each heatmap of a figure covers (heatmap and overlay)."""
    import numpy as np

    import xai_core as xc

    def array(z) -> np.ndarray:  # Plotly writes arrays as typed base64 blocks
        if isinstance(z, dict):
            import base64

            flat = np.frombuffer(base64.b64decode(z["bdata"]), dtype=z["dtype"])
            return flat.reshape([int(n) for n in str(z["shape"]).split(",")]).astype(np.float64)
        return np.asarray(z, np.float64)

    return [xc.viz.range_coverage(array(t["z"]), (t["zmin"], t["zmax"]))
            for t in fig["data"] if t["type"] == "heatmap"]


@pytest.mark.parametrize("page, query", [
    ("pages/mask_size.py", {"run": "masks", "sizes": "3,7", "n": "40", "seed": "2"}),
    ("pages/cross_class.py", {"run": "cross", "method": "rise", "cn": "40", "seed": "2"}),
], ids=["mask_size", "cross_class"])
def test_every_map_is_legible_by_default_and_the_toggle_puts_them_on_one_range(
        stub_models, page, query):
    """By default each heatmap the page draws covers >= 40% of its colour range (its own);
    the toggle puts the maps of one kind on one range, centred RISE maps about 0."""
    at = app(query)
    at.switch_page(page).run()
    assert_clean(at)
    figs = _figures(at)
    assert len(figs) == 2
    cover = [c for f in figs for c in _coverage(f)]
    assert len(cover) == 4 and min(cover) >= 0.4, cover
    assert all("own range" in json.dumps(f) for f in figs)
    assert any("1st–99th pct" in m.value for m in at.markdown)
    at.toggle(key="onescale").set_value(True).run()
    assert_clean(at)
    scales = [s for f in _figures(at) for s in _scales(f)]
    assert len(scales) >= 4 and len(set(scales)) == 1, scales  # one colorscale, one range
    assert scales[0][1] == -scales[0][2]  # centred: symmetric about 0
    assert "minus its mean" in json.dumps(_figures(at))
    assert any("centred" in c.value for c in at.caption)


def test_lime_and_rise_each_keep_one_scale_and_units_are_named(stub_models):
    at = app({"run": "versus", "ln": "60", "rn": "60"})
    at.switch_page("pages/lime_vs_rise.py").run()
    assert_clean(at)
    captions = " ".join(c.value for c in at.caption)
    assert "LIME weight" in captions and "RISE score" in captions and "units" in captions


def test_a_flat_map_shows_the_notice(stub_models, monkeypatch):
    import xai_core as xc

    at = app({"run": "masks", "sizes": "3", "n": "30"})
    at.switch_page("pages/mask_size.py").run()
    assert not any("flat" in i.value for i in at.info)
    monkeypatch.setattr(xc.viz, "FLAT_BELOW", float("inf"))  # every map counts as flat
    at.run()
    assert_clean(at)
    assert any("Nearly flat map" in i.value for i in at.info)


def test_changing_a_widget_after_a_run_computes_nothing(stub_models):
    from dashboard import ui

    at = app({"run": "masks", "sizes": "3", "n": "30", "seed": "5"})
    at.switch_page("pages/mask_size.py").run()
    assert_clean(at)
    service = ui.compute_service()
    computed = service.computed
    at.number_input(key="n").set_value(45).run()
    assert_clean(at)
    assert service.computed == computed  # nothing computed
    assert any("out of date" in w.value for w in at.warning)
    assert charts(at) == 1  # the earlier result stays, marked out of date
    assert "run" not in at.query_params
    at.number_input(key="seed").set_value(6).run()  # the sidebar too
    assert service.computed == computed
    at.button(key="masks-run-button").click().run()
    assert_clean(at)
    assert service.computed > computed
    assert not any("out of date" in w.value for w in at.warning)


def test_the_picker_shows_the_model_that_runs(stub_models, monkeypatch, offline):
    from dashboard import ui

    a, _ = stub_models
    monkeypatch.setenv("SALIENCY_LAB_MODELS", os.pathsep.join(["resnet50", str(a)]))
    ui.models.load_model.clear()
    ui.models._load_failures().clear()
    try:
        at = app({"model": "resnet50"})
        at.run()
        assert not at.exception
        assert at.session_state["model"] == a.name  # the file's name: no server folder
        assert at.query_params["model"] in (a.name, [a.name])
        assert at.session_state["_ctx"].model_name == a.name
        text = " ".join(w.value for w in at.warning)
        assert "ResNet50 is not available" in text and "tiny_a.keras" in text
    finally:
        ui.models.load_model.clear()
        ui.models._load_failures().clear()


def test_nan_inf_and_too_many_list_items_in_a_link_fall_back(stub_models):
    at = app({"n": "nan", "p": "inf", "sizes": "3,4,5,7,10"})
    at.switch_page("pages/mask_size.py").run()
    assert_clean(at)
    text = " ".join(w.value for w in at.warning)
    for key in ("n=nan", "p=inf", "sizes=3,4,5,7,10"):
        assert key in text
    assert at.session_state["n"] == 1000 and at.session_state["p"] == 0.5
    assert at.session_state["sizes"] == [3, 4, 5, 7]


def test_a_non_square_upload_says_how_it_was_fitted(stub_models):
    at = app({"img": "upload your own…"})
    at.run()
    at.file_uploader(key="upload").upload("wide.png", _png(600, 300)).run()
    assert_clean(at)
    assert any("600 × 300" in c.value and "centre" in c.value for c in at.caption)
    at.radio(key="fit").set_value("pad").run()
    assert_clean(at)
    ctx = at.session_state["_ctx"]
    assert ctx.fit == "pad" and ctx.image_key.endswith("-pad")
    assert any("grey bands" in c.value for c in at.caption)


def test_data_folder_images_are_listed_by_class(stub_models, monkeypatch, tmp_path):
    import numpy as np
    from PIL import Image

    import xai_core.images as images

    (tmp_path / "espresso").mkdir()
    Image.fromarray(np.full((40, 50, 3), 90, np.uint8)).save(tmp_path / "espresso" / "cup.png")
    (tmp_path / "empty_class").mkdir()
    monkeypatch.setattr(images, "DATA_DIR", tmp_path)
    at = app({"img": "espresso/cup.png", "run": "cross", "mode": "images", "method": "rise",
              "cn": "30"})
    at.switch_page("pages/cross_class.py").run()
    assert_clean(at)
    assert at.session_state["img"] == "espresso/cup.png"
    assert at.session_state["images"] == ["espresso/cup.png"]  # the data/ images first
    assert any("espresso (1)" in c.value for c in at.caption)
    assert charts(at) == 1


def _write_study(folder: Path) -> None:
    """A tiny results.csv: two images, RISE at s = 7 and 15 and LIME, one protocol."""
    from xai_core.study.results import ResultsFile

    results = ResultsFile(folder)
    aucs = {("a/one.png", 7): (0.30, 0.50), ("a/one.png", 15): (0.20, 0.60),
            ("b/two.png", 7): (0.40, 0.40), ("b/two.png", 15): (0.25, 0.55),
            ("a/one.png", None): (0.35, 0.45), ("b/two.png", None): (0.45, 0.35)}
    for (image, s), (d, i) in aucs.items():
        method = "lime" if s is None else "rise"
        params = ({"lime.num_samples": 150} if s is None else
                  {"rise.n_masks": 200, "rise.mask_size": s, "rise.keep_prob": 0.5,
                   "rise.fill": "black"})
        results.append({"image": image, "class": image.split("/")[0], "model": "tiny_a.keras",
                        "method": method, "protocol": "lab", "seed": 0, **params,
                        "target": 1, "target_label": "square", "probability": 0.9,
                        "deletion_auc": d, "insertion_auc": i, "forward_passes": 200,
                        "wall_s": 0.1, "eval_s": 0.1, "status": "ok"})


def test_dataset_study_page_shows_a_results_folder(stub_models, monkeypatch, tmp_path):
    (tmp_path / "mine").mkdir()
    _write_study(tmp_path / "mine")
    monkeypatch.setenv("SALIENCY_LAB_STUDY_DIR", str(tmp_path))
    at = app()
    at.switch_page("pages/dataset_study.py").run()
    assert_clean(at)
    picker = at.selectbox(key="sfolder")
    # opens on the example study that ships in docs/studies/; the user's folder is listed
    assert picker.value == "docs/studies/data-lite0"
    assert {"study/mine", "docs/studies/data-lite0-lite2"} <= set(picker.options)
    picker.set_value("study/mine").run()
    assert_clean(at)
    assert not any(str(tmp_path) in str(o) for o in picker.options)  # no server paths
    assert charts(at) == 1  # one protocol: deletion and insertion side by side
    text = " ".join(m.value for m in at.markdown)
    # s = 15 deletes better on both images, but 2 images cannot establish anything
    assert "RISE s=7 vs RISE s=15 on deletion: with 2 images no difference can be " \
        "established at 95%" in text
    assert "better on 0 of 2 images" in text
    assert any("no difference can be established" in m.value for m in at.info)
    assert any("deletion A−B [95%]" in df.value.columns for df in at.dataframe)
    assert at.selectbox(key="simg").options == ["a/one.png", "b/two.png"]


def test_dataset_study_page_runs_a_small_study_on_click(stub_models, monkeypatch, tmp_path):
    import numpy as np
    from PIL import Image

    import xai_core.images as images

    data = tmp_path / "data"
    for cls, value in (("light", 200), ("dark", 40)):
        (data / cls).mkdir(parents=True)
        img = np.full((40, 40, 3), value, np.uint8)
        img[10:30, 10:30] = 255 - value
        Image.fromarray(img).save(data / cls / f"{cls}.png")
    import dashboard.study

    monkeypatch.setattr(images, "DATA_DIR", data)
    monkeypatch.setattr(dashboard.study, "EXAMPLES_DIR", tmp_path / "no-examples")
    monkeypatch.setenv("SALIENCY_LAB_STUDY_DIR", str(tmp_path / "study"))
    at = app()
    at.switch_page("pages/dataset_study.py").run()
    assert_clean(at)
    assert charts(at) == 0  # nothing to show yet, nothing computed
    at.button(key="study-run-button").click().run()
    assert_clean(at)
    folder = tmp_path / "study" / "page-tiny_a.keras-0"
    from xai_core.study.results import read_rows

    rows = read_rows(folder / "results.csv")
    assert len(rows) == 2 * 3 * 2 and all(r["status"] == "ok" for r in rows)
    assert (folder / "summary.md").is_file() and (folder / "run.json").is_file()
    assert at.selectbox(key="sfolder").value == "study/page-tiny_a.keras-0"
    assert charts(at) == 2  # the two protocols
    # the folder has no saved maps: one image's maps are computed on a click
    at.button(key="study-maps-button").click().run()
    assert_clean(at)
    assert charts(at) == 2 + 3


def test_dataset_study_page_shows_saved_maps(stub_models, monkeypatch, tmp_path):
    import numpy as np
    from PIL import Image

    import xai_core.images as images
    from xai_core.study.results import ResultsFile, read_rows

    study = tmp_path / "study" / "saved"
    study.mkdir(parents=True)
    _write_study(study)
    rows = read_rows(study / "results.csv")
    (study / "maps").mkdir()
    (study / "results.csv").unlink()
    results = ResultsFile(study)
    for k, r in enumerate(rows):
        name = f"maps/{k}.npy"
        np.save(study / name, np.random.default_rng(k).random((16, 16)).astype(np.float32))
        results.append({c: v for c, v in r.items() if v != ""} | {"map_file": name})
    (tmp_path / "data" / "a").mkdir(parents=True)
    Image.fromarray(np.full((20, 20, 3), 99, np.uint8)).save(tmp_path / "data" / "a" / "one.png")
    monkeypatch.setattr(images, "DATA_DIR", tmp_path / "data")
    monkeypatch.setenv("SALIENCY_LAB_STUDY_DIR", str(tmp_path / "study"))
    at = app({"sfolder": "study/saved", "simg": "a/one.png"})
    at.switch_page("pages/dataset_study.py").run()
    assert_clean(at)
    captions = [c for img in at.get("image") for c in img.captions]
    assert len(captions) == 3  # one saved map per configuration of the image, overlaid
    assert any("RISE" in c and "mask_size=15" in c for c in captions)
    assert "study-maps-button" not in [b.key for b in at.button]  # nothing to compute
