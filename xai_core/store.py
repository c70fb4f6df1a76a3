"""The explanation store: computed results kept on disk, shared by every process, across restarts.

An explanation is determined by the image's content, the model and its weights, the
method, every parameter, the seed, the class and this package's version. The store keeps
each result under a digest of all of these, so the dashboard's sessions, its warm-up,
the command line and a dataset study compute a given explanation once and read it after.

- Storage: :mod:`diskcache` (SQLite plus files, safe for several threads and processes)
  in ``cache_dir()/explanations`` (``XAI_CACHE_DIR`` moves it), used only if the folder
  is private to this user (anyone who could write there could plant a result).
- Bounded in bytes (``SALIENCY_LAB_STORE_MB``, default 500 MB): the least recently used
  entries go first, right after each write; an entry over a quarter of the limit is not kept.
- Integrity: each entry carries a SHA-256 of the key it was stored for and its bytes. An
  entry that fails the check (damaged on disk, or written for another key) is deleted
  and reported as missing, so it is recomputed and never shown.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import pickle
import tempfile
import threading
import weakref
from collections.abc import Callable, Hashable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Bump when what is stored (the record layout or a stored type) changes incompatibly.
STORE_FORMAT = 1
#: Default bound of the store on disk, in megabytes.
DEFAULT_STORE_MB = 500.0
#: The first bytes of every stored record.
_MAGIC = b"SLX1"
_DIGEST = 32  # SHA-256


def package_version() -> str:
    """This package's installed version (``"dev"`` when run from a source tree)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("saliency-lab")
    except PackageNotFoundError:
        return "dev"


def store_mb_from_env() -> float:
    """``SALIENCY_LAB_STORE_MB``: the store's bound in megabytes (default 500)."""
    raw = os.environ.get("SALIENCY_LAB_STORE_MB", "").strip()
    if not raw:
        return DEFAULT_STORE_MB
    try:
        mb = float(raw)
    except ValueError:
        mb = -1.0
    if not mb > 0:
        raise ValueError(f"SALIENCY_LAB_STORE_MB must be a positive number of megabytes; got {raw!r}")
    return mb


# --- what a result is keyed by -----------------------------------------------------------

def image_key(raw: np.ndarray, input_size: Sequence[int], fit: str = "crop") -> str:
    """Key of a photo as a model sees it: a digest of its pixels, the input size and the fit.

    Parameters
    ----------
    raw
        The photo as loaded, uint8 (H, W, 3).
    input_size
        The model's (height, width).
    fit
        ``"crop"`` (the default, not written into the key) or ``"pad"``.
    """
    digest = hashlib.sha1(np.ascontiguousarray(raw).tobytes()).hexdigest()[:16]
    return f"{digest}@{input_size[0]}x{input_size[1]}" + ("" if fit == "crop" else f"-{fit}")


def explanation_key(model_key: str, image_key: str, method: str, params: dict[str, Any],
                    seed: int, target: int) -> tuple:
    """The key of one explanation (the model's weights are added by the store)."""
    return (model_key, image_key, method, json.dumps(params, sort_keys=True, default=str),
            int(seed), int(target))


def sanity_key(model_key: str, image_key: str, method: str, params: dict[str, Any], seed: int,
               target: int, max_stages: int) -> tuple:
    """The key of one model-randomisation sanity check."""
    return ("sanity", model_key, image_key, method, json.dumps(params, sort_keys=True, default=str),
            int(seed), int(target), int(max_stages))


_MODEL_IDS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_MODEL_IDS_LOCK = threading.Lock()


def model_id(clf: Any) -> str:
    """A digest of what a classifier computes: its name, input, preprocessing and every weight.

    Computed once per model object (a ResNet50's 100 MB of weights take a fraction of a
    second). A black box without a Keras model behind it (a plain ``predict`` function) is
    identified by its name only.
    """
    model = getattr(clf, "model", None)
    weights = getattr(model, "weights", None)
    head = json.dumps([getattr(clf, "name", type(clf).__name__),
                       list(getattr(clf, "input_size", ()) or ()),
                       getattr(clf, "preprocessing", None),
                       bool(getattr(clf, "outputs_logits", False))])
    if weights is None:
        return "name:" + head
    with _MODEL_IDS_LOCK:
        try:
            known = _MODEL_IDS.get(model)
        except TypeError:  # not weak-referenceable
            known = None
        if known is not None and known[0] == head:
            return known[1]
        h = hashlib.blake2b(head.encode(), digest_size=16)
        for w in weights:
            value = np.ascontiguousarray(w.numpy())
            h.update(f"{value.shape}:{value.dtype}".encode())
            h.update(value.reshape(-1).view(np.uint8))
        digest = h.hexdigest()
        with contextlib.suppress(TypeError):
            _MODEL_IDS[model] = (head, digest)
        return digest


# --- the store --------------------------------------------------------------------------

class ExplanationStore:
    """Results on disk, bounded in bytes, least recently used evicted, checked on every read.

    Parameters
    ----------
    folder
        Where to keep the store; default ``cache_dir()/explanations`` if private to this
        user, else a temporary folder (results then last only as long as the process).
    size_mb
        The bound in megabytes; default ``SALIENCY_LAB_STORE_MB`` (500).

    Safe to share between threads; several processes may open the same folder.
    """

    def __init__(self, folder: Path | str | None = None, *, size_mb: float | None = None):
        import diskcache

        mb = store_mb_from_env() if size_mb is None else float(size_mb)
        if not mb > 0:
            raise ValueError(f"size_mb must be positive; got {size_mb}")
        self.size_limit = int(mb * 1e6)
        self.note = ""
        if folder is None:
            from xai_core.models.paths import private_cache_dir

            found, self.note = private_cache_dir("explanations")
            folder = found or tempfile.mkdtemp(prefix="saliency-lab-store-")
        self.folder = Path(folder)
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._cache = diskcache.Cache(str(self.folder), size_limit=self.size_limit,
                                      eviction_policy="least-recently-used", cull_limit=0,
                                      statistics=False)
        self._version = package_version()
        self.hits = self.misses = self.rejected = 0

    # the key of an entry: a digest of everything that determines it
    def _key_text(self, key: Hashable, clf: Any | None) -> str:
        return json.dumps([STORE_FORMAT, self._version, None if clf is None else model_id(clf),
                           key], default=str)

    @staticmethod
    def _name(text: str) -> str:
        return hashlib.sha256(text.encode()).hexdigest()

    def entry_name(self, key: Hashable, *, clf: Any | None = None) -> str:
        """The name the entry of ``key`` (for model ``clf``) has in the store: a hex digest."""
        return self._name(self._key_text(key, clf))

    def __contains__(self, key: Hashable) -> bool:
        return self.contains(key)

    def contains(self, key: Hashable, *, clf: Any | None = None) -> bool:
        """Whether an entry is stored under ``key`` (its integrity is checked on :meth:`get`)."""
        return self._name(self._key_text(key, clf)) in self._cache

    def get(self, key: Hashable, *, clf: Any | None = None) -> Any | None:
        """The value stored under ``key`` for model ``clf``, or ``None``.

        An entry that fails its check is deleted and ``None`` returned (recompute it).
        """
        text = self._key_text(key, clf)
        name = self._name(text)
        record = self._cache.get(name, default=None, retry=True)
        if record is None:
            self.misses += 1
            return None
        value = self._open(record, text)
        if value is None:
            log.info("store entry %s failed its integrity check: dropped", name[:12])
            with contextlib.suppress(Exception):
                self._cache.delete(name, retry=True)
            self.rejected += 1
            self.misses += 1
            return None
        self.hits += 1
        return value

    @staticmethod
    def _open(record: Any, text: str) -> Any | None:
        if (not isinstance(record, bytes) or len(record) < len(_MAGIC) + _DIGEST
                or not record.startswith(_MAGIC)):
            return None
        digest = record[len(_MAGIC):len(_MAGIC) + _DIGEST]
        payload = memoryview(record)[len(_MAGIC) + _DIGEST:]
        h = hashlib.sha256(text.encode())
        h.update(payload)
        if h.digest() != digest:
            return None
        try:
            return pickle.loads(payload)
        except Exception:  # bytes that passed the check but no longer load (a class moved)
            return None

    def put(self, key: Hashable, value: Any, *, clf: Any | None = None) -> bool:
        """Store ``value`` under ``key``; returns whether it was kept.

        Not kept: a value that cannot be pickled, or larger than a quarter of the bound.
        After the write the least recently used entries are evicted until the store is
        within its bound again.
        """
        text = self._key_text(key, clf)
        try:
            payload = pickle.dumps(value, protocol=5)
        except Exception as exc:
            log.info("result not stored (cannot be saved: %s)", type(exc).__name__)
            return False
        if len(payload) > self.size_limit // 4:
            return False
        h = hashlib.sha256(text.encode())
        h.update(payload)
        try:
            self._cache.set(self._name(text), _MAGIC + h.digest() + payload, retry=True)
            self._cache.cull(retry=True)
        except Exception as exc:  # a full disk or a locked database only costs a recompute
            log.info("result not stored: %s", exc)
            return False
        return True

    def get_or_compute(self, key: Hashable, fn: Callable[[], T], *,
                       clf: Any | None = None) -> tuple[T, bool]:
        """``(value, stored)``: the stored value, or ``fn()`` computed now and stored."""
        found = self.get(key, clf=clf)
        if found is not None:
            return found, True
        value = fn()
        self.put(key, value, clf=clf)
        return value, False

    def volume(self) -> int:
        """Bytes the store takes on disk (SQLite pages plus value files), as diskcache counts."""
        return int(self._cache.volume())

    def __len__(self) -> int:
        return len(self._cache)

    def clear(self) -> None:
        """Delete every entry."""
        self._cache.clear(retry=True)

    def close(self) -> None:
        self._cache.close()


_DEFAULT: tuple[Path, ExplanationStore] | None = None
_DEFAULT_LOCK = threading.Lock()


def default_store() -> ExplanationStore:
    """The process's store in the project's cache folder (opened on first use, and again
    if ``XAI_CACHE_DIR`` changed since)."""
    from xai_core.models.paths import cache_dir

    global _DEFAULT
    where = cache_dir()
    with _DEFAULT_LOCK:
        if _DEFAULT is None or _DEFAULT[0] != where:
            _DEFAULT = (where, ExplanationStore())
        return _DEFAULT[1]
