"""Exception types raised by :mod:`xai_core`.

Both derive from :class:`ValueError` or :class:`RuntimeError` so that callers who
do not care about the distinction can catch the standard types.
"""

from __future__ import annotations


class ImageError(ValueError):
    """An input could not be turned into a usable RGB image.

    The message is written for a person: it says what is wrong with the file
    (not an image, truncated, too large, too small, ...) and, where possible,
    what to do instead.
    """


class ModelLoadError(RuntimeError):
    """A classifier could not be loaded (unknown name, missing weights, bad file)."""


class FileRefusedError(ValueError):
    """A file was not read: it is not a regular file (a pipe, a device, a folder) or is
    larger than the limit for its kind. The message names the file by its name only."""
