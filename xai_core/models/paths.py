"""Where models and their derived files live on disk."""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import stat
import tempfile
from pathlib import Path

log = logging.getLogger(__name__)


def cache_dir() -> Path:
    """Folder for converted models: ``$XAI_CACHE_DIR`` or ``~/.cache/saliency-lab``."""
    env = os.environ.get("XAI_CACHE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "saliency-lab"


def keras_home() -> str:
    """Keras' folder (``$KERAS_HOME`` or ``~/.keras``); downloaded weights go to its ``models/``."""
    try:
        from keras.src.backend.config import keras_home as _keras_home

        return _keras_home()
    except ImportError:  # private API moved: fall back to Keras' documented default
        return os.environ.get("KERAS_HOME", os.path.join(os.path.expanduser("~"), ".keras"))


# --- a cache that only this user can change ---------------------------------------------

#: Bump when the sidecar format changes.
_SIDECAR_FORMAT = 1


def _unsafe_reason(st: os.stat_result, what: str) -> str | None:
    if os.name != "posix":  # no owners or permission bits to read (Windows: ACLs)
        return None
    if st.st_uid != os.getuid():
        return f"the {what} belongs to another user"
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return f"other users can write to the {what}"
    return None


def private_cache_dir(sub: str = "") -> tuple[Path | None, str]:
    """:func:`cache_dir` (or its subfolder ``sub``), if only the current user can change it.

    The folder is created private (mode 0700) when missing. A folder that belongs to
    another user or that other users can write to is not used: anyone who can write
    there could plant a model that answers differently. Nothing is cached then.

    Returns
    -------
    folder, note
        The folder, or ``None`` with a note saying (without any path) why no cache is used.
    """
    folder = cache_dir() / sub if sub else cache_dir()
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        for path in (folder, *([folder.parent] if sub else [])):
            reason = _unsafe_reason(path.stat(), "cache folder")
            if reason is not None:
                log.warning("not using the cache folder %s: %s", path, reason)
                return None, f"no cache used: {reason} (set XAI_CACHE_DIR to a private folder)"
    except OSError as exc:
        log.info("cache folder %s unusable: %s", folder, exc)
        return None, "no cache used: the cache folder cannot be created or read"
    return folder, ""


def file_digest(path: Path | str, chunk: int = 1 << 20) -> str:
    """SHA-256 of a file's bytes, as hex."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".json")


def record_cache_file(path: Path, source: str) -> None:
    """Bind a just-written cache file to what produced it.

    Writes ``<file>.json`` with ``source`` (a digest of everything the file was made
    from) and the file's own SHA-256; :func:`verified_cache_file` checks both.
    Failures are logged and ignored (the cache only saves time).
    """
    side = _sidecar(path)
    try:
        record = {"format": _SIDECAR_FORMAT, "source": source, "sha256": file_digest(path)}
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=side.name, suffix=".part")
        with os.fdopen(fd, "w") as f:
            json.dump(record, f)
        os.replace(tmp, side)
    except OSError as exc:
        log.info("could not record the cache file %s: %s", path, exc)


def verified_cache_file(path: Path, source: str) -> bool:
    """Whether ``path`` is a cache file this user wrote from ``source``, unchanged since.

    A file that fails any check (no record, another source, other bytes, another owner,
    writable by others, not a plain file) is deleted with its record, so it is rebuilt
    rather than kept.
    """
    side = _sidecar(path)
    if not path.exists() and not side.exists():
        return False
    try:
        for p in (path, side):
            st = os.lstat(p)
            if not stat.S_ISREG(st.st_mode) or _unsafe_reason(st, "cache file") is not None:
                raise ValueError(f"{p.name} is not a private plain file")
        if side.stat().st_size > 4096:
            raise ValueError("record too large")
        record = json.loads(side.read_text())
        if (not isinstance(record, dict) or record.get("format") != _SIDECAR_FORMAT
                or record.get("source") != source or record.get("sha256") != file_digest(path)):
            raise ValueError("record does not match")
    except (OSError, ValueError) as exc:
        log.info("cache file %s rejected (%s): rebuilding it", path, exc)
        discard_cache_file(path)
        return False
    return True


def discard_cache_file(path: Path) -> None:
    """Delete a cache file and its record (missing files are fine)."""
    for p in (path, _sidecar(path)):
        with contextlib.suppress(OSError):
            p.unlink()
