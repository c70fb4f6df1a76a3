"""Classifier adapters: real offline weights, Keras applications, user model files."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from xai_core import Classifier, ModelLoadError, load_classifier, load_sample
from xai_core.models._torch_legacy import UnsafeModelFileError, read_legacy_state_dict
from xai_core.models.classifier import _preprocess
from xai_core.models.efficientnet_lite import weights_path


@pytest.fixture(scope="module")
def lite0(tmp_path_factory):
    import os

    old = os.environ.get("XAI_CACHE_DIR")
    os.environ["XAI_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))
    try:
        yield load_classifier("efficientnet_lite0")
    finally:
        if old is None:
            os.environ.pop("XAI_CACHE_DIR", None)
        else:
            os.environ["XAI_CACHE_DIR"] = old


def test_efficientnet_lite0_recognises_real_photos(lite0):
    assert lite0.input_size == (224, 224) and lite0.n_classes == 1000
    assert lite0.class_names[281] == "tabby, tabby cat"
    coffee = lite0.prepare(load_sample("coffee"))
    before = coffee.copy()
    top = lite0.top_k(coffee, 1)[0]
    assert top[1] == "espresso" and top[2] > 0.9
    np.testing.assert_array_equal(coffee, before)  # the adapter never writes to its input
    cat = lite0.top_k(lite0.prepare(load_sample("chelsea")), 3)
    assert {name for _, name, _ in cat} == {"tiger cat", "Egyptian cat", "tabby, tabby cat"}


def test_efficientnet_lite0_cache_gives_the_same_model(lite0):
    again = load_classifier("efficientnet_lite0")  # loads the converted weights from the cache
    img = lite0.prepare(load_sample("rocket"))
    np.testing.assert_allclose(again.predict(img), lite0.predict(img), atol=1e-5)


def test_predict_batches_and_rows_are_probabilities(lite0):
    img = lite0.prepare(load_sample("coffee"))
    x = np.stack([img, img[::-1], img[:, ::-1]])
    lite0.batch_size = 2
    try:
        p = lite0.predict(x)
    finally:
        lite0.batch_size = 32
    assert p.shape == (3, 1000) and p.dtype == np.float32
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-4)
    np.testing.assert_allclose(p, lite0.predict(x), atol=1e-5)
    with pytest.raises(ValueError, match=r"\(N, 224, 224, 3\)"):
        lite0.predict(np.zeros((1, 100, 100, 3), np.float32))


@pytest.mark.parametrize("name, size", [("resnet50", (224, 224)), ("xception", (299, 299))])
def test_keras_applications_adapters_with_random_weights(name, size):
    import keras

    clf = load_classifier(name, weights=None, engine="keras")  # LiteRT: tests/test_engines.py
    assert clf.input_size == size and clf.n_classes == 1000
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, (2, *size, 3)).astype(np.float32)
    before = x.copy()
    p = clf.predict(x)
    assert p.shape == (2, 1000)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-4)
    np.testing.assert_array_equal(x, before)
    # our in-graph preprocessing equals Keras' own preprocess_input for that architecture
    module = {"resnet50": keras.applications.resnet50, "xception": keras.applications.xception}
    expected = module[name].preprocess_input(x.copy())
    np.testing.assert_allclose(np.asarray(_preprocess(clf.preprocessing, x)), expected, atol=1e-4)
    ref = clf.model(expected, training=False).numpy()
    np.testing.assert_allclose(p, ref, atol=1e-5)


def test_download_failure_says_how_to_work_offline(offline):
    tmp_path = offline
    with pytest.raises(ModelLoadError) as info:
        load_classifier("resnet50")
    msg = str(info.value)
    assert "resnet50_weights_tf_dim_ordering_tf_kernels.h5" in msg
    assert str(tmp_path / "models") in msg
    assert "efficientnet_lite0" in msg and "offline" in msg
    assert not list((tmp_path / "models").glob("*.h5"))  # no half-written weights left behind


def test_unknown_model_and_bad_arguments():
    with pytest.raises(ModelLoadError, match="unknown model 'vgg99'.*efficientnet_lite0"):
        load_classifier("vgg99")
    with pytest.raises(ValueError, match="weights"):
        load_classifier("resnet50", weights="places365")
    with pytest.raises(ValueError, match="preprocessing"):
        load_classifier("model.keras", preprocessing="magic")


def test_user_keras_model_file(square_cnn, tmp_path):
    _, path = square_cnn
    clf = load_classifier(path, class_names=["no square", "square"])
    assert isinstance(clf, Classifier)
    assert clf.input_size == (32, 32) and clf.class_names == ["no square", "square"]
    img = np.full((32, 32, 3), 40.0, np.float32)
    img[10:18, 10:18] = 255.0
    assert clf.predict(img)[0].argmax() == 1
    with pytest.raises(ModelLoadError, match="no such model file"):
        load_classifier(tmp_path / "missing.keras")
    with pytest.raises(ModelLoadError, match=r"\.keras"):
        load_classifier(tmp_path / "legacy.h5")


def test_keras_file_with_lambda_layer_is_refused(tmp_path):
    import keras

    inp = keras.Input((16, 16, 3))
    out = keras.layers.Dense(2)(keras.layers.Flatten()(keras.layers.Lambda(lambda t: t * 2)(inp)))
    path = tmp_path / "lambda.keras"
    keras.Model(inp, out).save(path)
    with pytest.raises(ModelLoadError, match="refused|safely"):
        load_classifier(path)


def test_legacy_torch_reader_reads_the_shipped_weights():
    sd = read_legacy_state_dict(weights_path())
    assert len(sd) == 296
    assert sd["_conv_stem.weight"].shape == (32, 3, 3, 3)
    assert sd["_fc.weight"].shape == (1000, 1280) and sd["_fc.weight"].dtype == np.float32
    n_params = sum(v.size for k, v in sd.items() if not k.endswith("num_batches_tracked"))
    assert n_params == 4_694_024  # 4.69 M, as published for EfficientNet-Lite0
    assert np.all(sd["_bn0.running_var"] >= 0)


class _Evil:
    def __reduce__(self):
        import os

        return (os.system, ("echo pwned > /dev/null",))


def test_legacy_torch_reader_refuses_code(tmp_path):
    path = tmp_path / "evil.pth"
    with open(path, "wb") as f:
        pickle.dump(0x1950A86A20F9469CFC6C, f, protocol=2)
        pickle.dump(1001, f, protocol=2)
        pickle.dump({"little_endian": True}, f, protocol=2)
        pickle.dump({"weight": _Evil()}, f, protocol=2)
    with pytest.raises(UnsafeModelFileError, match="posix.system|os.system|refusing"):
        read_legacy_state_dict(path)
    bad = tmp_path / "not_torch.pth"
    with open(bad, "wb") as f:
        pickle.dump(42, f, protocol=2)
    with pytest.raises(ValueError, match="magic"):
        read_legacy_state_dict(bad)


def test_unwritable_or_damaged_cache_degrades_gracefully(tmp_path, monkeypatch):
    from xai_core.models import efficientnet_lite

    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("XAI_CACHE_DIR", str(blocker / "cache"))  # cannot be created
    clf = load_classifier("efficientnet_lite0")
    img = clf.prepare(load_sample("coffee"))
    assert clf.top_k(img, 1)[0][1] == "espresso"
    # a damaged cache file is ignored and replaced by a good one
    cache = tmp_path / "cache"
    cache.mkdir()
    damaged = cache / "efficientnet_lite0.weights.h5"
    damaged.write_bytes(b"half a download")
    monkeypatch.setenv("XAI_CACHE_DIR", str(cache))
    clf2 = load_classifier("efficientnet_lite0")
    assert clf2.top_k(img, 1)[0][1] == "espresso"
    assert damaged.stat().st_size > 1_000_000
    assert efficientnet_lite.load_pretrained(cache) is not None  # loads from the repaired cache


def test_interrupted_download_leaves_no_partial_file(monkeypatch, tmp_path):
    import keras.src.backend.config as kconfig
    from keras.src.utils import file_utils

    monkeypatch.setattr(kconfig, "_KERAS_DIR", str(tmp_path))

    def half_download(url, filename, reporthook=None):
        with open(filename, "wb") as f:
            f.write(b"\x89HDF" + b"\0" * 1000)  # the first kilobyte of the weights...
        raise OSError("connection reset by peer")  # ...then the network drops

    monkeypatch.setattr(file_utils, "urlretrieve", half_download)
    with pytest.raises(ModelLoadError, match="efficientnet_lite0"):
        load_classifier("xception")
    assert not [p for p in (tmp_path / "models").iterdir()]  # nothing half-written stays


def test_efficientnet_lite2_is_offline_and_recognises_real_photos(tmp_path, monkeypatch):
    from xai_core.models import efficientnet_lite

    monkeypatch.setenv("XAI_CACHE_DIR", str(tmp_path))
    lite2 = load_classifier("efficientnet_lite2", engine="keras")
    assert lite2.input_size == (260, 260) and lite2.n_classes == 1000
    top = lite2.top_k(lite2.prepare(load_sample("coffee")), 1)[0]
    assert top[1] == "espresso"
    cat = lite2.top_k(lite2.prepare(load_sample("chelsea")), 1)[0]
    assert cat[1] in {"tiger cat", "Egyptian cat", "tabby, tabby cat"}
    # Lite1's architecture takes its package's weights one to one (shapes checked on load)
    assert efficientnet_lite.input_size("lite1") == (240, 240)
    assert [a[4] for a in efficientnet_lite._block_args("lite2")][-1] == 352
    with pytest.raises(ValueError, match="variant"):
        efficientnet_lite.input_size("lite9")
