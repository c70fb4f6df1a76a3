"""RISE: Randomized Input Sampling for Explanation (Petsiuk, Das & Saenko, BMVC 2018).

The saliency of pixel x for class c is the expected score of c over random masks M,
conditioned on x being kept::

    S_c(x) = E[f_c(I * M) | M(x) = 1] ~= 1 / (N p) * sum_i f_c(I * M_i) M_i(x)

Masks are applied to the RGB image in [0, 255] *before* the classifier's own
preprocessing, so a masked-out pixel is black.
"""

from __future__ import annotations

import numpy as np

from xai_core._common import (
    PredictFn,
    ProgressFn,
    check_image,
    check_int,
    check_probabilities,
    check_target,
)
from xai_core.masks import plan_masks

#: Largest number of masks accepted.
MAX_MASKS = 20_000


def check_rise_params(n_masks: int, mask_size: int, keep_prob: float, batch_size: int) -> None:
    """Raise ``ValueError`` with a readable message when a RISE parameter is out of range."""
    check_int("n_masks", n_masks, 1, MAX_MASKS)
    check_int("mask_size", mask_size, 2, 64)
    check_int("batch_size", batch_size, 1, 4096)
    if isinstance(keep_prob, bool) or not isinstance(keep_prob, (int, float, np.floating)):
        raise ValueError(f"keep_prob must be a number strictly between 0 and 1; got {keep_prob!r}")
    if not 0.0 < float(keep_prob) < 1.0:
        raise ValueError(f"keep_prob must be strictly between 0 and 1; got {keep_prob}")


def explain_rise(
    predict: PredictFn,
    image: np.ndarray,
    target: int,
    *,
    n_masks: int = 1000,
    mask_size: int = 7,
    keep_prob: float = 0.5,
    batch_size: int = 32,
    seed: int = 0,
    progress: ProgressFn | None = None,
) -> np.ndarray:
    """RISE saliency map of ``image`` for class ``target``.

    Parameters
    ----------
    predict
        Black-box classifier: float32 (N, H, W, 3) RGB in [0, 255] -> (N, K) scores
        (probabilities). Any callable works, e.g. :meth:`Classifier.predict`.
    image
        float32 (H, W, 3) RGB in [0, 255], already at the classifier's input size.
    target
        Class index in [0, K) to explain.
    n_masks
        Number of random masks N (1 to 20000). More masks give a smoother, more stable map.
    mask_size
        Grid size s (2 to 64): the masks' resolution before upsampling. Small s finds
        large regions; large s finer detail (and needs more masks).
    keep_prob
        Probability p in (0, 1) that a grid cell is kept (shows the image).
    batch_size
        Masked images per ``predict`` call. The map does not depend on it.
    seed
        Seed of the only random generator used: the same seed gives the same map.
    progress
        Called as ``progress(done, total)`` in masks after each batch.

    Returns
    -------
    np.ndarray
        float32 (H, W) saliency; values are expected scores, roughly in [0, 1] for
        probabilities (higher = more important for ``target``).

    Raises
    ------
    ValueError
        On an invalid image, parameter, target, or a ``predict`` result of the wrong shape.

    Examples
    --------
    >>> sal = explain_rise(clf.predict, clf.prepare(img), target=281, n_masks=500)  # doctest: +SKIP
    """
    img = check_image(image)
    check_rise_params(n_masks, mask_size, keep_prob, batch_size)
    check_int("seed", seed, 0)
    check_int("target", target, 0)
    h, w = img.shape[:2]
    plan = plan_masks(n_masks, mask_size, float(keep_prob), (h, w), np.random.default_rng(seed))
    total = np.zeros(h * w, np.float64)
    for start in range(0, n_masks, batch_size):
        stop = min(start + batch_size, n_masks)
        masks = plan.render(start, stop)
        scores = check_probabilities(predict(img[None] * masks[..., None]), stop - start)
        if start == 0:
            target = check_target(target, scores.shape[1])
        total += scores[:, target].astype(np.float64) @ masks.reshape(stop - start, -1)
        if progress is not None:
            progress(stop, n_masks)
    return (total / (n_masks * float(keep_prob))).reshape(h, w).astype(np.float32)
