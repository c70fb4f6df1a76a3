"""Superpixel segmentation for LIME, computed once per image and setting.

Three scikit-image algorithms are offered: quickshift (lime's default), SLIC and
Felzenszwalb-Huttenlocher. :func:`segment` returns labels numbered 0 .. n-1 with
no gaps, which is what lime's perturbation code assumes, and keeps the last few
results in a small least-recently-used cache so that re-running an explanation
with another seed, colour or sample count does not segment the image again.

References
----------
Achanta et al. (2012), "SLIC Superpixels Compared to State-of-the-Art Superpixel
Methods", IEEE TPAMI 34(11).
Felzenszwalb & Huttenlocher (2004), "Efficient Graph-Based Image Segmentation", IJCV 59(2).
Vedaldi & Soatto (2008), "Quick Shift and Kernel Methods for Mode Seeking", ECCV.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from skimage.segmentation import felzenszwalb, quickshift, slic

from xai_core._common import check_image, check_int

__all__ = [
    "SEGMENTATION_METHODS",
    "clear_segment_cache",
    "segment",
    "segment_cache_info",
    "segmentation_defaults",
]

#: The segmentation methods :func:`segment` knows, in the order a menu should show them.
SEGMENTATION_METHODS: tuple[str, ...] = ("quickshift", "slic", "felzenszwalb")

# Defaults for an image scaled to [0, 1] (that is what the algorithms receive).
# quickshift: lime's own defaults. slic: about 50 compact superpixels.
# felzenszwalb: roughly 60-80 regions on a 224x224 photograph.
_DEFAULTS: dict[str, dict[str, Any]] = {
    "quickshift": {"kernel_size": 4, "max_dist": 200, "ratio": 0.2},
    "slic": {"n_segments": 50, "compactness": 10.0, "sigma": 1.0},
    "felzenszwalb": {"scale": 200.0, "sigma": 0.8, "min_size": 100},
}

# The keyword arguments a user may set, per method. The image, the channel axis and the
# random generator are set here; array-valued options (mask, spacing) are left out.
_ALLOWED: dict[str, tuple[str, ...]] = {
    "quickshift": ("kernel_size", "max_dist", "ratio", "sigma", "convert2lab"),
    "slic": (
        "n_segments",
        "compactness",
        "max_num_iter",
        "sigma",
        "convert2lab",
        "enforce_connectivity",
        "min_size_factor",
        "max_size_factor",
        "slic_zero",
    ),
    "felzenszwalb": ("scale", "sigma", "min_size"),
}


def _run_quickshift(image: np.ndarray, params: dict[str, Any], seed: int) -> np.ndarray:
    return quickshift(image, rng=seed, channel_axis=-1, **params)


def _run_slic(image: np.ndarray, params: dict[str, Any], seed: int) -> np.ndarray:
    return slic(image, start_label=0, channel_axis=-1, **params)


def _run_felzenszwalb(image: np.ndarray, params: dict[str, Any], seed: int) -> np.ndarray:
    return felzenszwalb(image, channel_axis=-1, **params)


# Looked up at call time, so tests can swap in a counting wrapper.
_ALGORITHMS: dict[str, Callable[[np.ndarray, dict[str, Any], int], np.ndarray]] = {
    "quickshift": _run_quickshift,
    "slic": _run_slic,
    "felzenszwalb": _run_felzenszwalb,
}
# Only quickshift uses randomness (to break ties); for the others the seed is not part
# of the cache key, so changing the seed does not segment the image again.
_SEEDED = frozenset({"quickshift"})

_CACHE_MAXSIZE = 32
_cache: OrderedDict[tuple[str, str, str, int], np.ndarray] = OrderedDict()
_cache_lock = threading.Lock()
_cache_stats = {"hits": 0, "misses": 0}


def _check_method(method: object) -> str:
    """Return ``method`` as a known segmentation name (case-insensitive), or raise ``ValueError``."""
    name = method.strip().lower() if isinstance(method, str) else None
    if name not in _DEFAULTS:
        allowed = ", ".join(repr(m) for m in SEGMENTATION_METHODS)
        raise ValueError(f"segmentation must be one of {allowed}; got {method!r}")
    return name


def segmentation_defaults(method: str) -> dict[str, Any]:
    """Return the default parameters of a segmentation method (a new dict each call).

    Parameters
    ----------
    method : str
        One of :data:`SEGMENTATION_METHODS`.

    Returns
    -------
    dict
        Keyword arguments for the scikit-image function, tuned for an RGB image
        scaled to [0, 1]; quickshift's are lime's (``kernel_size=4, max_dist=200,
        ratio=0.2``).
    """
    return dict(_DEFAULTS[_check_method(method)])


def _plain(value: object) -> object:
    """Turn a numpy scalar into the matching Python scalar; leave the rest alone."""
    return value.item() if isinstance(value, np.generic) else value


def _merge_params(method: str, params: Mapping[str, Any] | None) -> dict[str, Any]:
    """Merge ``params`` over the defaults of ``method``, or raise ``ValueError``.

    Keys must be options of the scikit-image function and values plain numbers
    or booleans, so the result is JSON-serialisable and usable as a cache key.
    """
    method = _check_method(method)
    merged = dict(_DEFAULTS[method])
    if params is None:
        return merged
    if not isinstance(params, Mapping):
        raise ValueError(
            f"segmentation_params must be a dict of keyword arguments; got {type(params).__name__}"
        )
    allowed = _ALLOWED[method]
    for key, value in params.items():
        if key not in allowed:
            raise ValueError(
                f"{key!r} is not a parameter of {method} segmentation; "
                f"allowed: {', '.join(allowed)}"
            )
        value = _plain(value)
        if not isinstance(value, (bool, int, float)) or (
            isinstance(value, float) and not np.isfinite(value)
        ):
            raise ValueError(
                f"segmentation parameter {key!r} must be a finite number or a boolean; got {value!r}"
            )
        merged[key] = value
    return merged


def _image_digest(image: np.ndarray) -> str:
    h = hashlib.blake2b(digest_size=16)
    h.update(repr(image.shape).encode())
    h.update(np.ascontiguousarray(image, dtype=np.float32).tobytes())
    return h.hexdigest()


def _relabel(labels: np.ndarray) -> np.ndarray:
    """Number the labels 0 .. n-1 without gaps, keeping their order; int32 (H, W)."""
    _, inverse = np.unique(labels, return_inverse=True)
    return inverse.reshape(labels.shape).astype(np.int32)


def segment(
    image: np.ndarray,
    method: str = "quickshift",
    params: Mapping[str, Any] | None = None,
    seed: int = 0,
) -> np.ndarray:
    """Split an image into superpixels, reusing a cached result when there is one.

    Parameters
    ----------
    image : np.ndarray
        float32 (or any real dtype) array of shape (H, W, 3), RGB values in [0, 255].
        It is scaled to [0, 1] before segmenting, which is how scikit-image treats
        a ``uint8`` image (and so how lime segments one).
    method : str, default "quickshift"
        ``"quickshift"``, ``"slic"`` or ``"felzenszwalb"`` (case-insensitive).
    params : dict, optional
        Keyword arguments of the scikit-image function, merged over
        :func:`segmentation_defaults`. Values must be numbers or booleans.
    seed : int, default 0
        Seed of quickshift's tie-breaking noise, in [0, 2**32 - 1]; SLIC and
        Felzenszwalb are deterministic and ignore it.

    Returns
    -------
    np.ndarray
        int32 array of shape (H, W): the superpixel of each pixel, numbered
        0 .. n-1 with every number used. A fresh copy: changing it does not
        change the cache.

    Raises
    ------
    ValueError
        For an invalid image, an unknown method or parameter, or a parameter
        value the algorithm rejects.

    Notes
    -----
    Results are kept in a least-recently-used cache of 32 entries, keyed by a hash
    of the image's pixels, the method, the merged parameters and (for quickshift)
    the seed. See :func:`segment_cache_info` and :func:`clear_segment_cache`.

    Examples
    --------
    >>> img = np.zeros((32, 32, 3), np.float32); img[:, 16:] = 255
    >>> labels = segment(img, "slic", {"n_segments": 4})
    >>> labels.shape, int(labels.min()), int(labels.max()) + 1
    ((32, 32), 0, 4)
    """
    arr = check_image(image)
    method = _check_method(method)
    merged = _merge_params(method, params)
    seed = check_int("seed", seed, 0, 2**32 - 1)
    key_seed = seed if method in _SEEDED else 0
    key = (_image_digest(arr), method, json.dumps(merged, sort_keys=True), key_seed)

    with _cache_lock:
        cached = _cache.get(key)
        if cached is not None:
            _cache.move_to_end(key)
            _cache_stats["hits"] += 1
            return cached.copy()
        _cache_stats["misses"] += 1

    scaled = arr.astype(np.float64) / 255.0
    try:
        raw = _ALGORITHMS[method](scaled, dict(merged), seed)
    except (ValueError, TypeError, ZeroDivisionError) as exc:
        raise ValueError(f"{method} segmentation failed with parameters {merged}: {exc}") from exc
    labels = _relabel(np.asarray(raw))
    if labels.shape != arr.shape[:2]:
        raise ValueError(
            f"{method} segmentation returned shape {labels.shape} for a "
            f"{arr.shape[1]}x{arr.shape[0]} image"
        )
    labels.setflags(write=False)

    with _cache_lock:
        _cache[key] = labels
        _cache.move_to_end(key)
        while len(_cache) > _CACHE_MAXSIZE:
            _cache.popitem(last=False)
    return labels.copy()


def segment_cache_info() -> dict[str, int]:
    """Return the segmentation cache's counters: ``hits``, ``misses``, ``size``, ``maxsize``."""
    with _cache_lock:
        return {**_cache_stats, "size": len(_cache), "maxsize": _CACHE_MAXSIZE}


def clear_segment_cache() -> None:
    """Empty the segmentation cache and reset its counters."""
    with _cache_lock:
        _cache.clear()
        _cache_stats["hits"] = 0
        _cache_stats["misses"] = 0
