"""Causal metrics: deletion and insertion curves (Petsiuk, Das & Saenko, 2018, section 4.1).

Pixels are removed from the image (deletion) or added to a substrate (insertion) in order
of decreasing saliency, a fixed number of pixels per step, and the model's probability for
the class is recorded after each step. A faithful map makes the deletion curve fall fast
(low area under the curve) and the insertion curve rise fast (high area).

Two protocols (:data:`PROTOCOLS`, :func:`causal_curves`)
---------------------------------------------------------
The paper's words ("black" for deletion, "a blurred version of the image" for insertion)
and the authors' evaluation code (``evaluation.py`` of github.com/eclique/RISE) do not
describe the same experiment, so AUCs are only comparable under a named protocol:

``"lab"``
    This project's own: :func:`deletion_curve` and :func:`insertion_curve` with their
    defaults. Removed pixels become **black** (RGB 0, whatever the model's
    preprocessing); insertion starts from a Gaussian blur with sigma = 5 px at 224 px
    (scaled with the image) and mirrored borders; 100 steps whatever the image size.
``"rise-reference"``
    The authors' code. It perturbs the *normalised* tensor, so a hidden pixel is **0 in
    the model's input**: the ImageNet mean colour for caffe / torch preprocessing, grey
    127 for EfficientNet-Lite's ``(x - 127) / 128``, 127.5 for ``tf`` and black only for
    models that take raw or [0, 1] pixels (:func:`zero_input_rgb`). Insertion starts
    from the authors' blur of that normalised tensor: their ``gkern(11, 5)``
    (:func:`reference_kernel`: an impulse filtered by a sigma-5 Gaussian with mirrored
    borders and cut to 11 x 11, nearly flat: centre / corner = 1.14) applied with
    **zero padding** (so borders fade to the zero colour, not to a mirror image). Pixels
    are ranked as their ``argsort`` ranks them (equal saliencies in a fixed order, not at
    random), and both curves move **224 pixels per step** (224 steps at 224 x 224).

Why they differ: black is an extreme, out-of-distribution colour for a network trained
on mean-subtracted inputs, so deleting to black tends to destroy a prediction faster
than deleting to the mean colour; that lowers every deletion AUC (maps look better) and
rewards maps that pick high-contrast pixels. The reference protocol's "zero" is what the
network sees as "no signal". Its fixed-size blur is also weaker than the lab's blur on
images larger than 224 px. Rankings of methods usually agree; absolute AUCs do not, so
never compare numbers across protocols.
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

#: Deletion / insertion protocols of :func:`causal_curves`, with a one-line description.
PROTOCOLS = {
    "lab": "deletion to black, insertion from a sigma-5 (at 224 px) mirrored blur, 100 steps",
    "rise-reference": "RISE authors' code: hidden pixels are 0 in the model's normalised input, "
                      "insertion from their gkern(11, 5) zero-padded blur, argsort ranking, "
                      "224 pixels per step",
}
#: The RISE reference code's insertion blur, ``gkern(klen=11, nsig=5)``: kernel side and
#: sigma, in pixels.
REFERENCE_BLUR = (11, 5.0)
#: How far scipy's ``gaussian_filter`` (which ``gkern`` calls) reaches, in sigmas.
_SCIPY_TRUNCATE = 4.0
#: Tie orders of :func:`saliency_order`.
TIES = ("random", "argsort")
#: The RISE reference code's pixels per step.
REFERENCE_PIXELS_PER_STEP = 224


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


def saliency_order(saliency: np.ndarray, seed: int = 0, ties: str = "random") -> np.ndarray:
    """Pixel indices (flattened) by decreasing saliency.

    ``ties="random"`` (default) breaks ties at random by ``seed``: flat regions (LIME's
    superpixels, a constant map) then do not favour a corner of the image.
    ``ties="argsort"`` ranks as the RISE authors' evaluation code,
    ``np.flip(np.argsort(saliency))``: among equal values the larger flat index comes
    first (numpy's stable sort, so the order is the same on every machine; numpy's
    default sort may order ties otherwise on large arrays).
    """
    sal = np.asarray(saliency, dtype=np.float64)
    if sal.ndim != 2:
        raise ValueError(f"the saliency map must be 2-D (H, W); got shape {sal.shape}")
    if not np.all(np.isfinite(sal)):
        raise ValueError("the saliency map contains NaN or infinite values")
    if ties == "argsort":
        return np.argsort(sal.ravel(), kind="stable")[::-1]
    if ties != "random":
        raise ValueError(f"ties must be one of {', '.join(TIES)}; got {ties!r}")
    jitter = np.random.default_rng(seed).random(sal.size)
    return np.lexsort((jitter, -sal.ravel()))


def reference_kernel(side: int = REFERENCE_BLUR[0], sigma: float = REFERENCE_BLUR[1],
                     ) -> np.ndarray:
    """The RISE authors' blur kernel ``gkern(side, sigma)``: float64 (side, side), sum 1.

    Their code puts a 1 in the middle of a ``side x side`` array of zeros and smooths it
    with ``scipy.ndimage.gaussian_filter(inp, sigma)``: a Gaussian reaching 4 sigma
    (20 px for sigma = 5), normalised to sum 1, whose tails beyond the array are folded
    back by the mirrored border (``mode="reflect"``: ``d c b a | a b c d | d c b a``).
    With sigma = 5 on 11 px the result is nearly flat (centre / corner = 1.14, where a
    plain 11 x 11 Gaussian of sigma 5 has 2.72). Computed here from that formula, per
    axis (the impulse and the filter are separable).
    """
    side = check_int("side", side, 1)
    radius = int(_SCIPY_TRUNCATE * float(sigma) + 0.5)
    offsets = np.arange(-radius, radius + 1)
    weights = np.exp(-0.5 * (offsets / float(sigma)) ** 2)
    weights /= weights.sum()
    centre = side // 2
    axis = np.zeros(side)
    for i in range(side):
        pos = np.mod(i + offsets, 2 * side)  # the mirrored extension repeats every 2 * side
        pos = np.where(pos >= side, 2 * side - 1 - pos, pos)
        axis[i] = weights[pos == centre].sum()
    return np.outer(axis, axis)


def reference_blur(image: np.ndarray, zero_colour: tuple[float, float, float] | np.ndarray,
                   ) -> np.ndarray:
    """The RISE reference code's insertion start: float32 (H, W, 3) in [0, 255].

    The authors' kernel (:func:`reference_kernel`, 11 x 11, a fixed size in pixels)
    applied, as their ``conv2d(x, gkern(11, 5), padding=5)``, to the image *as the model
    sees it*, i.e. relative to the colour that is 0 in the model's input
    (``zero_colour``, see :func:`~xai_core.models.zero_input_rgb`), with zero padding:
    near the borders the blur fades towards ``zero_colour``.
    """
    img = check_image(image)
    zero = _check_colour(zero_colour)
    kernel = reference_kernel().astype(np.float32)
    # the kernel is positive and sums to 1, so the result stays between image and zero colour
    blurred = cv2.filter2D(img - zero, -1, kernel, borderType=cv2.BORDER_CONSTANT)
    return np.clip(blurred + zero, 0.0, 255.0).astype(np.float32)


def _check_colour(colour: tuple[float, float, float] | np.ndarray) -> np.ndarray:
    arr = np.asarray(colour, dtype=np.float32)
    if arr.shape != (3,) or not np.all(np.isfinite(arr)) or arr.min() < 0 or arr.max() > 255:
        raise ValueError(f"a colour must be three RGB values in [0, 255]; got {colour!r}")
    return arr


def _curve(kind: str, predict: PredictFn, image: np.ndarray, saliency: np.ndarray, target: int,
           steps: int, substrate: Substrate, batch_size: int, seed: int,
           progress: ProgressFn | None, pixels_per_step: int | None = None,
           ties: str = "random") -> CausalCurve:
    img = check_image(image)
    h, w = img.shape[:2]
    sal = np.asarray(saliency)
    if sal.shape != (h, w):
        raise ValueError(f"the saliency map must have the image's size {(h, w)}; got {sal.shape}")
    if pixels_per_step is None:
        steps = check_int("steps", steps, 1, h * w)
        per_step = math.ceil(h * w / steps)
    else:
        per_step = check_int("pixels_per_step", pixels_per_step, 1, h * w)
        steps = math.ceil(h * w / per_step)
    batch_size = check_int("batch_size", batch_size, 1)
    check_int("seed", seed, 0)
    check_int("target", target, 0)
    sub = substrate_image(img, substrate)
    ranks = np.empty(h * w, np.int64)
    ranks[saliency_order(sal, seed, ties)] = np.arange(h * w)
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
                   seed: int = 0, progress: ProgressFn | None = None,
                   pixels_per_step: int | None = None, ties: str = "random") -> CausalCurve:
    """Deletion curve: the class probability as the most salient pixels are removed first.

    Parameters
    ----------
    predict
        Black-box classifier: float32 (N, H, W, 3) RGB in [0, 255] -> (N, K) probabilities.
    image
        float32 (H, W, 3) RGB in [0, 255] at the classifier's input size.
    saliency
        (H, W) map; higher = more important. Ties are broken at random with ``seed``
        (or as the RISE authors' code with ``ties="argsort"``, see :func:`saliency_order`).
    target
        Class index.
    steps
        Number of steps; each removes ``ceil(H * W / steps)`` pixels (``steps + 1`` model
        evaluations, batched by ``batch_size``).
    substrate
        What removed pixels become: ``"black"`` (default: black in RGB), ``"blur"``,
        ``"mean"`` or an image array.
    pixels_per_step
        If given, a fixed number of pixels per step instead of ``steps`` (the last step
        may be partial): ``ceil(H * W / pixels_per_step)`` steps.

    Returns
    -------
    CausalCurve
        Fractions, scores and the area under the curve (lower = more faithful).
    """
    return _curve("deletion", predict, image, saliency, target, steps, substrate, batch_size,
                  seed, progress, pixels_per_step, ties)


def insertion_curve(predict: PredictFn, image: np.ndarray, saliency: np.ndarray, target: int, *,
                    steps: int = 100, substrate: Substrate = "blur", batch_size: int = 32,
                    seed: int = 0, progress: ProgressFn | None = None,
                    pixels_per_step: int | None = None, ties: str = "random") -> CausalCurve:
    """Insertion curve: the class probability as the most salient pixels are put back first.

    Starts from ``substrate`` (default a blurred copy of the image, sigma = 5 px at 224 px,
    the RISE paper's procedure) and inserts the image's pixels by decreasing saliency. Parameters
    as in :func:`deletion_curve`; a higher area under the curve is more faithful.
    """
    return _curve("insertion", predict, image, saliency, target, steps, substrate, batch_size,
                  seed, progress, pixels_per_step, ties)


def causal_curves(predict: PredictFn, image: np.ndarray, saliency: np.ndarray, target: int, *,
                  protocol: str = "lab",
                  zero_colour: tuple[float, float, float] | np.ndarray | None = None,
                  batch_size: int = 32, seed: int = 0) -> dict[str, CausalCurve]:
    """Deletion and insertion curves of one map under a named protocol.

    Parameters
    ----------
    predict, image, saliency, target, batch_size, seed
        As in :func:`deletion_curve`.
    protocol
        A key of :data:`PROTOCOLS` (see the module docstring): ``"lab"`` is exactly
        :func:`deletion_curve` and :func:`insertion_curve` with their defaults;
        ``"rise-reference"`` follows the RISE authors' evaluation code.
    zero_colour
        ``"rise-reference"`` only (required there): the RGB colour in [0, 255] that the
        model's preprocessing maps to 0, e.g.
        ``zero_input_rgb(classifier.preprocessing)``.

    Returns
    -------
    dict
        ``{"deletion": CausalCurve, "insertion": CausalCurve}``.

    Examples
    --------
    >>> from xai_core.models import zero_input_rgb  # doctest: +SKIP
    >>> curves = causal_curves(clf.predict, image, saliency, target,  # doctest: +SKIP
    ...                        protocol="rise-reference",
    ...                        zero_colour=zero_input_rgb(clf.preprocessing))
    """
    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown protocol {protocol!r}; choose one of: {', '.join(PROTOCOLS)}")
    if protocol == "lab":
        if zero_colour is not None:
            raise ValueError("zero_colour is for protocol='rise-reference' only; "
                             "the 'lab' protocol deletes to black")
        return {
            "deletion": deletion_curve(predict, image, saliency, target, batch_size=batch_size,
                                       seed=seed),
            "insertion": insertion_curve(predict, image, saliency, target,
                                         batch_size=batch_size, seed=seed),
        }
    if zero_colour is None:
        raise ValueError("protocol 'rise-reference' needs zero_colour, the colour that is 0 in "
                         "the model's input: zero_input_rgb(classifier.preprocessing)")
    img = check_image(image)
    zero = _check_colour(zero_colour)
    hidden = np.broadcast_to(zero, img.shape).astype(np.float32)
    start = reference_blur(img, zero)
    per_step = min(REFERENCE_PIXELS_PER_STEP, img.shape[0] * img.shape[1])
    return {
        "deletion": deletion_curve(predict, img, saliency, target, substrate=hidden,
                                   batch_size=batch_size, seed=seed, pixels_per_step=per_step,
                                   ties="argsort"),
        "insertion": insertion_curve(predict, img, saliency, target, substrate=start,
                                     batch_size=batch_size, seed=seed, pixels_per_step=per_step,
                                     ties="argsort"),
    }

