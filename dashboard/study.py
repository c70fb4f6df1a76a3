"""The "Dataset study" page's parts: finding results folders, a small study run from the
page through the shared work queue, the AUC plots, the comparisons, the claims and the maps
of one image. The statistics come from :mod:`xai_core.study.report`."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

import xai_core as xc
from dashboard.sidebar import Context
from dashboard.state import selectbox
from dashboard.views import computed
from xai_core.stats import smallest_p_value, too_few_images
from xai_core.study.plan import params_text
from xai_core.study.report import (
    Claim,
    Comparison,
    ConfigStats,
    claims,
    comparisons,
    config_stats,
    p_text,
    typed_params,
)

#: Where the user's studies are looked for and where the page writes its own (tests point
#: it elsewhere); the repository's ``study/`` folder by default, which git ignores.
STUDY_DIR_ENV = "SALIENCY_LAB_STUDY_DIR"
_REPO = Path(__file__).resolve().parents[1]
#: The example studies that ship with the repository (read only).
EXAMPLES_DIR = _REPO / "docs" / "studies"
#: The folder the page opens on.
DEFAULT_FOLDER = "docs/studies/data-lite0"
#: The page's small study: budgets kept low so it takes a few minutes on a laptop.
SMALL_STUDY: dict[str, dict[str, list[Any]]] = {
    "rise": {"n_masks": [200], "mask_size": [7, 15]},
    "lime": {"num_samples": [150]},
}
SMALL_PROTOCOLS = ("lab", "rise-reference")
METHOD_NAMES = {"rise": "RISE", "lime": "LIME", "gradcam": "Grad-CAM"}


def study_root() -> Path:
    """``SALIENCY_LAB_STUDY_DIR``, or the repository's ``study/`` folder (not committed)."""
    env = os.environ.get(STUDY_DIR_ENV)
    return Path(env) if env else _REPO / "study"


def results_folders() -> dict[str, Path]:
    """Folders holding a results.csv under ``docs/studies/`` (the examples), ``study/`` and
    ``data/`` (two levels deep), by the name shown on the page (``docs/studies/<name>``,
    ``study/<name>``, ``data/<name>``; never a server path)."""
    found: dict[str, Path] = {}
    for prefix, root in (("docs/studies", EXAMPLES_DIR), ("study", study_root()),
                         ("data", Path(xc.images.DATA_DIR))):
        if not root.is_dir():
            continue
        for csv in sorted([*root.glob("results.csv"), *root.glob("*/results.csv"),
                           *root.glob("*/*/results.csv")]):
            rel = csv.parent.relative_to(root).as_posix()
            if any(part.startswith(".") for part in csv.parent.relative_to(root).parts):
                continue
            found[prefix if rel == "." else f"{prefix}/{rel}"] = csv.parent
    return found


@st.cache_data(max_entries=16, show_spinner=False)
def _analysis(path: str, stamp: tuple[int, int]) -> tuple[list[dict[str, str]], list[ConfigStats],
                                                          list[Comparison], list[Claim]]:
    from xai_core.study.results import read_rows

    rows = read_rows(path)
    stats = config_stats(rows)
    comps = comparisons(stats)
    return rows, stats, comps, claims(comps)


def analysis(folder: Path) -> tuple[list[dict[str, str]], list[ConfigStats], list[Comparison],
                                    list[Claim]]:
    """Rows, per-configuration statistics, paired comparisons and claims of a folder
    (re-read when its results.csv changes)."""
    csv = folder / "results.csv"
    info = csv.stat()
    return _analysis(str(csv), (info.st_mtime_ns, info.st_size))


def folder_picker(folders: Mapping[str, Path]) -> str | None:
    """The results folder to show (URL-bound); opens on :data:`DEFAULT_FOLDER`."""
    if not folders:
        st.info("No results folder yet: run a small study above, or a full one with "
                "`python -m xai_core.study` (see the README).")
        return None
    names = list(folders)
    return selectbox("Results folder", names, DEFAULT_FOLDER, "sfolder",
                     help="Folders under docs/studies/ (the examples), study/ and data/ that hold a "
                     "results.csv.")


# --- a small study from the page -------------------------------------------------------


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_") or "model"


def small_study(ctx: Context) -> str | None:
    """The "run a small study" panel: on a click, explain every data/ photo with the
    sidebar's model (RISE s = 7 and 15 with 200 masks, LIME with 150 samples; both
    protocols), in this process through the shared work queue, into
    ``study/page-<model>-<seed>/`` (resumed if it exists). Returns the folder's name
    once it has rows computed by this click, else ``None``."""
    from xai_core.study.plan import (
        discover_images,
        model_label,
        plan_tasks,
        settings_grid,
    )
    from xai_core.study.results import ResultsFile, key_of, one_line_error
    from xai_core.study.runner import StudyWorker

    data = Path(xc.images.DATA_DIR)
    label = model_label(ctx.model_name.split(":")[-1])
    name = f"page-{_slug(label)}-{ctx.seed}"
    try:
        images = discover_images(data)
    except ValueError:
        st.info("The data/ folder has no photos to study.")
        return None
    settings = settings_grid(list(SMALL_STUDY), SMALL_STUDY)
    n_rows = len(images) * len(settings) * len(SMALL_PROTOCOLS)
    st.caption(f"{len(images)} photos of data/ × RISE (s = 7 and 15, 200 masks) and LIME (150 "
               f"samples) × protocols lab and rise-reference = {n_rows} rows, with "
               f"**{ctx.clf.name}** (the sidebar's model) and seed {ctx.seed}, into "
               f"`study/{name}/`; a folder already there is resumed. Runs in this server, "
               "in line with everyone's explanations.")
    if not st.button("Run the small study", key="study-run-button"):
        return None
    out = study_root() / name
    try:
        out.mkdir(parents=True, exist_ok=True)
        results = ResultsFile(out)
    except (OSError, ValueError) as exc:
        st.error(f"Cannot write the study folder: {one_line_error(exc, hide=[out.parent])}")
        return None
    done = {key_of(r) for r in results.rows() if r["status"] == "ok"}
    tasks = plan_tasks(images, [ctx.model_name], settings, SMALL_PROTOCOLS, ctx.seed, done)
    if not tasks:
        st.success(f"study/{name} already has all {n_rows} rows.")
        return f"study/{name}"
    worker = StudyWorker(ctx.model_name)
    worker.clf = ctx.clf  # the sidebar's model, already loaded

    def work(progress) -> int:
        from xai_core.images import MAX_FILE_BYTES
        from xai_core.reading import read_file

        t0 = datetime.now(UTC)
        for k, task in enumerate(tasks):
            progress(k, len(tasks))
            try:  # bounded and non-blocking, as in the command-line study
                data_bytes: bytes | str = read_file(task.image.path, MAX_FILE_BYTES)
            except (OSError, ValueError) as exc:
                data_bytes = one_line_error(exc, hide=[data])
            for row in worker.run(task, data_bytes).rows:
                results.append(row)
        progress(len(tasks), len(tasks))
        record = {"data": "data", "images": len(images), "models": [label],
                  "methods": list(SMALL_STUDY),
                  "grid": [{"method": s.method, **s.as_dict} for s in settings],
                  "protocols": list(SMALL_PROTOCOLS), "seed": ctx.seed, "rows": n_rows,
                  "engine": {"name": "in-process (dashboard)", "workers": 1},
                  "started": t0.isoformat(timespec="seconds"),
                  "finished": datetime.now(UTC).isoformat(timespec="seconds")}
        (out / "run.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
        from xai_core.study.results import read_rows
        from xai_core.study.summary import summarize

        (out / "summary.md").write_text(summarize(read_rows(results.path)), encoding="utf-8")
        return len(tasks)

    key = ("small-study", str(out), ctx.model_name, ctx.seed, len(done))
    ran = computed("Small study", "explanations", key, work)
    if ran is None:
        return None
    st.success(f"Computed {ran} explanations into study/{name}.")
    return f"study/{name}"


# --- showing a study -------------------------------------------------------------------


def _tick(label: str, one_model: bool) -> str:
    """A configuration's name on an axis: short parameter names, one model left out."""
    model, _, rest = label.partition(" · ")
    for long, short in (("mask_size=", "s="), ("n_masks=", "N="), ("num_samples=", "samples=")):
        rest = rest.replace(long, short)
    return rest if one_model else f"{model}<br>{rest}"


def auc_figure(stats: Sequence[ConfigStats], protocol: str) -> go.Figure:
    """Deletion (↓) and insertion (↑) AUCs per configuration: a box (dashed: the mean)
    and one point per image (hover: the image)."""
    group = [s for s in stats if s.protocol == protocol and s.scores]
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.08,
                        subplot_titles=("deletion AUC ↓ (lower is better)",
                                        "insertion AUC ↑ (higher is better)"))
    one_model = len({s.model for s in group}) == 1
    palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
               "#7f7f7f", "#bcbd22", "#17becf"]
    for k, s in enumerate(group):
        images = list(s.scores)
        for col, idx in ((1, 0), (2, 1)):
            fig.add_trace(go.Box(
                x=[_tick(s.label, one_model)] * len(images), y=[s.scores[i][idx] for i in images],
                customdata=images, name=s.label, boxpoints="all", boxmean=True, jitter=0.4, pointpos=0,
                marker={"color": palette[k % len(palette)], "size": 8},
                line={"color": palette[k % len(palette)]}, fillcolor="rgba(0,0,0,0)",
                hovertemplate="%{customdata}<br>AUC %{y:.3f}<extra></extra>",
                showlegend=False), row=1, col=col)
    fig.update_yaxes(range=[0, 1], title_text="AUC", row=1, col=1)
    fig.update_yaxes(range=[0, 1], row=1, col=2)
    fig.update_layout(height=420, margin={"t": 40, "b": 10, "l": 50, "r": 10})
    return fig


def comparison_table(comps: Sequence[Comparison],
                     found: Sequence[Claim] = ()) -> list[dict[str, Any]]:
    """The paired comparisons as table rows (A − B with its 95% t interval, the exact
    test's p-value and, given the comparisons' ``claims`` in order, Holm's, the images
    each side wins)."""
    adjusted = {(c.protocol, k // 2, c.metric): c.p_adjusted for k, c in enumerate(found)}
    out = []
    for k, c in enumerate(comps):
        row: dict[str, Any] = {"factor": c.factor, "A": c.a.label, "B": c.b.label,
                               "images": len(c.images)}
        for metric in ("deletion", "insertion"):
            p = getattr(c, metric)
            row[f"{metric} A−B [95%]"] = p.interval.text()
            holm_p = adjusted.get((c.protocol, k, metric))
            row[f"{metric} p (Holm)"] = (p_text(p.p_value) + ("" if holm_p is None else
                                                              f" ({p_text(holm_p)})"))
            row[f"{metric}: A / B better"] = f"{p.a_better} / {p.b_better}"
        out.append(row)
    return out


def _show_claims(found: Sequence[Claim]) -> None:
    if not found:
        st.caption("No two configurations here differ in one factor only: nothing to compare.")
        return
    headings = list(dict.fromkeys(c.heading for c in found))
    for heading in headings:
        st.markdown(f"**{heading}**")
        lines = []
        for c in found:
            if c.heading == heading:
                mark = ":green[**✓**]" if c.established else ":gray[**○**]"
                where = f" *({c.context})*" if c.context else ""
                lines.append(f"- {mark} {c.text}{where}")
        st.markdown("\n".join(lines))


def show_study(name: str, folder: Path, ctx: Context | None) -> None:
    """A results folder: its plots per protocol, the claims, the comparisons, one image's maps."""
    try:
        rows, stats, comps, found = analysis(folder)
    except (OSError, ValueError, KeyError):
        st.error(f"{name}/results.csv cannot be read as a study's results.")
        return
    if not rows:
        st.info(f"{name}/results.csv has no rows yet.")
        return
    failed = sum(r["status"] != "ok" for r in rows)
    n_images = len({r["image"] for r in rows})
    st.caption(f"{len(rows)} rows, {n_images} images, {len(stats)} configurations"
               + (f", **{failed} failed** (left out)" if failed else "")
               + ". Means with 95% t intervals over images. A claim is established when the "
               "exact sign-flip test's p-value, Holm-adjusted over the "
               f"{len(found)} claims of this folder, is at most 0.05.")
    few = too_few_images(n_images, claims=max(1, len(found)))
    if comps and few is not None:
        st.info(f"{few[0].upper() + few[1:]}: the smallest p-value an exact paired test can "
                f"give with {n_images} images is {p_text(smallest_p_value(n_images))}. The "
                "comparisons describe these images only; more images are needed for a claim.")
    for protocol in sorted({s.protocol for s in stats}):
        st.subheader(f"Protocol `{protocol}`")
        chart = f"study-auc-{protocol}"
        st.plotly_chart(auc_figure(stats, protocol), key=chart, config={"displaylogo": False},
                        on_select=lambda chart=chart: _pick_image(chart),
                        selection_mode="points")
        st.markdown("**The lab's claims, measured**")
        _show_claims([c for c in found if c.protocol == protocol])
        if any(c.factor == "model" and c.protocol == protocol for c in comps):
            st.caption("Between models, AUCs also measure confidence: they are in the model's "
                       "probability of its own top class, so a model less sure of its answer "
                       "(or explaining another class) scores lower whatever its maps.")
        table = comparison_table([c for c in comps if c.protocol == protocol],
                                 [c for c in found if c.protocol == protocol])
        if table:
            with st.expander("Paired comparisons (A − B on the images both scored)"):
                st.dataframe(table, hide_index=True)
    show_image_maps(name, folder, rows, ctx)


def _pick_image(chart: str) -> None:
    """A click on a point of an AUC plot picks its image for "One image" below."""
    event = st.session_state.get(chart)
    selection = getattr(event, "selection", None) or (event or {}).get("selection") or {}
    for point in selection.get("points", []):
        image = point.get("customdata")
        if isinstance(image, list):
            image = image[0] if image else None
        if isinstance(image, str):
            st.session_state["simg"] = image
            return


def _load_image(rel: str) -> np.ndarray | None:
    path = Path(xc.images.DATA_DIR) / rel
    try:
        return xc.load_image(path) if path.is_file() else None
    except xc.ImageError:
        return None


def _classifier_for(model: str, ctx: Context | None) -> xc.Classifier | None:
    from dashboard.models import model_choices, try_model
    from xai_core.study.plan import model_label

    if ctx is not None and model_label(ctx.model_name.split(":")[-1]) == model:
        return ctx.clf
    for name in model_choices():
        if model_label(name) == model:
            clf, _ = try_model(name)
            return clf
    return None


def show_image_maps(name: str, folder: Path, rows: Sequence[Mapping[str, str]],
                    ctx: Context | None) -> None:
    """One image of the study: its scores, and its maps (saved ones, or computed on a click)."""
    st.subheader("One image")
    images = sorted({r["image"] for r in rows})
    image = selectbox("Image", images, images[0], "simg",
                      help="Or click a point of a plot above: each point is one image.")
    mine = [r for r in rows if r["image"] == image]
    ok = [r for r in mine if r["status"] == "ok"]
    table = [{"model": r["model"], "method": METHOD_NAMES.get(r["method"], r["method"]),
              "settings": params_text(_shown_params(r), sep=" "),
              "protocol": r["protocol"], "class": r["target_label"],
              "probability": round(float(r["probability"]), 3) if r["probability"] else None,
              "deletion AUC ↓": round(float(r["deletion_auc"]), 3) if r["deletion_auc"] else None,
              "insertion AUC ↑": round(float(r["insertion_auc"]), 3) if r["insertion_auc"] else None,
              "status": r["status"]} for r in mine]
    st.dataframe(table, hide_index=True)
    # one map per configuration (the protocols share it)
    configs: dict[tuple, Mapping[str, str]] = {}
    for r in ok:
        configs.setdefault((r["model"], r["method"], json.dumps(typed_params(r), sort_keys=True),
                            r["seed"]), r)
    saved = [r for r in configs.values() if r.get("map_file")]
    raw = _load_image(image)
    if saved:
        _show_saved_maps(folder, saved, raw, ctx)
        return
    if not configs:
        return
    if raw is None:
        st.caption("This folder has no saved maps (--save-maps) and the image is not in data/, "
                   "so its maps cannot be shown here.")
        return
    state = "study-maps-for"
    if st.button("Compute this image's maps", key="study-maps-button",
                 help="This folder has no saved maps (run the study with --save-maps to keep "
                      "them); compute them again here, with the same settings and seed."):
        st.session_state[state] = (name, image)
    if st.session_state.get(state) != (name, image) or ctx is None:
        return
    _compute_maps(list(configs.values()), raw, image, ctx)


def _shown_params(r: Mapping[str, str]) -> dict[str, str]:
    from xai_core.study.report import study_params

    keep = {"n_masks", "mask_size", "num_samples", "fill"}
    return {k: v for k, v in study_params(r).items() if k in keep}


def _show_saved_maps(folder: Path, saved: Sequence[Mapping[str, str]],
                     raw: np.ndarray | None, ctx: Context | None) -> None:
    cmap = ctx.display.colormap if ctx is not None else None
    alpha = ctx.display.alpha if ctx is not None else 0.5
    cols = st.columns(min(len(saved), 4))
    for k, r in enumerate(saved):
        path = (folder / r["map_file"]).resolve()
        if not path.is_relative_to(folder.resolve()) or not path.is_file():
            cols[k % len(cols)].caption(f"{r['model']} · {r['method']}: map file missing")
            continue
        m = np.load(path)
        m = np.maximum(m, 0.0) if r["method"] == "rise" else m
        colormap = cmap or xc.viz.default_colormap(m)
        picture = xc.heatmap_image(m, colormap=colormap)
        if raw is not None:
            fitted = xc.images.fit_to_size(raw, m.shape[:2])
            picture = xc.overlay_image(fitted, m, colormap=colormap, alpha=alpha)
        caption = (f"{r['model']} · {METHOD_NAMES.get(r['method'], r['method'])} "
                   + params_text(_shown_params(r), sep=" "))
        cols[k % len(cols)].image(picture, caption=caption, width="stretch")


def _compute_maps(configs: Sequence[Mapping[str, str]], raw: np.ndarray, image: str,
                  ctx: Context) -> None:
    from dashboard.comparison import show_results
    from dashboard.sidebar import image_key
    from dashboard.views import run

    results, labels, missing = [], [], []
    for r in configs:
        clf = _classifier_for(r["model"], ctx)
        if clf is None:
            missing.append(r["model"])
            continue
        prepared = clf.prepare(raw)
        params = typed_params(r)
        label = (f"{r['model']} · {METHOD_NAMES.get(r['method'], r['method'])} "
                 + params_text(_shown_params(r), sep=" "))
        res = run(replace(ctx, seed=int(r["seed"])), r["method"], params, int(r["target"]), label, clf=clf,
                  model_name=r["model"] if clf is not ctx.clf else ctx.model_name,
                  image=prepared, image_key=image_key(raw, clf), image_name=image)
        if res is not None:
            results.append(res)
            labels.append(label)
    if missing:
        st.caption("Not offered by this server, so not shown: " + ", ".join(sorted(set(missing))))
    show_results("study-maps", results, ctx, labels=labels)
