"""LIME for image classifiers: which superpixels raise or lower one class's score.

LIME (Ribeiro, Singh & Guestrin, 2016) splits the image into superpixels, asks the
model about many copies of the image with random subsets of superpixels hidden,
and fits a weighted linear model from "which superpixels were visible" to the
model's probability for the class. Each superpixel's coefficient is its weight.

This module wraps the ``lime`` package's :class:`lime.lime_image.LimeImageExplainer`
and fixes what users trip over:

* one ``seed`` makes the whole result reproducible (lime's ``random_seed`` seeds
  only the segmentation; here the explainer's ``random_state`` is seeded too);
* any target class can be explained, not only the model's top labels;
* hidden superpixels can be filled with their mean colour, a blurred copy of the
  image or any colour (lime only knows the mean or one value);
* the segmentation is computed once and cached (:func:`xai_core.explainers.lime.segmentation.segment`);
* the perturbed images are built a batch at a time with numpy instead of lime's
  per-image Python loop, which matters once the model is fast. The random draws
  are lime's own, so the images (and the result) are the ones lime would produce;
* parameters and the model's output are checked with messages that say what is allowed.

The local linear model, its kernel and the feature selection are lime's
(:meth:`lime.lime_base.LimeBase.explain_instance_with_data`).

Anytime LIME
------------
With ``stop_at_r`` the perturbed images are evaluated batch by batch (the samples are
lime's random draws for ``num_samples``, which becomes the cap) and every
``check_every`` samples (from 8 x ``check_every`` on, about four checks per doubling of
the budget, as for RISE) the samples are split into R = 2 interleaved, independent
replicates (sample i in replicate i % 2); lime's local model is fitted on each, and
their agreement bounds the correlation of the map fitted on all samples with the map
of infinitely many samples of the same segmentation
(:func:`~xai_core.stats.replicate_r`, pixels weighted by superpixel
area, the error rate spent over the checks as for RISE). The run stops at the first
check where that lower bound reaches ``stop_at_r``; the map is lime's fit on the samples
used, i.e. the map ``num_samples=n`` would give with the same seed's draws.

Reference
---------
Ribeiro, M. T., Singh, S. & Guestrin, C. (2016). "Why Should I Trust You?":
Explaining the Predictions of Any Classifier. Proceedings of the 22nd ACM SIGKDD
International Conference on Knowledge Discovery and Data Mining, 1135-1144.
https://arxiv.org/abs/1602.04938
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import cv2
import numpy as np
import sklearn.metrics
from lime.lime_image import LimeImageExplainer

from xai_core._common import (
    PredictFn,
    ProgressFn,
    TimedPredict,
    check_image,
    check_int,
    check_probabilities,
    flag_scores,
)
from xai_core.explainers.base import Explanation, budget_note, check_stop_at_r
from xai_core.explainers.lime.segmentation import _check_method, _merge_params, segment
from xai_core.stats import STOP_ALPHA, is_check, look_alpha, look_index, replicate_r

__all__ = ["HIDE_COLORS", "LimeFrame", "LimeResult", "blur_sigma", "explain_lime",
           "hidden_image"]

#: Colour names accepted by ``hide_color``, as RGB values in [0, 255].
HIDE_COLORS: Mapping[str, tuple[float, float, float]] = MappingProxyType(
    {
        "black": (0.0, 0.0, 0.0),
        "white": (255.0, 255.0, 255.0),
        "grey": (128.0, 128.0, 128.0),
        "gray": (128.0, 128.0, 128.0),
        "red": (255.0, 0.0, 0.0),
        "green": (0.0, 255.0, 0.0),
        "blue": (0.0, 0.0, 255.0),
        "yellow": (255.0, 255.0, 0.0),
        "cyan": (0.0, 255.0, 255.0),
        "magenta": (255.0, 0.0, 255.0),
    }
)

#: lime's default width of the exponential kernel on cosine distances.
_KERNEL_WIDTH = 0.25
#: Bounds on the number of perturbed samples.
_MIN_SAMPLES, _MAX_SAMPLES = 10, 20000
#: Most images per ``predict`` call. Each costs LIME about 13 bytes per pixel while the
#: batch is built (its float32 copy and a hidden-pixel mask): 0.62 MB at 224 x 224
#: (measured: 0.9 GB peak at 1024), so 1024 images take about 0.65 GB at 224 px and
#: 1.2 GB at 299 px; 8000 took 5.9 GB. Models batch inside ``predict`` anyway
#: (``Classifier.batch_size``), so larger batches buy no speed.
MAX_BATCH_SIZE = 1024
#: Largest batch LIME builds at once, in bytes; a larger ``batch_size`` on a large image is
#: sent in several calls (the result does not depend on the batch size).
_MAX_BATCH_BYTES = 1024 * 2**20
#: Independent replicates of the samples behind the automatic stop.
LIME_REPLICATES = 2
#: Smallest number of samples before an automatic stop is considered; also at least
#: ``LIME_REPLICATES * 2`` samples per superpixel, so each replicate's ridge fit is
#: determined by its data rather than by its penalty.
MIN_AUTO_SAMPLES = 64


@dataclass(frozen=True)
class LimeFrame:
    """One step of an anytime LIME run.

    Attributes
    ----------
    n_samples
        Perturbed images evaluated so far.
    saliency
        float32 (H, W) map of lime's local model fitted on them.
    r_estimate, r_bound
        Estimated correlation of this map with the map of infinitely many samples (same
        segmentation), and its lower confidence bound at this check; ``nan`` between checks.
    """

    n_samples: int
    saliency: np.ndarray
    r_estimate: float
    r_bound: float = float("nan")


def blur_sigma(height: int, width: int) -> float:
    """Standard deviation in pixels of the blur used by ``hide_color="blur"``.

    One twentieth of the longer side (about 11 px for a 224x224 image), at least 1.
    """
    return max(1.0, max(height, width) / 20.0)


#: Old name of LIME's result type, kept as an alias: every explainer now returns
#: :class:`~xai_core.explainers.base.Explanation` (LIME's weights, segments, R² and
#: intercept are in its ``extra``).
LimeResult = Explanation


def _parse_hide_color(hide_color: object) -> str | tuple[float, float, float]:
    """Return ``"mean"``, ``"blur"`` or an RGB triple in [0, 255], or raise ``ValueError``."""
    allowed = (
        "hide_color must be 'mean', 'blur', a colour name ("
        + ", ".join(HIDE_COLORS)
        + "), a '#rrggbb' hex code, a grey level in [0, 255] or an RGB triple in [0, 255]"
    )
    if isinstance(hide_color, str):
        name = hide_color.strip().lower()
        if name in ("mean", "blur"):
            return name
        if name in HIDE_COLORS:
            return HIDE_COLORS[name]
        if re.fullmatch(r"#[0-9a-f]{6}", name):
            r, g, b = (float(int(name[i : i + 2], 16)) for i in (1, 3, 5))
            return (r, g, b)
        raise ValueError(f"{allowed}; got {hide_color!r}")
    if isinstance(hide_color, (bool, np.bool_)) or hide_color is None:
        raise ValueError(f"{allowed}; got {hide_color!r}")
    try:
        rgb = np.asarray(hide_color, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{allowed}; got {hide_color!r}") from None
    if rgb.ndim == 0:
        rgb = np.repeat(rgb, 3)
    if rgb.shape != (3,) or not np.all(np.isfinite(rgb)) or rgb.min() < 0 or rgb.max() > 255:
        raise ValueError(f"{allowed}; got {hide_color!r}")
    return (float(rgb[0]), float(rgb[1]), float(rgb[2]))


def hidden_image(
    image: np.ndarray, segments: np.ndarray, hide_color: object = "mean"
) -> np.ndarray:
    """Return the image a hidden superpixel's pixels are taken from.

    Parameters
    ----------
    image : np.ndarray
        float32 (H, W, 3), RGB in [0, 255].
    segments : np.ndarray
        int (H, W), superpixel labels 0 .. n-1 (as :func:`~xai_core.explainers.lime.segmentation.segment` gives).
    hide_color : str or sequence of float, default "mean"
        ``"mean"``: each superpixel's own mean colour (lime's ``hide_color=None``);
        ``"blur"``: a Gaussian-blurred copy of the image, sigma from :func:`blur_sigma`;
        a name from :data:`HIDE_COLORS`, a ``"#rrggbb"`` code, a grey level or an RGB
        triple, all in [0, 255]: that colour everywhere.

    Returns
    -------
    np.ndarray
        float32 (H, W, 3) in [0, 255].
    """
    img = check_image(image)
    mode = _parse_hide_color(hide_color)
    seg = np.asarray(segments)
    if seg.shape != img.shape[:2]:
        raise ValueError(f"segments must have shape {img.shape[:2]}; got {seg.shape}")
    if mode == "mean":
        flat = seg.ravel()
        n = int(flat.max()) + 1
        counts = np.maximum(np.bincount(flat, minlength=n), 1)
        pixels = img.reshape(-1, 3).astype(np.float64)
        sums = np.stack([np.bincount(flat, pixels[:, c], minlength=n) for c in range(3)], axis=1)
        return (sums / counts[:, None])[seg].astype(np.float32)
    if mode == "blur":
        sigma = blur_sigma(*img.shape[:2])
        blurred = cv2.GaussianBlur(img, (0, 0), sigmaX=sigma, sigmaY=sigma)
        return np.clip(blurred, 0.0, 255.0).astype(np.float32)
    return np.broadcast_to(np.asarray(mode, dtype=np.float32), img.shape).copy()


class _BatchedLimeImageExplainer(LimeImageExplainer):
    """lime's image explainer with the perturbed images built a batch at a time.

    :meth:`data_labels` draws the same random on/off matrix from ``self.random_state``
    as lime's and calls ``classifier_fn`` with the same batches, so the result is
    the one lime would give; only the per-image Python loop (one boolean mask per
    hidden superpixel, one deep copy per image) is replaced by one gather of the
    pixels' on/off flags and one masked copy per batch. Batches are C-contiguous
    float32 (B, H, W, 3), like lime's.
    """

    def draw(self, n_features: int, num_samples: int) -> np.ndarray:
        """lime's on/off matrix (num_samples, n_features) of 0/1, row 0 all on."""
        data = self.random_state.randint(0, 2, num_samples * n_features).reshape(
            (num_samples, n_features)
        )
        data[0, :] = 1
        return data

    @staticmethod
    def perturbed(image: np.ndarray, fudged_image: np.ndarray, segments: np.ndarray,
                  rows: np.ndarray) -> np.ndarray:
        """float32 (B, H, W, 3): the image with the superpixels off in ``rows`` (B, F) hidden."""
        seg = segments.ravel()
        # One pixel (its three float32 channels) as one 12-byte item: a masked copy then
        # moves whole pixels, three times fewer elements than channel by channel.
        pixel = np.dtype((np.void, 3 * 4))
        shown = np.ascontiguousarray(image, dtype=np.float32).view(pixel).ravel()
        fudged = np.ascontiguousarray(fudged_image, dtype=np.float32).view(pixel).ravel()
        off = (rows == 0)[:, seg]  # (B, H*W): pixel hidden?
        batch = np.empty(off.shape, dtype=pixel)
        batch[:] = shown
        np.copyto(batch, fudged, where=off)
        return batch.view(np.float32).reshape((len(off), *image.shape))

    def data_labels(
        self,
        image: np.ndarray,
        fudged_image: np.ndarray,
        segments: np.ndarray,
        classifier_fn: PredictFn,
        num_samples: int,
        batch_size: int = 10,
    ) -> tuple[np.ndarray, np.ndarray]:
        data = self.draw(np.unique(segments).shape[0], num_samples)
        labels = []
        for start in range(0, num_samples, batch_size):
            images = self.perturbed(image, fudged_image, segments,
                                    data[start : start + batch_size])
            labels.append(np.asarray(classifier_fn(images)))
        return data, np.concatenate(labels)

    def fit(self, data: np.ndarray, labels: np.ndarray, target: int,
            num_features: int) -> tuple[float, list[tuple[int, float]], float, np.ndarray]:
        """lime's local model on these samples: (intercept, [(superpixel, weight)], R², local
        prediction), exactly as :meth:`LimeImageExplainer.explain_instance` fits it."""
        # distance to the unperturbed image (all superpixels on: lime's data[0])
        distances = sklearn.metrics.pairwise_distances(
            data, np.ones((1, data.shape[1])), metric="cosine").ravel()
        return self.base.explain_instance_with_data(
            data, labels, distances, target, num_features, model_regressor=None,
            feature_selection=self.feature_selection)


class _CheckedPredict:
    """Call the user's predict through a :class:`TimedPredict`, checking every answer."""

    def __init__(self, timed: TimedPredict, target: int):
        self._timed = timed
        self._target = target
        self.n_classes: int | None = None
        self.first: np.ndarray | None = None
        self.scores_note: str | None = None

    def __call__(self, images: np.ndarray) -> np.ndarray:
        out = check_probabilities(self._timed(images), len(images))
        if self.n_classes is None:
            self.scores_note = flag_scores(out)
            self.n_classes = out.shape[1]
            if self._target >= self.n_classes:
                raise ValueError(
                    f"target must be a class index between 0 and {self.n_classes - 1} "
                    f"(the model returns {self.n_classes} classes); got {self._target}"
                )
            self.first = out[0].copy()
        elif out.shape[1] != self.n_classes:
            raise ValueError(
                f"predict returned {out.shape[1]} classes for one batch and "
                f"{self.n_classes} for another"
            )
        return out


def check_lime_params(
    num_samples: int = 1000,
    num_features: int = 100000,
    hide_color: object = "mean",
    segmentation: str = "quickshift",
    segmentation_params: Mapping[str, Any] | None = None,
    positive_only: bool = False,
    batch_size: int = 32,
) -> tuple[str | tuple[float, float, float], str, dict[str, Any]]:
    """Validate LIME settings; return the parsed hide colour, segmentation and its params.

    Raises ``ValueError`` saying what is allowed, so callers (the command line, the app)
    can check settings before any model is loaded.
    """
    check_int("num_samples", num_samples, _MIN_SAMPLES, _MAX_SAMPLES)
    check_int("num_features", num_features, 1)
    check_int("batch_size", batch_size, 1, MAX_BATCH_SIZE)
    if not isinstance(positive_only, (bool, np.bool_)):
        raise ValueError(f"positive_only must be True or False; got {positive_only!r}")
    method = _check_method(segmentation)
    return _parse_hide_color(hide_color), method, _merge_params(method, segmentation_params)


def explain_lime(
    predict: PredictFn,
    image: np.ndarray,
    target: int,
    *,
    num_samples: int = 1000,
    num_features: int = 100000,
    hide_color: str | tuple[float, float, float] | float = "mean",
    segmentation: str = "quickshift",
    segmentation_params: Mapping[str, Any] | None = None,
    positive_only: bool = False,
    batch_size: int = 32,
    seed: int = 0,
    progress: ProgressFn | None = None,
    stop_at_r: float | None = None,
    check_every: int = 32,
    on_frame: Callable[[LimeFrame], None] | None = None,
) -> Explanation:
    """Explain one class of an image classifier with LIME (Ribeiro et al., 2016).

    Parameters
    ----------
    predict : callable
        ``predict(images) -> probabilities``: float32 (N, H, W, 3) RGB in [0, 255]
        to (N, K) class probabilities. Any preprocessing belongs inside it.
    image : np.ndarray
        float32 (H, W, 3), RGB in [0, 255]. Not modified.
    target : int
        Index of the class to explain, in [0, K-1]. It need not be a top class.
    num_samples : int, default 1000
        Number of perturbed images (the first is the unperturbed image), 10 to 20000;
        with ``stop_at_r`` the most that will be used.
    num_features : int, default 100000
        Most superpixels the local model (and so the map) keeps: the ``num_features``
        of largest absolute weight in a ridge fit on all superpixels (lime's
        ``"highest_weights"`` selection, always, so the result does not switch method
        with the number asked for); the others are 0. At least 1; the default keeps all.
    hide_color : str, float or sequence of float, default "mean"
        What a hidden superpixel shows: ``"mean"`` (its own mean colour, lime's
        default), ``"blur"`` (a Gaussian-blurred copy of the image), a colour name
        from :data:`HIDE_COLORS`, a ``"#rrggbb"`` code, a grey level or an RGB triple
        in [0, 255].
    segmentation : str, default "quickshift"
        ``"quickshift"``, ``"slic"`` or ``"felzenszwalb"``.
    segmentation_params : dict, optional
        Options of the segmentation, merged over
        :func:`~xai_core.explainers.lime.segmentation.segmentation_defaults`.
    positive_only : bool, default False
        Set the map to 0 where a superpixel's weight is negative.
    batch_size : int, default 32
        Images per ``predict`` call, 1 to :data:`MAX_BATCH_SIZE` (fewer on images so large
        that a batch would pass 1 GB). Does not change the result.
    seed : int, default 0
        Seeds everything random (segmentation and sampling), in [0, 2**32 - 1].
        The same seed gives the same result.
    progress : callable, optional
        ``progress(done, total)``, called after each ``predict`` call with the
        number of images evaluated so far and ``num_samples``.
    stop_at_r : float, optional
        In (0, 1), e.g. 0.95: stop at the first check where the map's correlation with
        the map of infinitely many samples (same segmentation) is at least this with 95%
        confidence, from two independent halves of the samples (see the module's
        *Anytime LIME*). ``None``: use all ``num_samples``.
    check_every : int, default 32
        Samples between two checks of ``stop_at_r`` (and between two ``on_frame`` calls).
    on_frame : callable, optional
        Called with a :class:`LimeFrame` (the map so far) every ``check_every`` samples,
        for a live preview. Costs one local-model fit per call.

    Returns
    -------
    Explanation
        ``.saliency``: float32 (H, W), read-only; each pixel carries the weight of its
        superpixel for ``target`` (positive where showing it raises the class
        probability), in probability units; superpixels outside the local model, and
        negative ones with ``positive_only``, are 0. ``.probability``: the classifier's
        probability on the unperturbed image. ``.extra``: ``segments`` (int32 (H, W),
        read-only, ids 0..n-1), ``weights`` ({superpixel: signed weight} by decreasing
        |weight|, not affected by ``positive_only``), ``lime_intercept`` (the local
        model with every superpixel hidden), ``lime_score_r2`` (its weighted R² on the
        samples: near 1 means it imitates the classifier well here),
        ``lime_local_prediction`` (its prediction with all superpixels shown),
        ``num_segments``, ``samples_used``, ``r_estimate``, ``r_bound`` (the replicate
        estimate of the correlation with the infinite-sample map and its confidence
        bound, ``None`` under 2 x 16 samples), ``stopped`` (``"auto"``, ``"cap"`` or
        ``"fixed"``) and ``budget_note`` ("stopped at 320 samples: r ≥ 0.95 with 95% confidence"; see
        :func:`~xai_core.explainers.base.budget_note`). ``.params``: the settings used (segmentation defaults merged
        in, ``kernel_width``, and ``blur_sigma`` for ``hide_color="blur"``).

    Raises
    ------
    ValueError
        For an invalid image or parameter (the message says what is allowed), or
        when ``predict`` returns something other than a finite (N, K) array or fewer
        classes than ``target`` needs.

    Examples
    --------
    >>> def predict(images):  # class 1: brightness of the top-left quarter
    ...     p = images[:, :16, :16].mean(axis=(1, 2, 3)) / 255
    ...     return np.stack([1 - p, p], axis=1)
    >>> img = np.zeros((32, 32, 3), np.float32); img[:16, :16] = 255
    >>> res = explain_lime(predict, img, 1, num_samples=100, hide_color="black",
    ...                    segmentation="slic", segmentation_params={"n_segments": 4})
    >>> bool(res.saliency[:16, :16].mean() > res.saliency[16:, 16:].mean())
    True
    """
    t0 = time.perf_counter()
    img = check_image(image)
    target = check_int("target", target, 0)
    seed = check_int("seed", seed, 0, 2**32 - 1)
    mode, method, seg_params = check_lime_params(
        num_samples, num_features, hide_color, segmentation, segmentation_params,
        positive_only, batch_size,
    )
    num_samples, num_features, batch_size = int(num_samples), int(num_features), int(batch_size)
    stop_at_r = check_stop_at_r(stop_at_r)
    check_every = check_int("check_every", check_every, 1, _MAX_SAMPLES)

    segments = segment(img, method, seg_params, seed=seed)
    segments.setflags(write=False)
    n_segments = int(segments.max()) + 1
    fudged = hidden_image(img, segments, hide_color)

    timed = TimedPredict(predict, progress, total=num_samples)
    checked = _CheckedPredict(timed, target)
    # "highest_weights": keep the num_features superpixels of largest |weight|, as documented
    # (lime's "auto" switches to forward selection below 7 features)
    explainer = _BatchedLimeImageExplainer(kernel_width=_KERNEL_WIDTH, random_state=seed,
                                           feature_selection="highest_weights")
    # lime's own draws (explain_instance draws nothing before them when given a seed)
    data = explainer.draw(n_segments, num_samples)
    labels = np.empty((0, 0), np.float32)
    area = np.bincount(segments.ravel(), minlength=n_segments).astype(np.float64)
    first_check = max(MIN_AUTO_SAMPLES, 2 * LIME_REPLICATES * n_segments)
    anytime = stop_at_r is not None or on_frame is not None
    done, converged = 0, False
    r_est: float | None = None
    r_low: float | None = None
    step = min(batch_size, max(1, _MAX_BATCH_BYTES // (13 * img.shape[0] * img.shape[1])))
    while done < num_samples:
        stop = min(done + step, num_samples)
        if anytime:
            stop = min(stop, (done // check_every + 1) * check_every)
        out = checked(explainer.perturbed(img, fudged, segments, data[done:stop]))
        labels = out if done == 0 else np.concatenate([labels, out])
        done = stop
        if not anytime or (done % check_every and done < num_samples):
            continue
        r_est, r_low = _replicate_r_of_lime(explainer, data[:done], labels, target, area,
                                            first_check, check_every)
        if on_frame is not None:
            _, pairs, _, _ = explainer.fit(data[:done], labels, target, num_features)
            on_frame(LimeFrame(done, _lime_map(pairs, segments, n_segments, positive_only),
                               np.nan if r_est is None else r_est,
                               np.nan if r_low is None else r_low))
        if stop_at_r is not None and r_low is not None and r_low >= stop_at_r:
            converged = True
            break
    intercept, pairs, score, local_pred = explainer.fit(data[:done], labels, target,
                                                        num_features)
    weights = {int(s): float(w) for s, w in pairs}
    saliency = _lime_map(pairs, segments, n_segments, positive_only)
    saliency.setflags(write=False)

    params: dict[str, Any] = {
        "method": "lime",
        "num_samples": num_samples,
        "num_features": num_features,
        "hide_color": mode if isinstance(mode, str) else list(mode),
        "segmentation": method,
        "segmentation_params": seg_params,
        "positive_only": bool(positive_only),
        "batch_size": batch_size,
        "seed": seed,
        "kernel_width": _KERNEL_WIDTH,
        "num_segments": n_segments,
        "stop_at_r": stop_at_r,
        "check_every": check_every,
    }
    if mode == "blur":
        params["blur_sigma"] = blur_sigma(*img.shape[:2])
    if checked.first is None:  # lime always evaluates the unperturbed image first
        raise RuntimeError("lime finished without calling predict: cannot report the prediction")
    if r_est is None and done >= 2 * 16:
        r_est, r_low = _replicate_r_of_lime(explainer, data[:done], labels, target, area,
                                            first_check, check_every)
    extra = {
        "segments": segments,
        "weights": weights,
        "lime_score_r2": float(score),
        "lime_intercept": float(intercept),
        "lime_local_prediction": float(np.ravel(local_pred)[0]),
        "num_segments": n_segments,
        "samples_used": done,
        "r_estimate": None if r_est is None else round(r_est, 4),
        "r_bound": None if r_low is None else round(r_low, 4),
        **budget_note(done, r_est, stop_at_r, converged, "samples"),
    }
    if checked.scores_note is not None:
        extra["scores_note"] = checked.scores_note
    return Explanation("lime", saliency, img, target, params, forward_passes=done,
                       wall_s=time.perf_counter() - t0,
                       probability=float(checked.first[target]), extra=extra)


def _lime_map(pairs: list[tuple[int, float]], segments: np.ndarray, n_segments: int,
              positive_only: bool) -> np.ndarray:
    """float32 (H, W): each pixel carries its superpixel's weight (0 outside the model)."""
    per_segment = np.zeros(n_segments, dtype=np.float64)
    for s, w in pairs:
        per_segment[int(s)] = w
    if positive_only:
        per_segment = np.maximum(per_segment, 0.0)
    return per_segment[segments].astype(np.float32)


def _replicate_r_of_lime(explainer: _BatchedLimeImageExplainer, data: np.ndarray,
                         labels: np.ndarray, target: int, area: np.ndarray,
                         first_check: int, check_every: int) -> tuple[float | None, float | None]:
    """Point estimate and confidence bound of the correlation of lime's map on ``data``
    with the infinite-sample map, from fits on R interleaved replicates of the samples.

    The bound is ``None`` before ``first_check`` samples (too few per superpixel for a
    fit determined by the data) and off the check points of RISE's schedule
    (:func:`~xai_core.stats.is_check`); the estimate ``None`` under
    16 samples per replicate.
    Superpixels count by their area (the correlation is over pixels); the bound assumes
    one independent noise component per superpixel, in the effective number
    ``(sum area)^2 / sum area^2``, and spends the error rate over the checks as RISE does.
    """
    n, n_features = data.shape
    if n < LIME_REPLICATES * 16:
        return None, None
    maps = np.zeros((LIME_REPLICATES, n_features))
    for g in range(LIME_REPLICATES):
        rows = np.arange(g, n, LIME_REPLICATES)
        _, pairs, _, _ = explainer.fit(data[rows], labels[rows], target, n_features)
        for s, w in pairs:
            maps[g, int(s)] = w
    estimate = replicate_r(maps, weights=area)
    if n < first_check:
        return estimate, None
    if not is_check(n, first_check, check_every):
        return estimate, None
    look = look_index(n, first_check, check_every)
    dof = float(area.sum() ** 2 / (area**2).sum())
    bound = replicate_r(maps, weights=area, dof_per_replicate=dof,
                        alpha=look_alpha(look, STOP_ALPHA))
    return estimate, bound
