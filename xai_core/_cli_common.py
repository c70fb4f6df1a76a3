"""Pieces both command lines share (``python -m xai_core`` and ``python -m xai_core.study``).

Private: the two command lines import from here and never from each other, so neither
needs the other to load.
"""

from __future__ import annotations

import argparse


class UsageError(Exception):
    """A bad command line: reported as one ``error:`` line, exit code 2."""


class Parser(argparse.ArgumentParser):
    """argparse, but a bad command line is one ``error:`` line (exit 2), not a usage block."""

    def error(self, message: str):  # type: ignore[override]
        raise UsageError(f"{message} (see {self.prog} --help)")
