"""RISE: Randomized Input Sampling for Explanation (Petsiuk, Das & Saenko, BMVC 2018).

The saliency of pixel x for class c is the expected score of c over random masks M,
conditioned on x being kept::

    S_c(x) = E[f_c(I * M) | M(x) = 1] ~= 1 / (N p) * sum_i f_c(I * M_i) M_i(x)     ("plain")

Masks are applied to the RGB image in [0, 255] *before* the classifier's own
preprocessing; a masked-out pixel is black by default, or what ``fill`` says
(:mod:`xai_core.explainers.rise.fill`: the image's mean colour, the dataset's mean colour
as in the authors' code, a blur of the image, or any colour).

Fewer forward passes for the same map
-------------------------------------
Because ``E[M(x)] = p`` at every pixel, subtracting the mean score ``s_bar`` (a control
variate) leaves the expectation unchanged while removing the noise that comes from how
often each pixel happened to be kept::

    S_c(x) ~= s_bar + 1 / (N p) * sum_i (f_c(I * M_i) - s_bar) M_i(x)             ("centered")

Its expected value is the plain RISE map (up to an O(1/N) term), in the same units:
scores, roughly in [0, 1] for probabilities. Sobol-sequence grids (:mod:`xai_core.explainers.rise.masks`)
reduce the variance further without changing the distribution of a single mask.
Complementary pairs ``(M, 1 - M)`` are available but off by default. An earlier
benchmark found them worse, but it ran them on top of scrambled Sobol grids, whose points
2k and 2k+1 are already complementary at p = 0.5, so that comparison was confounded and
is not evidence either way. :class:`RiseRun` computes the map batch by
batch, keeps every class's scores (so switching the target costs no model call) and can
stop once the map is stable.

A calibrated automatic stop
---------------------------
The masks of a run are one scrambled Sobol sequence (:data:`REPLICATES`), the most
accurate sampling for its size, so a stopped run gives the map of a fixed budget of the
same size. ``stop_at_r = r*`` stops at the first check where a *lower confidence bound*
on the map's correlation with the infinite-budget map reaches ``r*``. The checks are at
64, 128, 256, ... masks (and at the cap), where the sequence holds a power of two of its
points and is best balanced. At a check of n masks the bound compares the maps of the
four consecutive quarters of the masks (:class:`~xai_core.explainers.rise.estimators.Sums`,
:func:`~xai_core.stats.sobol_blocks_r`) as if they were independent replicates:
together they are better balanced than each, so their spread overstates the error of the
pooled map, on the safe side. Each of the J checks a run can make uses level
``alpha / J`` (alpha = 0.05). The promise is kept at *every* check, not only over all of
them: simulated on held-out known-answer models and measured on coffee, no check's stops
fell short of ``r*`` (``tests/test_stop_stats.py``, ``python -m benchmarks.rise_sampling``,
docs/rise-sampling.md), where the previous construction (four interleaved sequences, the
noise dimension estimated from the same contrasts as the noise) stopped at 256 masks with
maps short of 0.95.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from dataclasses import dataclass

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
from xai_core.explainers.base import Explanation, budget_note, check_stop_at_r
from xai_core.explainers.rise.estimators import ESTIMATORS, SUB_BLOCKS, Sums
from xai_core.explainers.rise.fill import check_fill, fill_image, fill_record
from xai_core.explainers.rise.masks import SAMPLERS, MaskPlan, plan_masks
from xai_core.stats import (
    STOP_ALPHA,
    doubling_looks,
    is_doubling_check,
    next_doubling_check,
    sobol_blocks_r,
)

#: Largest number of masks accepted.
MAX_MASKS = 20_000
#: Smallest number of masks before an automatic stop is considered.
MIN_AUTO_MASKS = 64
#: Scrambled Sobol sequences interleaved in a run by default: one. Measured on held-out
#: known-answer models (``python -m benchmarks.rise_sampling``, docs/rise-sampling.md):
#: at 256 masks one sequence reaches r = 0.99 with the large-budget map where four
#: interleaved ones reach 0.96-0.98 and plain random masks 0.93-0.97; the stop's error
#: estimate comes from consecutive blocks of the one sequence instead (:class:`Sums`).
REPLICATES = 1


def check_rise_params(n_masks: int, mask_size: int, keep_prob: float, batch_size: int) -> None:
    """Raise ``ValueError`` with a readable message when a RISE parameter is out of range."""
    check_int("n_masks", n_masks, 1, MAX_MASKS)
    check_int("mask_size", mask_size, 2, 64)
    check_int("batch_size", batch_size, 1, 4096)
    if isinstance(keep_prob, bool) or not isinstance(keep_prob, (int, float, np.floating)):
        raise ValueError(f"keep_prob must be a number strictly between 0 and 1; got {keep_prob!r}")
    if not 0.0 < float(keep_prob) < 1.0:
        raise ValueError(f"keep_prob must be strictly between 0 and 1; got {keep_prob}")


def _check_sampling(estimator: str, antithetic: bool, sampler: str, keep_prob: float) -> bool:
    """Validate the variance-reduction options; return whether masks come in pairs."""
    if estimator not in ESTIMATORS:
        raise ValueError(f"unknown estimator {estimator!r}; choose one of: {', '.join(ESTIMATORS)}")
    if sampler not in SAMPLERS:
        raise ValueError(f"unknown sampler {sampler!r}; choose one of: {', '.join(SAMPLERS)}")
    if not isinstance(antithetic, (bool, np.bool_)):
        raise ValueError(f"antithetic must be True or False; got {antithetic!r}")
    if antithetic and float(keep_prob) != 0.5:
        raise ValueError(
            "antithetic=True needs keep_prob=0.5 (the complement 1 - M of a mask keeping "
            f"p={keep_prob} of the cells keeps 1 - p of them); use antithetic=False"
        )
    return bool(antithetic)


def _masked(image: np.ndarray, masks: np.ndarray,
            background: np.ndarray | None = None) -> np.ndarray:
    """``mask * image + (1 - mask) * background`` for each mask: float32 (b, H, W, 3).

    ``image`` and ``background`` are (H, W, 3), ``masks`` (b, H, W); no background means
    black (``image * mask``). One channel at a time: numpy's broadcast over a trailing
    axis of 1 is about twice as slow, and this runs once per batch beside the model. A
    fresh array each time, so a ``predict`` that keeps its input never sees it change.
    """
    out = np.empty((*masks.shape, 3), np.float32)
    if background is None:
        for c in range(3):
            np.multiply(masks, image[..., c], out=out[..., c])
        return out
    for c in range(3):
        np.multiply(masks, image[..., c] - background[..., c], out=out[..., c])
        out[..., c] += background[..., c]
    return out


@dataclass(frozen=True)
class RiseFrame:
    """One step of an anytime RISE run.

    Attributes
    ----------
    n_masks
        Masks (forward passes) used so far.
    saliency
        float32 (H, W) map from those masks.
    r_estimate
        Estimate of the correlation between this map and the map of infinitely many
        masks, from the agreement of consecutive blocks of the masks at the last check
        (see :func:`~xai_core.stats.sobol_blocks_r`), in [0, 1]; NaN before the first
        check.
    r_bound
        Its lower confidence bound at this point of the run (what the automatic stop
        uses); NaN before the first check.
    """

    n_masks: int
    saliency: np.ndarray
    r_estimate: float
    r_bound: float = 0.0


class RiseRun:
    """RISE computed batch by batch (anytime), keeping every class's scores.

    After each :meth:`step` the map and its convergence estimate can be read for any
    class: the scores of all K classes of every masked image are kept (N x K float32)
    with the mask plan (N tiny grids), so :meth:`saliency` for another target rebuilds
    the map from them without calling ``predict`` again. Petsiuk, Das & Saenko (2018).

    Parameters
    ----------
    predict, image, mask_size, keep_prob, batch_size, seed, estimator, antithetic, sampler, fill
        As in :func:`explain_rise`.
    max_masks
        Largest number of masks the run may use (1 to 20000). The plan of all of them is
        drawn up front (a few bytes per mask); with ``sampler="sobol"`` or
        ``antithetic=True`` its first n masks do not depend on ``max_masks``, so a run
        stopped at n masks gives the map of ``explain_rise(..., n_masks=n)``.
    first_check
        With :meth:`run` and ``stop_at_r``, the convergence is checked (and batches end)
        at ``first_check * 2^j`` masks (default 64, 128, 256, ...) and at ``max_masks``, so
        the stopping point does not depend on ``batch_size``. There the Sobol sequence
        holds a power of two of its points, where its balance is best (a map of 320 masks
        is measured *noisier* than one of 256). A multiple of 8 (the sub-blocks of the
        error estimate, see :class:`~xai_core.explainers.rise.estimators.Sums`); best
        also of ``8 * replicates``.
    replicates
        R, 1 to 16 (default :data:`REPLICATES`): independently scrambled Sobol sequences,
        interleaved (mask i is point i // R of sequence i % R). One is the most accurate
        for its size; more exist for comparison. The error estimate does not use them:
        it compares consecutive blocks of the masks.
    keep_scores
        Keep every class's scores (float32, ``max_masks x K``; 32 MB for 8000 masks of
        1000 classes) so that any target's map can be rebuilt without a model call.
        ``False`` keeps only the sums of the targets tracked before stepping.

    Examples
    --------
    >>> run = RiseRun(clf.predict, img, max_masks=4000)  # doctest: +SKIP
    >>> for frame in run.frames(target=281, stop_at_r=0.95):  # doctest: +SKIP
    ...     show(frame.saliency, f"{frame.n_masks} masks, r ~ {frame.r_estimate:.2f}")
    >>> other = run.saliency(282)  # no model call  # doctest: +SKIP
    """

    def __init__(
        self,
        predict: PredictFn,
        image: np.ndarray,
        *,
        max_masks: int = 4096,
        mask_size: int = 7,
        keep_prob: float = 0.5,
        batch_size: int = 32,
        seed: int = 0,
        estimator: str = "centered",
        antithetic: bool = False,
        sampler: str = "sobol",
        first_check: int = MIN_AUTO_MASKS,
        keep_scores: bool = True,
        fill: str | tuple[float, float, float] = "black",
        replicates: int = REPLICATES,
    ):
        self._img = check_image(image)
        resolved = check_fill(fill, predict)
        # for the record: the name as given ("dataset_mean" stays a name), or the colour
        self.fill = fill if isinstance(fill, str) else fill_record(resolved)
        self._background = fill_image(self._img, resolved)
        check_rise_params(max_masks, mask_size, keep_prob, batch_size)
        check_int("seed", seed, 0)
        check_int("first_check", first_check, 1, MAX_MASKS)
        check_int("replicates", replicates, 1, 16)
        if first_check % SUB_BLOCKS:
            raise ValueError(f"first_check must be a multiple of {SUB_BLOCKS} (the sub-blocks "
                             f"of the error estimate); got {first_check}")
        pairs = _check_sampling(estimator, antithetic, sampler, keep_prob)
        self._predict = predict
        self.estimator = estimator
        self.antithetic = pairs
        self.sampler = sampler
        self.batch_size = int(batch_size)
        self.first_check = int(first_check)
        h, w = self._img.shape[:2]
        self.plan: MaskPlan = plan_masks(
            int(max_masks), int(mask_size), float(keep_prob), (h, w),
            np.random.default_rng(seed), sampler=sampler, antithetic=pairs,
            replicates=int(replicates),
        )
        self.replicates = int(replicates)
        self._scores: np.ndarray | None = None  # float32 (max_masks, K), rows 0:n_done filled
        self.n_done = 0
        self.predict_calls = 0
        self.forward_passes = 0  # images sent to predict (masked ones and the whole image)
        self._sums: dict[int, Sums] = {}
        self.keep_scores = bool(keep_scores)
        self.seed = int(seed)
        self._image_scores: np.ndarray | None = None
        #: Why the scores are not probabilities (flagged once, on the first batch), or None.
        self.scores_note: str | None = None

    @property
    def max_masks(self) -> int:
        return self.plan.n_masks

    @property
    def image(self) -> np.ndarray:
        """The explained image, float32 (H, W, 3) in [0, 255] (do not modify)."""
        return self._img

    def predict_image(self) -> np.ndarray:
        """float32 (K,) scores of the whole, unmasked image: one model call, then cached."""
        if self._image_scores is None:
            out = check_probabilities(self._predict(self._img[None]), 1)
            self.predict_calls += 1
            self.forward_passes += 1
            self._image_scores = out[0]
        return self._image_scores

    @property
    def n_classes(self) -> int | None:
        """K, known after the first step."""
        return None if self._scores is None else self._scores.shape[1]

    @property
    def scores(self) -> np.ndarray:
        """float32 (n_done, K): every class's score for each masked image so far (a view)."""
        if self._scores is None or not self.keep_scores:
            return np.zeros((0, 0), np.float32)
        return self._scores[: self.n_done]

    def track(self, target: int) -> None:
        """Accumulate ``target``'s map while stepping (otherwise it is rebuilt on demand)."""
        target = check_int("target", target, 0)
        if self.n_classes is not None:
            target = check_target(target, self.n_classes)
        self._sums.setdefault(target, Sums(self.plan.image_size[0] * self.plan.image_size[1],
                                           self.first_check))

    def step(self, n: int | None = None) -> int:
        """Evaluate the next batch (at most ``n`` masks, default ``batch_size``); return n_done."""
        if self.n_done >= self.max_masks:
            return self.n_done
        start = self.n_done
        stop = min(start + (self.batch_size if n is None else int(n)), self.max_masks)
        masks = self.plan.render(start, stop)
        out = self._predict(_masked(self._img, masks, self._background))
        self.predict_calls += 1
        self.forward_passes += stop - start
        scores = check_probabilities(out, stop - start)
        if self._scores is None:
            self.scores_note = flag_scores(scores)
            for t in self._sums:
                check_target(t, scores.shape[1])
            rows = self.max_masks if self.keep_scores else 0
            self._scores = np.empty((rows, scores.shape[1]), np.float32)
        elif scores.shape[1] != self._scores.shape[1]:
            raise ValueError(
                f"predict returned {scores.shape[1]} classes, earlier {self._scores.shape[1]}"
            )
        if self.keep_scores:
            self._scores[start:stop] = scores
        flat = masks.reshape(stop - start, -1)
        for t, sums in self._sums.items():
            if sums.done == start:
                sums.add(flat, scores[:, t])
        self.n_done = stop
        return stop

    def _sums_for(self, target: int) -> Sums:
        """The running sums of ``target``, brought up to date from the kept scores (no predict)."""
        if self.n_classes is None:
            raise ValueError("no masks evaluated yet: call step() first")
        target = check_target(target, self.n_classes)
        self.track(target)
        sums = self._sums[target]
        if sums.done < self.n_done and not self.keep_scores:
            raise ValueError(
                f"class {target} was not tracked and scores are not kept (keep_scores=False); "
                "call track(target) before stepping"
            )
        chunk = max(self.batch_size, 256)
        while sums.done < self.n_done:
            start = sums.done
            stop = min(start + chunk, self.n_done)
            flat = self.plan.render(start, stop).reshape(stop - start, -1)
            sums.add(flat, self._scores[start:stop, target])
        return sums

    def saliency(self, target: int, estimator: str | None = None) -> np.ndarray:
        """float32 (H, W) map of ``target`` from the masks evaluated so far; no model call.

        ``estimator`` overrides the run's (``"plain"`` or ``"centered"``): both are
        computed from the same scores.
        """
        est = self.estimator if estimator is None else estimator
        if est not in ESTIMATORS:
            raise ValueError(f"unknown estimator {est!r}; choose one of: {', '.join(ESTIMATORS)}")
        sums = self._sums_for(target)
        p = self.plan.keep_prob
        return sums.saliency(est, p).reshape(self.plan.image_size).astype(np.float32)

    def _block_maps(self, target: int) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """float64 maps of the eighths, quarters and halves of the masks at the last
        check, or ``None`` before the first check."""
        checked = self._sums_for(target).at_check()
        if checked is None:
            return None
        return checked.block_maps(self.estimator, self.plan.keep_prob)

    def looks(self) -> int:
        """How many checks an automatic stop of this run can make (see ``first_check``)."""
        return doubling_looks(self._first_check, self.max_masks)

    @property
    def _first_check(self) -> int:
        return min(self.first_check, self.max_masks)

    def _at_check(self) -> bool:
        return (is_doubling_check(self.n_done, self._first_check)
                or self.n_done == self.max_masks)

    def r_estimate(self, target: int) -> float:
        """Estimated correlation of the current map with the infinite-budget map.

        From the spread of consecutive blocks of the masks at the last check (the larger
        of the quarters' and the halves' estimate, :func:`~xai_core.stats.sobol_blocks_r`;
        the quarters' errs low, the halves' is about right); between checks it is the
        last check's. 0 before the first check (``first_check``).
        """
        maps = self._block_maps(target)
        return 0.0 if maps is None else sobol_blocks_r(*maps)

    def r_bound(self, target: int, alpha: float = STOP_ALPHA, looks: int | None = None) -> float:
        """Lower confidence bound on the correlation, valid at every check of the run.

        :func:`~xai_core.stats.sobol_blocks_r`'s bound at level ``alpha / J`` for the J checks
        the run can make (:meth:`looks`; ``looks=1`` for a run looked at once, e.g. at a
        fixed budget): by Bonferroni, the bounds of all the checks hold together with
        probability about ``1 - alpha``.
        """
        maps = self._block_maps(target)
        return 0.0 if maps is None else self._bound_of(maps, alpha, looks)

    def _bound_of(self, maps: tuple[np.ndarray, np.ndarray, np.ndarray],
                  alpha: float = STOP_ALPHA, looks: int | None = None) -> float:
        j = self.looks() if looks is None else int(looks)
        return sobol_blocks_r(*maps, alpha=alpha / j)

    def _agreement(self, target: int, looks: int | None = None) -> tuple[float, float]:
        """:meth:`r_estimate` and :meth:`r_bound` from one build of the block maps (NaN
        before the first check: nothing to estimate from yet)."""
        maps = self._block_maps(target)
        if maps is None:
            return math.nan, math.nan
        return sobol_blocks_r(*maps), self._bound_of(maps, looks=looks)

    def converged(self, target: int, r: float = 0.95) -> bool:
        """Whether the map's correlation with the infinite-budget map is at least ``r``,
        with 95% confidence over all the checks of the run (see :meth:`r_bound`)."""
        return self._bound_reaches(self.r_bound(target), r)

    def _bound_reaches(self, bound: float, r: float) -> bool:
        r = check_stop_at_r(r)
        return self.n_done >= self._first_check and bound >= r

    def _already_converged(self, target: int, stop_at_r: float | None) -> bool:
        """Whether an automatic stop would already hold now (so no more masks are needed)."""
        if stop_at_r is None or not self._at_check():
            return False
        return self.converged(target, stop_at_r)

    def _advance(self, target: int, stop_at_r: float | None,
                 progress: ProgressFn | None) -> Iterator[None]:
        """Step batch by batch (yielding after each) until done or converged."""
        stop_at_r = check_stop_at_r(stop_at_r)
        self.track(target)
        if self._already_converged(target, stop_at_r):  # e.g. another class of a stopped run
            yield
            return
        while self.n_done < self.max_masks:
            n = self.batch_size
            if stop_at_r is not None:
                n = min(n, next_doubling_check(self.n_done, self._first_check) - self.n_done)
            self.step(n)
            if progress is not None:
                progress(self.n_done, self.max_masks)
            yield
            if stop_at_r is not None and self._at_check() and self.converged(target, stop_at_r):
                return

    def frames(
        self,
        target: int,
        *,
        stop_at_r: float | None = None,
        progress: ProgressFn | None = None,
    ) -> Iterator[RiseFrame]:
        """Step until done, yielding a :class:`RiseFrame` after each batch.

        With ``stop_at_r`` (e.g. 0.95), batches end at the check points (see ``first_check``) and
        the run stops at the first such point where :meth:`converged` holds
        (``n_done >=`` :data:`MIN_AUTO_MASKS`); otherwise it runs to ``max_masks``.
        """
        for _ in self._advance(target, stop_at_r, progress):
            yield RiseFrame(self.n_done, self.saliency(target), *self._agreement(target))

    def run(
        self,
        target: int,
        *,
        stop_at_r: float | None = None,
        progress: ProgressFn | None = None,
    ) -> np.ndarray:
        """Step until done (or converged, see :meth:`frames`); return ``target``'s map.

        Builds no intermediate map, unlike :meth:`frames`.
        """
        for _ in self._advance(target, stop_at_r, progress):
            pass
        return self.saliency(target)

    def explanation(
        self,
        target: int,
        *,
        stop_at_r: float | None = None,
        wall_s: float = 0.0,
        probability: float = math.nan,
    ) -> Explanation:
        """The map of ``target`` from the masks evaluated so far, as an :class:`Explanation`.

        No model call. ``stop_at_r``, ``wall_s`` and ``probability`` are recorded as given.
        ``extra``: ``masks_used``, ``r_estimate``, ``r_bound`` (see :meth:`r_bound`),
        ``stopped`` (``"auto"``: converged at ``stop_at_r``; ``"cap"``: used all
        ``n_masks`` without converging; ``"fixed"``: no ``stop_at_r``) and ``budget_note``,
        one sentence for the display (see :func:`~xai_core.explainers.base.budget_note`:
        "stopped at 512 masks: r ≥ 0.95 with 95% confidence").
        """
        params = {"method": "rise", "n_masks": self.max_masks, "mask_size": self.plan.mask_size,
                  "keep_prob": self.plan.keep_prob, "stop_at_r": stop_at_r,
                  "batch_size": self.batch_size, "seed": self.seed,
                  "estimator": self.estimator, "sampler": self.sampler,
                  "antithetic": self.antithetic, "fill": self.fill,
                  "replicates": self.replicates, "first_check": self.first_check}
        # a fixed budget is looked at once; an automatic stop's bound counts all its checks
        est, low = self._agreement(target, looks=None if stop_at_r is not None else 1)
        r_est = None if math.isnan(est) else round(est, 4)
        extra = {"masks_used": self.n_done, "r_estimate": r_est,
                 "r_bound": None if math.isnan(low) else round(low, 4),
                 **budget_note(self.n_done, r_est, stop_at_r,
                                stop_at_r is not None and self._bound_reaches(low, stop_at_r),
                                "masks", capped=self.n_done >= self.max_masks)}
        if self.scores_note is not None:
            extra["scores_note"] = self.scores_note
        return Explanation("rise", self.saliency(target), self._img, int(target), params,
                           forward_passes=self.forward_passes, wall_s=float(wall_s),
                           probability=float(probability), extra=extra)


def explain_rise(
    predict: PredictFn,
    image: np.ndarray,
    target: int,
    *,
    n_masks: int = 1024,
    mask_size: int = 7,
    keep_prob: float = 0.5,
    batch_size: int = 32,
    seed: int = 0,
    progress: ProgressFn | None = None,
    estimator: str = "centered",
    antithetic: bool = False,
    sampler: str = "sobol",
    stop_at_r: float | None = None,
    fill: str | tuple[float, float, float] = "black",
    replicates: int = REPLICATES,
    first_check: int = MIN_AUTO_MASKS,
) -> Explanation:
    """RISE saliency map of ``image`` for class ``target`` (Petsiuk, Das & Saenko, 2018).

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
        Number of random masks N (1 to 20000). More masks give a smoother, more stable
        map. With ``stop_at_r`` this is the most that will be used.
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
    estimator
        ``"centered"`` (default): the mean score is subtracted as a control variate; the
        expected map is the paper's, in the same units, with less noise, and the
        split-half convergence estimate behind ``stop_at_r`` works (with ``"plain"`` it
        is dominated by how often each pixel was kept). ``"plain"``: the paper's
        ``sum_i s_i M_i / (N p)``.
    antithetic
        Use complementary mask pairs ``(M, 1 - M)`` (needs ``keep_prob == 0.5``). Off by
        default: the map averages score x mask, a product that pairs make *more* noisy.
    sampler
        ``"sobol"`` (default): grids and shifts from a scrambled Sobol sequence;
        ``"random"``: independent draws as in the paper. ``sampler="random",
        antithetic=False, estimator="plain"`` draws masks from the original RISE
        distribution and uses its estimator. What a hidden pixel becomes is ``fill``.
    stop_at_r
        If given (e.g. 0.95), stop once the map's correlation with the infinite-budget
        map is at least this with 95% confidence (a lower bound from the spread of four
        consecutive blocks of the masks, corrected for checking repeatedly; checked at
        64, 128, 256, ... masks). The map is the one a fixed budget of the same size
        gives. ``n_masks`` is then the cap: best a power of two times 64 (1024), where
        the last check falls on a balanced point.
    replicates, first_check
        See :class:`RiseRun` (default: one scrambled Sobol sequence; checks at
        ``first_check * 2^j`` masks).
    fill
        What a hidden pixel becomes (a pixel with mask value m is ``m * image + (1 - m)
        * fill``): ``"black"`` (default; 0 in RGB before the model's preprocessing),
        ``"mean"`` (the image's mean colour), ``"dataset_mean"`` (the authors' code: 0 in
        the *normalised* input, i.e. the preprocessing's mean colour; needs a
        :class:`~xai_core.Classifier`'s ``predict``), ``"blur"`` (a strong blur of the
        image) or an RGB triple in [0, 255]. See :mod:`xai_core.explainers.rise.fill`.

    Returns
    -------
    Explanation
        ``.saliency`` (also ``np.asarray(result)``) is the float32 (H, W) map; values
        are expected scores, roughly in [0, 1] for
        probabilities (higher = more important for ``target``). Both estimators have
        the same expected map (the paper's). The plain one is never negative for
        non-negative scores; the centred one can, by noise, dip slightly below 0 where
        the expected map is about 0 (``np.maximum(sal, 0)`` if a renderer needs >= 0).

    Raises
    ------
    ValueError
        On an invalid image, parameter, target, or a ``predict`` result of the wrong shape.

    Examples
    --------
    >>> sal = explain_rise(clf.predict, clf.prepare(img), target=281, n_masks=500).saliency  # doctest: +SKIP
    >>> paper = explain_rise(clf.predict, clf.prepare(img), 281, estimator="plain",
    ...                      antithetic=False, sampler="random")  # doctest: +SKIP
    """
    check_image(image)
    check_rise_params(n_masks, mask_size, keep_prob, batch_size)
    check_int("seed", seed, 0)
    check_int("target", target, 0)
    _check_sampling(estimator, antithetic, sampler, keep_prob)
    stop_at_r = check_stop_at_r(stop_at_r)
    run = RiseRun(predict, image, max_masks=n_masks, mask_size=mask_size, keep_prob=keep_prob,
                  batch_size=batch_size, seed=seed, estimator=estimator, antithetic=antithetic,
                  sampler=sampler, keep_scores=False, replicates=replicates,
                  first_check=first_check, fill=fill)
    t0 = time.perf_counter()
    run.run(target, stop_at_r=stop_at_r, progress=progress)
    return run.explanation(target, stop_at_r=stop_at_r, wall_s=time.perf_counter() - t0)
