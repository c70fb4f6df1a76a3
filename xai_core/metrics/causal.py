"""Causal metrics: deletion and insertion curves (Petsiuk, Das & Saenko, 2018, section 4.1).

Pixels are removed from the image (deletion) or added to a substrate (insertion) in order
of decreasing saliency, a fixed number of pixels per step, and the model's probability for
the class is recorded after each step. A faithful map makes the deletion curve fall fast
(low area under the curve) and the insertion curve rise fast (high area).

The procedure is the paper's; the substrates (what a removed pixel becomes) are this
project's and differ from the authors' evaluation code. Here, by default, a deleted pixel
is black in RGB (0 before the model's preprocessing) and insertion starts from a Gaussian
blur of the image with sigma = 5 px at 224 px (scaled with the image). The authors' code
sets deleted pixels to 0 in the model's *normalised* input, which for caffe/torch
preprocessing is the dataset's mean colour, not black, and blurs with an 11 x 11 kernel
of sigma 5 and zero padding. AUCs from the two protocols are therefore not comparable
number for number.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np

from xai_core._common import (
    PredictFn,
    ProgressFn,
    check_image,
    check_int,
    check_probabilities,
    check_target,
    flag_scores,
)

Substrate = Literal["black", "blur", "mean"] | np.ndarray
#: Gaussian blur of the insertion substrate, in pixels at 224 px (RISE paper: sigma = 5).
BLUR_SIGMA_AT_224 = 5.0


@dataclass(frozen=True, eq=False)
class CausalCurve:
    """A deletion or insertion curve.

    Attributes
    ----------
    kind
        ``"deletion"`` or ``"insertion"``.
    fractions
        float64 (steps + 1,) fraction of pixels removed (deletion) or inserted (insertion),
        from 0 to 1.
    scores
        float64 (steps + 1,) the model's probability for ``target`` at each fraction.
    auc
        Area under the curve (trapezoid rule over ``fractions``), in [0, 1] for probabilities.
        Lower is better for deletion, higher for insertion.
    target
        The class scored.
    """

    kind: str
    fractions: np.ndarray
    scores: np.ndarray
    auc: float
    target: int


def substrate_image(image: np.ndarray, substrate: Substrate) -> np.ndarray:
    """The image that removed pixels become: float32 (H, W, 3) in [0, 255].

    ``"black"``: zeros; ``"blur"``: a Gaussian blur of the image with sigma = 5 px at
    224 px (scaled with the image's longer side); ``"mean"``: the image's mean colour; or
    an explicit array of the image's shape.
    """
    img = check_image(image)
    if isinstance(substrate, np.ndarray):
        sub = check_image(substrate)
        if sub.shape != img.shape:
            raise ValueError(f"the substrate must have the image's shape {img.shape}; got {sub.shape}")
        return sub
    if substrate == "black":
        return np.zeros_like(img)
    if substrate == "blur":
        sigma = BLUR_SIGMA_AT_224 * max(img.shape[:2]) / 224.0
        return cv2.GaussianBlur(img, (0, 0), sigmaX=sigma, sigmaY=sigma,
                                borderType=cv2.BORDER_REFLECT)
    if substrate == "mean":
        return np.broadcast_to(img.mean(axis=(0, 1)), img.shape).astype(np.float32)
    raise ValueError(f"substrate must be 'black', 'blur', 'mean' or an image array; got {substrate!r}")


def saliency_order(saliency: np.ndarray, seed: int = 0) -> np.ndarray:
    """Pixel indices (flattened) by decreasing saliency; ties broken at random by ``seed``.

    Random tie-breaking keeps flat regions (e.g. LIME's superpixels, or a constant map)
    from favouring the top-left corner of the image.
    """
    sal = np.asarray(saliency, dtype=np.float64)
    if sal.ndim != 2:
        raise ValueError(f"the saliency map must be 2-D (H, W); got shape {sal.shape}")
    if not np.all(np.isfinite(sal)):
        raise ValueError("the saliency map contains NaN or infinite values")
    jitter = np.random.default_rng(seed).random(sal.size)
    return np.lexsort((jitter, -sal.ravel()))


def _curve(kind: str, predict: PredictFn, image: np.ndarray, saliency: np.ndarray, target: int,
           steps: int, substrate: Substrate, batch_size: int, seed: int,
           progress: ProgressFn | None) -> CausalCurve:
    img = check_image(image)
    h, w = img.shape[:2]
    sal = np.asarray(saliency)
    if sal.shape != (h, w):
        raise ValueError(f"the saliency map must have the image's size {(h, w)}; got {sal.shape}")
    steps = check_int("steps", steps, 1, h * w)
    batch_size = check_int("batch_size", batch_size, 1)
    check_int("seed", seed, 0)
    check_int("target", target, 0)
    sub = substrate_image(img, substrate)
    ranks = np.empty(h * w, np.int64)
    ranks[saliency_order(sal, seed)] = np.arange(h * w)
    per_step = math.ceil(h * w / steps)
    counts = np.minimum(np.arange(steps + 1) * per_step, h * w)
    start, end = (img, sub) if kind == "deletion" else (sub, img)
    start_flat, end_flat = start.reshape(1, h * w, 3), end.reshape(1, h * w, 3)
    scores = np.empty(steps + 1, np.float64)
    for i in range(0, steps + 1, batch_size):
        k = counts[i : i + batch_size]
        changed = ranks[None, :] < k[:, None]  # (b, HW): pixels switched to `end`
        batch = np.where(changed[..., None], end_flat, start_flat).reshape(-1, h, w, 3)
        probs = check_probabilities(predict(batch.astype(np.float32, copy=False)), len(k))
        if i == 0:
            target = check_target(target, probs.shape[1])
            flag_scores(probs)
        scores[i : i + len(k)] = probs[:, target]
        if progress is not None:
            progress(min(i + batch_size, steps + 1), steps + 1)
    fractions = counts / float(h * w)
    auc = float(np.trapezoid(scores, fractions))
    return CausalCurve(kind, fractions, scores, auc, int(target))


def deletion_curve(predict: PredictFn, image: np.ndarray, saliency: np.ndarray, target: int, *,
                   steps: int = 100, substrate: Substrate = "black", batch_size: int = 32,
                   seed: int = 0, progress: ProgressFn | None = None) -> CausalCurve:
    """Deletion curve: the class probability as the most salient pixels are removed first.

    Parameters
    ----------
    predict
        Black-box classifier: float32 (N, H, W, 3) RGB in [0, 255] -> (N, K) probabilities.
    image
        float32 (H, W, 3) RGB in [0, 255] at the classifier's input size.
    saliency
        (H, W) map; higher = more important. Ties are broken at random with ``seed``.
    target
        Class index.
    steps
        Number of steps; each removes ``ceil(H * W / steps)`` pixels (``steps + 1`` model
        evaluations, batched by ``batch_size``).
    substrate
        What removed pixels become: ``"black"`` (default: black in RGB), ``"blur"``,
        ``"mean"`` or an image array.

    Returns
    -------
    CausalCurve
        Fractions, scores and the area under the curve (lower = more faithful).
    """
    return _curve("deletion", predict, image, saliency, target, steps, substrate, batch_size,
                  seed, progress)


def insertion_curve(predict: PredictFn, image: np.ndarray, saliency: np.ndarray, target: int, *,
                    steps: int = 100, substrate: Substrate = "blur", batch_size: int = 32,
                    seed: int = 0, progress: ProgressFn | None = None) -> CausalCurve:
    """Insertion curve: the class probability as the most salient pixels are put back first.

    Starts from ``substrate`` (default a blurred copy of the image, sigma = 5 px at 224 px,
    the RISE paper's procedure) and inserts the image's pixels by decreasing saliency. Parameters
    as in :func:`deletion_curve`; a higher area under the curve is more faithful.
    """
    return _curve("insertion", predict, image, saliency, target, steps, substrate, batch_size,
                  seed, progress)
