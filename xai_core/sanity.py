"""The model-randomisation sanity check (Adebayo et al., NeurIPS 2018, "Sanity checks for
saliency maps").

A map that explains the *model* must change when the model's learned weights are
destroyed. The check re-initialises the weights in a cascade -- the top (output) layer,
then the top two, ..., down to every weighted layer -- explains the same image with the
same method and seed after each stage, and measures how similar each map stays to the
trained model's map: Spearman rank correlation and SSIM of the min-max normalised maps.
A map that stays similar while the model becomes random explains the image (edges,
colours), not the model.

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
        Spearman correlation between the trained model's maps with ``seed`` and
        ``seed + 1``: how similar a map stays from noise alone (1.0 for Grad-CAM, which
        has no randomness). ``nan`` when not computed.
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

    @property
    def final_spearman(self) -> float:
        """Rank correlation with every weighted layer randomised (the last stage)."""
        return self.spearman[-1]

    def passed(self, threshold: float = 0.5) -> bool:
        """Whether the map changed once the model was fully random: the last stage's
        |Spearman| is below ``threshold`` (and below half the seed-to-seed correlation
        when that is known)."""
        last = abs(self.final_spearman)
        if not math.isnan(self.seed_spearman):
            threshold = min(threshold, 0.5 * self.seed_spearman)
        return last < threshold

    def verdict(self) -> str:
        """The outcome in plain words."""
        name = {"rise": "RISE", "lime": "LIME", "gradcam": "Grad-CAM"}.get(self.method, self.method)
        last = self.final_spearman
        noise = ("" if math.isnan(self.seed_spearman) else
                 f" (two seeds on the trained model agree at {self.seed_spearman:.2f})")
        if self.passed():
            return (f"Passed: with every layer randomised, {name}'s map correlates only "
                    f"{last:.2f} with the trained model's{noise}. The map depends on what "
                    "the model learned, as an explanation of the model should.")
        return (f"Failed: with every layer randomised, {name}'s map still correlates "
                f"{last:.2f} with the trained model's{noise}. A map that survives the "
                "destruction of the model's weights is explaining the image (its edges and "
                "colours), not the model.")

    def record(self) -> dict[str, Any]:
        """JSON-serialisable summary (the maps are left out)."""
        return {
            "method": self.method, "target": self.target, "seed": self.seed,
            "params": self.params,
            "stages": [{"layer": lay, "n_randomized": len(r), "spearman": round(s, 4),
                        "ssim": round(q, 4)}
                       for lay, r, s, q in zip(self.layers, self.randomized, self.spearman,
                                               self.ssim, strict=True)],
            "seed_spearman": None if math.isnan(self.seed_spearman) else round(self.seed_spearman, 4),
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
        re-initialised weights.
    max_stages
        Most stages; deeper models have their weighted layers grouped (see module notes).
    seed_check
        Also explain the trained model with ``seed + 1`` and report the two maps' rank
        correlation (``seed_spearman``): the similarity noise alone leaves, a yardstick
        for the stages (skipped for Grad-CAM, which is deterministic: 1.0).
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
        ``.layers``, ``.saliency`` (trained first), ``.spearman``, ``.ssim``, ``.verdict()``.

    Raises
    ------
    ValueError
        Unknown method or parameter, a model without weights, a bad image or target.

    Examples
    --------
    >>> res = randomization_test(clf, img, 281, method="gradcam")  # doctest: +SKIP
    >>> [round(r, 2) for r in res.spearman]  # doctest: +SKIP
    """
    if method not in SANITY_METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of: {', '.join(SANITY_METHODS)}")
    check_int("seed", seed, 0)
    img = check_image(image)
    if getattr(clf, "model", None) is None:
        raise ValueError("the randomisation test needs a Classifier with its Keras model "
                         "(xai_core.load_classifier(...)), not a plain predict function")
    t0 = time.perf_counter()
    plan = stages(clf.model, max_stages)
    explain = _explainer(method, method_params, seed, batch_size)
    deterministic = method == "gradcam"
    total = 1 + len(plan) + (1 if seed_check and not deterministic else 0)
    done = 0

    def tick() -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, total)

    trained = explain(clf, img, int(target))  # the loaded model, as the user sees it
    tick()
    seed_r = math.nan
    if seed_check:
        if deterministic:
            seed_r = 1.0
        else:
            seed_r = spearman(trained, explain(clf, img, int(target), seed + 1))
            tick()
    copy = _copy_classifier(clf)
    rng = np.random.default_rng(seed)
    maps = [np.asarray(trained, np.float32)]
    randomised: set[str] = set()
    for names in plan:
        for name in names:
            if name in randomised:
                continue
            layer = copy.model.get_layer(name)
            layer.set_weights(_reinitialised(layer.get_weights(),
                                             [v.path for v in layer.weights], rng))
            randomised.add(name)
        maps.append(np.asarray(explain(copy, img, int(target)), np.float32))
        tick()
    for m in maps:
        m.setflags(write=False)
    params = {k: (list(v) if isinstance(v, tuple) else v) for k, v in method_params.items()}
    return RandomizationResult(
        method=method,
        layers=tuple(names[-1] for names in plan),
        randomized=tuple(tuple(names) for names in plan),
        saliency=tuple(maps),
        spearman=tuple(spearman(maps[0], m) for m in maps[1:]),
        ssim=tuple(ssim(maps[0], m) for m in maps[1:]),
        target=int(target),
        seed=int(seed),
        params={**params, "max_stages": max_stages, "batch_size": batch_size},
        seed_spearman=seed_r,
        wall_s=time.perf_counter() - t0,
    )
