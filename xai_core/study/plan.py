"""What a study computes: the grid of settings, the images, the rows and their keys.

Pure Python (no Ray, no TensorFlow), so the plan can be checked before anything starts.
A row is one image x model x method setting x protocol; its :func:`row_key` decides
whether a rerun still has to compute it. The key covers everything that decides a row's
numbers: every parameter of the method (those of the grid and the others), the seed, the
protocol and the :class:`Setup` (the model file's content, preprocessing, engine, the
explainers' fixed internals and the package version), so a rerun never answers from rows
made another way: those are recomputed, and the new rows replace them.
"""

from __future__ import annotations

import hashlib
import inspect
import itertools
import json
import os
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xai_core.explain import DEFAULTS, METHODS
from xai_core.images import list_images
from xai_core.metrics import PROTOCOLS
from xai_core.names import printable

#: Parameters a study can vary with ``--set METHOD.NAME=V1,V2``, by method: every
#: parameter of :func:`~xai_core.explain` (each has its column in results.csv).
STUDY_PARAMS: Mapping[str, tuple[str, ...]] = {m: tuple(DEFAULTS[m]) for m in METHODS}
#: The parameters' values in a study when not set: the library's :data:`~xai_core.explain.DEFAULTS`,
#: except that the budget is fixed (``stop_at_r`` off), so that every map of a grid uses the
#: same number of masks or samples; ``--set rise.stop_at_r=0.95`` turns the automatic stop on.
STUDY_DEFAULTS: Mapping[str, Mapping[str, Any]] = {
    m: {**DEFAULTS[m], **({"stop_at_r": None} if "stop_at_r" in DEFAULTS[m] else {})}
    for m in METHODS
}
#: Texts that turn an optional parameter off (``--set rise.stop_at_r=none``).
_NONE_TEXTS = ("none", "off", "fixed")
#: One results column per parameter, ``"<method>.<name>"``.
PARAM_COLUMNS: tuple[str, ...] = tuple(
    f"{method}.{name}" for method in METHODS for name in STUDY_PARAMS[method]
)


def format_value(value: object) -> str:
    """A parameter value as written in results.csv and in row keys (stable across runs)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def params_text(params: Mapping[str, object] | Iterable[tuple[str, object]], sep: str = ";") -> str:
    """Parameters as text, ``name=value`` pairs joined by ``sep`` in the order given: the
    settings part of a row key (``sep=";"``) and the settings in labels (``sep=" "``).
    The one place parameters become text (values through :func:`format_value`)."""
    items = params.items() if isinstance(params, Mapping) else params
    return sep.join(f"{k}={format_value(v)}" for k, v in items)


def _parse_value(method: str, name: str, text: str) -> Any:
    default = DEFAULTS[method][name]
    text = text.strip()
    where = f"--set {method}.{name}"
    if name == "stop_at_r" and text.lower() in _NONE_TEXTS:
        return None
    if isinstance(default, bool):
        if text.lower() in ("true", "1", "yes"):
            return True
        if text.lower() in ("false", "0", "no"):
            return False
        raise ValueError(f"{where}: {text!r} is not true or false")
    if isinstance(default, int):
        try:
            return int(text)
        except ValueError:
            raise ValueError(f"{where}: {text!r} is not a whole number") from None
    if isinstance(default, float):
        try:
            return float(text)
        except ValueError:
            raise ValueError(f"{where}: {text!r} is not a number") from None
    if not text:
        raise ValueError(f"{where}: an empty value")
    return text


def parse_sets(specs: Sequence[str], methods: Sequence[str]) -> dict[str, dict[str, list[Any]]]:
    """Parse ``--set METHOD.NAME=V1,V2,...`` options into ``{method: {name: [values]}}``.

    Raises
    ------
    ValueError
        A malformed option, a method not studied, an unknown parameter, a value of the
        wrong type, or the same parameter set twice.
    """
    out: dict[str, dict[str, list[Any]]] = {m: {} for m in methods}
    for spec in specs:
        head, sep, values = spec.partition("=")
        method, dot, name = head.strip().partition(".")
        if not sep or not dot or not values.strip():
            raise ValueError(f"--set {spec!r}: write METHOD.NAME=VALUE[,VALUE...], "
                             "e.g. rise.mask_size=7,15")
        if method not in STUDY_PARAMS:
            raise ValueError(f"--set {spec!r}: unknown method {method!r}; "
                             f"choose one of: {', '.join(METHODS)}")
        if method not in out:
            raise ValueError(f"--set {spec!r}: {method} is not among --methods "
                             f"({', '.join(methods)})")
        if name not in STUDY_PARAMS[method]:
            raise ValueError(f"--set {spec!r}: {method} has no study parameter {name!r}; "
                             f"choose one of: {', '.join(STUDY_PARAMS[method])}")
        if name in out[method]:
            raise ValueError(f"--set {method}.{name} is given twice; list all values in one "
                             "option, separated by commas")
        parsed = [_parse_value(method, name, v) for v in values.split(",")]
        if len(set(map(format_value, parsed))) != len(parsed):
            raise ValueError(f"--set {spec!r}: a value is repeated")
        out[method][name] = parsed
    return out


@dataclass(frozen=True)
class Setting:
    """One method with all its study parameters fixed (a point of the grid)."""

    method: str
    params: tuple[tuple[str, Any], ...]

    @property
    def as_dict(self) -> dict[str, Any]:
        return dict(self.params)

    @property
    def params_text(self) -> str:
        """``"name=value;..."`` in a fixed order: the settings part of a row key."""
        return params_text(self.params)


def check_setting(method: str, params: Mapping[str, Any], batch_size: int = 32) -> None:
    """Raise ``ValueError`` (a message for a person) for a setting the method would refuse.

    Everything that can be checked without the model is checked here, so that a study
    stops before Ray or a model starts. Grad-CAM's ``layer`` depends on the model: see
    :func:`check_gradcam_layers`.
    """
    from xai_core.explainers.lime import check_lime_params
    from xai_core.explainers.rise import check_rise_params
    from xai_core.explainers.rise.fill import check_fill

    where = f"--set {method}"
    try:
        if method == "rise":
            check_rise_params(params["n_masks"], params["mask_size"], params["keep_prob"],
                              batch_size)
            if params["fill"] != "dataset_mean":  # resolved from the model's preprocessing
                check_fill(params["fill"])
        elif method == "lime":
            check_lime_params(**{k: v for k, v in params.items() if k != "stop_at_r"},
                              batch_size=batch_size)
        elif method == "gradcam":
            layer = params["layer"]
            if layer is not None and (not isinstance(layer, str) or not layer.strip()):
                raise ValueError(f"layer must be a layer's name; got {layer!r}")
        stop = params.get("stop_at_r")
        if stop is not None and not 0.0 < float(stop) < 1.0:
            raise ValueError(f"stop_at_r must lie strictly between 0 and 1 (or none for a "
                             f"fixed budget); got {stop}")
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None


def settings_grid(methods: Sequence[str], sets: Mapping[str, Mapping[str, Sequence[Any]]],
                  batch_size: int = 32) -> list[Setting]:
    """Every combination of the ``--set`` values, per method; other parameters keep
    :data:`STUDY_DEFAULTS` (the library's defaults with a fixed budget). Each setting is
    validated (:func:`check_setting`).
    """
    grid: list[Setting] = []
    for method in methods:
        if method not in METHODS:
            raise ValueError(f"unknown method {method!r}; choose one of: {', '.join(METHODS)}")
        names = STUDY_PARAMS[method]
        axes = [list(sets.get(method, {}).get(n, [STUDY_DEFAULTS[method][n]])) for n in names]
        for values in itertools.product(*axes):
            params = dict(zip(names, values, strict=True))
            check_setting(method, params, batch_size)
            grid.append(Setting(method, tuple(params.items())))
    return grid


#: Characters escaped in names written to results.csv and printed: C0/C1 controls, DEL
#: and the bidirectional overrides (which reorder what a terminal or spreadsheet shows).
@dataclass(frozen=True)
class ImageItem:
    """An image of the study: its path relative to DATA (POSIX, :func:`printable`), its
    folder class (printable) and the file."""

    rel: str
    label: str
    path: Path


def discover_images(data: str | os.PathLike) -> list[ImageItem]:
    """The images of a folder in the lab's layout: ``DATA/<class>/<image>`` (the class is
    the folder's name) and/or image files directly in DATA (no class). Hidden entries
    are skipped; the order is sorted, so plans are reproducible. Names keep their
    characters except controls (:func:`printable`).

    Raises
    ------
    ValueError
        DATA is not a folder, holds no image, or two of its files have the same
        printable name (they differ only in control characters).
    """
    root = Path(data)
    if not root.is_dir():
        raise ValueError(f"{data}: not a folder (give a folder of images or of class folders)")
    items = []
    for p in list_images(root):  # files in DATA first, then each class folder's
        label = "" if p.parent == root else printable(p.parent.name)
        items.append(ImageItem(printable(p.relative_to(root).as_posix()), label, p))
    if not items:
        raise ValueError(f"{data}: no image files in it or in its sub-folders")
    seen: set[str] = set()
    for item in items:
        if item.rel in seen:
            raise ValueError(f"two files of {Path(data).name} are both shown as {item.rel!r} "
                             "(their names differ only in control characters): rename one")
        seen.add(item.rel)
    return items


def model_label(spec: str) -> str:
    """The name a model has in results: a built-in name, or a model file's name (printable)."""
    return printable(Path(spec).name if spec.lower().endswith(".keras") or os.sep in spec
                     else spec)


# --- what else decides a row: the setup ----------------------------------------------


def package_version() -> str:
    """The installed saliency-lab's version, else the one in this checkout's pyproject.toml."""
    from importlib import metadata

    try:
        return metadata.version("saliency-lab")
    except metadata.PackageNotFoundError:
        pass
    try:
        pyproject = Path(__file__).resolve().parents[2] / "pyproject.toml"
        return str(tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["version"])
    except (OSError, KeyError, ValueError):
        return "unknown"


def model_digest(spec: str) -> str:
    """SHA-256 of a ``.keras`` file's content (read in chunks); ``""`` for a built-in model,
    whose weights are fixed by the package version.

    Raises
    ------
    ValueError
        The model file cannot be read.
    """
    if not spec.lower().endswith(".keras"):
        return ""
    try:
        with open(spec, "rb") as f:
            return hashlib.file_digest(f, "sha256").hexdigest()
    except OSError as exc:
        raise ValueError(f"--models: cannot read {Path(spec).name} "
                         f"({exc.strerror or type(exc).__name__})") from None


def _passed_by_explain() -> dict[str, set[str]]:
    return {
        "rise": {"self", "predict", "image", "max_masks", "mask_size", "keep_prob", "batch_size",
                 "seed", "fill", "keep_scores"},
        "lime": {"predict", "image", "target", "batch_size", "seed", "progress", "on_frame",
                 *DEFAULTS["lime"]},
        "gradcam": {"clf", "image", "target", *DEFAULTS["gradcam"]},
    }


def fixed_params(method: str) -> str:
    """The explainer's settings a study cannot change (RISE's estimator, replicates, sampler,
    check schedule; LIME's check interval, ...), as ``"name=value;..."``: read from the
    signatures of the functions :func:`~xai_core.explain` calls, so a new version's other
    internals make other rows."""
    from xai_core.explainers.gradcam import explain_gradcam
    from xai_core.explainers.lime import explain_lime
    from xai_core.explainers.rise import RiseRun

    fn = {"rise": RiseRun.__init__, "lime": explain_lime, "gradcam": explain_gradcam}[method]
    skip = _passed_by_explain()[method]
    items = [(n, p.default) for n, p in inspect.signature(fn).parameters.items()
             if n not in skip and p.default is not inspect.Parameter.empty]
    return params_text(sorted(items))


@dataclass(frozen=True)
class Setup:
    """What decides a model's rows besides the image, the method's parameters, the seed and
    the protocol.

    Attributes
    ----------
    model_sha256
        SHA-256 of the ``.keras`` file (``""`` for a built-in model): a file replaced at
        the same path makes new rows.
    preprocessing
        The preprocessing given for a model file (``""`` for a built-in model).
    engine
        The engine asked for (``"auto"``, ``"keras"`` or ``"litert"``).
    version
        The package version (:func:`package_version`).
    """

    model_sha256: str
    preprocessing: str
    engine: str
    version: str

    def digest(self, method: str) -> str:
        """12 hex digits of SHA-256 over the setup and the method's :func:`fixed_params`."""
        text = json.dumps([self.model_sha256, self.preprocessing, self.engine, self.version,
                           method, fixed_params(method)])
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    def columns(self, method: str) -> dict[str, str]:
        """The setup's columns of a row (see :data:`~xai_core.study.results.COLUMNS`)."""
        return {"setup": self.digest(method), "model_sha256": self.model_sha256,
                "preprocessing": self.preprocessing, "engine": self.engine,
                "version": self.version}

    def differences(self, row: Mapping[str, str]) -> list[str]:
        """What differs between this setup and the one a results.csv row was made with."""
        names = {"model_sha256": "the model file's content", "preprocessing": "--preprocessing",
                 "engine": "--engine", "version": "the package version"}
        found = [text for col, text in names.items()
                 if row.get(col, "") != self.columns(row.get("method", ""))[col]]
        return found or ["the explainers' fixed settings"]


def model_setup(spec: str, preprocessing: str, engine: str | None) -> Setup:
    """The :class:`Setup` of a model as a study runs it (reads a model file once, to hash it)."""
    from xai_core.models.backends import resolve_engine

    is_file = spec.lower().endswith(".keras")
    return Setup(model_digest(spec), preprocessing if is_file else "", resolve_engine(engine),
                 package_version())


def row_key(image: str, model: str, method: str, params_text: str, seed: int | str,
            protocol: str, setup: str = "") -> tuple[str, ...]:
    """What identifies a row across runs (a rerun skips rows whose key is present).

    The first six parts name the row (a later row with the same six replaces an earlier
    one); ``setup`` (:meth:`Setup.digest`) says how it was made.
    """
    return (image, model, method, params_text, str(seed), protocol, setup)


@dataclass(frozen=True)
class Task:
    """One explanation to compute: its rows are the protocols still missing."""

    image: ImageItem
    model: str
    setting: Setting
    seed: int
    protocols: tuple[str, ...]
    setup: Setup | None = None

    def key(self, protocol: str) -> tuple[str, ...]:
        return row_key(self.image.rel, model_label(self.model), self.setting.method,
                       self.setting.params_text, self.seed, protocol,
                       self.setup.digest(self.setting.method) if self.setup else "")

    def base_row(self) -> dict[str, Any]:
        """The columns every row of this task has, before it is computed."""
        method = self.setting.method
        return {"image": self.image.rel, "class": self.image.label,
                "model": model_label(self.model), "method": method, "seed": self.seed,
                **{f"{method}.{k}": v for k, v in self.setting.params},
                **(self.setup.columns(method) if self.setup else {})}


def check_protocols(protocols: Sequence[str]) -> None:
    """Raise ``ValueError`` for a protocol that is not a key of :data:`~xai_core.metrics.PROTOCOLS`."""
    for p in protocols:
        if p not in PROTOCOLS:
            raise ValueError(f"unknown protocol {p!r}; choose one of: {', '.join(PROTOCOLS)}")


def plan_tasks(images: Sequence[ImageItem], models: Sequence[str], settings: Sequence[Setting],
               protocols: Sequence[str], seed: int,
               done: Iterable[tuple[str, ...]] = (),
               setups: Mapping[str, Setup] | None = None) -> list[Task]:
    """The tasks still to compute, model by model, image by image.

    Each task explains one image once and evaluates it under the protocols whose rows are
    not in ``done`` (keys from :func:`row_key`); ``setups`` gives each model's
    :class:`Setup` (a row made with another setup is computed again).
    """
    check_protocols(protocols)
    finished = set(done)
    tasks = []
    for model in models:
        for image in images:
            for setting in settings:
                setup = (setups or {}).get(model)
                probe = Task(image, model, setting, seed, (), setup)
                missing = tuple(p for p in protocols if probe.key(p) not in finished)
                if missing:
                    tasks.append(Task(image, model, setting, seed, missing, setup))
    return tasks
