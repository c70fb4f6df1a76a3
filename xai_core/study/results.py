"""results.csv: rows appended one line at a time, safe against Ctrl-C and crashes.

Each finished row is written as one complete line with a single ``write``, then flushed
and ``fsync``-ed, so an interrupted run leaves whole rows behind (a torn last line, if
the machine itself died mid-write, is cut off on the next open). The header is written
with a temporary file renamed into place.
"""

from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from xai_core.study.plan import PARAM_COLUMNS, STUDY_PARAMS, format_value, params_text, row_key

#: The columns of results.csv, in order.
COLUMNS: tuple[str, ...] = (
    "image", "class", "model", "method", "protocol", "seed", *PARAM_COLUMNS,
    "target", "target_label", "probability", "deletion_auc", "insertion_auc",
    "forward_passes", "wall_s", "eval_s", "status", "map_file",
)


def _line(values: Iterable[object]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(values)
    return buf.getvalue()


def one_line_error(exc: BaseException | str, hide: Iterable[str | os.PathLike] = ()) -> str:
    """An error as one line for the status column, without server paths.

    Folders named in ``hide`` are removed, and so is any other absolute folder (only the
    file name is kept); newlines become spaces.
    """
    if isinstance(exc, str):
        text = exc
    elif isinstance(exc, (ValueError, RuntimeError, OSError)) and str(exc):
        text = str(exc)  # the library's messages are written for people
    else:
        text = f"{type(exc).__name__}: {exc}".rstrip(": ")
    for folder in hide:
        prefix = os.fspath(folder).rstrip("/") + "/"
        text = text.replace(prefix, "")
    text = re.sub(r"(?<![\w.])(?:/[\w.\-]+)+/(?=[\w.\-])", "", text)
    text = " ".join(text.split())
    return ("error: " + text) if not text.startswith("error") else text


def key_of(row: Mapping[str, str]) -> tuple[str, ...]:
    """The :func:`~xai_core.study.plan.row_key` of a row read from results.csv."""
    method = row["method"]
    params = params_text((n, row.get(f"{method}.{n}", "")) for n in STUDY_PARAMS.get(method, ()))
    return row_key(row["image"], row["model"], method, params, row["seed"], row["protocol"])


class ResultsFile:
    """An append-only results.csv in ``folder`` (created with its header if missing).

    Raises
    ------
    ValueError
        The file exists with other columns (made by another version): use a new folder.
    """

    name = "results.csv"

    def __init__(self, folder: str | os.PathLike) -> None:
        self.path = Path(folder) / self.name
        header = _line(COLUMNS)
        if not self.path.exists():
            tmp = self.path.with_suffix(".csv.tmp")
            with open(tmp, "w", encoding="utf-8", newline="") as f:
                f.write(header)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
            return
        with open(self.path, "rb+") as f:
            data = f.read()
            if not data.startswith(header.encode()):
                raise ValueError(f"{self.path.name} in the output folder has other columns "
                                 "(an older version wrote it): choose a new --out folder")
            if not data.endswith(b"\n"):  # a torn last line: cut it off
                f.truncate(data.rfind(b"\n") + 1)

    def append(self, row: Mapping[str, Any]) -> None:
        """Write one row as one line, then flush and fsync (unknown keys raise)."""
        extra = set(row) - set(COLUMNS)
        if extra:
            raise ValueError(f"unknown result columns: {', '.join(sorted(extra))}")
        line = _line(format_value(row.get(c)) for c in COLUMNS)
        with open(self.path, "a", encoding="utf-8", newline="") as f:
            f.write(line)
            f.flush()
            os.fsync(f.fileno())

    def rows(self) -> list[dict[str, str]]:
        """The rows, one per key (a later row for the same key replaces an earlier one)."""
        return read_rows(self.path)


def read_rows(path: str | os.PathLike) -> list[dict[str, str]]:
    """Rows of a results.csv as strings, one per key, the last written winning."""
    with open(path, encoding="utf-8", newline="") as f:
        text = f.read()
    if not text.endswith("\n"):
        text = text[: text.rfind("\n") + 1]
    by_key: dict[tuple[str, ...], dict[str, str]] = {}
    for row in csv.DictReader(io.StringIO(text)):
        by_key[key_of(row)] = row
    return list(by_key.values())
