"""Where models and their derived files live on disk."""

from __future__ import annotations

import os
from pathlib import Path


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
