"""Inference engines: the same model, run by Keras or by LiteRT with XNNPACK.

A :class:`~xai_core.models.Classifier` runs one function: preprocessing, the network and
(for logit models) a softmax, compiled by TensorFlow. This module converts exactly that
function, with its weights frozen as float32 constants and **no quantisation** (a
quantised model would be a different model), to a LiteRT (TensorFlow Lite) flatbuffer and
runs it with the ``ai-edge-litert`` interpreter, whose XNNPACK CPU kernels are often
faster than TensorFlow's on small CPUs.

The converted model is used only where it gives the same answers: on a check batch (a
few random images and a grey one) its probabilities must equal Keras' within
:data:`TOLERANCE`. Otherwise the classifier silently stays on Keras and records why in
``Classifier.engine_note``.

Engines (the ``engine`` argument of :func:`~xai_core.load_classifier`):

``"auto"``
    LiteRT where it matches Keras, else Keras. The default (or ``$XAI_ENGINE``).
``"keras"``
    Never LiteRT.
``"litert"``
    LiteRT or an :class:`EngineError` (not installed, cannot convert, does not match).

Converted models are cached in ``cache_dir()/litert``, keyed by model name and a hash
of the architecture and weights, so later starts skip the conversion. Each file has a
record beside it binding it to that hash and to its own SHA-256, checked on every read;
only a folder private to the user is used, and a cached file that fails a check, does not
load or does not match Keras is deleted and converted afresh.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import secrets
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from xai_core._tf import STDERR_LOCK
from xai_core.errors import ModelLoadError
from xai_core.models.paths import (
    discard_cache_file,
    private_cache_dir,
    record_cache_file,
    verified_cache_file,
)

if TYPE_CHECKING:
    from xai_core.models.classifier import Classifier

#: Engine names accepted by :func:`~xai_core.load_classifier`.
ENGINES = ("auto", "keras", "litert")

#: Largest allowed max absolute difference of probabilities between LiteRT and Keras.
TOLERANCE = 1e-4

#: Bump when the conversion changes, so that old cached flatbuffers are not reused.
_FORMAT = 1

log = logging.getLogger(__name__)

_STDERR_LOCK = STDERR_LOCK  # one lock for every redirection of descriptor 2

#: Seed of the images LiteRT is checked on: new in every process, so that a converted
#: model cannot be made to pass a check known in advance.
_CHECK_SEED = secrets.randbits(32)


class EngineError(ModelLoadError):
    """``engine="litert"`` was asked for but LiteRT cannot run this model identically."""


def litert_available() -> bool:
    """Whether the ``ai-edge-litert`` package can be imported."""
    try:
        from ai_edge_litert.interpreter import Interpreter  # noqa: F401
    except ImportError:
        return False
    return True


def resolve_engine(engine: str | None) -> str:
    """Validate an engine name; ``None`` means ``$XAI_ENGINE`` or ``"auto"``.

    Raises
    ------
    ValueError
        The name (or the environment variable) is not one of :data:`ENGINES`.
    """
    if engine is None:
        env = os.environ.get("XAI_ENGINE", "").strip()
        if env and env not in ENGINES:
            raise ValueError(
                f"the environment variable XAI_ENGINE is {env!r}; "
                f"set it to one of {', '.join(ENGINES)} or unset it"
            )
        return env or "auto"
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")
    return engine


# --- conversion and cache ------------------------------------------------------------


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """Silence native (C++) log lines written to stderr, e.g. by the TFLite converter.

    The converter logs a dozen lines per model through absl, below Python's reach, so
    file descriptor 2 is pointed at /dev/null for the duration. Where that is not
    possible (no real descriptor), nothing is silenced. One thread at a time (a lock), so
    that overlapping uses cannot leave stderr pointing at /dev/null.
    """
    with _STDERR_LOCK:
        try:
            saved = os.dup(2)
        except OSError:
            yield
            return
        try:
            with open(os.devnull, "wb") as null:
                os.dup2(null.fileno(), 2)
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def _names(tree: Any, found: dict[str, None]) -> None:
    """Collect the values of every ``"name"`` key in a nested config, in order."""
    if isinstance(tree, dict):
        for key, value in tree.items():
            if key == "name" and isinstance(value, str):
                found.setdefault(value)
            _names(value, found)
    elif isinstance(tree, list | tuple):
        for value in tree:
            _names(value, found)


def _architecture(model: Any) -> str:
    """The model's Keras config as JSON, with every name replaced by its rank of appearance.

    Keras makes auto-generated names unique per process (``conv2d_7``), so two loads of
    the same model differ only by names; ranks do not, and connections (which refer to
    layers by name) keep their meaning.
    """
    try:
        config = model.get_config()
        text = json.dumps(config, sort_keys=True, default=str)
    except Exception:
        return ",".join(type(layer).__name__ for layer in getattr(model, "layers", []))
    found: dict[str, None] = {model.name: None}
    _names(config, found)
    ranked = sorted(enumerate(found), key=lambda t: -len(t[1]))  # longest first
    for i, name in ranked:
        text = text.replace(json.dumps(name), f'"#{i}"')
    return text


def fingerprint(clf: Classifier) -> str:
    """Hex digest identifying what a conversion depends on.

    It covers the model's name, input size, preprocessing, softmax flag, architecture
    (Keras config, names aside), every weight (shape, dtype, bytes, in order) and the
    TensorFlow version (the converter's), so a cached flatbuffer is reused only for the
    very same model.
    """
    import tensorflow as tf

    h = hashlib.blake2b(digest_size=16)
    head = [_FORMAT, clf.name, list(clf.input_size), clf.preprocessing, clf.outputs_logits,
            tf.__version__]
    h.update(json.dumps(head).encode())
    h.update(_architecture(clf.model).encode())
    for w in clf.model.weights:
        value = np.ascontiguousarray(w.numpy())
        h.update(f"{value.shape}:{value.dtype}".encode())
        h.update(value.reshape(-1).view(np.uint8))
    return h.hexdigest()


def _not_about_trackable_obj(record: logging.LogRecord) -> bool:
    # The graph path for a frozen function is what we want; its deprecation note is noise.
    return "trackable_obj" not in record.getMessage()


def _convert(clf: Classifier) -> bytes:
    """Convert ``clf``'s compiled forward function to a float32 LiteRT flatbuffer."""
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import (
        convert_variables_to_constants_v2,
    )

    concrete = clf._compiled().get_concrete_function()
    logging.getLogger("absl").addFilter(_not_about_trackable_obj)  # once: filters are a set
    with _quiet_stderr():
        # Frozen weights: with live variables the converter keeps VAR_HANDLE/READ_VARIABLE
        # ops that XNNPACK cannot accelerate (and, for fresh models, re-initialises them).
        frozen = convert_variables_to_constants_v2(concrete)
        converter = tf.lite.TFLiteConverter.from_concrete_functions([frozen])
        converter.optimizations = []  # no quantisation of any kind
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]  # no Flex ops
        return bytes(converter.convert())


def _cache_name(clf: Classifier, digest: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", clf.name)[:60] or "model"
    return f"{slug}-{digest[:24]}.tflite"


def _is_flatbuffer(data: bytes) -> bool:
    return len(data) > 8 and data[4:8] == b"TFL3"


def _write_cache(path: Path, data: bytes, source: str, keep: int = 2) -> None:
    """Write ``data`` atomically with its record; keep the ``keep`` newest files of the model.

    The record (see :func:`~xai_core.models.paths.record_cache_file`) binds the file to
    ``source``, the :func:`fingerprint` of the model it was converted from. Failures
    (read-only or missing folder, full disk) are logged and ignored: the cache only saves time.
    """
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.stem, suffix=".part")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
        tmp = None
        record_cache_file(path, source)
        prefix = path.name.rsplit("-", 1)[0] + "-"
        same = [p for p in path.parent.glob("*.tflite") if p.name.rsplit("-", 1)[0] + "-" == prefix]
        same.sort(key=lambda p: p.stat().st_mtime, reverse=True)
        for old in same[keep:]:
            discard_cache_file(old)
    except OSError as exc:
        log.info("could not cache the LiteRT model in %s: %s", path.parent, exc)
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def _cached(clf: Classifier, digest: str) -> tuple[bytes | None, Path | None]:
    """The verified cached flatbuffer (or ``None``) and where it lives (``None``: no cache).

    Only a private cache folder is used, and only a file whose record matches this
    model's fingerprint and the file's bytes; any other file there is deleted.
    """
    folder, _ = private_cache_dir("litert")
    if folder is None:
        return None, None
    path = folder / _cache_name(clf, digest)
    if verified_cache_file(path, digest):
        with contextlib.suppress(OSError):
            data = path.read_bytes()
            if _is_flatbuffer(data):
                return data, path
        discard_cache_file(path)
    return None, path


def litert_flatbuffer(clf: Classifier, *, use_cache: bool = True) -> bytes:
    """The LiteRT flatbuffer of a classifier's forward function (cached on disk).

    Parameters
    ----------
    clf
        A :class:`~xai_core.models.Classifier`.
    use_cache
        Read and write ``cache_dir()/litert`` (only if private to this user, and only
        files bound to this model by their record). An unusable cache is not an error.

    Returns
    -------
    bytes
        A float32 ``.tflite`` model: float32 (N, H, W, 3) RGB in [0, 255] to
        (N, n_classes) probabilities, exactly what ``clf.predict`` computes.
    """
    if not use_cache:
        return _convert(clf)
    digest = fingerprint(clf)
    data, path = _cached(clf, digest)
    if data is not None:
        return data
    data = _convert(clf)
    if path is not None:
        _write_cache(path, data, digest)
    return data


# --- the LiteRT predictor ------------------------------------------------------------


def default_threads() -> int:
    """Threads of a LiteRT interpreter: ``$XAI_THREADS`` if set (a study's worker sets it to
    the CPUs Ray gave it), else the machine's CPUs."""
    text = os.environ.get("XAI_THREADS", "")
    if text.isdigit() and int(text) > 0:
        return int(text)
    return os.cpu_count() or 1


class _Slot:
    """One interpreter with its input/output indices and current batch size."""

    def __init__(self, flatbuffer: bytes, num_threads: int) -> None:
        from ai_edge_litert.interpreter import Interpreter

        self.interpreter = Interpreter(model_content=flatbuffer, num_threads=num_threads)
        self.input = self.interpreter.get_input_details()[0]["index"]
        self.output = self.interpreter.get_output_details()[0]["index"]
        self.size: int | None = None

    def run(self, x: np.ndarray) -> np.ndarray:
        if self.size != len(x):
            # Cheap after the first time: XNNPACK keeps its packed weights across resizes.
            self.interpreter.resize_tensor_input(self.input, list(x.shape))
            self.interpreter.allocate_tensors()
            self.size = len(x)
        self.interpreter.set_tensor(self.input, x)
        self.interpreter.invoke()
        return self.interpreter.get_tensor(self.output)  # a copy


class LiteRTPredictor:
    """Thread-safe batched inference of a LiteRT flatbuffer with XNNPACK.

    Interpreters are not thread-safe, so each is lent to one thread at a time, per
    chunk; up to ``max_interpreters`` are created when threads call at once (each has
    its own memory arena), further callers wait for a free one.

    Parameters
    ----------
    flatbuffer
        The model, e.g. from :func:`litert_flatbuffer`.
    input_size
        (height, width) of the model's input.
    num_threads
        Threads per interpreter; default :func:`default_threads`.
    max_interpreters
        Most interpreters alive at once (concurrent calls beyond it queue).
    """

    name = "litert"

    def __init__(
        self,
        flatbuffer: bytes,
        input_size: tuple[int, int],
        *,
        num_threads: int | None = None,
        max_interpreters: int = 2,
    ) -> None:
        if max_interpreters < 1:
            raise ValueError(f"max_interpreters must be at least 1; got {max_interpreters}")
        self.input_size = tuple(input_size)
        self._flatbuffer = flatbuffer
        self._threads = num_threads or default_threads()
        self._max = max_interpreters
        self._cond = threading.Condition()
        with _quiet_stderr():  # XNNPACK announces itself on stderr once
            first = _Slot(flatbuffer, self._threads)
            first.run(np.full((1, *self.input_size, 3), 128.0, np.float32))
        self._idle = [first]
        self._created = 1

    @contextlib.contextmanager
    def _slot(self) -> Iterator[_Slot]:
        with self._cond:
            while not self._idle and self._created >= self._max:
                self._cond.wait()
            slot = self._idle.pop() if self._idle else None
            if slot is None:
                self._created += 1
        try:
            if slot is None:
                slot = _Slot(self._flatbuffer, self._threads)
        except BaseException:
            with self._cond:
                self._created -= 1
                self._cond.notify()
            raise
        try:
            yield slot
        finally:
            with self._cond:
                self._idle.append(slot)
                self._cond.notify()

    def predict(self, images: np.ndarray, batch_size: int = 32) -> np.ndarray:
        """Model outputs for float32 (N, H, W, 3) images, ``batch_size`` at a time.

        Returns
        -------
        np.ndarray
            float32 (N, n_classes).
        """
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1; got {batch_size}")
        x = np.ascontiguousarray(images, dtype=np.float32)
        chunks = []
        for i in range(0, len(x), batch_size):
            with self._slot() as slot:  # per chunk: concurrent callers take turns fairly
                chunks.append(slot.run(x[i : i + batch_size]))
        if not chunks:
            with self._slot() as slot:
                width = slot.interpreter.get_output_details()[0]["shape"][-1]
            return np.zeros((0, int(width)), np.float32)
        return np.concatenate(chunks).astype(np.float32, copy=False)


# --- choosing the engine -------------------------------------------------------------


def check_batch(input_size: tuple[int, int], n_random: int = 4, seed: int = 0) -> np.ndarray:
    """Images on which engines are compared: ``n_random`` uniform noise images and a grey one.

    Returns float32 (n_random + 1, H, W, 3) in [0, 255].
    """
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.0, 255.0, (n_random + 1, *input_size, 3)).astype(np.float32)
    x[-1] = 128.0
    return x


def max_abs_difference(clf: Classifier, predictor: LiteRTPredictor) -> float:
    """Largest absolute difference of outputs between Keras and ``predictor`` on :func:`check_batch`
    (with a seed drawn once per process).

    ``nan`` if either gives a non-finite output.
    """
    x = check_batch(clf.input_size, seed=_CHECK_SEED)
    ref = clf._predict_keras(x)
    got = predictor.predict(x, clf.batch_size)
    if got.shape != ref.shape or not (np.all(np.isfinite(ref)) and np.all(np.isfinite(got))):
        return float("nan")
    return float(np.max(np.abs(got.astype(np.float64) - ref)))


def build_litert(clf: Classifier, *, use_cache: bool = True) -> tuple[LiteRTPredictor, float]:
    """Convert ``clf`` and measure the converted model against Keras.

    A cached flatbuffer that does not load or does not match Keras is deleted and
    replaced by a fresh conversion (so one bad file cannot keep later starts on Keras).

    Returns
    -------
    predictor, difference
        The LiteRT predictor and :func:`max_abs_difference` on the check batch.

    Raises
    ------
    EngineError
        ``ai-edge-litert`` is not installed.
    Exception
        Whatever the converter or interpreter raises for a model they cannot handle.
    """
    if not litert_available():
        raise EngineError("the package ai-edge-litert is not installed (pip install ai-edge-litert)")
    digest = fingerprint(clf) if use_cache else ""
    data, path = _cached(clf, digest) if use_cache else (None, None)
    if data is not None and path is not None:
        try:
            predictor = LiteRTPredictor(data, clf.input_size)
            diff = max_abs_difference(clf, predictor)
            if diff <= TOLERANCE:
                return predictor, diff
        except Exception:  # any failure of a cached file means: convert afresh
            pass
        log.info("%s: the cached LiteRT model was rejected; converting afresh", clf.name)
        discard_cache_file(path)
    data = _convert(clf)
    predictor = LiteRTPredictor(data, clf.input_size)
    diff = max_abs_difference(clf, predictor)
    if path is not None:
        _write_cache(path, data, digest)
    return predictor, diff


def use_engine(clf: Classifier, engine: str = "auto") -> Classifier:
    """The same classifier, run by the engine asked for (a new object; ``clf`` is unchanged).

    Parameters
    ----------
    clf
        A :class:`~xai_core.models.Classifier` (on any engine).
    engine
        One of :data:`ENGINES`. ``"auto"`` uses LiteRT where its outputs match Keras
        within :data:`TOLERANCE` on :func:`check_batch`, else Keras, without error;
        ``clf.engine_note`` says why.

    Raises
    ------
    ValueError
        Unknown engine.
    EngineError
        ``engine="litert"`` and LiteRT is missing, cannot run the model, or differs.
    """
    engine = resolve_engine(engine)
    keras_clf = clf.with_backend(None, "")
    if engine == "keras":
        return keras_clf.with_backend(None, "keras: asked for")
    clf = keras_clf
    _, cache_note = private_cache_dir("litert")
    suffix = f"; {cache_note}" if cache_note else ""
    try:
        predictor, diff = build_litert(clf)
    except Exception as exc:
        reason = f"LiteRT cannot run {clf.name} ({type(exc).__name__}: {exc})"
        if isinstance(exc, EngineError):
            reason = f"LiteRT is not available: {exc}"
    else:
        if diff <= TOLERANCE:  # False for nan
            return clf.with_backend(predictor, f"litert: matches keras (max abs "
                                               f"difference {diff:.1e}){suffix}")
        reason = (f"LiteRT's outputs for {clf.name} differ from Keras' by {diff:.1e} "
                  f"(more than {TOLERANCE:.0e})")
    if engine == "litert":
        raise EngineError(reason)
    log.info("%s: using Keras; %s", clf.name, reason)
    return clf.with_backend(None, f"keras: {reason}{suffix}")
