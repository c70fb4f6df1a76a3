"""Side-by-side benchmark against the tools a student would otherwise pick.

``python -m benchmarks peers`` runs, on the same model (EfficientNet-Lite0 with its
preprocessing and softmax inside) and at the same sample budget:

- our RISE and LIME (:func:`xai_core.explain_rise`, :func:`xai_core.explain_lime`);
- Xplique's ``Rise`` and ``Lime`` (``pip install --no-deps -r requirements-bench.txt``);
- the ``lime`` package called directly with ``model.predict``, as its README shows;
- a naive "student" RISE: every mask resized one by one with scikit-image, all masked
  images built at once, then ``model.predict``.

Wall time and *overhead* are reported. For our explainers and for lime, the time inside
the model is measured in the same run (the predict function is timed). Xplique runs the
model inside its own loop, so its overhead is wall time / the time of the same number of
forward passes measured right before it (less reliable on a machine whose speed drifts;
marked ``"overhead_basis": "separate raw run"``). Peak extra memory is measured per peer
in a fresh process (peak resident memory minus the resident memory after set-up), with a
cheap stand-in model so that N = 8000 takes seconds.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

import numpy as np


def _emit(record: dict) -> None:
    print(json.dumps(record), flush=True)


def _full_keras_model(clf):
    """The classifier as one functional Keras model on RGB [0, 255] input.

    Preprocessing, network and softmax in one graph, so that every tool masks the same
    RGB image (0 = black) and calls the same model.
    """
    import keras

    from xai_core.models.classifier import _preprocess

    class Preprocess(keras.layers.Layer):
        def call(self, x):
            return _preprocess(clf.preprocessing, x)

    inputs = keras.Input((*clf.input_size, 3))
    outputs = clf.model(Preprocess()(inputs))
    if clf.outputs_logits:
        outputs = keras.layers.Softmax()(outputs)
    return keras.Model(inputs, outputs)


def _student_rise(predict_batches, image: np.ndarray, n: int, s: int, p: float, seed: int):
    """RISE as a student writes it from the paper: masks one by one, everything in memory."""
    from skimage.transform import resize

    rng = np.random.default_rng(seed)
    h, w = image.shape[:2]
    cell = np.ceil(np.array([h, w]) / s)
    up = ((s + 1) * cell).astype(int)
    grid = (rng.random((n, s, s)) < p).astype(np.float32)
    masks = np.empty((n, h, w), np.float32)
    for i in range(n):
        x, y = rng.integers(0, cell[0]), rng.integers(0, cell[1])
        masks[i] = resize(grid[i], up, order=1, mode="reflect", anti_aliasing=False)[
            x : x + h, y : y + w]
    masked = image[None] * masks[..., None]
    scores = predict_batches(masked)
    return (scores.T @ masks.reshape(n, -1)).reshape(-1, h, w) / n / p


def _timed(fn):
    from xai_core._common import TimedPredict

    return TimedPredict(fn)


def bench_peers(args: argparse.Namespace) -> None:
    """Speed: ours vs Xplique vs lime vs a student RISE, same model, same budget."""
    from lime import lime_image

    from xai_core import explain_lime, explain_rise, load_classifier, load_sample

    clf = load_classifier("efficientnet_lite0", engine="keras") if _has_engine_arg() else \
        load_classifier("efficientnet_lite0")
    img = clf.prepare(load_sample(args.image))
    target = int(np.argmax(clf.predict(img)[0]))
    keras_model = _full_keras_model(clf)

    def keras_predict(x: np.ndarray) -> np.ndarray:  # what users do: model.predict
        return keras_model.predict(x, batch_size=32, verbose=0)

    def raw_seconds(n: int) -> float:
        batch = np.repeat(img[None], 32, axis=0)
        t0 = time.perf_counter()
        for _ in range(max(1, n // 32)):
            clf.predict(batch)
        return (time.perf_counter() - t0) * n / (max(1, n // 32) * 32)

    clf.predict(np.repeat(img[None], 32, axis=0))  # warm-up
    n, m = args.n_masks, args.num_samples

    def run(name: str, method: str, budget: int, fn, predict) -> None:
        timed = _timed(predict)
        t0 = time.perf_counter()
        fn(timed)
        wall = time.perf_counter() - t0
        _emit({"section": "peers", "tool": name, "method": method, "budget": budget,
               "wall_s": round(wall, 2), "inside_model_s": round(timed.seconds, 2),
               "overhead": round(wall / max(timed.seconds, 1e-9), 3),
               "overhead_basis": "same run"})

    run("saliency-lab", "rise", n,
        lambda p: explain_rise(p, img, target, n_masks=n, seed=0), clf.predict)
    run("student", "rise", n, lambda p: _student_rise(p, img, n, 7, 0.5, 0), keras_predict)
    run("saliency-lab", "lime", m,
        lambda p: explain_lime(p, img, target, num_samples=m, seed=0), clf.predict)
    run("lime package", "lime", m,
        lambda p: lime_image.LimeImageExplainer(random_state=0).explain_instance(
            img.astype(np.double), p, labels=(target,), top_labels=None, num_samples=m,
            batch_size=32, random_seed=0), keras_predict)
    try:
        from xplique.attributions import Lime as XLime
        from xplique.attributions import Rise as XRise
    except ImportError:
        _emit({"section": "peers", "tool": "xplique", "skipped":
               "not installed: pip install --no-deps -r requirements-bench.txt"})
        return
    import tensorflow as tf

    from xai_core import segment

    one_hot = tf.one_hot([target], clf.n_classes)
    x = tf.convert_to_tensor(img[None])
    superpixels = tf.constant(segment(img, "quickshift"), tf.int32)  # the same as ours
    for method, explainer, budget in (
        ("rise", XRise(keras_model, batch_size=32, nb_samples=n, grid_size=7,
                       preservation_probability=0.5), n),
        ("lime", XLime(keras_model, batch_size=32, nb_samples=m,
                       map_to_interpret_space=lambda _inputs: superpixels), m),
    ):
        base = raw_seconds(budget)
        t0 = time.perf_counter()
        explainer.explain(x, one_hot)
        wall = time.perf_counter() - t0
        _emit({"section": "peers", "tool": "xplique", "method": method, "budget": budget,
               "wall_s": round(wall, 2), "inside_model_s": round(base, 2),
               "overhead": round(wall / base, 3), "overhead_basis": "separate raw run"})


def _has_engine_arg() -> bool:
    import inspect

    from xai_core import load_classifier

    return "engine" in inspect.signature(load_classifier).parameters


# --- memory, one fresh process per peer --------------------------------------------


def _rss_mb(field: str = "VmRSS") -> float:
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _memory_child(peer: str, n: int) -> None:
    """Run one peer at budget ``n`` on a cheap model; print the peak extra memory."""
    import tensorflow as tf

    from xai_core import explain_rise

    rng = np.random.default_rng(0)
    img = rng.uniform(0, 255, (224, 224, 3)).astype(np.float32)

    def cheap(x: np.ndarray) -> np.ndarray:
        s = np.asarray(x).mean(axis=(1, 2, 3)) / 255.0
        return np.stack([s, 1 - s], axis=1)

    import keras

    class MeanScore(keras.layers.Layer):
        def call(self, x):
            s = tf.reduce_mean(x, axis=(1, 2, 3)) / 255.0
            return tf.stack([s, 1 - s], axis=1)

    inputs = keras.Input((224, 224, 3))
    cheap_tf = keras.Model(inputs, MeanScore()(inputs))
    if peer == "xplique":
        from xplique.attributions import Rise as XRise

        target = tf.one_hot([0], 2)
        XRise(cheap_tf, batch_size=32, nb_samples=64).explain(img[None], target)  # warm-up
        explainer = XRise(cheap_tf, batch_size=32, nb_samples=n, grid_size=7)
    base = _rss_mb("VmRSS")
    t0 = time.perf_counter()
    if peer == "saliency-lab":
        explain_rise(cheap, img, 0, n_masks=n)
    elif peer == "student":
        _student_rise(cheap, img, n, 7, 0.5, 0)
    elif peer == "xplique":
        explainer.explain(tf.convert_to_tensor(img[None]), target)
    print(json.dumps({"peer": peer, "n_masks": n, "peak_extra_mb": round(_rss_mb("VmHWM") - base, 1),
                      "wall_s": round(time.perf_counter() - t0, 2)}))


def bench_memory(args: argparse.Namespace) -> None:
    """Peak extra memory of RISE at ``--n-masks`` for us and the peers (fresh processes)."""
    for peer in ("saliency-lab", "student", "xplique"):
        proc = subprocess.run([sys.executable, "-m", "benchmarks_peers", "--memory-child",
                               peer, str(args.memory_masks)], capture_output=True, text=True,
                              timeout=900)
        line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("{")), None)
        if line is None:
            _emit({"section": "memory", "tool": peer, "n_masks": args.memory_masks,
                   "skipped": (proc.stderr.strip().splitlines() or ["failed"])[-1][:200]})
            continue
        rec = json.loads(line)
        _emit({"section": "memory", "tool": peer, "n_masks": rec["n_masks"],
               "peak_extra_mb": rec["peak_extra_mb"], "wall_s": rec["wall_s"],
               "model": "cheap mean-score stand-in"})


def register(sub) -> None:
    """Add the ``peers`` and ``memory`` sections to the benchmark's command line."""
    p = sub.add_parser("peers", help="ours vs Xplique, lime and a student RISE (same budget)")
    p.add_argument("--image", default="coffee")
    p.add_argument("--n-masks", type=int, default=500)
    p.add_argument("--num-samples", type=int, default=500)
    p.set_defaults(func=bench_peers)
    p = sub.add_parser("memory", help="peak extra memory of RISE for us and the peers")
    p.add_argument("--memory-masks", type=int, default=8000)
    p.set_defaults(func=bench_memory)


if __name__ == "__main__" and len(sys.argv) == 4 and sys.argv[1] == "--memory-child":
    _memory_child(sys.argv[2], int(sys.argv[3]))
