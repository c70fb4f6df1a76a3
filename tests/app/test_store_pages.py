"""The dashboard with the explanation store: warmed pages show stored results; the camera."""

from __future__ import annotations

import io
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[2] / "app.py")


@pytest.fixture(scope="module")
def tiny_model(square_cnn, tmp_path_factory):
    """The tiny CNN as the only model the app offers."""
    _, path = square_cnn
    model = tmp_path_factory.mktemp("store_models") / "tiny.keras"
    shutil.copy(path, model)
    old = os.environ.get("SALIENCY_LAB_MODELS")
    os.environ["SALIENCY_LAB_MODELS"] = str(model)
    yield model
    if old is None:
        os.environ.pop("SALIENCY_LAB_MODELS", None)
    else:
        os.environ["SALIENCY_LAB_MODELS"] = old


def texts(at: AppTest) -> str:
    return " ".join(m.value for m in at.markdown) + " ".join(c.value for c in at.caption)


def test_a_warmed_page_shows_stored_results_without_computing(tiny_model):
    from dashboard import ui
    from xai_core import load_classifier, load_sample, warm
    from xai_core.store import default_store

    clf = load_classifier(tiny_model)
    store = default_store()  # the one the app's compute layer uses (XAI_CACHE_DIR)
    for task in warm.tasks(["home"], [str(tiny_model)], [("coffee", load_sample("coffee"))],
                           lambda name: clf):
        store.get_or_compute(task.key, lambda t=task: t.compute(None), clf=task.clf)
    at = AppTest.from_file(APP, default_timeout=180)
    at.run()
    assert at.session_state["_ctx"].image_name == "coffee"
    service = ui.compute_service()
    computed = service.computed
    at.button(key="home-run-button").click().run()
    assert not at.exception and not at.error
    assert service.computed == computed  # both rows came from the store
    assert texts(at).count("cached (orig.") == 2, texts(at)


def _jpeg(w: int, h: int) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.full((h, w, 3), 120, np.uint8)).save(buf, format="JPEG")
    return buf.getvalue()


def test_a_camera_photo_is_the_image_of_every_page(tiny_model):
    at = AppTest.from_file(APP, default_timeout=180)
    at.run()
    assert any(c.label.startswith("Take a photo") for c in at.get("camera_input"))
    at.session_state["_camera_photo"] = _jpeg(320, 240)  # what taking a photo stores
    at.session_state["img"] = "upload your own…"
    at.run()
    assert not at.exception and not at.error
    ctx = at.session_state["_ctx"]
    assert ctx.uploaded and ctx.image_name == "camera photo" and ctx.raw.shape == (240, 320, 3)
    at.switch_page("pages/mask_size.py").run()
    assert at.session_state["_ctx"].image_name == "camera photo"
