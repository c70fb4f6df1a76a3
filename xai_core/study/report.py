"""A study's results as data: per-configuration AUC statistics, paired comparisons and the
lab's claims as measured statements.

:func:`~xai_core.study.summary.summarize` (Markdown) and the dashboard's "Dataset study"
page both read these, so the statistics are computed in one place, from
:mod:`xai_core.stats`: each configuration's mean AUC with its t interval
(:func:`~xai_core.stats.mean_interval`), each paired comparison with the exact sign-flip
test (:func:`~xai_core.stats.paired_difference`), and the claims of one summary corrected
together with Holm's method (:func:`~xai_core.stats.holm`).

A paired comparison takes two configurations that differ in one factor (the model, the
method, or one parameter of the method) with everything else equal, and compares them on
the images both scored.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from xai_core.explain import METHODS
from xai_core.stats import (
    MeanInterval,
    PairedDifference,
    holm,
    mean_interval,
    paired_difference,
    smallest_p_value,
    too_few_images,
)
from xai_core.study.plan import STUDY_PARAMS, params_text

#: The two scores of a row, and which way is better.
METRICS: Mapping[str, bool] = {"deletion": True, "insertion": False}  # lower is better?

Config = tuple[str, str, str, str, str]  # model, method, params text, protocol, seed


def _config(row: Mapping[str, str]) -> Config:
    method = row["method"]
    params = params_text((n, row.get(f"{method}.{n}", "")) for n in STUDY_PARAMS.get(method, ()))
    return (row["model"], method, params, row["protocol"], row["seed"])


def _params(config: Config) -> dict[str, str]:
    return dict(p.split("=", 1) for p in config[2].split(";") if p)


def _differing_factor(a: Config, b: Config) -> str | None:
    """The one factor two configurations differ in, or None (several, or none)."""
    if a[3:] != b[3:]:
        return None  # other protocol or seed: not a comparison of explanations
    if a[0] != b[0]:
        return "model" if a[1:3] == b[1:3] else None
    if a[1] != b[1]:
        return "method"
    pa, pb = _params(a), _params(b)
    diff = [k for k in pa if pa[k] != pb.get(k)]
    return f"{a[1]}.{diff[0]}" if len(diff) == 1 else None


def _order_key(configs: Sequence[Config]):
    """Sort by protocol, seed, model (in order of appearance), method, then parameters
    by value (numbers numerically, so mask size 7 comes before 15)."""
    models = {c[0]: k for k, c in reversed(list(enumerate(configs)))}
    methods = {m: k for k, m in enumerate(METHODS)}

    def value(v: str) -> tuple[int, float, str]:
        try:
            return (0, float(v), "")
        except ValueError:
            return (1, 0.0, v)

    def key(c: Config):
        return (c[3], c[4], models[c[0]], methods.get(c[1], len(methods)),
                tuple(value(v) for v in _params(c).values()))

    return key


def _labels(configs: Sequence[Config]) -> dict[Config, str]:
    """Short names: model, method and the parameters that vary in this study (plus the budget)."""
    varying: dict[str, set[str]] = {}
    for c in configs:
        for k, v in _params(c).items():
            varying.setdefault(f"{c[1]}.{k}", set()).add(v)
    budget = {"rise": "n_masks", "lime": "num_samples"}
    out = {}
    for c in configs:
        shown = [(k, v) for k, v in _params(c).items()
                 if len(varying[f"{c[1]}.{k}"]) > 1 or k == budget.get(c[1])]
        out[c] = f"{c[0]} · {c[1].upper()} " + params_text(shown, sep=" ")
    return out


@dataclass(frozen=True)
class ConfigStats:
    """One configuration (model, method, settings, protocol, seed) over the images it scored.

    ``scores`` maps each image (its path in the study) to ``(deletion AUC, insertion AUC)``;
    ``deletion`` / ``insertion`` are their means with t intervals (``None`` when no image
    was scored); ``failed`` counts rows with an error.
    """

    config: Config
    label: str
    scores: Mapping[str, tuple[float, float]]
    deletion: MeanInterval | None
    insertion: MeanInterval | None
    failed: int

    @property
    def model(self) -> str:
        return self.config[0]

    @property
    def method(self) -> str:
        return self.config[1]

    @property
    def protocol(self) -> str:
        return self.config[3]

    @property
    def params(self) -> dict[str, str]:
        """The method's study parameters as written in results.csv (strings)."""
        return _params(self.config)


@dataclass(frozen=True)
class Comparison:
    """Two configurations that differ in one ``factor`` (``"model"``, ``"method"`` or
    ``"<method>.<parameter>"``), compared on the ``images`` both scored (A − B), on each
    metric with the exact sign-flip test (unadjusted p-values; :func:`claims` corrects
    them together)."""

    factor: str
    a: ConfigStats
    b: ConfigStats
    images: tuple[str, ...]
    deletion: PairedDifference
    insertion: PairedDifference

    @property
    def protocol(self) -> str:
        return self.a.protocol


def _auc_interval(iv: MeanInterval) -> MeanInterval:
    """An AUC's interval cut to [0, 1], where AUCs lie (its coverage is unchanged)."""
    return MeanInterval(iv.mean, max(iv.low, 0.0), min(iv.high, 1.0), iv.n, iv.level)


def config_stats(rows: Sequence[Mapping[str, str]], *, level: float = 0.95) -> list[ConfigStats]:
    """Per configuration of results.csv ``rows``: the scores of each image and the mean
    AUCs with t intervals at ``level`` (cut to [0, 1]), in the summary's order (protocol, model, method,
    parameters by value)."""
    scores: dict[Config, dict[str, tuple[float, float]]] = {}
    failed: dict[Config, int] = {}
    for r in rows:
        c = _config(r)
        scores.setdefault(c, {})
        failed.setdefault(c, 0)
        if r["status"] == "ok":
            scores[c][r["image"]] = (float(r["deletion_auc"]), float(r["insertion_auc"]))
        else:
            failed[c] += 1
    configs = sorted(scores, key=_order_key(list(scores)))
    labels = _labels(configs)
    out = []
    for c in configs:
        vals = np.array(list(scores[c].values())).reshape(-1, 2)
        d = i = None
        if len(vals):
            d, i = (_auc_interval(mean_interval(v, level=level)) for v in vals.T)
        out.append(ConfigStats(c, labels[c], dict(scores[c]), d, i, failed[c]))
    return out


def comparisons(stats: Sequence[ConfigStats], *, level: float = 0.95,
                seed: int = 0) -> list[Comparison]:
    """Every paired comparison of two configurations of one protocol that differ in one
    factor and share at least one scored image (``seed``: the sign patterns' beyond 16
    images)."""
    out = []
    for k, a in enumerate(stats):
        for b in stats[k + 1:]:
            factor = _differing_factor(a.config, b.config)
            if factor is None:
                continue
            common = tuple(sorted(set(a.scores) & set(b.scores)))
            if not common:
                continue
            sa = np.array([a.scores[i] for i in common])
            sb = np.array([b.scores[i] for i in common])
            pd = paired_difference(sa[:, 0], sb[:, 0], lower_is_better=True, level=level,
                                   seed=seed)
            pi = paired_difference(sa[:, 1], sb[:, 1], lower_is_better=False, level=level,
                                   seed=seed)
            out.append(Comparison(factor, a, b, common, pd, pi))
    return out


# --- the lab's claims ----------------------------------------------------------------

#: The lab's claims a factor speaks to (others are shown under their own name).
CLAIMS: Mapping[str, str] = {
    "rise.mask_size": "RISE's mask size s: the smaller the mask, the better, up to a point",
    "method": "LIME vs RISE: is one more faithful than the other?",
    "model": "Models: do two models' maps differ in faithfulness?",
}


def _short(s: ConfigStats, factor: str) -> str:
    """The name of one side of a comparison: only what differs."""
    if factor == "model":
        return s.model
    params = s.params
    if factor.startswith(f"{s.method}."):
        name = factor.split(".", 1)[1]
        short = {"mask_size": "s", "n_masks": "N", "num_samples": "samples"}.get(name, name)
        return f"{s.method.upper()} {short}={params.get(name, '')}"
    if s.method == "rise":
        return f"RISE s={params.get('mask_size', '')}"
    return s.method.upper() if s.method != "gradcam" else "Grad-CAM"


@dataclass(frozen=True)
class Claim:
    """One measured statement: a comparison's verdict on one metric.

    ``established``: the Holm-adjusted p-value (over all claims of one summary) is at most
    ``1 - level``; ``winner`` then comes first in ``text`` and ``difference`` is winner −
    loser (A − B otherwise); ``wins`` images of ``images`` favour the winner (or A).
    ``p_value`` is the comparison's own exact p-value, ``p_adjusted`` Holm's.
    """

    heading: str
    context: str
    protocol: str
    metric: str
    established: bool
    text: str
    difference: MeanInterval
    wins: int
    images: int
    p_value: float
    p_adjusted: float


def _fmt(x: float, digits: int = 3) -> str:
    return f"{x:.{digits}f}".replace("-", "−")


def p_text(p: float) -> str:
    """A p-value as shown: 3 significant digits, ``< 0.001`` below that."""
    return "< 0.001" if p < 0.001 else f"{p:.3g}"


def claims(comps: Sequence[Comparison], *, level: float = 0.95) -> list[Claim]:
    """Each comparison's verdict on deletion and on insertion as a sentence, with the
    p-values of all of them corrected together (Holm), e.g. "RISE s=15 deletes better
    than RISE s=7: mean difference −0.065 [−0.109, −0.021], p = 0.00781, Holm: 0.0312,
    8 of 8 images", "... not established (p = 0.31, Holm: 1)", or, when the images are
    too few for any p-value to be small enough, "with 4 images no difference can be
    established at 95% (p = 0.125 at best)"."""
    tests = [(c, metric, lower, getattr(c, metric)) for c in comps
             for metric, lower in METRICS.items()]
    adjusted = holm([t[3].p_value for t in tests], alpha=1.0 - level).adjusted if tests else ()
    out = []
    for (c, metric, lower, p), p_adj in zip(tests, adjusted, strict=True):
        heading = CLAIMS.get(c.factor, f"{c.factor}")
        a, b = _short(c.a, c.factor), _short(c.b, c.factor)
        others = [c.a.model] if c.factor != "model" else []
        if c.factor != "method" and c.a.method == c.b.method and c.factor != f"{c.a.method}.mask_size":
            others.append(c.a.method.upper())
        context = ", ".join(others)
        n = p.n
        verb = "deletes" if metric == "deletion" else "inserts"
        ps = f"p = {p_text(p.p_value)}, Holm: {p_text(p_adj)}"
        if p_adj <= 1.0 - level and p.mean != 0:
            a_wins = (p.mean < 0) == lower
            win, lose = (a, b) if a_wins else (b, a)
            sign = 1.0 if a_wins else -1.0
            lo, hi = sorted((sign * p.low, sign * p.high))
            diff = MeanInterval(sign * p.mean, lo, hi, n, level)
            wins = p.a_better if a_wins else p.b_better
            text = (f"{win} {verb} better than {lose}: mean difference {diff.text()}, {ps}, "
                    f"{wins} of {n} images")
            out.append(Claim(heading, context, c.protocol, metric, True, text, diff, wins, n,
                             p.p_value, p_adj))
            continue
        d = p.interval
        few = too_few_images(n, level)
        if few is not None:  # no p-value could be small enough, whatever the scores
            why = f"{few} (p = {p_text(smallest_p_value(n))} at best)"
        else:
            why = f"not established ({ps})"
        text = (f"{a} vs {b} on {metric}: {why}: {a} − {b} = {d.text()}, "
                f"{a} better on {p.a_better} of {n} images")
        out.append(Claim(heading, context, c.protocol, metric, False, text, d, p.a_better, n,
                         p.p_value, p_adj))
    return out


def study_params(row: Mapping[str, str]) -> dict[str, str]:
    """A row's method parameters as written (empty values left out)."""
    method = row["method"]
    return {n: row[f"{method}.{n}"] for n in STUDY_PARAMS.get(method, ())
            if row.get(f"{method}.{n}")}


def typed_params(row: Mapping[str, str]) -> dict[str, object]:
    """A row's method parameters as values :func:`xai_core.explain` takes (empty ones left
    out, so they keep the library's defaults)."""
    from xai_core.study.plan import STUDY_DEFAULTS, _parse_value

    method = row["method"]
    out = {k: _parse_value(method, k, v) for k, v in study_params(row).items()}
    # an empty column of a study's row is the study's default there (stop_at_r: a fixed budget)
    for k, v in STUDY_DEFAULTS.get(method, {}).items():
        if v is None and k not in out and f"{method}.{k}" in row:
            out[k] = None
    return out
