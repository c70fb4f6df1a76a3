"""``saliency-lab warm``: every page's default views into the store, keyed as the dashboard asks."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from dashboard.compute import Compute, Request
from xai_core import load_classifier, load_image
from xai_core.cli import main
from xai_core.store import ExplanationStore, image_key
from xai_core.views import PAGES, default_views, method_params, opening_pair


@pytest.fixture()
def data(tmp_path):
    """A data/ folder with one photo: a bright square on a dark ground."""
    img = np.full((40, 40, 3), 30, np.uint8)
    img[8:20, 20:32] = 250
    (tmp_path / "data" / "squares").mkdir(parents=True)
    Image.fromarray(img).save(tmp_path / "data" / "squares" / "one.png")
    return tmp_path / "data"


def test_warm_stores_what_the_dashboard_asks_for(square_cnn, data, tmp_path, monkeypatch, capsys):
    _, path = square_cnn
    monkeypatch.setenv("XAI_CACHE_DIR", str(tmp_path / "cache"))
    code = main(["warm", str(data), "--models", str(path), "--no-samples", "--quiet",
                 "--pages", "home", "cross_class", "lime_vs_rise", "sanity_check"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "5 results for 1 photos, 5 computed" in out  # RISE x2 classes, LIME, Grad-CAM, sanity
    # the dashboard's compute layer, with the model loaded and named as the app does, finds
    # them all
    clf = load_classifier(path)
    raw = load_image(data / "squares" / "one.png")
    image = clf.prepare(raw)
    order = np.argsort(clf.predict(image)[0])[::-1]
    store = ExplanationStore(tmp_path / "cache" / "explanations")
    compute = Compute(max_workers=1, store=store)
    for method, target in (("rise", order[0]), ("rise", order[1]), ("lime", order[0]),
                           ("gradcam", order[0])):
        # the dashboard names a model file by its file name
        req = Request(clf, path.name, image, image_key(raw, clf.input_size), "squares/one.png",
                      method, method_params(method), int(target), 0)
        assert compute.contains(req.key, clf=clf), method
        expl = compute.explain(req)
        assert expl.method == method and expl.target == target
    assert compute.computed == 0
    assert main(["warm", str(data), "--models", str(path), "--no-samples", "--quiet",
                 "--pages", "home"]) == 0
    assert "0 computed, 2 already stored" in capsys.readouterr().out


def test_every_page_has_default_views_and_bad_names_are_refused(capsys):
    pair = opening_pair(["efficientnet_lite0", "efficientnet_lite2"], lambda m: True)
    assert pair == ("efficientnet_lite0", "efficientnet_lite2", "offline")
    for page in PAGES:
        assert default_views(page, pair=pair[:2])
    assert [v.params["mask_size"] for v in default_views("mask_size")] == [7, 15]
    with pytest.raises(ValueError, match="unknown page"):
        default_views("nope")
    assert main(["warm", "--pages", "nope"]) == 2
    assert "error:" in capsys.readouterr().err
