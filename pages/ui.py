"""Shared dashboard pieces: the sidebar, cached models and explanations, result views, URL state.

Every page imports this module; no page repeats the sidebar. Computation lives in
``xai_core``; this module only draws widgets, calls cached wrappers and shows figures.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import streamlit as st

import xai_core as xc
from xai_core.cache import ResultCache
from xai_core.workqueue import WorkQueue

T = TypeVar("T")

OFFLINE_MODEL = "efficientnet_lite0"
UPLOAD = "upload your own…"
_MODEL_LABELS = {
    "efficientnet_lite0": "EfficientNet-Lite0 (offline)",
    "resnet50": "ResNet50",
    "xception": "Xception",
}


# --- models ------------------------------------------------------------------------


def _env_list(name: str) -> list[str]:
    return [p for p in os.environ.get(name, "").split(os.pathsep) if p]


def model_choices() -> list[str]:
    """The models offered: built-in names plus ``.keras`` files from the environment.

    ``SALIENCY_LAB_EXTRA_MODELS`` adds model files (separated by ``os.pathsep``);
    ``SALIENCY_LAB_MODELS`` replaces the whole list (used by the tests).
    """
    return _env_list("SALIENCY_LAB_MODELS") or [*xc.MODEL_NAMES, *_env_list("SALIENCY_LAB_EXTRA_MODELS")]


def default_model() -> str:
    return model_choices()[0] if os.environ.get("SALIENCY_LAB_MODELS") else OFFLINE_MODEL


def model_label(name: str) -> str:
    if name.startswith("upload:"):
        return name.split(":", 2)[2]
    return _MODEL_LABELS.get(name, os.path.basename(name))


#: A model that failed to load is not tried again for this many seconds.
RETRY_AFTER_S = 120.0


@st.cache_resource(show_spinner="Loading the model (only the first time)…", max_entries=4)
def load_model(name: str) -> xc.Classifier:
    """Load a model once per process (failures raise, and are not cached here)."""
    return xc.load_classifier(name)


@st.cache_resource
def _load_failures() -> dict[str, tuple[float, str]]:
    """Recent load failures of the whole process: name -> (time, message)."""
    return {}


def try_model(name: str) -> tuple[xc.Classifier | None, str | None]:
    """The model, or ``(None, why)``. A failure is remembered for :data:`RETRY_AFTER_S`,
    so a missing download is not retried on every click, but a network blip heals."""
    failures = _load_failures()
    seen = failures.get(name)
    if seen is not None and time.monotonic() - seen[0] < RETRY_AFTER_S:
        return None, seen[1]
    try:
        clf = load_model(name)
    except (xc.ModelLoadError, ValueError, OSError) as exc:
        failures[name] = (time.monotonic(), str(exc))
        return None, str(exc)
    failures.pop(name, None)
    return clf, None


def needs_download(name: str) -> bool:
    """Whether a model's weights come from the internet (ResNet50, Xception)."""
    return name in xc.MODEL_NAMES and name != OFFLINE_MODEL


def get_model(name: str, *, where=st) -> xc.Classifier | None:
    """The model, or ``None`` after telling the user why it is not available."""
    clf, error = try_model(name)
    if clf is None:
        why = (error or "").strip()
        where.warning(f"**{model_label(name)} is not available.** {why[:1].upper()}{why[1:]}")
    return clf


# --- URL state ---------------------------------------------------------------------


def _url_warn(message: str) -> None:
    st.session_state["_url_warnings"] = [*st.session_state.get("_url_warnings", []), message]
    _render_url_warnings()


class _Adjusted(ValueError):
    """A link value that was unusable as given but has a nearest usable value."""

    def __init__(self, value: Any, reason: str):
        super().__init__(reason)
        self.value = value


def _init(key: str, default: T, parse: Callable[[str], T]) -> None:
    """Give widget ``key`` its first value: from the URL when valid, else ``default``."""
    if key in st.session_state:
        return
    raw = st.query_params.get(key)
    value = default
    if raw is not None:
        try:
            value = parse(raw)
        except _Adjusted as adj:
            value = adj.value
            _url_warn(f"`{key}={raw}` from the link {adj}; using {value!r}")
        except (ValueError, TypeError) as exc:
            _url_warn(f"ignored `{key}={raw}` from the link ({exc}); using {default!r}")
    st.session_state[key] = value


def _publish(key: str, value: Any) -> None:
    text = ",".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)
    if st.query_params.get(key) != text:
        st.query_params[key] = text


def _choice(options: Sequence[T]) -> Callable[[str], T]:
    def parse(raw: str) -> T:
        for opt in options:
            if str(opt) == raw:
                return opt
        shown = ", ".join(map(str, options[:8])) + (", …" if len(options) > 8 else "")
        raise ValueError(f"not one of the choices ({shown})")

    return parse


def _number(kind: type, low: float, high: float) -> Callable[[str], Any]:
    def parse(raw: str):
        try:
            value = kind(raw)
        except ValueError:
            raise ValueError("not a whole number" if kind is int else "not a number") from None
        if not low <= value <= high:
            raise _Adjusted(min(max(value, kind(low)), kind(high)),
                            f"must be between {low} and {high}")
        return value

    return parse


def selectbox(label: str, options: Sequence[T], default: T, key: str, **kw) -> T:
    """A selectbox whose value lives in the URL under ``key``."""
    default = default if default in options else options[0]
    _init(key, default, _choice(options))
    if st.session_state[key] not in options:
        st.session_state[key] = default
    value = st.selectbox(label, options, key=key, **kw)
    _publish(key, value)
    return value


def multiselect(label: str, options: Sequence[T], default: list[T], key: str, **kw) -> list[T]:
    def parse(raw: str) -> list[T]:
        wanted = [v for v in raw.split(",") if v]
        known = [opt for v in wanted for opt in options if str(opt) == v]
        if len(known) < len(wanted):
            raise _Adjusted(known, "has values that are not among the choices")
        return known

    _init(key, default, parse)
    value = st.multiselect(label, options, key=key, **kw)
    _publish(key, value)
    return value


def slider(label: str, low: float, high: float, default: float, key: str, **kw) -> Any:
    kind = float if isinstance(default, float) else int
    _init(key, default, _number(kind, low, high))
    value = st.slider(label, low, high, key=key, **kw)
    _publish(key, value)
    return value


def number(label: str, low: int, high: int, default: int, key: str, **kw) -> int:
    _init(key, default, _number(int, low, high))
    value = st.number_input(label, low, high, key=key, step=1, **kw)
    _publish(key, value)
    return int(value)


def toggle(label: str, default: bool, key: str, **kw) -> bool:
    _init(key, default, _choice([True, False]))
    value = st.toggle(label, key=key, **kw)
    _publish(key, value)
    return value


def show_url_warnings() -> None:
    """Reserve the place where unusable link settings are listed (filled as they are found)."""
    st.session_state["_url_slot"] = st.empty()
    _render_url_warnings()


def _render_url_warnings() -> None:
    slot = st.session_state.get("_url_slot")
    messages = st.session_state.get("_url_warnings")
    if slot is None or not messages:
        return
    with slot.container():
        st.warning("Some settings in this link could not be used:\n\n"
                   + "\n".join(f"- {m}" for m in messages), icon="🔗")
        if st.button("OK, hide this", key=f"url-warnings-ok-{len(messages)}"):
            st.session_state.pop("_url_warnings", None)
            st.rerun()


# --- the shared sidebar ------------------------------------------------------------


@dataclass(frozen=True)
class Display:
    """How maps are drawn: never a reason to recompute."""

    colormap: str | None
    alpha: float
    levels: int
    level_mode: str
    metrics: bool = False


@dataclass(frozen=True)
class Context:
    """What every page works on: the chosen model and image, seed and display options."""

    clf: xc.Classifier
    model_name: str
    raw: np.ndarray  # uint8 (H, W, 3) as loaded
    image: np.ndarray  # float32 (H, W, 3) at the model's input size
    image_name: str
    image_key: str
    uploaded: bool
    seed: int
    display: Display

    def probabilities(self) -> np.ndarray:
        return cached_probabilities(self.model_name, self.image_key, _clf=self.clf, _image=self.image)


def image_key(raw: np.ndarray, clf: xc.Classifier) -> str:
    """Cache key of an image as a model sees it: content hash + input size."""
    digest = hashlib.sha1(np.ascontiguousarray(raw).tobytes()).hexdigest()[:16]
    return f"{digest}@{clf.input_size[0]}x{clf.input_size[1]}"


@st.cache_data(max_entries=32, show_spinner=False)
def _sample(name: str) -> np.ndarray:
    return xc.load_sample(name)


@st.cache_data(max_entries=64, show_spinner=False)
def cached_probabilities(model_name: str, image_key: str, *, _clf, _image) -> np.ndarray:
    return _clf.predict(_image)[0]


#: Uploads are downscaled to this longer side: models need a few hundred pixels at most.
UPLOAD_MAX_SIDE = 1024


@st.cache_data(max_entries=16, show_spinner="Reading the image…")
def _decode_upload(data: bytes) -> np.ndarray:
    return xc.load_image(data, max_side=UPLOAD_MAX_SIDE)


def _sidebar_image() -> tuple[np.ndarray, str, bool]:
    names = xc.sample_names()
    choice = selectbox("Image", [*names, UPLOAD], names[0], "img",
                       help="Sample photos ship with the app; or upload a JPEG/PNG.")
    if choice == UPLOAD:
        st.caption("Uploads stay in your session and cannot travel in a shared link.")
        up = st.file_uploader("Upload an image", type=None, key="upload")
        if up is not None:
            try:
                return _decode_upload(up.getvalue()), up.name, True
            except xc.ImageError as exc:
                st.error(f"**{up.name}**: {exc}")
        st.info("Showing the first sample until an image is uploaded.")
        choice = names[0]
    return _sample(choice), choice, False


MODEL_UPLOAD = "upload a .keras model…"


@st.cache_resource(show_spinner="Checking and loading the model file…", max_entries=4)
def _load_uploaded_model(_data: bytes, digest: str, file_name: str, preprocessing: str,
                         logits: bool) -> tuple[xc.Classifier | None, str | None]:
    """Load an uploaded ``.keras`` file safely (Keras safe_mode; never unpickled)."""
    import tempfile
    from pathlib import Path

    if not file_name.lower().endswith(".keras"):
        return None, (f"{file_name}: only Keras '.keras' model files are accepted "
                      "(legacy .h5 files can run code and are refused)")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"{Path(file_name).stem or 'model'}.keras"
        path.write_bytes(_data)
        try:
            return xc.load_classifier(path, preprocessing=preprocessing,
                                      outputs_logits=logits), None
        except (xc.ModelLoadError, ValueError, OSError) as exc:
            return None, str(exc)


def _sidebar_model_upload() -> tuple[xc.Classifier | None, str]:
    st.caption("Your own Keras model: one RGB image batch in, one score per class out. "
               "Models with custom code or Lambda layers are refused.")
    up = st.file_uploader("Model file (.keras)", key="model_upload")
    prep = st.selectbox("Its preprocessing", list(xc.PREPROCESSING), key="model_prep",
                        format_func=lambda k: f"{k}: {xc.PREPROCESSING[k]}")
    logits = st.toggle("It outputs logits (apply softmax)", key="model_logits")
    if up is None:
        st.info("Using the default model until a model file is uploaded.")
        return None, MODEL_UPLOAD
    data = up.getvalue()
    digest = hashlib.sha1(data).hexdigest()
    clf, error = _load_uploaded_model(data, digest, up.name, prep, bool(logits))
    if clf is None:
        st.error(f"**{up.name}**: {error}")
        return None, MODEL_UPLOAD
    return clf, f"upload:{digest[:12]}-{prep}-{int(logits)}:{up.name}"


def sidebar() -> Context | None:
    """Draw the shared sidebar and return the page context (``None`` if nothing can run)."""
    st.session_state["_url_slot"] = None  # no page slot yet in this run
    with st.sidebar:
        st.header("Image & model")
        raw, image_name, uploaded = _sidebar_image()
        choices = model_choices()
        name = selectbox("Model", [*choices, MODEL_UPLOAD], default_model(), "model",
                         format_func=model_label)
        if name == MODEL_UPLOAD:
            clf, name = _sidebar_model_upload()
        else:
            clf = get_model(name, where=st)
        if clf is None:
            fallback = OFFLINE_MODEL if OFFLINE_MODEL in choices else choices[0]
            if fallback != name:
                st.info(f"Using {model_label(fallback)} instead"
                        + (": it works offline." if fallback == OFFLINE_MODEL else "."))
                name, clf = fallback, get_model(fallback, where=st)
        if clf is not None:
            engine = {"litert": "LiteRT (XNNPACK)", "keras": "Keras"}.get(clf.engine, clf.engine)
            note = clf.engine_note.split(": ", 1)[-1]
            st.caption(f"Runs on {engine}" + (f" ({note})" if note else ""))
        seed = number("Seed", 0, 2**31 - 1, 0, "seed", help="Same seed, same map.")
        st.header("Display")
        cmap = selectbox("Colormap", ["auto", *xc.COLORMAPS], "auto", "cmap",
                         help="auto: jet for RISE, RdBu (blue < 0 < red) for signed LIME maps")
        alpha = slider("Overlay opacity", 0.0, 1.0, 0.5, "alpha", step=0.05)
        levels = slider("Isoline levels", 2, 20, 8, "levels")
        mode = selectbox("Isoline levels by", ["value", "quantile"], "value", "lvmode")
        st.header("Faithfulness")
        metrics = toggle("Deletion / insertion curves", False, "metrics",
                         help="Delete (or insert) the most salient pixels first and watch the "
                              "probability: a faithful map makes it fall fast (low deletion AUC) "
                              "and rise fast (high insertion AUC). Compared with a random and a "
                              "centred map. Costs about 300 extra model calls per map.")
    st.session_state["_ctx_ready"] = True
    if clf is None:
        st.session_state["_ctx"] = None
        st.error("No model could be loaded. Reinstall the requirements (see README).")
        return None
    image = clf.prepare(raw)
    display = Display(None if cmap == "auto" else cmap, float(alpha), int(levels), mode, metrics)
    ctx = Context(clf, name, raw, image, image_name, image_key(raw, clf), uploaded, seed, display)
    st.session_state["_ctx"] = ctx
    return ctx


def _through_app() -> None:
    """Make sure pages run through ``app.py``, never as Streamlit's legacy pages/ scripts.

    A freshly started server treats the ``pages/`` folder as an old-style multipage app
    until ``st.navigation`` has run once, so the first visitor to a shared link such as
    ``/mask_size?...`` would run the page without ``app.py`` (no page setup, a wrong page
    list). Leave that mode and rerun: ``app.py`` then serves the same URL. (Streamlit's
    AppTest re-enters that mode on every run; there a rerun would drop the click, so a
    session that has already run carries on: the page draws the sidebar itself.)
    """
    try:
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:  # a Streamlit without the legacy mode
        return
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        if "_ctx_ready" not in st.session_state:  # a brand-new session: no click to lose
            st.rerun()
        st.session_state["_ctx_ready"] = False  # app.py did not run: the stored context is stale


def context() -> Context | None:
    """The context the app's sidebar made in this run (drawing the sidebar if none did)."""
    _through_app()
    if not st.session_state.get("_ctx_ready"):
        return sidebar()
    return st.session_state.get("_ctx")


def page_intro(title: str, what: str, look_for: str) -> Context | None:
    """Title, the link's unusable settings, the experiment's explanation; returns the context."""
    ctx = context()
    st.session_state["_auc_rows"] = []
    st.title(title)
    show_url_warnings()
    st.markdown(what)
    st.caption(f"**What to look for:** {look_for}")
    return ctx


# --- explanations ------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Result:
    """An explanation with what is needed to score it: the model and the image's cache key."""

    expl: xc.Explanation
    clf: xc.Classifier
    image_key: str
    model_key: str  # the app's name of the model (unique, unlike the file stem in expl.model)


@st.cache_resource
def explanation_cache() -> ResultCache[xc.Explanation]:
    """Explanations of every session, shared by the whole process.

    Keyed by (model, image hash, method, parameters, seed, target). A plain
    ``st.cache_data`` cannot be used: it refuses the progress-bar updates made while
    the explanation runs (CacheReplayClosureError).
    """
    return ResultCache(max_entries=128)


def _progress_bar(label: str, unit: str) -> tuple[Callable[[int, int], None], Any]:
    bar = st.progress(0.0, text=f"{label}: starting…")
    t0 = time.perf_counter()

    def update(done: int, total: int) -> None:
        frac = min(done / max(total, 1), 1.0)
        elapsed = time.perf_counter() - t0
        left = elapsed / frac - elapsed if frac > 0 else 0.0
        bar.progress(frac, text=f"{label}: {done}/{total} {unit} · about {left:.0f} s left")

    return update, bar


def run(ctx: Context, method: str, params: dict[str, Any], target: int,
        label: str | None = None, *, clf: xc.Classifier | None = None,
        model_name: str | None = None, image: np.ndarray | None = None,
        image_key: str | None = None, image_name: str | None = None) -> Result | None:
    """Compute (or fetch from the cache) one explanation, with a progress bar.

    Any error is shown on this result only; the page keeps working.
    """
    clf = clf or ctx.clf
    image = ctx.image if image is None else image
    image_key = image_key or ctx.image_key
    model_key = model_name or ctx.model_name
    key = (model_key, image_key, method, json.dumps(params, sort_keys=True), ctx.seed, int(target))
    label = label or method.upper()
    if method == "rise":
        compute = _rise_compute(ctx, clf, image, model_key, image_key, params, int(target),
                                image_name or ctx.image_name, label)
    else:
        def compute(progress):
            return xc.explain(clf.predict, image, method, int(target),
                              class_names=clf.class_names, params=params, seed=ctx.seed,
                              progress=progress, model_name=clf.name,
                              image_name=image_name or ctx.image_name)
    expl = computed(label, "masks" if method == "rise" else "samples", key, compute)
    return None if expl is None else Result(expl, clf, image_key, model_key)


@dataclass(eq=False)
class _SharedRun:
    """A RISE run shared by every target (and session) with the same image and settings."""

    run: Any
    lock: Any


def _rise_compute(ctx: Context, clf: xc.Classifier, image: np.ndarray, model_key: str,
                  image_key: str, params: dict[str, Any], target: int, image_name: str,
                  label: str) -> Callable[[Callable[[int, int], None]], xc.Explanation]:
    """RISE through one cached :class:`~xai_core.rise.RiseRun` per image and settings.

    The run keeps every class's scores, so another target class of the same image costs no
    model call; while it runs, a live preview shows the map improving batch by batch with
    its convergence estimate.
    """
    import threading

    settings = {**xc.DEFAULTS["rise"], **params}
    stop_at_r = settings.pop("stop_at_r")
    run_key = ("rise-run", model_key, image_key, json.dumps(settings, sort_keys=True), ctx.seed)

    def compute(progress: Callable[[int, int], None]) -> xc.Explanation:
        cache = explanation_cache()
        shared = cache.get(run_key)
        if shared is None:
            shared = _SharedRun(xc.RiseRun(clf.predict, image, max_masks=settings["n_masks"],
                                           mask_size=settings["mask_size"],
                                           keep_prob=settings["keep_prob"], seed=ctx.seed),
                                threading.Lock())
            cache.put(run_key, shared)
        preview = st.empty()
        shown = [0.0]

        def on_frame(frame) -> None:
            now = time.perf_counter()
            if now - shown[0] < 0.7:
                return
            shown[0] = now
            with preview.container():
                st.image(xc.heatmap_image(np.maximum(frame.saliency, 0.0)), width=160,
                         caption=f"{label}: {frame.n_masks} masks, r ≈ {frame.r_estimate:.2f}")

        probability = float(cached_probabilities(model_key, image_key, _clf=clf,
                                                 _image=image)[target])
        try:
            with shared.lock:
                return xc.rise_explanation(shared.run, target, class_names=clf.class_names,
                                           stop_at_r=stop_at_r, progress=progress,
                                           on_frame=on_frame, model_name=clf.name,
                                           image_name=image_name, probability=probability)
        finally:
            preview.empty()

    return compute


@st.cache_resource
def work_queue() -> WorkQueue:
    """One line for the heavy work of every session of this server process.

    ``SALIENCY_LAB_WORKERS`` explanations run at once (default: half the CPU cores, at
    least 1: the model already uses every core); the others wait their turn.
    """
    raw = os.environ.get("SALIENCY_LAB_WORKERS", str(max(1, (os.cpu_count() or 2) // 2)))
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"SALIENCY_LAB_WORKERS must be a whole number of at least 1; got {raw!r}")
    return WorkQueue(max_workers=int(raw))


def computed(label: str, unit: str, key: tuple,
             compute: Callable[[Callable[[int, int], None]], Any]) -> Any:
    """Fetch ``key`` from the shared cache, or wait for a worker and compute it.

    Shows the place in line while waiting and a progress bar with the time left while
    computing. A page that is rerun or closed stops its computation at the next progress
    update (Streamlit interrupts the script there) and leaves the line. Any error is shown
    on this result only, without a stack trace; ``None`` is returned then.
    """
    cache = explanation_cache()
    found = cache.get(key)
    if found is not None:
        return found
    note = st.empty()

    def waiting(place: int) -> None:
        note.info(f"⏳ {label}: waiting for a free worker, number {place} in line "
                  f"({work_queue().running} running).")

    try:
        with work_queue().slot(on_wait=waiting):
            note.empty()
            found = cache.get(key)  # someone ahead in line may have computed it meanwhile
            if found is not None:
                return found
            update, bar = _progress_bar(label, unit)
            try:
                value = compute(update)
            finally:
                bar.empty()
    except ValueError as exc:
        st.error(f"{label}: {exc}")
        return None
    except Exception as exc:  # a model failing inside predict must not take the page down
        st.error(f"{label} failed: {type(exc).__name__}: {exc}")
        return None
    if isinstance(value, xc.Explanation):
        value.saliency.setflags(write=False)
    cache.put(key, value)
    _write_stats()
    return value


def _write_stats() -> None:
    """For the load test: the queue's figures, to ``SALIENCY_LAB_STATS_FILE`` if set."""
    path = os.environ.get("SALIENCY_LAB_STATS_FILE")
    if path:
        with contextlib.suppress(OSError), open(path, "w", encoding="utf-8") as f:
            json.dump(work_queue().stats(), f)


def describe(expl: xc.Explanation) -> str:
    used = expl.extra.get("masks_used")
    budget = ""
    if used is not None:
        budget = f" · {used} masks" + (f" (r ≈ {expl.extra['r_estimate']:.2f})"
                                       if expl.extra.get("r_estimate") is not None else "")
    return (f"**{expl.method.upper()}** · {expl.model} · class **{expl.target_label}** "
            f"(p = {expl.probability:.3f}) · {expl.wall_s:.1f} s{budget} · "
            f"seed {expl.params.get('seed')}")


METRIC_STEPS = 50


def curves(res: Result, seed: int) -> dict[str, dict[str, Any]] | None:
    """Deletion/insertion curves of the map and of the baselines (each cached)."""
    e = res.expl
    own = computed("Deletion / insertion", "model calls", (
        "curves", res.model_key, res.image_key, e.method, json.dumps(e.params, sort_keys=True),
        e.target),
        lambda p: xc.faithfulness(res.clf.predict, e.image, {e.method.upper(): e.saliency},
                                  e.target, steps=METRIC_STEPS, seed=seed,
                                  with_baselines=False, progress=p))
    base = computed("Baselines", "model calls", ("baselines", res.model_key, res.image_key, e.target, seed),
                   lambda p: xc.faithfulness(res.clf.predict, e.image, {}, e.target,
                                             steps=METRIC_STEPS, seed=seed, progress=p))
    if own is None or base is None:
        return None
    return {**own, **base}


def show(res: Result, ctx: Context, key: str, *, label: str | None = None) -> None:
    """The three faces of one map (heatmap, overlay, isolines), its settings and downloads.

    With the sidebar's faithfulness toggle on, also its deletion and insertion curves,
    and a row for the page's AUC table (see :func:`auc_summary`).
    """
    expl, display = res.expl, ctx.display
    if label:
        st.subheader(label, divider="gray")
    st.markdown(describe(expl))
    sal = expl.display_saliency
    cmap = display.colormap or xc.render.default_colormap(sal)
    figs = [
        ("heatmap", xc.heatmap_figure(sal, colormap=cmap, title="heatmap")),
        ("overlay", xc.overlay_figure(expl.image, sal, colormap=cmap,
                                      alpha=display.alpha, title="overlay")),
        ("isolines", xc.isolines_figure(expl.image, sal, colormap=cmap,
                                        n_levels=display.levels, mode=display.level_mode,
                                        dim=0.3, title="isolines")),
    ]
    for name, fig in figs:
        fig.update_layout(height=300)
        st.plotly_chart(fig, key=f"{key}-{name}", config={"displaylogo": False})
    if display.metrics:
        results = curves(res, ctx.seed)
        if results is not None:
            own = results[expl.method.upper()]
            st.plotly_chart(
                xc.curves_figure([(expl.method.upper(), own["deletion"]),
                                  (expl.method.upper(), own["insertion"])],
                                 title="deletion (solid) and insertion (dashed)"),
                key=f"{key}-curves", config={"displaylogo": False})
            rows = st.session_state.get("_auc_rows", [])
            where = f"{expl.model}, {expl.image_name}, {expl.target_label}"
            new = [{"map": label or expl.method.upper(), "for": where, **_aucs(own)}]
            new += [{"map": name, "for": where, **_aucs(c)} for name, c in results.items()
                    if name.endswith("baseline")]
            st.session_state["_auc_rows"] = rows + [r for r in new if r not in rows]
    with st.expander("Settings and downloads"):
        st.code(json.dumps(expl.record(), indent=2), language="json")
        files = xc.export_bytes(expl, colormap=display.colormap, alpha=display.alpha,
                                n_levels=display.levels, level_mode=display.level_mode)
        for fname, data in files.items():
            mime = {"png": "image/png", "json": "application/json"}.get(fname.rsplit(".", 1)[-1],
                                                                          "application/octet-stream")
            st.download_button(f"⬇ {fname}", data, file_name=fname, mime=mime,
                               key=f"{key}-dl-{fname}", on_click="ignore")


def _aucs(c: dict[str, Any]) -> dict[str, float]:
    return {"deletion AUC ↓": round(c["deletion"].auc, 3),
            "insertion AUC ↑": round(c["insertion"].auc, 3)}


def auc_summary() -> None:
    """The page's table of AUCs: every map shown, and the baselines it should beat."""
    rows = st.session_state.get("_auc_rows")
    if not rows:
        return
    rows = sorted(rows, key=lambda r: r["map"].endswith("baseline"))  # the maps first
    st.subheader("Faithfulness")
    st.caption(f"Deletion and insertion over {METRIC_STEPS} steps (RISE paper protocol: "
               "black for deletion, blurred image for insertion). A map should beat the "
               "baselines: random blobs, and a centred Gaussian (\"the object is in the "
               "middle\"). Where the object fills the whole photo, the centred map is hard to "
               "beat: there most of the picture is evidence.")
    st.dataframe(rows, hide_index=True)


# --- method parameter controls -----------------------------------------------------


def rise_controls(prefix: str, defaults: dict[str, Any] | None = None) -> dict[str, Any]:
    """Widgets for RISE parameters; returns the parameter dict for :func:`xai_core.explain`."""
    d = {**xc.DEFAULTS["rise"], **(defaults or {})}
    return {
        "n_masks": number("Masks (N)", 10, xc.rise.MAX_MASKS, d["n_masks"], f"{prefix}n",
                          help="More masks: smoother, more stable map; time grows linearly."),
        "mask_size": slider("Mask grid size (s)", 2, 32, d["mask_size"], f"{prefix}s",
                            help="Small s finds large regions; large s finer detail."),
        "keep_prob": slider("Keep probability (p)", 0.05, 0.95, float(d["keep_prob"]), f"{prefix}p",
                            step=0.05),
        "stop_at_r": 0.95 if toggle(
            "Auto budget: stop once the map is stable", d["stop_at_r"] is not None,
            f"{prefix}auto",
            help="Stops when two halves of the masks agree well enough that the map "
                 "correlates r ≥ 0.95 with the map of infinitely many masks (estimated); "
                 "N is then the most it may use.") else None,
    }


def lime_controls(prefix: str, defaults: dict[str, Any] | None = None) -> dict[str, Any]:
    """Widgets for LIME parameters; returns the parameter dict for :func:`xai_core.explain`."""
    d = {**xc.DEFAULTS["lime"], **(defaults or {})}
    hide_options = ["mean", "blur", "black", "grey", "white", "blue", "red", "green"]
    params = {"num_samples": number("Samples", 10, 20000, d["num_samples"], f"{prefix}n",
                                    help="Perturbed images the local linear model is fitted on.")}
    params["num_features"] = number(
        "Superpixels kept (num_features; 100000 = all)", 1, 100000, d["num_features"],
        f"{prefix}f", help="Only the superpixels with the largest |weight| keep their colour.")
    params["hide_color"] = selectbox("Hidden superpixels become", hide_options, d["hide_color"],
                                     f"{prefix}h")
    params["segmentation"] = selectbox("Segmentation", ["quickshift", "slic", "felzenszwalb"],
                                       d["segmentation"], f"{prefix}g")
    params["positive_only"] = toggle("Positive evidence only", bool(d["positive_only"]),
                                     f"{prefix}pos")
    return params


def method_controls(method: str, prefix: str, defaults: dict[str, Any] | None = None) -> dict[str, Any]:
    return rise_controls(prefix, defaults) if method == "rise" else lime_controls(prefix, defaults)


def target_of(ctx: Context) -> tuple[int, str, float]:
    """The model's top-1 class for the context image: (index, name, probability)."""
    probs = ctx.probabilities()
    i = int(np.argmax(probs))
    return i, ctx.clf.class_names[i], float(probs[i])


def run_button(page: str, label: str = "Run") -> bool:
    """A run button that stays pressed (``run=1`` in the URL), so a shared link shows results."""
    state = f"{page}-ran"
    if state not in st.session_state:
        st.session_state[state] = st.query_params.get("run") == page
    if st.button(label, type="primary", key=f"{page}-run-button"):
        st.session_state[state] = True
    if st.session_state[state]:
        _publish("run", page)
    return bool(st.session_state[state])


if __name__ == "__main__":  # opened as a page by Streamlit's legacy pages/ mode (/ui)
    _through_app()
