"""Links name models in any usual spelling: ``?model=ResNet`` opens ResNet50."""

from __future__ import annotations

import os

from tests.app.test_pages import app, stub_models  # noqa: F401  (a fixture)


def test_a_link_with_the_reports_model_names_picks_those_models(stub_models, monkeypatch,  # noqa: F811
                                                                 offline):
    """Offline, ResNet50 and Xception cannot load: the page says *that* model is not
    available (so ``ResNet`` and ``Xception`` were read as them), not that the link's
    value was unknown."""
    from dashboard import ui

    a, _ = stub_models
    monkeypatch.setenv("SALIENCY_LAB_MODELS", os.pathsep.join([str(a), "resnet50", "xception"]))
    ui.models.load_model.clear()
    ui.models._load_failures().clear()
    try:
        at = app({"model": "ResNet", "m1": "Xception", "m2": str(a)})
        at.run()
        assert not at.exception
        warnings = " ".join(w.value for w in at.warning)
        assert "ResNet50 is not available" in warnings
        assert "model=ResNet" not in warnings  # not "ignored `model=ResNet` from the link"
        at.switch_page("pages/compare_models.py").run()
        assert not at.exception
        text = " ".join(w.value for w in at.warning)
        assert "Xception is not available" in text and "m1=Xception" not in text
    finally:
        ui.models.load_model.clear()
        ui.models._load_failures().clear()
