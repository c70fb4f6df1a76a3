"""One bounded, non-blocking way to read a user's file.

Every file a user names (an image, a model file, a study's DATA file) is read through
:func:`read_file` or :func:`open_file`:

- the file is opened with ``O_NONBLOCK``, so opening a FIFO (named pipe) returns at once
  instead of waiting for a writer, and its type is then read from the *opened* descriptor
  (``fstat``): a file swapped for a pipe or a device between a listing and the read is
  caught, not read forever;
- only regular files are read: pipes, sockets, character and block devices
  (``/dev/zero``, a terminal) are refused before a byte is read;
- the size is checked from ``fstat`` before reading: a 2 GB (even sparse) file is refused
  at the cost of one system call, and the read itself stops one byte past the limit in
  case the file grows while it is read.

Errors are :class:`~xai_core.errors.FileRefusedError` (a ``ValueError``) with a sentence
that names the file by its name only, never the folder it is in.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import BinaryIO

from xai_core.errors import FileRefusedError
from xai_core.names import printable

_CHUNK = 1 << 20


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a pipe (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _size_text(n: int) -> str:
    return f"{n / 2**20:,.0f} MB" if n >= 2**20 else f"{n:,} bytes"


def _refuse_kind(name: str, mode: int) -> FileRefusedError:
    kind = _kind(mode)
    what = kind if kind == "not a regular file" else f"{kind}, not a regular file"
    return FileRefusedError(f"{name} is {what}: only regular files are read")


def _refuse_size(name: str, size: int, max_bytes: int) -> FileRefusedError:
    return FileRefusedError(f"{name} is {_size_text(size)}; files larger than "
                            f"{_size_text(max_bytes)} are refused")


def open_file(path: str | os.PathLike, max_bytes: int) -> BinaryIO:
    """Open a regular file of at most ``max_bytes`` for reading, without ever blocking.

    Parameters
    ----------
    path
        The file. Links are followed; what they lead to must be a regular file.
    max_bytes
        Largest size accepted, from the opened file's ``fstat``.

    Returns
    -------
    BinaryIO
        A buffered binary file (close it, e.g. with ``with``). Its size was at most
        ``max_bytes`` when it was opened; a caller that reads it whole should still read
        at most ``max_bytes + 1`` bytes (the file may grow), as :func:`read_file` does.

    Raises
    ------
    FileRefusedError
        Not a regular file (a folder, a pipe, a device, a socket), or larger than
        ``max_bytes``.
    OSError
        The file does not exist or cannot be opened (its text may hold the path: callers
        that show it to a user say it in their own words).
    """
    name = printable(Path(path).name) or "the file"
    # Refuse by type before opening, where possible: opening some devices has effects.
    mode = os.stat(path).st_mode
    if not stat.S_ISREG(mode):
        raise _refuse_kind(name, mode)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) \
        | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    fd = os.open(path, flags)
    try:
        st = os.fstat(fd)  # what was opened: it may have been swapped since the stat above
        if not stat.S_ISREG(st.st_mode):
            raise _refuse_kind(name, st.st_mode)
        if st.st_size > max_bytes:
            raise _refuse_size(name, st.st_size, max_bytes)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_file(path: str | os.PathLike, max_bytes: int) -> bytes:
    """The bytes of a regular file of at most ``max_bytes`` (see :func:`open_file`).

    Raises
    ------
    FileRefusedError
        Not a regular file, or larger than ``max_bytes`` (checked before reading, and
        again while reading in case the file grows).
    OSError
        The file does not exist or cannot be read.
    """
    with open_file(path, max_bytes) as f:
        parts: list[bytes] = []
        total = 0
        while total <= max_bytes:
            block = f.read(min(_CHUNK, max_bytes + 1 - total))
            if not block:
                break
            parts.append(block)
            total += len(block)
    if total > max_bytes:
        raise _refuse_size(printable(Path(path).name), total, max_bytes)
    return b"".join(parts)
