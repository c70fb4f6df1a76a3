"""Measure the memory one batch of 32 images takes through a Classifier, per model.

Each model runs in a fresh child process: TensorFlow imported, the model built (random
weights: memory does not depend on their values), saved as a ``.keras`` file and checked
(the configuration estimate), then one image (the loader's probe) and one batch of 32
classified. Peak RSS is read from ``getrusage``. Prints one JSON line per model:

    python benchmarks/model_memory.py [name ...]

The fitted memory model lives in :mod:`xai_core.models._config_estimate`; the table in
``docs/model_memory.md``.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

MODELS = ["lite0", "lite1", "lite2", "wide_conv_512", "deep_conv_256", "dense_head",
          "residual_320", "conv_1024"]


def _status_mb(field: str) -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


def _rss_mb() -> float:
    return _status_mb("VmRSS")


def _peak_mb() -> float:
    """This process's own peak RSS (``VmHWM``; ``ru_maxrss`` would keep the parent's peak
    across fork and exec)."""
    return _status_mb("VmHWM")


def _build(name: str):
    import keras

    from xai_core.models import efficientnet_lite

    L = keras.layers
    if name.startswith("lite"):
        return efficientnet_lite.build_model(name), "lite"
    if name == "wide_conv_512":
        return keras.Sequential([keras.Input((512, 512, 3)), L.Conv2D(32, 3, padding="same"),
                                 L.Conv2D(32, 3, padding="same", activation="relu"),
                                 L.Conv2D(32, 3, padding="same"), L.GlobalAveragePooling2D(),
                                 L.Dense(10, activation="softmax")]), "none"
    if name == "deep_conv_256":
        layers = [keras.Input((256, 256, 3))]
        for f in (32, 64, 128, 256):
            layers += [L.Conv2D(f, 3, padding="same", activation="relu"),
                       L.Conv2D(f, 3, padding="same", activation="relu"), L.MaxPooling2D()]
        return keras.Sequential([*layers, L.GlobalAveragePooling2D(),
                                 L.Dense(100, activation="softmax")]), "none"
    if name == "dense_head":
        return keras.Sequential([keras.Input((128, 128, 3)), L.Flatten(),
                                 L.Dense(2048, activation="relu"),
                                 L.Dense(1000, activation="softmax")]), "none"
    if name == "residual_320":
        inp = keras.Input((320, 320, 3))
        x = L.Conv2D(48, 3, padding="same", activation="relu")(inp)
        for _ in range(3):
            y = L.Conv2D(48, 3, padding="same", activation="relu")(x)
            y = L.Conv2D(48, 3, padding="same")(y)
            x = L.Add()([x, y])
        out = L.Dense(10, activation="softmax")(L.GlobalAveragePooling2D()(x))
        return keras.Model(inp, out), "none"
    if name == "conv_1024":
        return keras.Sequential([keras.Input((1024, 1024, 3)),
                                 L.Conv2D(16, 3, strides=2, padding="same", activation="relu"),
                                 L.Conv2D(16, 3, padding="same", activation="relu"),
                                 L.GlobalAveragePooling2D(),
                                 L.Dense(10, activation="softmax")]), "none"
    raise ValueError(name)


def measure(name: str) -> dict:
    import numpy as np

    from xai_core._tf import import_tensorflow

    import_tensorflow()
    import keras  # noqa: F401

    from xai_core.models import Classifier
    from xai_core.models.model_file import check_model_file

    rss_tf = _rss_mb()
    model, prep = _build(name)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, f"{name}.keras")
        model.save(path)
        size_mb = os.path.getsize(path) / 2**20
        report = check_model_file(path)
    h, w = model.input_shape[1:3]
    n_out = model.output_shape[-1]
    clf = Classifier(name, (h, w), [f"c{i}" for i in range(n_out)], model, preprocessing=prep)
    clf.predict(np.full((1, h, w, 3), 127.0, np.float32))
    rss_probe = _rss_mb()
    peak_probe = _peak_mb()
    clf.predict(np.full((32, h, w, 3), 127.0, np.float32))
    clf.predict(np.full((32, h, w, 3), 127.0, np.float32))
    peak = _peak_mb()
    largest = step = total = 0
    for layer in model.layers:
        ins = layer.input if isinstance(layer.input, list) else [layer.input]
        n_in = sum(math.prod(t.shape[1:]) for t in ins if t is not None)
        n_out = math.prod(layer.output.shape[1:])
        largest = max(largest, n_in // max(len(ins), 1), n_out)
        step, total = max(step, n_in + n_out), total + n_out
    return {"model": name, "input": [h, w], "params": int(model.count_params()),
            "largest": largest, "step": step, "total": total,
            "file_mb": round(size_mb, 1), "estimate_mb": round(report.memory_bytes / 2**20),
            "rss_tf_mb": round(rss_tf), "rss_after_probe_mb": round(rss_probe),
            "peak_probe_mb": round(peak_probe), "peak_batch32_mb": round(peak),
            "batch32_over_tf_mb": round(peak - rss_tf)}


def measure_load(path: str) -> dict:
    """The loader's path for a saved file: load_classifier (check, load, probe), then 32."""
    import numpy as np

    from xai_core._tf import import_tensorflow
    from xai_core.models import load_classifier

    import_tensorflow()
    import keras  # noqa: F401

    rss_tf = _rss_mb()
    clf = load_classifier(path, engine="keras")
    peak_load = _peak_mb()
    h, w = clf.input_size
    clf.predict(np.full((32, h, w, 3), 127.0, np.float32))
    peak = _peak_mb()
    return {"file": os.path.basename(path), "params": int(clf.model.count_params()),
            "load_over_tf_mb": round(peak_load - rss_tf), "batch32_over_tf_mb": round(peak - rss_tf)}


def main(argv: list[str]) -> None:
    if argv and argv[0] == "--child":
        print(json.dumps(measure(argv[1])), flush=True)
        return
    if argv and argv[0] == "--save":
        from xai_core._tf import import_tensorflow

        import_tensorflow()
        _build(argv[1])[0].save(argv[2])
        return
    if argv and argv[0] == "--load":
        print(json.dumps(measure_load(argv[1])), flush=True)
        return
    for name in argv or MODELS:
        proc = subprocess.run([sys.executable, __file__, "--child", name], capture_output=True,
                              text=True, timeout=900)
        lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
        print(lines[-1] if lines else json.dumps({"model": name, "error": proc.stderr[-300:]}),
              flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
