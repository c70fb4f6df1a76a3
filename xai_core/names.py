"""File names made safe to print and to write.

A file name may hold any character but ``/`` and NUL: a carriage return that rewrites
the terminal line, an escape sequence that recolours it, a right-to-left override that
reverses what follows. :func:`printable` shows such characters as visible escapes
wherever a name is printed; :func:`safe_stem` replaces them where a name becomes part
of a file this program writes.
"""

from __future__ import annotations

import os
import unicodedata

# Control (Cc), format (Cf: bidirectional overrides, zero-width characters), line and
# paragraph separators, and unassigned or surrogate code points.
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs", "Cn", "Co"})


def _unsafe(ch: str) -> bool:
    return unicodedata.category(ch) in _UNSAFE_CATEGORIES


def printable(text: str) -> str:
    r"""``text`` with every control or invisible formatting character shown as an escape.

    ``"cat\rdog.png"`` -> ``"cat\\rdog.png"`` (a backslash and an ``r``: the terminal
    line is not rewritten), ``"\x1b[31m"`` -> ``"\\x1b[31m"``, U+202E -> ``"\\u202e"``.
    Ordinary text, accents and other scripts included, is unchanged.
    """
    if not any(_unsafe(ch) for ch in text):
        return text
    out = []
    for ch in text:
        if not _unsafe(ch):
            out.append(ch)
        elif ch in "\t\n\r":
            out.append({"\t": "\\t", "\n": "\\n", "\r": "\\r"}[ch])
        elif ord(ch) < 0x100:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(f"\\u{ord(ch):04x}" if ord(ch) < 0x10000 else f"\\U{ord(ch):08x}")
    return "".join(out)


def safe_stem(text: str) -> str:
    """``text`` fit to be part of a file name this program writes.

    Control and invisible formatting characters and path separators become ``_``;
    leading dots are dropped (no hidden files); an empty result becomes ``"image"``.
    """
    cleaned = "".join("_" if _unsafe(ch) or ch in "/\\" else ch for ch in text)
    cleaned = cleaned.lstrip(".").strip()
    return cleaned or "image"


def file_label(path: str) -> str:
    """How a file is named to users: its file name (never its folder), printable
    (:func:`printable`); ``"model"`` when the path has no name. ``"/srv/m/tiny.keras"`` ->
    ``"tiny.keras"``."""
    return printable(os.path.basename(path.rstrip("/\\"))) or "model"
