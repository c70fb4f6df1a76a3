"""A study's results as data: per-configuration AUC statistics, paired comparisons and the
lab's claims as measured statements.

:func:`summarize` (Markdown) and the dashboard's "Dataset study" page both read these, so
the statistics are computed in one place (:func:`~xai_core.study.summary.bootstrap_mean`,
:func:`~xai_core.study.summary.paired_comparison`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from xai_core.study.plan import STUDY_PARAMS
from xai_core.study.summary import (
    Config,
    Interval,
    Paired,
    _config,
    _differing_factor,
    _labels,
    _order_key,
    _params,
    bootstrap_mean,
    paired_comparison,
)

#: The two scores of a row, and which way is better.
METRICS: Mapping[str, bool] = {"deletion": True, "insertion": False}  # lower is better?


@dataclass(frozen=True)
class ConfigStats:
    """One configuration (model, method, settings, protocol, seed) over the images it scored.

    ``scores`` maps each image (its path in the study) to ``(deletion AUC, insertion AUC)``;
    ``deletion`` / ``insertion`` are their means with bootstrap intervals (``None`` when no
    image was scored); ``failed`` counts rows with an error.
    """

    config: Config
    label: str
    scores: Mapping[str, tuple[float, float]]
    deletion: Interval | None
    insertion: Interval | None
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
    ``"<method>.<parameter>"``), compared on the ``images`` both scored (A − B)."""

    factor: str
    a: ConfigStats
    b: ConfigStats
    images: tuple[str, ...]
    deletion: Paired
    insertion: Paired

    @property
    def protocol(self) -> str:
        return self.a.protocol


def config_stats(rows: Sequence[Mapping[str, str]], *, n_boot: int = 2000,
                 seed: int = 0) -> list[ConfigStats]:
    """Per configuration of results.csv ``rows``: the scores of each image and the mean
    AUCs with 95% bootstrap intervals, in the summary's order (protocol, model, method,
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
            d = bootstrap_mean(vals[:, 0], n_boot=n_boot, seed=seed)
            i = bootstrap_mean(vals[:, 1], n_boot=n_boot, seed=seed)
        out.append(ConfigStats(c, labels[c], dict(scores[c]), d, i, failed[c]))
    return out


def comparisons(stats: Sequence[ConfigStats], *, n_boot: int = 2000,
                seed: int = 0) -> list[Comparison]:
    """Every paired comparison of two configurations of one protocol that differ in one
    factor and share at least one scored image."""
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
            pd = paired_comparison(sa[:, 0], sb[:, 0], lower_is_better=True, n_boot=n_boot,
                                   seed=seed)
            pi = paired_comparison(sa[:, 1], sb[:, 1], lower_is_better=False, n_boot=n_boot,
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

    ``established``: the 95% interval of the mean difference excludes 0; ``winner`` and
    ``loser`` then name the better and worse side, and ``difference`` is winner − loser
    (``None`` / the A − B difference otherwise); ``wins`` images of ``images`` favour the
    winner (or A).
    """

    heading: str
    context: str
    protocol: str
    metric: str
    established: bool
    text: str
    difference: Interval
    wins: int
    images: int


def _fmt(x: float, digits: int = 3) -> str:
    return f"{x:.{digits}f}".replace("-", "−")


def claims(comps: Sequence[Comparison]) -> list[Claim]:
    """Each comparison's verdict on deletion and on insertion as a sentence, e.g.
    "RISE s=15 deletes better than RISE s=7: mean difference −0.065 [−0.146, −0.005],
    3 of 4 images", or "... not established (the interval includes 0)"."""
    out = []
    for c in comps:
        heading = CLAIMS.get(c.factor, f"{c.factor}")
        a, b = _short(c.a, c.factor), _short(c.b, c.factor)
        others = [c.a.model] if c.factor != "model" else []
        if c.factor != "method" and c.a.method == c.b.method and c.factor != f"{c.a.method}.mask_size":
            others.append(c.a.method.upper())
        context = ", ".join(others)
        n = len(c.images)
        for metric, lower in METRICS.items():
            p: Paired = getattr(c, metric)
            d = p.difference
            verb = "deletes" if metric == "deletion" else "inserts"
            if d.low > 0 or d.high < 0:
                a_wins = (d.mean < 0) == lower
                win, lose = (a, b) if a_wins else (b, a)
                sign = 1.0 if a_wins else -1.0
                lo, hi = sorted((sign * d.low, sign * d.high))
                diff = Interval(sign * d.mean, lo, hi, d.n)
                wins = round((p.a_better if a_wins else p.b_better) * n)
                text = (f"{win} {verb} better than {lose}: mean difference "
                        f"{_fmt(diff.mean)} [{_fmt(diff.low)}, {_fmt(diff.high)}], "
                        f"{wins} of {n} images")
                out.append(Claim(heading, context, c.protocol, metric, True, text, diff, wins, n))
            else:
                wins = round(p.a_better * n)
                text = (f"{a} vs {b} on {metric}: not established (the interval includes 0): "
                        f"{a} − {b} = {_fmt(d.mean)} [{_fmt(d.low)}, {_fmt(d.high)}], "
                        f"{a} better on {wins} of {n} images")
                out.append(Claim(heading, context, c.protocol, metric, False, text, d, wins, n))
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
