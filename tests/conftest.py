"""Shared fixtures: toy classifiers whose right explanation is known in advance."""

from __future__ import annotations

import os
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# converted models (EfficientNet-Lite0 weights, LiteRT flatbuffers) go to a throw-away folder,
# not the user's cache
os.environ.setdefault("XAI_CACHE_DIR", tempfile.mkdtemp(prefix="saliency-lab-test-cache-"))

import numpy as np
import pytest

#: The known-important region of the region models: rows, cols of a 64x64 image.
REGION = (slice(8, 24), slice(36, 52))


def region_mask(shape: tuple[int, int] = (64, 64)) -> np.ndarray:
    m = np.zeros(shape, bool)
    m[REGION] = True
    return m


def region_predict(images: np.ndarray) -> np.ndarray:
    """Class 1's score is the mean brightness inside REGION; class 0 is the rest.

    An analytic black box: nothing outside REGION can change its output.
    """
    x = np.asarray(images, dtype=np.float32)
    s = x[:, REGION[0], REGION[1], :].mean(axis=(1, 2, 3)) / 255.0
    return np.stack([1.0 - s, s], axis=1).astype(np.float32)


@pytest.fixture()
def bright_image() -> np.ndarray:
    """A 64x64 float32 image, uniformly bright (so every region could matter)."""
    rng = np.random.default_rng(1)
    return (180.0 + 40.0 * rng.random((64, 64, 3))).astype(np.float32)


def square_images(n: int, rng: np.random.Generator, size: int = 32, side: int = 8):
    """Noise images, half of them with a bright square at a random place: (x, y, corners)."""
    x = rng.uniform(0, 120, (n, size, size, 3)).astype(np.float32)
    y = rng.integers(0, 2, n)
    corners = rng.integers(0, size - side, (n, 2))
    for i in np.flatnonzero(y):
        r, c = corners[i]
        x[i, r : r + side, c : c + side] = 255.0
    return x, y, corners


@pytest.fixture(scope="session")
def square_cnn(tmp_path_factory):
    """A tiny CNN trained in seconds to say whether a bright 8x8 square is present.

    Returns ``(classifier, model_path)``; the model is also saved as a ``.keras`` file.
    """
    import keras

    from xai_core import Classifier

    keras.utils.set_random_seed(0)
    x, y, _ = square_images(1200, np.random.default_rng(0))
    model = keras.Sequential(
        [
            keras.Input((32, 32, 3)),
            keras.layers.Rescaling(1 / 255.0),
            keras.layers.Conv2D(8, 3, padding="same", activation="relu"),
            keras.layers.Conv2D(8, 3, padding="same", activation="relu"),
            keras.layers.GlobalMaxPooling2D(),
            keras.layers.Dense(2, activation="softmax"),
        ]
    )
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(x, y, epochs=6, batch_size=64, verbose=0)
    xt, yt, _ = square_images(200, np.random.default_rng(1))
    acc = float((model.predict(xt, verbose=0).argmax(1) == yt).mean())
    assert acc > 0.95, f"the toy CNN did not learn the square (accuracy {acc:.2f})"
    path = tmp_path_factory.mktemp("models") / "square_cnn.keras"
    model.save(path)
    clf = Classifier("square_cnn", (32, 32), ["no square", "square"], model, preprocessing="none")
    return clf, path


@pytest.fixture()
def offline(monkeypatch, tmp_path):
    """No network and an empty Keras cache: a download of ImageNet weights must fail.

    Yields the Keras cache folder (``<tmp>/models`` is where weights would be saved).
    """
    import socket

    import keras.src.backend.config as kconfig

    monkeypatch.setattr(kconfig, "_KERAS_DIR", str(tmp_path))

    def no_network(*args, **kwargs):
        raise OSError("network is unreachable (blocked by the test)")

    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    return tmp_path
