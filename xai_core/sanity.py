"""The model-randomisation sanity check (Adebayo et al., NeurIPS 2018, "Sanity checks for
saliency maps").

A map that explains the *model* must change when the model's learned weights are
destroyed. The check re-initialises the weights in a cascade -- the top (output) layer,
then the top two, ..., down to every weighted layer -- explains the same image with the
same method and seed after each stage, and measures how similar each map stays to the
trained model's map: Spearman rank correlation and SSIM of the min-max normalised maps.
A map that stays similar while the model becomes random explains the image (edges,
colours), not the model. Similarity is measured twice, as Adebayo et al. do: the Spearman
correlation of the maps and of their absolute values (a signed map, as LIME's, can flip
its sign and still show the same shapes).

The verdict over several seeds
------------------------------
One seed says little: the explainer's own noise and one draw of random weights can make a
map look changed, or not. The verdict repeats the final comparison -- the fully randomised
model's map against the trained model's -- with ``n_seeds`` seeds (``seed``, ``seed + 1``,
...: the explainer's seed and the random weights' both change). Each random map is
compared with the trained map of the *next* seed, because two maps made with one seed
share the explainer's noise (the same masks or samples), which would count as
resemblance; the threshold is then 0.5, or half the seed-to-seed agreement of the
trained model's maps if lower -- both sides compare maps of different seeds. The
statistic is the one-sided 95% bound of the mean ``|Spearman|`` over the seeds (a Student
t bound, :func:`xai_core.stats.mean_interval`), for the raw maps and for their absolute
values. Passed: both upper bounds below the threshold; failed: the lower bound of either
at or above it (the map survives); otherwise inconclusive. A similarity on which two seeds
of the trained model agree at less than 0.5 is left out (noise would decide it); with
both left out, the map is mostly noise: inconclusive.

Cost and the stages
-------------------
Each stage costs one explanation. A deep network has many weighted layers (EfficientNet-
Lite0: 99, batch normalisations included), so at most ``max_stages`` (default 8) stages
are made: the weighted layers, from the output down, are split into that many
consecutive groups of nearly equal size, and stage i randomises groups 1..i. A model
with fewer weighted layers gets one stage per layer. A nested model counts as one layer.

How weights are re-initialised
------------------------------
The randomised copies are made with ``keras.models.clone_model`` and ``set_weights``; the
loaded model, its classifier and its compiled functions and engines are never touched,
and the copies always run on Keras. Every array of a randomised layer is re-drawn from
``numpy.random.default_rng(seed)``: kernels (2-D and more) from a Gaussian with mean 0 and
the trained kernel's standard deviation (so activations keep their scale instead of
exploding or dying, which would make every map trivially flat); biases and
batch-normalisation shifts and means become 0, batch-normalisation scales and variances 1
-- the state of a freshly initialised layer.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from xai_core._common import ProgressFn, check_image, check_int

#: Methods the check can run.
SANITY_METHODS = ("rise", "lime", "gradcam")
#: Default most stages (a deep network's weighted layers are grouped into this many).
MAX_STAGES = 8
#: Default seeds of the verdict.
N_SEEDS = 3
#: Below this seed-to-seed agreement a map is mostly noise: no verdict.
NOISY = 0.5


@dataclass(frozen=True, eq=False)
class RandomizationResult:
    """The outcome of :func:`randomization_test`.

    Attributes
    ----------
    method
        ``"rise"``, ``"lime"`` or ``"gradcam"``.
    layers
        One label per stage: the lowest layer randomised at that stage (stage i
        randomises every weighted layer from the output down to it).
    randomized
        Per stage, the names of all layers whose weights are random.
    saliency
        float32 (H, W) maps: the trained model's first, then one per stage
        (``len(layers) + 1``).
    spearman
        Spearman rank correlation of each stage's map with the trained model's map, one
        per entry of ``layers``, in [-1, 1] (0 when a map is constant: no ranking).
    ssim
        Structural similarity (Wang et al., 2004) of each stage's min-max normalised map
        with the trained model's, one per entry of ``layers``.
    seed_spearman
        Spearman correlation between the trained model's maps of consecutive seeds
        (their mean): how similar a map stays from noise alone (1.0 for Grad-CAM, which
        has no randomness). ``nan`` when not computed.
    spearman_abs
        As ``spearman``, of the maps' absolute values (Adebayo et al., 2018).
    seed_spearman_abs
        As ``seed_spearman``, of the absolute values.
    final_spearman_seeds, final_spearman_abs_seeds
        Per seed k (``seed``, ``seed + 1``, ...), the Spearman of the map of the model
        fully randomised with seed k with the trained model's map of the next seed (of
        the same seed for Grad-CAM, or with only one seed and no seed check), raw and of
        absolute values: what the verdict rests on.
    target, seed, params
        The class explained, the seed, the method's parameters.
    wall_s
        Wall time in seconds.
    """

    method: str
    layers: tuple[str, ...]
    randomized: tuple[tuple[str, ...], ...]
    saliency: tuple[np.ndarray, ...]
    spearman: tuple[float, ...]
    ssim: tuple[float, ...]
    target: int
    seed: int
    params: dict[str, Any] = field(default_factory=dict)
    seed_spearman: float = math.nan
    wall_s: float = 0.0
    spearman_abs: tuple[float, ...] = ()
    seed_spearman_abs: float = math.nan
    final_spearman_seeds: tuple[float, ...] = ()
    final_spearman_abs_seeds: tuple[float, ...] = ()

    @property
    def final_spearman(self) -> float:
        """Rank correlation with every weighted layer randomised (the last stage)."""
        return self.spearman[-1]

    @property
    def n_seeds(self) -> int:
        """How many seeds the verdict rests on."""
        return max(1, len(self.final_spearman_seeds))

    def _finals(self) -> dict[str, tuple[float, ...]]:
        raw = self.final_spearman_seeds or (self.final_spearman,)
        absolute = self.final_spearman_abs_seeds or ((self.spearman_abs[-1],)
                                                     if self.spearman_abs else ())
        return {"raw": raw, "absolute": absolute} if absolute else {"raw": raw}

    def threshold(self, threshold: float = 0.5, kind: str = "raw") -> float:
        """``threshold``, lowered to half the seed-to-seed agreement when that is known."""
        agree = self.seed_spearman if kind == "raw" else self.seed_spearman_abs
        return threshold if math.isnan(agree) else min(threshold, 0.5 * agree)

    def bounds(self, kind: str = "raw") -> tuple[float, float, float]:
        """``(mean, low, high)`` of ``|Spearman|`` of the final stage over the seeds, with
        one-sided 95% bounds (the ends of a 90% Student t interval; with one seed, the
        value itself). ``kind``: ``"raw"`` or ``"absolute"`` (of the maps' absolute
        values)."""
        from xai_core.stats import mean_interval

        values = np.abs(np.asarray(self._finals()[kind], np.float64))
        if values.size == 1:
            v = float(values[0])
            return v, v, v
        iv = mean_interval(values, level=0.90)
        return iv.mean, max(0.0, iv.low), min(1.0, iv.high)

    def _agreement(self, kind: str) -> float:
        return self.seed_spearman if kind == "raw" else self.seed_spearman_abs

    def kinds(self) -> tuple[list[str], list[str]]:
        """``(used, left_out)``: the similarities (``"raw"``, ``"absolute"``) the verdict
        uses, and those left out because the trained model's maps of two seeds agree at
        less than :data:`NOISY` on them (noise would decide)."""
        used, left = [], []
        for kind in self._finals():
            (left if self._agreement(kind) < NOISY else used).append(kind)  # nan: used
        return used, left

    def outcome(self, threshold: float = 0.5) -> str:
        """``"passed"``: the map changed (the upper bound of the final |Spearman| below
        the threshold for every similarity used); ``"failed"``: it survives (a lower bound
        at or above it); ``"inconclusive"`` otherwise (more seeds would tell), or when
        every similarity is left out as noise (see :meth:`kinds`)."""
        used, _ = self.kinds()
        if not used:
            return "inconclusive"
        if all(self.bounds(k)[2] < self.threshold(threshold, k) for k in used):
            return "passed"
        if any(self.bounds(k)[1] >= self.threshold(threshold, k) for k in used):
            return "failed"
        return "inconclusive"

    def passed(self, threshold: float = 0.5) -> bool:
        """Whether the map changed once the model was fully random (see :meth:`outcome`)."""
        return self.outcome(threshold) == "passed"

    def verdict(self) -> str:
        """The outcome in plain words."""
        name = {"rise": "RISE", "lime": "LIME", "gradcam": "Grad-CAM"}.get(self.method, self.method)
        n = self.n_seeds
        what = {"raw": "the maps", "absolute": "their absolute values"}
        used, left = self.kinds()
        if not used:
            return (f"Inconclusive: two seeds on the trained model agree at only "
                    f"{self.seed_spearman:.2f}, so {name}'s map is mostly the explainer's "
                    "noise and cannot show whether it depends on the model. Raise the "
                    "number of masks or samples.")
        finals = self._finals()
        same = "raw" in used and finals.get("absolute") == finals["raw"]  # maps all >= 0
        parts = []
        for kind in used:
            if kind == "absolute" and same:
                continue
            mean, low, high = self.bounds(kind)
            bounds = "" if n == 1 else f", 95% bounds {low:.2f}–{high:.2f}"
            parts.append(f"{mean:.2f} for {what[kind]} ({'limit' if n > 1 else 'below'} "
                         f"{self.threshold(kind=kind):.2f}{bounds})")
        over = "with one seed" if n == 1 else f"mean over {n} seeds"
        sim = (f"|Spearman| {' and '.join(parts)}, {over}"
               + (" (the same for their absolute values)" if same else ""))
        noise = ("" if math.isnan(self.seed_spearman) else
                 f"; two seeds on the trained model agree at {self.seed_spearman:.2f}")
        dropped = "".join(f" ({what[k]} left out: two seeds agree on them at only "
                          f"{self._agreement(k):.2f})" for k in left)
        outcome = self.outcome()
        if outcome == "passed":
            return (f"Passed: with every layer randomised, {name}'s map no longer resembles "
                    f"the trained model's: {sim}{noise}{dropped}. The map depends on what "
                    "the model learned, as an explanation of the model should.")
        if outcome == "failed":
            return (f"Failed: with every layer randomised, {name}'s map still resembles the "
                    f"trained model's: {sim}{noise}{dropped}. A map that survives the "
                    "destruction of the model's weights is explaining the image (its edges "
                    "and colours), not the model.")
        return (f"Inconclusive: with every layer randomised, {name}'s map has {sim}{noise}"
                f"{dropped}: neither clearly below the limit nor clearly above. Run more "
                "seeds (or more masks or samples) to tell.")

    def record(self) -> dict[str, Any]:
        """JSON-serialisable summary (the maps are left out)."""
        return {
            "method": self.method, "target": self.target, "seed": self.seed,
            "params": self.params,
            "stages": [{"layer": lay, "n_randomized": len(r), "spearman": round(s, 4),
                        **({"spearman_abs": round(a, 4)} if a is not None else {}),
                        "ssim": round(q, 4)}
                       for lay, r, s, a, q in zip(
                           self.layers, self.randomized, self.spearman,
                           self.spearman_abs or (None,) * len(self.layers), self.ssim,
                           strict=True)],
            "seed_spearman": None if math.isnan(self.seed_spearman) else round(self.seed_spearman, 4),
            "seed_spearman_abs": (None if math.isnan(self.seed_spearman_abs)
                                  else round(self.seed_spearman_abs, 4)),
            "final_by_seed": [{"seed": self.seed + k, "spearman": round(r, 4),
                               "spearman_abs": round(a, 4)}
                              for k, (r, a) in enumerate(zip(self.final_spearman_seeds,
                                                             self.final_spearman_abs_seeds,
                                                             strict=True))],
            "outcome": self.outcome(),
            "passed": self.passed(),
            "verdict": self.verdict(),
            "wall_time_s": round(self.wall_s, 3),
        }


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman rank correlation of two maps (0 when either is constant)."""
    from scipy.stats import rankdata

    ra = rankdata(np.asarray(a, np.float64).ravel())
    rb = rankdata(np.asarray(b, np.float64).ravel())
    ra -= ra.mean()
    rb -= rb.mean()
    den = math.sqrt(float(ra @ ra) * float(rb @ rb))
    return 0.0 if den == 0 else float(ra @ rb) / den


def _unit(a: np.ndarray) -> np.ndarray:
    a = np.asarray(a, np.float64)
    lo, hi = float(a.min()), float(a.max())
    return np.zeros_like(a) if hi <= lo else (a - lo) / (hi - lo)


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """SSIM of two maps after min-max normalising each to [0, 1] (``data_range=1``)."""
    from skimage.metrics import structural_similarity

    return float(structural_similarity(_unit(a), _unit(b), data_range=1.0))


def weighted_layers(model: Any) -> list[Any]:
    """The model's layers that have weights, in model order (input to output)."""
    return [layer for layer in model.layers if layer.weights]


def stages(model: Any, max_stages: int = MAX_STAGES) -> list[list[str]]:
    """The cascade: for each stage, the names of the layers randomised (top first).

    Weighted layers from the output down are split into at most ``max_stages``
    consecutive groups; stage i randomises groups 1..i, the last stage all of them.
    """
    check_int("max_stages", max_stages, 1, 1000)
    names = [layer.name for layer in reversed(weighted_layers(model))]
    if not names:
        raise ValueError(f"model {model.name!r} has no weighted layers to randomise")
    groups = [list(g) for g in np.array_split(np.array(names, dtype=object),
                                              min(max_stages, len(names)))]
    out, acc = [], []
    for g in groups:
        acc = acc + [str(n) for n in g]
        out.append(acc)
    return out


def _reinitialised(weights: list[np.ndarray], names: list[str],
                   rng: np.random.Generator) -> list[np.ndarray]:
    new = []
    for w, name in zip(weights, names, strict=True):
        if w.ndim >= 2:
            std = float(w.std()) or math.sqrt(2.0 / max(1, int(np.prod(w.shape[:-1]))))
            new.append(rng.normal(0.0, std, w.shape).astype(w.dtype))
        elif name.endswith(("gamma", "variance")):
            new.append(np.ones_like(w))
        else:
            new.append(np.zeros_like(w))
    return new


def _copy_classifier(clf: Any) -> Any:
    """A Keras-run classifier around a clone of ``clf.model`` with the trained weights."""
    import keras

    from xai_core.models.classifier import Classifier

    clone = keras.models.clone_model(clf.model)
    clone.set_weights(clf.model.get_weights())
    return Classifier(f"{clf.name} (randomised)", tuple(clf.input_size), list(clf.class_names),
                      clone, preprocessing=clf.preprocessing, outputs_logits=clf.outputs_logits,
                      batch_size=clf.batch_size)


def _explainer(method: str, params: Mapping[str, Any], seed: int,
               batch_size: int) -> Callable[[Any, np.ndarray, int], np.ndarray]:
    from xai_core.explain import DEFAULTS

    allowed = set(DEFAULTS[method]) | ({"segmentation_params"} if method == "lime" else set())
    unknown = set(params) - allowed
    if unknown:
        raise ValueError(f"unknown {method.upper()} parameter(s) {', '.join(sorted(unknown))}; "
                         f"allowed: {', '.join(DEFAULTS[method])}")
    settings = {**DEFAULTS[method], **params}
    if method in ("rise", "lime") and "stop_at_r" not in params:
        # a fixed budget: every stage's map gets the same number of model calls, so the
        # similarities compare the maps' content, not where an automatic stop happened
        settings["stop_at_r"] = None
    if method == "rise":
        from xai_core.explainers.rise import explain_rise

        return lambda c, img, t, s=seed: explain_rise(
            c.predict, img, t, batch_size=batch_size, seed=s, **settings).saliency
    if method == "lime":
        from xai_core.explainers.lime import explain_lime

        return lambda c, img, t, s=seed: explain_lime(
            c.predict, img, t, batch_size=batch_size, seed=s, **settings).saliency
    from xai_core.explainers.gradcam import explain_gradcam

    return lambda c, img, t, s=seed: explain_gradcam(c, img, t, **settings).saliency


def randomization_test(
    clf: Any,
    image: np.ndarray,
    target: int,
    method: str = "rise",
    seed: int = 0,
    *,
    max_stages: int = MAX_STAGES,
    n_seeds: int = N_SEEDS,
    seed_check: bool = True,
    batch_size: int = 32,
    progress: ProgressFn | None = None,
    **method_params: Any,
) -> RandomizationResult:
    """Cascading model-randomisation test of a saliency method (Adebayo et al., 2018).

    Parameters
    ----------
    clf
        A :class:`~xai_core.Classifier` with a Keras ``model`` (never modified).
    image
        float32 (H, W, 3) RGB in [0, 255] at the classifier's input size.
    target
        Class index explained at every stage (the trained model's class).
    method
        ``"rise"``, ``"lime"`` or ``"gradcam"``.
    seed
        Seeds the explainer (the same at every stage, so only the model changes) and the
        re-initialised weights of the cascade.
    max_stages
        Most stages; deeper models have their weighted layers grouped (see module notes).
    n_seeds
        Seeds of the verdict (``seed``, ``seed + 1``, ...): each adds the trained model's
        map with that seed (not for Grad-CAM, which has no randomness) and the map of a
        model fully randomised with that seed. See the module notes.
    seed_check
        With one seed only: also explain the trained model with ``seed + 1`` and report
        the two maps' rank correlation (``seed_spearman``), the similarity noise alone
        leaves. With several seeds it comes from their trained maps.
    batch_size
        Images per model call of the explainer.
    progress
        Called as ``progress(done, total)`` in explanations.
    **method_params
        The method's parameters (as in :data:`xai_core.DEFAULTS`), e.g. ``n_masks=500``.
        RISE and LIME run at a fixed budget here (``stop_at_r=None``) unless it is given.

    Returns
    -------
    RandomizationResult
        ``.layers``, ``.saliency`` (trained first), ``.spearman``, ``.spearman_abs``,
        ``.ssim``, ``.final_spearman_seeds``, ``.verdict()``.

    Raises
    ------
    ValueError
        Unknown method or parameter, a model without weights, a bad image or target,
        ``n_seeds`` below 1.

    Examples
    --------
    >>> res = randomization_test(clf, img, 281, method="gradcam")  # doctest: +SKIP
    >>> [round(r, 2) for r in res.spearman]  # doctest: +SKIP
    """
    if method not in SANITY_METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of: {', '.join(SANITY_METHODS)}")
    check_int("seed", seed, 0)
    check_int("n_seeds", n_seeds, 1, 100)
    img = check_image(image)
    if getattr(clf, "model", None) is None:
        raise ValueError("the randomisation test needs a Classifier with its Keras model "
                         "(xai_core.load_classifier(...)), not a plain predict function")
    t0 = time.perf_counter()
    plan = stages(clf.model, max_stages)
    explain = _explainer(method, method_params, seed, batch_size)
    deterministic = method == "gradcam"
    extra_seed = n_seeds == 1 and seed_check and not deterministic
    total = (1 + len(plan) + (n_seeds - 1) * (1 if deterministic else 2)
             + (1 if extra_seed else 0))
    done = 0

    def tick() -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, total)

    t = int(target)
    trained = [np.asarray(explain(clf, img, t), np.float32)]  # the loaded model, as seen
    tick()
    for k in range(1, n_seeds):
        if deterministic:
            trained.append(trained[0])
        else:
            trained.append(np.asarray(explain(clf, img, t, seed + k), np.float32))
            tick()
    if extra_seed:
        trained.append(np.asarray(explain(clf, img, t, seed + 1), np.float32))
        tick()
    seed_r = seed_r_abs = math.nan
    if deterministic and (seed_check or n_seeds > 1):
        seed_r = seed_r_abs = 1.0
    elif len(trained) > 1:
        seed_r = float(np.mean([spearman(a, b) for a, b in itertools.pairwise(trained)]))
        seed_r_abs = float(np.mean([spearman(np.abs(a), np.abs(b))
                                    for a, b in itertools.pairwise(trained)]))
    copy = _copy_classifier(clf)
    rng = np.random.default_rng(seed)
    maps = [trained[0]]
    randomised: set[str] = set()
    for names in plan:
        for name in names:
            if name in randomised:
                continue
            layer = copy.model.get_layer(name)
            layer.set_weights(_reinitialised(layer.get_weights(),
                                             [v.path for v in layer.weights], rng))
            randomised.add(name)
        maps.append(np.asarray(explain(copy, img, t), np.float32))
        tick()
    finals = [maps[-1]]
    for k in range(1, n_seeds):  # the whole model randomised anew with each seed
        rng_k = np.random.default_rng(seed + k)
        for name in plan[-1]:
            trained_layer = clf.model.get_layer(name)
            copy.model.get_layer(name).set_weights(_reinitialised(
                trained_layer.get_weights(), [v.path for v in trained_layer.weights], rng_k))
        finals.append(np.asarray(explain(copy, img, t, seed + k), np.float32))
        tick()
    for m in maps:
        m.setflags(write=False)
    # each random model's map against the trained model's map of the next seed: two maps
    # of one seed share the explainer's noise, which is no resemblance of content
    pairs = [(trained[(k + 1) % len(trained)], f) for k, f in enumerate(finals)]
    params = {k: (list(v) if isinstance(v, tuple) else v) for k, v in method_params.items()}
    return RandomizationResult(
        method=method,
        layers=tuple(names[-1] for names in plan),
        randomized=tuple(tuple(names) for names in plan),
        saliency=tuple(maps),
        spearman=tuple(spearman(maps[0], m) for m in maps[1:]),
        ssim=tuple(ssim(maps[0], m) for m in maps[1:]),
        target=t,
        seed=int(seed),
        params={**params, "max_stages": max_stages, "batch_size": batch_size,
                "n_seeds": n_seeds},
        seed_spearman=seed_r,
        wall_s=time.perf_counter() - t0,
        spearman_abs=tuple(spearman(np.abs(maps[0]), np.abs(m)) for m in maps[1:]),
        seed_spearman_abs=seed_r_abs,
        final_spearman_seeds=tuple(spearman(a, b) for a, b in pairs),
        final_spearman_abs_seeds=tuple(spearman(np.abs(a), np.abs(b)) for a, b in pairs),
    )
