"""The shared sidebar (image, model, seed, display) and the context every page works on."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st

import xai_core as xc
from dashboard.models import (
    MODEL_UPLOAD,
    OFFLINE_MODEL,
    _sidebar_model_upload,
    canonical_model_links,
    default_model,
    fallback_for,
    get_model,
    model_choices,
    model_label,
    try_model,
    unavailable_note,
)
from dashboard.preload import preload_plotly
from dashboard.state import number, radio, selectbox, show_url_warnings, slider, toggle
from xai_core.store import image_key as store_image_key

UPLOAD = "upload your own…"


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
    fit: str = "crop"  # how the photo was fitted to the model's input: "crop" or "pad"

    def prepare(self, clf: xc.Classifier) -> tuple[np.ndarray, str]:
        """The photo as ``clf`` sees it (fitted like the sidebar's), and its cache key."""
        return clf.prepare(self.raw, self.fit), image_key(self.raw, clf, self.fit)

    def probabilities(self) -> np.ndarray:
        return cached_probabilities(self.model_name, self.image_key, _clf=self.clf, _image=self.image)


def image_key(raw: np.ndarray, clf: xc.Classifier, fit: str = "crop") -> str:
    """Cache key of an image as a model sees it: content hash + input size (+ fit)."""
    return store_image_key(raw, clf.input_size, fit)


def _resolve_model(choices: list[str]) -> tuple[str | None, tuple[str, str | None, str] | None]:
    """Before the picker is drawn: if the model it would show cannot load, move it to a
    fallback, so the picker and the URL always name the model that runs.

    Returns ``(wanted, (failed, why, fallback))`` or ``(wanted, None)``. A failure is
    remembered in the session so the note stays while the fallback is in use.
    """
    wanted = st.session_state.get("model", st.query_params.get("model", default_model()))
    if wanted in choices:
        clf, why = try_model(wanted)
        if clf is None:
            fallback = fallback_for(wanted, choices)
            if fallback is not None:
                st.session_state["model"] = fallback
                st.session_state["_model_failed"] = (wanted, why, fallback)
                return fallback, st.session_state["_model_failed"]
        else:
            st.session_state.pop("_model_failed", None)
    return wanted, st.session_state.get("_model_failed")


def sample_names() -> list[str]:
    """The sample photos and the data/ images (``"<class>/<file>"``)."""
    return xc.sample_names()


def picker_names() -> list[str]:
    """The images offered in the sidebar's picker: each photo once. A data/ image that is a
    copy of a sample (``espresso/coffee.png`` of ``coffee``) is left out for the sample."""
    names = sample_names()
    samples = {n for n in names if "/" not in n}
    return [n for n in names
            if "/" not in n or n.rsplit("/", 1)[-1].rsplit(".", 1)[0] not in samples]


@st.cache_data(max_entries=32, show_spinner=False)
def sample_image(name: str) -> np.ndarray:
    """A sample photo, uint8 (H, W, 3), decoded once per process."""
    return xc.load_sample(name)


@st.cache_data(max_entries=64, show_spinner=False)
def cached_probabilities(model_name: str, image_key: str, *, _clf, _image) -> np.ndarray:
    return _clf.predict(_image)[0]


#: Uploads are downscaled to this longer side: models need a few hundred pixels at most.
UPLOAD_MAX_SIDE = 1024


@st.cache_data(max_entries=16, show_spinner="Reading the image…")
def _decode_upload(data: bytes) -> np.ndarray:
    return xc.load_image(data, max_side=UPLOAD_MAX_SIDE)


def image_label(name: str) -> str:
    """How the image picker shows a name: data/ images as ``class: file (data/)``."""
    if "/" in name and name != UPLOAD:
        cls, file = name.split("/", 1)
        return f"{cls}: {file} (data/)"
    return name


FIT_LABELS = {"crop": "crop the centre", "pad": "pad to a square (whole photo)"}

#: Session keys of the home page's camera: the widget, and the last photo it took (bytes).
CAMERA, CAMERA_PHOTO = "camera", "_camera_photo"


def _took_photo() -> None:
    shot = st.session_state.get(CAMERA)
    if shot is None:  # "Clear photo"
        st.session_state.pop(CAMERA_PHOTO, None)
        return
    st.session_state[CAMERA_PHOTO] = shot.getvalue()  # kept when the page (and widget) changes
    st.session_state["img"] = UPLOAD  # the picker shows "upload your own…": it is the photo


def camera_photo() -> None:
    """A camera widget: the photo taken becomes the image of every page, like an upload."""
    st.camera_input("Take a photo of what is on your desk", key=CAMERA, on_change=_took_photo,
                    help="The photo stays in your session, like an upload; it is never "
                         "stored on the server or put in a shared link.")


#: What a page says while the sidebar waits for an upload (e.g. a link made after one).
AWAITING_UPLOAD = ("**No image yet: this view is set to an uploaded image.** Uploads stay in "
                   "the session that made them and cannot travel in a link, so a link made "
                   "after an upload opens without its image. Upload the photo in the sidebar "
                   "(ask whoever sent the link for it), or pick a sample image there.")


def _sidebar_image() -> tuple[np.ndarray, str, bool] | None:
    """The sidebar's image: (uint8 photo, name, uploaded), or ``None`` while an upload is
    awaited (nothing uploaded yet)."""
    names = picker_names()
    classes = xc.images.data_images()
    choice = selectbox("Image", [*names, UPLOAD], names[0], "img", format_func=image_label,
                       help="Sample photos ship with the app; images in data/<class>/ are listed "
                            "by class; or upload a JPEG/PNG.")
    if classes:
        st.caption("data/: " + ", ".join(f"{c} ({len(v)})" for c, v in classes.items()))
    if choice == UPLOAD:
        st.caption("Uploads stay in your session and cannot travel in a shared link.")
        up = st.file_uploader("Upload an image", type=None, key="upload")
        if up is not None:
            from xai_core.names import printable

            shown = printable(up.name)
            try:
                return _decode_upload(up.getvalue()), shown, True
            except (xc.ImageError, ValueError) as exc:  # ImageError: every decode failure
                st.error(f"**{shown}**: {exc}")
            except MemoryError:
                st.error(f"**{shown}**: the image needs more memory than this server has "
                         "for one upload; resize it and try again")
            st.info("Showing the first sample until an image is uploaded.")
            return sample_image(names[0]), names[0], False
        if st.session_state.get(CAMERA_PHOTO) is not None:
            try:
                return _decode_upload(st.session_state[CAMERA_PHOTO]), "camera photo", True
            except (xc.ImageError, ValueError) as exc:
                st.error(f"**Camera photo**: {exc}")
        st.info("Nothing to explain until an image is uploaded (or a photo taken on the home "
                "page).")
        return None
    return sample_image(choice), choice, False


def _fit_control(raw: np.ndarray, clf: xc.Classifier) -> str:
    """For a photo whose proportions differ from the model's input: say how it is fitted
    and offer centre-crop or pad."""
    if xc.images.is_square_enough(raw.shape, clf.input_size):
        return "crop"
    h, w = raw.shape[:2]
    fit = radio("Fit to the model's input", list(FIT_LABELS), "crop", "fit",
                format_func=FIT_LABELS.get, horizontal=True)
    size = f"{clf.input_size[1]} × {clf.input_size[0]}"
    st.caption(f"This photo is {w} × {h}; the model takes {size}. "
               + ("Its centre is cut out (the edges are not seen)." if fit == "crop" else
                  "It is shrunk whole and grey bands fill the rest."))
    return fit


def sidebar() -> Context | None:
    """Draw the shared sidebar and return the page context (``None`` if nothing can run)."""
    st.session_state["_url_slot"] = None  # no page slot yet in this run
    canonical_model_links()
    with st.sidebar:
        st.header("Image & model")
        picked = _sidebar_image()
        raw, image_name, uploaded = picked or (sample_image(sample_names()[0]), "", False)
        choices = model_choices()
        name, failed = _resolve_model(choices)
        name = selectbox("Model", [*choices, MODEL_UPLOAD], default_model(), "model",
                         format_func=model_label)
        if failed is not None and name == failed[2]:
            unavailable_note(failed[0], failed[1], instead=name)
        if name == MODEL_UPLOAD:
            clf, name = _sidebar_model_upload()
            if clf is None:
                fallback = OFFLINE_MODEL if OFFLINE_MODEL in choices else choices[0]
                st.info(f"Using {model_label(fallback)} instead"
                        + (": it works offline." if fallback == OFFLINE_MODEL else "."))
                name, clf = fallback, get_model(fallback, where=st)
        else:
            clf = get_model(name, where=st)
        if clf is not None:
            engine = {"litert": "LiteRT (XNNPACK)", "keras": "Keras"}.get(clf.engine, clf.engine)
            note = clf.engine_note.split(": ", 1)[-1]
            st.caption(f"Runs on {engine}" + (f" ({note})" if note else ""))
        fit = _fit_control(raw, clf) if clf is not None else "crop"
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
    st.session_state["_awaiting_upload"] = picked is None
    if picked is None:  # no result for another image than the one the view is set to
        st.session_state["_ctx"] = None
        return None
    if clf is None:
        st.session_state["_ctx"] = None
        st.error("No model could be loaded. Reinstall the requirements (see README).")
        return None
    image = clf.prepare(raw, fit)
    display = Display(None if cmap == "auto" else cmap, float(alpha), int(levels), mode, metrics)
    ctx = Context(clf, name, raw, image, image_name, image_key(raw, clf, fit), uploaded, seed,
                  display, fit)
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
    if st.session_state.get("_awaiting_upload"):
        st.warning(AWAITING_UPLOAD, icon=":material/upload:")
    st.markdown(what)
    st.caption(f"**What to look for:** {look_for}")
    preload_plotly()  # the first result row need not wait for the browser's Plotly code
    return ctx
