"""A study's statistics, claims and Markdown summary (:mod:`xai_core.study.report`,
:mod:`xai_core.study.summary`), on hand-made results.csv rows whose answer is known."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from xai_core.study.report import claims, comparisons, config_stats, typed_params
from xai_core.study.summary import summarize


def _rows(n_images: int, configs, insertion=lambda i, s: 0.5) -> list[dict[str, str]]:
    """results.csv rows: ``configs`` = (model, method, mask size or "", deletion base)."""
    rows = []
    for i in range(n_images):
        for model, method, s, dele in configs:
            rows.append({"image": f"{i}.png", "model": model, "method": method,
                         "protocol": "lab", "seed": "0", "rise.n_masks": "100" if s else "",
                         "rise.mask_size": s, "rise.keep_prob": "0.5" if s else "",
                         "lime.num_samples": "" if s else "50", "status": "ok",
                         "deletion_auc": str(dele + 0.01 * i),
                         "insertion_auc": str(insertion(i, s))})
    return rows


SIZES = (("A", "rise", "7", 0.1), ("A", "rise", "15", 0.2), ("B", "rise", "7", 0.3))


def test_claims_say_which_side_wins_corrected_for_all_claims_at_once():
    rows = _rows(10, SIZES, lambda i, s: 0.5 + (0.02 if i % 2 else -0.02) * (s == "15"))
    stats = config_stats(rows)
    assert [s.deletion.mean for s in stats] == pytest.approx([0.145, 0.245, 0.345])
    comps = comparisons(stats)
    assert {c.factor for c in comps} == {"rise.mask_size", "model"}
    found = {(c.heading.split(":")[0], c.metric): c for c in claims(comps)}
    size = found[("RISE's mask size s", "deletion")]
    # every one of 10 images favours s=7: exact p = 2 / 2**10, Holm over 4 claims: x4
    assert size.established and size.text.startswith("RISE s=7 deletes better than RISE s=15")
    assert size.p_value == pytest.approx(2 / 1024) and size.p_adjusted == pytest.approx(8 / 1024)
    assert "10 of 10 images" in size.text and "Holm: 0.00781" in size.text
    assert size.difference.mean == pytest.approx(-0.1) and size.wins == 10 == size.images
    tie = found[("RISE's mask size s", "insertion")]
    assert not tie.established and "not established" in tie.text and tie.p_value == 1.0
    model = found[("Models", "deletion")]
    assert model.established and model.text.startswith("A deletes better than B")
    assert typed_params(rows[0]) == {"n_masks": 100, "mask_size": 7, "keep_prob": 0.5}


def test_holm_withholds_a_claim_one_test_alone_would_make():
    # 6 images all favouring one side: p = 2/64 = 0.031 alone, but 4 claims make it 0.125
    comps = comparisons(config_stats(_rows(6, SIZES)))
    size = next(c for c in claims(comps) if c.metric == "deletion"
                and c.heading.startswith("RISE's mask size"))
    assert size.p_value == pytest.approx(2 / 64) and comps[0].deletion.established
    assert not size.established and size.p_adjusted == pytest.approx(4 * 2 / 64)
    assert "not established (p = 0.0312, Holm: 0.125)" in size.text


def test_with_four_images_the_summary_says_nothing_can_be_established():
    text = summarize(_rows(4, SIZES))
    assert "With 4 images and 4 claims no difference can be established at 95%" in text
    assert "with 4 images no difference can be established at 95% (p = 0.125 at best)" in text
    assert "✓" not in text and text.count("○") == 4
    # the per-image wins and the t interval are still shown
    assert "| −0.100 [−0.100, −0.100] | 0.125 (0.5) | 4 / 0 |" in text


def test_summarize_pairs_configurations_differing_in_one_factor():
    rows = _rows(10, (*SIZES, ("A", "lime", "", 0.4)))
    text = summarize(rows)
    assert text.count("| rise.mask_size |") == 1
    assert text.count("| model |") == 1  # A vs B at s=7 only
    assert text.count("| method |") == 2  # LIME vs RISE s=7 and s=15 (model A)
    assert "Holm's method over the 8 claims" in text
    assert "no difference can be established" not in text  # 10 images can
    # s=7 beats s=15 on every image: p = 2/1024, Holm over the 8 claims
    assert "| −0.100 [−0.100, −0.100] | 0.00195 (0.0156) | 10 / 0 |" in text
    assert "- ✓ RISE s=7 deletes better than RISE s=15" in text


def test_auc_intervals_stay_within_0_and_1():
    rows = _rows(3, (("A", "rise", "7", 0.0),), lambda i, s: 0.99 - 0.45 * i)
    s = config_stats(rows)[0]
    assert s.deletion.low == 0.0 and s.insertion.high == 1.0
    assert s.deletion.low <= s.deletion.mean <= s.deletion.high


def test_report_and_summary_import_in_one_direction():
    """summary.py reads report.py; report.py never imports summary.py (no circle)."""
    root = Path(__file__).resolve().parents[1] / "xai_core" / "study"

    def imported(name: str) -> set[str]:
        tree = ast.parse((root / name).read_text())
        return {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}

    assert "xai_core.study.report" in imported("summary.py")
    assert "xai_core.study.summary" not in imported("report.py")
