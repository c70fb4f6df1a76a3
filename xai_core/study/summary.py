"""Summaries of a study: mean AUCs with bootstrap intervals, paired comparisons.

The statistics are pure functions of arrays (:func:`bootstrap_mean`,
:func:`paired_comparison`); :func:`summarize` turns the rows of results.csv into
Markdown. Intervals are percentile bootstrap intervals (Efron & Tibshirani, 1993) over
images, with a seeded generator, so the same results give the same summary.

A paired comparison takes two configurations that differ in one factor (the model, the
method, or one parameter of the method) with everything else equal, and compares them on
the images both scored: the mean difference A - B with its interval, and the share of
images where each is better (lower deletion AUC, higher insertion AUC).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from xai_core.explain import METHODS
from xai_core.study.plan import STUDY_PARAMS


@dataclass(frozen=True)
class Interval:
    """A mean and its bootstrap interval ``[low, high]`` over ``n`` values."""

    mean: float
    low: float
    high: float
    n: int

    def text(self, digits: int = 3) -> str:
        return f"{self.mean:.{digits}f} [{self.low:.{digits}f}, {self.high:.{digits}f}]"


def bootstrap_mean(values: Sequence[float] | np.ndarray, *, n_boot: int = 2000,
                   level: float = 0.95, seed: int = 0) -> Interval:
    """The mean of ``values`` and its percentile bootstrap interval.

    Parameters
    ----------
    values
        1-D finite numbers (at least one). With one value the interval is that value.
    n_boot
        Bootstrap resamples.
    level
        Coverage of the interval, in (0, 1).
    seed
        Seed of the resampling (``numpy.random.default_rng``).
    """
    x = np.asarray(values, dtype=np.float64)
    if x.ndim != 1 or x.size == 0:
        raise ValueError(f"bootstrap_mean needs a 1-D list of at least one value; got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError("bootstrap_mean: the values contain NaN or infinite numbers")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be strictly between 0 and 1; got {level}")
    if n_boot < 1:
        raise ValueError(f"n_boot must be at least 1; got {n_boot}")
    mean = float(x.mean())
    rng = np.random.default_rng(seed)
    means = x[rng.integers(0, x.size, (n_boot, x.size))].mean(axis=1)
    alpha = (1.0 - level) / 2.0
    low, high = np.quantile(means, [alpha, 1.0 - alpha])
    # the percentile interval of a mean always brackets it except for rounding; make it so
    return Interval(mean, float(min(low, mean)), float(max(high, mean)), int(x.size))


@dataclass(frozen=True)
class Paired:
    """A paired comparison of A and B on the same images.

    ``difference`` is the mean of A - B with its interval; ``a_better`` / ``b_better``
    the shares of images where each is better (ties in neither).
    """

    difference: Interval
    a_better: float
    b_better: float


def paired_comparison(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray, *,
                      lower_is_better: bool, n_boot: int = 2000, level: float = 0.95,
                      seed: int = 0) -> Paired:
    """Compare two configurations' scores on the same images (``a[i]``, ``b[i]``: image i)."""
    x, y = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"paired scores must be two 1-D lists of the same length; "
                         f"got shapes {x.shape} and {y.shape}")
    d = x - y
    diff = bootstrap_mean(d, n_boot=n_boot, level=level, seed=seed)
    better = d < 0 if lower_is_better else d > 0
    worse = d > 0 if lower_is_better else d < 0
    return Paired(diff, float(better.mean()), float(worse.mean()))


# --- from rows to Markdown ------------------------------------------------------------

Config = tuple[str, str, str, str, str]  # model, method, params text, protocol, seed


def _config(row: Mapping[str, str]) -> Config:
    method = row["method"]
    params = ";".join(f"{n}={row.get(f'{method}.{n}', '')}" for n in STUDY_PARAMS.get(method, ()))
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
        shown = [f"{k}={v}" for k, v in _params(c).items()
                 if len(varying[f"{c[1]}.{k}"]) > 1 or k == budget.get(c[1])]
        out[c] = f"{c[0]} · {c[1].upper()} " + " ".join(shown)
    return out


def summarize(rows: Sequence[Mapping[str, str]], *, n_boot: int = 2000, seed: int = 0) -> str:
    """A Markdown summary of results.csv rows: per configuration the mean deletion and
    insertion AUCs with 95% bootstrap intervals, then every paired comparison of two
    configurations that differ in one factor (the data: :mod:`xai_core.study.report`)."""
    from xai_core.study.report import comparisons, config_stats

    stats = config_stats(rows, n_boot=n_boot, seed=seed)
    comps = comparisons(stats, n_boot=n_boot, seed=seed)
    n_images = len({r["image"] for r in rows})
    lines = ["# Study summary", "",
             f"{len(rows)} rows, {n_images} images, {len(stats)} configurations; "
             f"{sum(s.failed for s in stats)} rows failed. Means with 95% percentile bootstrap "
             f"intervals over images ({n_boot} resamples, seed {seed}). Deletion AUC: lower is "
             "better; insertion AUC: higher is better.", ""]
    for protocol in sorted({s.protocol for s in stats}):
        lines += [f"## Protocol `{protocol}`", "",
                  "| configuration | images | deletion AUC ↓ | insertion AUC ↑ | failed |",
                  "|---|---:|---|---|---:|"]
        for s in stats:
            if s.protocol == protocol:
                d = s.deletion.text() if s.deletion else "–"
                i = s.insertion.text() if s.insertion else "–"
                lines.append(f"| {s.label} | {len(s.scores)} | {d} | {i} | {s.failed} |")
        pairs = [c for c in comps if c.protocol == protocol]
        if pairs:
            lines += ["", f"### Paired comparisons (`{protocol}`)", "",
                      "A − B on the images both scored; \"A / B better\": share of images where "
                      "each wins.", "",
                      "| factor | A | B | images | deletion A−B | A / B better | "
                      "insertion A−B | A / B better |",
                      "|---|---|---|---:|---|---|---|---|"]
        for c in pairs:
            pd, pi = c.deletion, c.insertion
            lines.append(
                f"| {c.factor} | {c.a.label} | {c.b.label} | {len(c.images)} | "
                f"{pd.difference.text()} | {pd.a_better:.0%} / {pd.b_better:.0%} | "
                f"{pi.difference.text()} | {pi.a_better:.0%} / {pi.b_better:.0%} |")
        lines.append("")
    return "\n".join(lines)
