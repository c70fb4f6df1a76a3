"""Private helpers shared by the explainers: input checks, predict wrappers.

Nothing here is public API; the explainers and the benchmark import it.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable

import numpy as np

#: ``predict(images) -> probabilities``: float32 (N, H, W, 3) RGB in [0, 255] to (N, K).
PredictFn = Callable[[np.ndarray], np.ndarray]
#: ``progress(done, total)``, called as work finishes.
ProgressFn = Callable[[int, int], None]


def check_image(image: np.ndarray) -> np.ndarray:
    """Return ``image`` as a float32 (H, W, 3) array in [0, 255], or raise ``ValueError``.

    The caller's array is never modified; a copy is made only when the dtype changes.
    """
    arr = np.asarray(image)
    if arr.ndim != 3 or arr.shape[2] != 3:
        raise ValueError(
            f"the image must be an RGB array of shape (height, width, 3); got shape {arr.shape}"
        )
    if arr.shape[0] < 2 or arr.shape[1] < 2:
        raise ValueError(f"the image is too small to explain: {arr.shape[1]}x{arr.shape[0]} pixels")
    check_pixel_scale(arr)
    arr = arr.astype(np.float32, copy=False)
    if not np.all(np.isfinite(arr)):
        raise ValueError("the image contains NaN or infinite values")
    lo, hi = float(arr.min()), float(arr.max())
    if lo < 0.0 or hi > 255.0:
        raise ValueError(
            f"pixel values must lie in [0, 255] (RGB, not preprocessed); got [{lo:.3g}, {hi:.3g}]"
        )
    return arr


def check_pixel_scale(arr: np.ndarray) -> None:
    """Refuse a boolean image, and a float image whose values all lie in (0, 1].

    Both are accepted by every numeric step and give nonsense: a [0, 1] image is nearly
    black on the [0, 255] scale, so hiding parts of it changes almost nothing (a RISE map
    spread of 1e-6). Scaling it silently would guess: a truly dark photo would be
    brightened 255 times. An all-black image (all zeros) is accepted.
    """
    if arr.dtype == np.bool_:
        raise ValueError("the image is an array of True/False values (a mask?), not an RGB "
                         "image: give RGB values in [0, 255]")
    if arr.dtype.kind == "f" and arr.size:
        finite = arr[np.isfinite(arr)]
        hi = float(finite.max()) if finite.size else 0.0
        if 0.0 < hi <= 1.0 and float(finite.min()) >= 0.0:
            raise ValueError(
                f"the image's values all lie between 0 and 1 (largest {hi:.3g}), but images "
                "are RGB in [0, 255]: multiply it by 255 first (image * 255)"
            )


def check_int(name: str, value: object, low: int, high: int | None = None) -> int:
    """Return ``value`` as an int in [low, high], or raise ``ValueError`` naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be a whole number; got {value!r}")
    v = int(value)
    if v < low or (high is not None and v > high):
        bound = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise ValueError(f"{name} must be {bound}; got {v}")
    return v


class ScoresNotProbabilitiesWarning(UserWarning):
    """``predict`` returned scores that are not probabilities (e.g. raw logits)."""


#: How far a row of probabilities may sum from 1 (float32 softmax sums are within 1e-5).
PROBABILITY_SUM_TOLERANCE = 1e-3


def check_probabilities(out: object, n: int) -> np.ndarray:
    """Validate one ``predict`` result for a batch of ``n`` images; return float32 (n, K).

    Raises ``ValueError`` for a wrong shape and for NaN or infinite scores (naming how
    many and where the first one is), so that no explanation or metric is silently
    computed from them.
    """
    try:
        arr = np.asarray(out, dtype=np.float32)
    except (TypeError, ValueError):
        raise ValueError(
            f"predict must return an array of numbers; it returned a {type(out).__name__}"
        ) from None
    if arr.ndim != 2 or arr.shape[0] != n:
        raise ValueError(
            f"predict must return an array of shape (n_images, n_classes); for {n} images "
            f"it returned shape {arr.shape}"
        )
    bad = ~np.isfinite(arr)
    if bad.any():
        rows, cols = np.nonzero(bad)
        kinds = sorted({"NaN" if np.isnan(arr[r, c]) else "infinite"
                        for r, c in zip(rows[:100], cols[:100], strict=True)})
        raise ValueError(
            f"predict returned NaN or infinite scores ({' and '.join(kinds)}: "
            f"{int(bad.sum())} of {arr.size} scores, in {len(set(rows.tolist()))} of {n} "
            f"images; first: image {int(rows[0])}, class {int(cols[0])}). The model does not "
            "give usable scores for these images, so nothing can be explained or measured "
            "with it"
        )
    return arr


def scores_note(scores: np.ndarray) -> str | None:
    """A sentence saying why finite (n, K) scores are not probabilities, or ``None``.

    Probabilities lie in [0, 1] and each row sums to 1 (within
    :data:`PROBABILITY_SUM_TOLERANCE`); a model that returns logits does neither.
    """
    arr = np.asarray(scores, dtype=np.float64)
    if arr.size == 0:
        return None
    lo, hi = float(arr.min()), float(arr.max())
    sums = arr.sum(axis=1)
    worst = float(sums[np.argmax(np.abs(sums - 1.0))])
    if lo >= 0.0 and hi <= 1.0 and abs(worst - 1.0) <= PROBABILITY_SUM_TOLERANCE:
        return None
    return (
        f"the model's scores are not probabilities (values in [{lo:.3g}, {hi:.3g}], a row "
        f"sums to {worst:.3g}): maps and curves are in the model's own units. If it "
        "outputs logits, load it with outputs_logits=True (command line: --logits; app: "
        "'It outputs logits') to apply a softmax"
    )


def flag_scores(scores: np.ndarray) -> str | None:
    """:func:`scores_note` of ``scores``, also issued as a :class:`ScoresNotProbabilitiesWarning`.

    Call it once per explanation or curve (on the first batch), so it is flagged once.
    """
    note = scores_note(scores)
    if note is not None:
        warnings.warn(note, ScoresNotProbabilitiesWarning, stacklevel=3)
    return note


def check_target(target: object, n_classes: int) -> int:
    """Return ``target`` as a class index valid for ``n_classes`` classes."""
    return check_int("target", target, 0, n_classes - 1)


class TimedPredict:
    """Wrap a predict function, counting calls and images and timing the time spent inside it.

    Used by the benchmark (overhead = wall time / ``seconds``) and by explainers that
    report progress in images evaluated.
    """

    def __init__(self, predict: PredictFn, progress: ProgressFn | None = None, total: int = 0):
        self._predict = predict
        self._progress = progress
        self._total = total
        self.calls = 0
        self.images = 0
        self.seconds = 0.0

    def __call__(self, images: np.ndarray) -> np.ndarray:
        t0 = time.perf_counter()
        out = self._predict(images)
        self.seconds += time.perf_counter() - t0
        self.calls += 1
        self.images += len(images)
        if self._progress is not None:
            self._progress(min(self.images, self._total or self.images), self._total or self.images)
        return out
