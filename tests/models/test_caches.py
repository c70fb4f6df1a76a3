"""Cache files are bound to what produced them, and only private folders are used (issue 12)."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from tests.models.test_backends import images, needs_litert, tiny_classifier
from xai_core import load_classifier, load_sample
from xai_core.models import backends as engines
from xai_core.models import paths


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XAI_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("XAI_ENGINE", raising=False)


def litert_dir(tmp_path):
    return tmp_path / "cache" / "litert"


@needs_litert
def test_a_planted_flatbuffer_is_never_used_and_is_replaced(tmp_path):
    good, other = tiny_classifier(seed=0), tiny_classifier(seed=1)
    fresh = engines.litert_flatbuffer(good)
    (path,) = litert_dir(tmp_path).glob("tiny-*.tflite")
    record = json.loads(path.with_name(path.name + ".json").read_text())
    assert record["source"] == engines.fingerprint(good)
    planted = engines.litert_flatbuffer(other, use_cache=False)  # valid, another model
    forged = {**record, "sha256": paths.file_digest(path)}  # the record of the good file
    for sidecar in (None, forged, {**record, "source": "0" * 32}):
        path.write_bytes(planted)
        side = path.with_name(path.name + ".json")
        if sidecar is None:
            side.unlink(missing_ok=True)
        else:
            side.write_text(json.dumps(sidecar))
        assert engines.litert_flatbuffer(good) == fresh  # converted again, not the planted one
        assert path.read_bytes() == fresh and paths.verified_cache_file(path, record["source"])


@needs_litert
def test_a_recorded_file_that_does_not_match_keras_is_replaced(tmp_path):
    good = tiny_classifier(seed=0)
    digest = engines.fingerprint(good)
    fresh = engines.litert_flatbuffer(good)
    (path,) = litert_dir(tmp_path).glob("tiny-*.tflite")
    # a file with a consistent record (as if this user had written it) but wrong answers
    path.write_bytes(engines.litert_flatbuffer(tiny_classifier(seed=1), use_cache=False))
    paths.record_cache_file(path, digest)
    assert paths.verified_cache_file(path, digest)
    clf = engines.use_engine(good, "auto")
    assert clf.engine == "litert"  # not stuck on Keras
    x = images(3)
    assert np.max(np.abs(clf.predict(x) - clf._predict_keras(x))) <= engines.TOLERANCE
    assert path.read_bytes() == fresh  # the rejected file was replaced


@needs_litert
@pytest.mark.parametrize("mode", [0o777, 0o770, 0o722])
def test_a_cache_folder_others_can_write_to_is_not_used(tmp_path, mode):
    folder = tmp_path / "cache"
    folder.mkdir()
    folder.chmod(mode)
    clf = engines.use_engine(tiny_classifier(), "auto")
    assert clf.engine == "litert" and "other users can write" in clf.engine_note
    assert str(tmp_path) not in clf.engine_note
    assert list(folder.rglob("*.tflite")) == []


def test_a_cache_folder_of_another_user_is_not_used(tmp_path, monkeypatch):
    (tmp_path / "cache").mkdir(mode=0o700)
    assert paths.private_cache_dir()[0] == tmp_path / "cache"
    monkeypatch.setattr(os, "getuid", lambda: os.stat(tmp_path).st_uid + 4242)
    folder, note = paths.private_cache_dir("litert")
    assert folder is None and "belongs to another user" in note


def test_cache_files_writable_by_others_or_links_are_rejected(tmp_path):
    folder, _ = paths.private_cache_dir()
    f = folder / "x.bin"
    f.write_bytes(b"data")
    paths.record_cache_file(f, "src")
    assert paths.verified_cache_file(f, "src")
    f.chmod(0o666)
    assert not paths.verified_cache_file(f, "src") and not f.exists()  # deleted
    target = tmp_path / "elsewhere.bin"
    target.write_bytes(b"data")
    f.symlink_to(target)
    paths.record_cache_file(f, "src")
    assert not paths.verified_cache_file(f, "src") and target.exists()


def test_planted_efficientnet_weights_are_rejected_and_rebuilt(tmp_path):
    from xai_core.models import efficientnet_lite

    folder, _ = paths.private_cache_dir()
    cached = folder / "efficientnet_lite0.weights.h5"
    efficientnet_lite.build_model().save_weights(cached)  # random weights, no record
    planted = paths.file_digest(cached)
    clf = load_classifier("efficientnet_lite0", engine="keras")
    img = clf.prepare(load_sample("coffee"))
    assert clf.top_k(img, 1)[0][1] == "espresso"
    assert paths.file_digest(cached) != planted  # replaced by the real conversion
    record = json.loads(cached.with_name(cached.name + ".json").read_text())
    assert record["source"].endswith(paths.file_digest(efficientnet_lite.weights_path()))
    # random weights with a record naming other source weights: rejected too
    efficientnet_lite.build_model().save_weights(cached)
    paths.record_cache_file(cached, "efficientnet_lite0-keras:1:" + "0" * 64)
    clf = load_classifier("efficientnet_lite0", engine="keras")
    assert clf.top_k(img, 1)[0][1] == "espresso"
