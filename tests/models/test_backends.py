"""Inference engines: LiteRT runs the same model as Keras, or is not used."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from xai_core import Classifier, load_classifier, load_sample
from xai_core.models import backends as engines
from xai_core.models.backends import EngineError, LiteRTPredictor, use_engine

needs_litert = pytest.mark.skipif(not engines.litert_available(),
                                  reason="ai-edge-litert is not installed")


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    """Every test converts into its own cache folder, never the user's."""
    monkeypatch.setenv("XAI_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("XAI_ENGINE", raising=False)


def tiny_model(seed: int = 0):
    """A small untrained CNN on 32x32 RGB (deterministic weights), softmax over 3 classes."""
    import keras

    keras.utils.set_random_seed(seed)
    return keras.Sequential(
        [
            keras.Input((32, 32, 3)),
            keras.layers.Conv2D(8, 3, strides=2, padding="same", activation="relu"),
            keras.layers.Conv2D(8, 3, padding="same", activation="relu"),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(3, activation="softmax"),
        ]
    )


def tiny_classifier(seed: int = 0, batch_size: int = 4) -> Classifier:
    return Classifier("tiny", (32, 32), ["a", "b", "c"], tiny_model(seed),
                      preprocessing="unit", batch_size=batch_size)


def images(n: int, size: tuple[int, int] = (32, 32), seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0, 255, (n, *size, 3)).astype(np.float32)


@pytest.fixture(scope="module")
def lite0(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XAI_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
        yield load_classifier("efficientnet_lite0", engine="auto")


# --- the same outputs ---------------------------------------------------------------------


@needs_litert
def test_litert_matches_keras_at_several_batch_sizes():
    clf = use_engine(tiny_classifier(), "litert")
    assert clf.engine == "litert" and "matches" in clf.engine_note
    x = images(11)
    before = x.copy()
    ref = clf._predict_keras(x)
    assert np.ptp(ref) > 0.01  # a softmax that is not flat, so the comparison means something
    for batch_size in (1, 4, 5, 11, 32):  # 11 = 2 full chunks of 4 + a partial one of 3
        clf.batch_size = batch_size
        p = clf.predict(x)
        assert p.shape == (11, 3) and p.dtype == np.float32
        assert np.max(np.abs(p - ref)) <= engines.TOLERANCE
    np.testing.assert_array_equal(x, before)
    assert clf.predict(x[0]).shape == (1, 3)
    assert clf.predict(x[:0]).shape == (0, 3)


@needs_litert
def test_efficientnet_lite0_runs_on_litert_with_the_same_outputs(lite0):
    assert lite0.engine == "litert"
    x = images(7, (224, 224), seed=3)
    lite0.batch_size = 3
    try:
        p = lite0.predict(x)
    finally:
        lite0.batch_size = 32
    assert np.max(np.abs(p - lite0._predict_keras(x))) <= engines.TOLERANCE
    top = lite0.top_k(lite0.prepare(load_sample("coffee")), 1)[0]
    assert top[1] == "espresso" and top[2] > 0.9


def test_keras_engine_never_uses_litert(monkeypatch):
    monkeypatch.setattr(engines, "build_litert", lambda *a, **k: pytest.fail("converted"))
    clf = use_engine(tiny_classifier(), "keras")
    assert clf.engine == "keras" and clf.backend is None
    monkeypatch.setenv("XAI_ENGINE", "keras")
    assert engines.resolve_engine(None) == "keras"


@pytest.mark.parametrize("engine", ["tflite", "", "Keras"])
def test_unknown_engine_is_refused(engine):
    with pytest.raises(ValueError, match="unknown engine"):
        use_engine(tiny_classifier(), engine)
    with pytest.raises(ValueError, match="choose one of auto, keras, litert"):
        load_classifier("efficientnet_lite0", engine=engine)


def test_bad_environment_variable_is_refused(monkeypatch):
    monkeypatch.setenv("XAI_ENGINE", "fast")
    with pytest.raises(ValueError, match="XAI_ENGINE"):
        engines.resolve_engine(None)


# --- falling back --------------------------------------------------------------------------


@needs_litert
def test_mismatch_falls_back_under_auto_and_raises_under_litert(monkeypatch):
    real = LiteRTPredictor.predict

    def off_by_a_bit(self, x, batch_size=32):
        return real(self, x, batch_size) + np.float32(1e-3)

    monkeypatch.setattr(LiteRTPredictor, "predict", off_by_a_bit)
    clf = use_engine(tiny_classifier(), "auto")
    assert clf.engine == "keras" and "differ" in clf.engine_note
    np.testing.assert_array_equal(clf.predict(images(3)), clf._predict_keras(images(3)))
    with pytest.raises(EngineError, match="differ from Keras"):
        use_engine(tiny_classifier(), "litert")


def test_conversion_failure_falls_back_under_auto_and_raises_under_litert(monkeypatch):
    def broken(clf):
        raise RuntimeError("op not supported")

    monkeypatch.setattr(engines, "_convert", broken)
    clf = use_engine(tiny_classifier(), "auto")
    assert clf.engine == "keras"
    with pytest.raises(EngineError):
        use_engine(tiny_classifier(), "litert")


def test_missing_package_falls_back_under_auto_and_raises_under_litert(monkeypatch):
    monkeypatch.setattr(engines, "litert_available", lambda: False)
    clf = use_engine(tiny_classifier(), "auto")
    assert clf.engine == "keras" and "not installed" in clf.engine_note
    with pytest.raises(EngineError, match="pip install ai-edge-litert"):
        use_engine(tiny_classifier(), "litert")


# --- threads and cache -------------------------------------------------------------------


@needs_litert
def test_concurrent_calls_give_the_sequential_results():
    keras_clf = tiny_classifier(batch_size=4)
    predictor = LiteRTPredictor(engines.litert_flatbuffer(keras_clf), keras_clf.input_size,
                                max_interpreters=2)
    clf = keras_clf.with_backend(predictor, "litert: test")
    inputs = [images(n, seed=s) for s, n in enumerate([1, 3, 4, 6, 9, 13, 2, 8] * 3)]
    expected = [clf.predict(x) for x in inputs]
    start = threading.Barrier(6)

    def run(k: int) -> list[np.ndarray]:
        start.wait()  # all threads call at once
        return [clf.predict(x) for x in inputs[k::6]]

    with ThreadPoolExecutor(6) as pool:
        per_thread = list(pool.map(run, range(6)))
    for k, got in enumerate(per_thread):
        for g, e in zip(got, expected[k::6], strict=True):
            np.testing.assert_array_equal(g, e)
    assert predictor._created <= 2


@needs_litert
def test_cache_is_reused_and_keyed_by_weights(monkeypatch, tmp_path):
    clf = tiny_classifier(seed=0)
    first = engines.litert_flatbuffer(clf)
    files = list((tmp_path / "cache" / "litert").glob("tiny-*.tflite"))
    assert len(files) == 1 and not list(files[0].parent.glob("*.part"))
    assert engines.fingerprint(tiny_classifier(seed=0)) == engines.fingerprint(clf)
    assert engines.fingerprint(tiny_classifier(seed=1)) != engines.fingerprint(clf)
    monkeypatch.setattr(engines, "_convert", lambda c: pytest.fail("converted again"))
    assert engines.litert_flatbuffer(tiny_classifier(seed=0)) == first


@needs_litert
def test_unwritable_cache_is_not_an_error(monkeypatch, tmp_path):
    blocker = tmp_path / "a file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("XAI_CACHE_DIR", str(blocker / "cache"))
    clf = use_engine(tiny_classifier(), "litert")
    assert clf.engine == "litert"


@needs_litert
def test_load_classifier_picks_litert_for_a_model_file(tmp_path):
    path = tmp_path / "tiny.keras"
    tiny_model().save(path)
    auto = load_classifier(path, preprocessing="unit")
    keras_only = load_classifier(path, preprocessing="unit", engine="keras")
    assert (auto.engine, keras_only.engine) == ("litert", "keras")
    x = images(5)
    assert np.max(np.abs(auto.predict(x) - keras_only.predict(x))) <= engines.TOLERANCE


@needs_litert
def test_benchmark_prints_both_engines(tmp_path, capsys):
    import argparse

    from benchmarks import engines as bench_engines

    path = tmp_path / "tiny.keras"
    tiny_model().save(path)
    parser = argparse.ArgumentParser()
    bench_engines.register(parser.add_subparsers(dest="section"))
    args = parser.parse_args(["engines", "--models", str(path), "--batch-size", "4",
                              "--rounds", "2", "--calls", "1"])
    args.func(args)
    row = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert row["model"] == "tiny" and row["auto_picks"] == "litert"
    assert row["keras_images_per_s"] > 0 and row["litert_images_per_s"] > 0
    assert row["max_abs_diff"] <= engines.TOLERANCE and row["ratio_median"] > 0


@needs_litert
def test_damaged_cache_file_is_converted_again(tmp_path):
    clf = tiny_classifier()
    engines.litert_flatbuffer(clf)
    (cached,) = (tmp_path / "cache" / "litert").glob("tiny-*.tflite")
    junk = b"\0\0\0\0TFL3" + b"\0" * 64  # looks like a flatbuffer, is not one
    cached.write_bytes(junk)
    _, diff = engines.build_litert(clf)
    assert diff <= engines.TOLERANCE and cached.read_bytes() != junk
