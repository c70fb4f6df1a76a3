"""What a study computes: the grid of settings, the images, the rows and their keys.

Pure Python (no Ray, no TensorFlow), so the plan can be checked before anything starts.
A row is one image x model x method setting x protocol; its :func:`row_key` decides
whether a rerun still has to compute it.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xai_core.explain import DEFAULTS, METHODS
from xai_core.images import list_images
from xai_core.metrics import PROTOCOLS

#: Parameters a study can vary with ``--set METHOD.NAME=V1,V2``, by method.
STUDY_PARAMS: Mapping[str, tuple[str, ...]] = {
    "rise": ("n_masks", "mask_size", "keep_prob", "fill"),
    "lime": ("num_samples", "num_features", "hide_color", "segmentation", "positive_only"),
    "gradcam": ("layer",),
}
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


def settings_grid(methods: Sequence[str], sets: Mapping[str, Mapping[str, Sequence[Any]]],
                  batch_size: int = 32) -> list[Setting]:
    """Every combination of the ``--set`` values, per method; other parameters keep the
    library's :data:`~xai_core.explain.DEFAULTS`. Each setting is validated.
    """
    from xai_core.explainers.lime import check_lime_params
    from xai_core.explainers.rise import check_rise_params

    grid: list[Setting] = []
    for method in methods:
        if method not in METHODS:
            raise ValueError(f"unknown method {method!r}; choose one of: {', '.join(METHODS)}")
        names = STUDY_PARAMS[method]
        axes = [list(sets.get(method, {}).get(n, [DEFAULTS[method][n]])) for n in names]
        for values in itertools.product(*axes):
            params = dict(zip(names, values, strict=True))
            if method == "rise":
                check_rise_params(params["n_masks"], params["mask_size"], params["keep_prob"],
                                  batch_size)
            elif method == "lime":
                check_lime_params(**params, batch_size=batch_size)
            grid.append(Setting(method, tuple(params.items())))
    return grid


@dataclass(frozen=True)
class ImageItem:
    """An image of the study: its path relative to DATA (POSIX), folder class, file."""

    rel: str
    label: str
    path: Path


def discover_images(data: str | os.PathLike) -> list[ImageItem]:
    """The images of a folder in the lab's layout: ``DATA/<class>/<image>`` (the class is
    the folder's name) and/or image files directly in DATA (no class). Hidden entries
    are skipped; the order is sorted, so plans are reproducible.
    """
    root = Path(data)
    if not root.is_dir():
        raise ValueError(f"{data}: not a folder (give a folder of images or of class folders)")
    items = []
    for p in list_images(root):  # files in DATA first, then each class folder's
        label = "" if p.parent == root else p.parent.name
        items.append(ImageItem(p.relative_to(root).as_posix(), label, p))
    if not items:
        raise ValueError(f"{data}: no image files in it or in its sub-folders")
    return items


def model_label(spec: str) -> str:
    """The name a model has in results: a built-in name, or a model file's name."""
    return Path(spec).name if spec.lower().endswith(".keras") or os.sep in spec else spec


def row_key(image: str, model: str, method: str, params_text: str, seed: int | str,
            protocol: str) -> tuple[str, ...]:
    """What identifies a row across runs (a rerun skips rows whose key is present)."""
    return (image, model, method, params_text, str(seed), protocol)


@dataclass(frozen=True)
class Task:
    """One explanation to compute: its rows are the protocols still missing."""

    image: ImageItem
    model: str
    setting: Setting
    seed: int
    protocols: tuple[str, ...]

    def key(self, protocol: str) -> tuple[str, ...]:
        return row_key(self.image.rel, model_label(self.model), self.setting.method,
                       self.setting.params_text, self.seed, protocol)


def check_protocols(protocols: Sequence[str]) -> None:
    """Raise ``ValueError`` for a protocol that is not a key of :data:`~xai_core.metrics.PROTOCOLS`."""
    for p in protocols:
        if p not in PROTOCOLS:
            raise ValueError(f"unknown protocol {p!r}; choose one of: {', '.join(PROTOCOLS)}")


def plan_tasks(images: Sequence[ImageItem], models: Sequence[str], settings: Sequence[Setting],
               protocols: Sequence[str], seed: int,
               done: Iterable[tuple[str, ...]] = ()) -> list[Task]:
    """The tasks still to compute, model by model, image by image.

    Each task explains one image once and evaluates it under the protocols whose rows are
    not in ``done`` (keys from :func:`row_key`).
    """
    check_protocols(protocols)
    finished = set(done)
    tasks = []
    for model in models:
        for image in images:
            for setting in settings:
                probe = Task(image, model, setting, seed, ())
                missing = tuple(p for p in protocols if probe.key(p) not in finished)
                if missing:
                    tasks.append(Task(image, model, setting, seed, missing))
    return tasks
