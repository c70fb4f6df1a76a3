"""A study's summary in Markdown: mean AUCs with t intervals per configuration, then the
paired comparisons and the claims they support.

The statistics are in :mod:`xai_core.stats` and turned into per-configuration data,
comparisons and claims by :mod:`xai_core.study.report`, which the dashboard reads too;
this module only writes them out. Claims are corrected together with Holm's method, so
"established" holds for the summary as a whole, not claim by claim.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from xai_core.stats import EXACT_MAX_N, too_few_images
from xai_core.study.report import claims, comparisons, config_stats, p_text


def _wins(a: int, b: int) -> str:
    return f"{a} / {b}"


def summarize(rows: Sequence[Mapping[str, str]], *, level: float = 0.95, seed: int = 0) -> str:
    """A Markdown summary of results.csv rows.

    Per configuration the mean deletion and insertion AUCs with t intervals over images;
    then every paired comparison of two configurations that differ in one factor (the
    exact sign-flip test's p-value, Holm-adjusted over all the summary's claims), and the
    claims as sentences. With too few images to establish anything it says so.

    Parameters
    ----------
    rows
        Rows of results.csv (:func:`~xai_core.study.results.read_rows`).
    level
        Confidence of the intervals; a claim is established when its Holm-adjusted
        p-value is at most ``1 - level``.
    seed
        Seeds the sign patterns of comparisons over more than 16 images.
    """
    stats = config_stats(rows, level=level)
    comps = comparisons(stats, level=level, seed=seed)
    found = claims(comps, level=level)
    n_images = len({r["image"] for r in rows})
    pct = f"{level:.0%}"
    lines = ["# Study summary", "",
             f"{len(rows)} rows, {n_images} images, {len(stats)} configurations; "
             f"{sum(s.failed for s in stats)} rows failed. Deletion AUC: lower is better; "
             "insertion AUC: higher is better. Means with their "
             f"{pct} Student t intervals over images. Paired comparisons: A − B on the images "
             f"both scored, with the exact sign-flip test of the mean (all 2^n sign patterns "
             f"up to {EXACT_MAX_N} images, seeded random ones beyond, seed {seed}); its "
             f"p-values are adjusted with Holm's method over the {len(found)} claims of this "
             f"summary, and a claim is established when its adjusted p ≤ {1 - level:.2g}.", ""]
    few = too_few_images(n_images, level, max(1, len(found)))
    if comps and few is not None:
        lines += [f"**{few[0].upper() + few[1:]}**: the smallest p-value an exact paired "
                  f"test can give with {n_images} images, times the {len(found)} claims, "
                  f"is above {1 - level:.2g}. The comparisons below describe these images "
                  "only.", ""]
    for protocol in sorted({s.protocol for s in stats}):
        lines += [f"## Protocol `{protocol}`", "",
                  f"| configuration | images | deletion AUC ↓ [{pct}] | "
                  f"insertion AUC ↑ [{pct}] | failed |",
                  "|---|---:|---|---|---:|"]
        for s in stats:
            if s.protocol == protocol:
                d = s.deletion.text() if s.deletion else "–"
                i = s.insertion.text() if s.insertion else "–"
                lines.append(f"| {s.label} | {len(s.scores)} | {d} | {i} | {s.failed} |")
        pairs = [c for c in comps if c.protocol == protocol]
        if pairs:
            lines += ["", f"### Paired comparisons (`{protocol}`)", "",
                      "A − B on the images both scored, with its t interval; p: the exact "
                      "sign-flip test, then Holm-adjusted; \"A / B better\": images where "
                      "each wins.", "",
                      "| factor | A | B | images | deletion A−B | p (Holm) | A / B better | "
                      "insertion A−B | p (Holm) | A / B better |",
                      "|---|---|---|---:|---|---|---|---|---|---|"]
        mine = iter([c for c in found if c.protocol == protocol])
        for c in pairs:
            cd, ci = next(mine), next(mine)
            pd, pi = c.deletion, c.insertion
            lines.append(
                f"| {c.factor} | {c.a.label} | {c.b.label} | {len(c.images)} | "
                f"{pd.interval.text()} | {p_text(pd.p_value)} ({p_text(cd.p_adjusted)}) | "
                f"{_wins(pd.a_better, pd.b_better)} | "
                f"{pi.interval.text()} | {p_text(pi.p_value)} ({p_text(ci.p_adjusted)}) | "
                f"{_wins(pi.a_better, pi.b_better)} |")
        protocol_claims = [c for c in found if c.protocol == protocol]
        if protocol_claims:
            lines += ["", f"### Claims (`{protocol}`)", ""]
            for c in protocol_claims:
                mark = "✓" if c.established else "○"
                where = f" ({c.context})" if c.context else ""
                lines.append(f"- {mark} {c.text}{where}")
        lines.append("")
    return "\n".join(lines)
