"""results.csv: rows appended one line at a time, safe against Ctrl-C, crashes and odd names.

The file is CSV in one dialect, :data:`DIALECT` (RFC 4180: comma, double quotes, CRLF
line ends), which quotes every field holding a comma, a quote or any line break (a bare
``\r`` included), so no name can split a row. Names are written :func:`~xai_core.study.plan.printable`
(control characters escaped), and a text field that a spreadsheet would run as a formula
(starting with ``=``, ``+``, ``-``, ``@``, or a tab) is written behind a ``'``, which
:func:`read_rows` removes again; numbers are written as they are.

Each finished row is written as one complete line with a single ``write``, then flushed
and ``fsync``-ed, so an interrupted run leaves whole rows behind. The reader recovers
from damage without inventing rows (:func:`scan_records`): a line that is not a complete
row (torn by a crash, NUL bytes, a stray quote) is skipped and reading resumes at the
next line; a damaged tail is cut off when the file is opened for appending. The header
is written with a temporary file renamed into place.
"""

from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from xai_core.study.plan import (
    PARAM_COLUMNS,
    STUDY_PARAMS,
    format_value,
    params_text,
    printable,
    row_key,
)

#: The columns of results.csv, in order. ``samples_used``: masks (RISE) or samples (LIME)
#: the map was made from; ``stopped``: ``"fixed"``, ``"auto"`` or ``"cap"``; ``setup`` and
#: the columns after it: how the row was made (:class:`~xai_core.study.plan.Setup`).
COLUMNS: tuple[str, ...] = (
    "image", "class", "model", "method", "protocol", "seed", *PARAM_COLUMNS,
    "target", "target_label", "probability", "deletion_auc", "insertion_auc",
    "samples_used", "stopped", "forward_passes", "wall_s", "eval_s", "status", "map_file",
    "setup", "model_sha256", "preprocessing", "engine", "version",
)
#: The one CSV dialect of results.csv: RFC 4180 (CRLF ends every row; a field holding
#: ``,``, ``"``, ``\r`` or ``\n`` is quoted).
DIALECT = csv.excel
#: First characters that make a spreadsheet read a cell as a formula (OWASP, "CSV injection").
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "'")
#: Longest row, in physical lines, the reader joins (a quoted field may hold line breaks).
_MAX_LINES_PER_ROW = 32


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def cell(value: object) -> str:
    """A value as written in a field: :func:`~xai_core.study.plan.format_value`, printable,
    and behind a ``'`` when a spreadsheet would read it as a formula."""
    text = printable(format_value(value))
    if text.startswith(_FORMULA_START) and not _is_number(text):
        return "'" + text
    return text


def uncell(text: str) -> str:
    """The inverse of :func:`cell`'s formula guard: one leading ``'`` removed."""
    return text[1:] if text.startswith("'") else text


def _line(values: Iterable[object]) -> str:
    buf = io.StringIO()
    csv.writer(buf, dialect=DIALECT).writerow(values)
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
    return row_key(row["image"], row["model"], method, params, row["seed"], row["protocol"],
                   row.get("setup", ""))


def _fields_ok(fields: list[str], header: list[str]) -> bool:
    """Whether a parsed record can be a row: as many fields as the header, no NUL or
    undecodable byte, and sane values where the columns are known."""
    if len(fields) != len(header) or any("\x00" in f or _SURROGATE.search(f) for f in fields):
        return False
    from xai_core.explain import METHODS
    from xai_core.metrics import PROTOCOLS

    row = dict(zip(header, fields, strict=True))
    checks = {"method": lambda v: v in METHODS, "protocol": lambda v: v in PROTOCOLS,
              "seed": str.isdigit, "image": bool, "status": bool}
    return all(check(row[col]) for col, check in checks.items() if col in row)


_SURROGATE = re.compile("[\ud800-\udfff]")


def scan_records(text: str) -> Iterator[tuple[int, list[str]]]:
    """The complete, well-formed records of CSV ``text``: ``(end offset, fields)``.

    Records are cut at line breaks outside quotes. The first record is the header; each
    later record must have as many fields as it and sane values (a known method and
    protocol, a whole-number seed, an image and a status, no NUL). A line that does not
    start such a record is skipped and the scan resumes at the next line, so a torn row,
    a line of NUL bytes or a stray quote costs only the damaged lines, never a row that
    was written whole, and no row is made up from pieces.
    """
    lines = text.split("\n")
    if lines and not lines[-1]:
        lines.pop()  # the empty rest after the last line break
    ends = []
    pos = 0
    for part in lines:
        pos += len(part) + 1
        ends.append(min(pos, len(text)))
    header: list[str] | None = None
    i = 0
    while i < len(lines):
        quotes, j = 0, i
        for j in range(i, min(i + _MAX_LINES_PER_ROW, len(lines))):
            quotes += lines[j].count('"')
            if quotes % 2 == 0:
                break
        complete = quotes % 2 == 0 and ends[j] <= len(text) and text[ends[j] - 1:ends[j]] == "\n"
        if complete:
            chunk = "\n".join(lines[i:j + 1]) + "\n"
            try:
                records = list(csv.reader(io.StringIO(chunk), dialect=DIALECT, strict=True))
            except csv.Error:
                records = []
            if len(records) == 1:
                fields = records[0]
                if header is None:
                    if fields and all(fields) and "\x00" not in "".join(fields):
                        header = fields
                        yield ends[j], fields
                        i = j + 1
                        continue
                elif _fields_ok(fields, header):
                    yield ends[j], fields
                    i = j + 1
                    continue
        if header is None:
            return  # no header: not a results file
        i += 1


def _decode(data: bytes) -> str:
    return data.decode("utf-8", "surrogateescape")


class ResultsFile:
    """An append-only results.csv in ``folder`` (created with its header if missing).

    Opening an existing file cuts off a damaged tail (a row torn by a crash), so the next
    row starts on a line of its own.

    Raises
    ------
    ValueError
        The file exists with other columns (made by another version): use a new folder.
    """

    name = "results.csv"

    def __init__(self, folder: str | os.PathLike) -> None:
        self.path = Path(folder) / self.name
        if not self.path.exists():
            header = _line(COLUMNS)
            tmp = self.path.with_suffix(".csv.tmp")
            with open(tmp, "w", encoding="utf-8", newline="") as f:
                f.write(header)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
            return
        with open(self.path, "rb+") as f:
            data = f.read()
            text = _decode(data)
            records = list(scan_records(text))
            if not records or records[0][1] != list(COLUMNS):
                raise ValueError(f"{self.path.name} in the output folder has other columns "
                                 "(an older version wrote it): choose a new --out folder")
            end = records[-1][0]
            keep = len(text[:end].encode("utf-8", "surrogateescape"))
            if keep < len(data):  # a damaged tail: cut it off
                f.truncate(keep)

    def append(self, row: Mapping[str, Any]) -> None:
        """Write one row as one line, then flush and fsync (unknown keys raise)."""
        extra = set(row) - set(COLUMNS)
        if extra:
            raise ValueError(f"unknown result columns: {', '.join(sorted(extra))}")
        line = _line(cell(row.get(c)) for c in COLUMNS)
        with open(self.path, "a", encoding="utf-8", newline="") as f:
            f.write(line)
            f.flush()
            os.fsync(f.fileno())

    def rows(self) -> list[dict[str, str]]:
        """The rows, one per key (a later row for the same key replaces an earlier one)."""
        return read_rows(self.path)


def read_all_rows(path: str | os.PathLike) -> list[dict[str, str]]:
    """Every well-formed row of a results.csv (of any version), in file order, as strings.

    Damaged lines are skipped (:func:`scan_records`); formula guards are removed.
    """
    with open(path, "rb") as f:
        text = _decode(f.read())
    records = scan_records(text)
    first = next(records, None)
    if first is None:
        return []
    header = first[1]
    return [dict(zip(header, map(uncell, fields), strict=True)) for _, fields in records]


def read_rows(path: str | os.PathLike) -> list[dict[str, str]]:
    """Rows of a results.csv as strings, one per row name, the last written winning.

    A row's name is its key without the setup (image, model, method, parameters, seed,
    protocol): a row recomputed with another setup replaces the earlier one.
    """
    by_key: dict[tuple[str, ...], dict[str, str]] = {}
    for row in read_all_rows(path):
        by_key[key_of(row)[:6]] = row
    return list(by_key.values())
