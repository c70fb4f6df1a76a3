r"""Command line with the lab report's flags, mapped onto ``python -m xai_core``.

    python main.py --test_image_path='ILSVRC2012_val_00001177.JPEG' --test_image_index=0 \
        --model_name='ResNet' --display_type='grid'

- ``--test_image_path``: an image file, or a folder (every image in it, ``data/<class>/``
  folders included).
- ``--test_image_index``: the index of the object in the image, i.e. the class to explain
  by rank: 0 the model's most probable class, 1 the second, ... (per image).
- ``--model_name``: ``ResNet`` / ``ResNet50``, ``Xception``, ``efficientnet_lite0`` (any
  case), or a ``.keras`` file.
- ``--display_type``: ``singles`` (heatmap, overlay and isolines PNGs) or ``grid`` (one PNG).
- ``--folder_index``: with a folder, explain only its image at this position (0 the first,
  in the order ``python -m xai_core`` lists them).

Every ``python -m xai_core`` option works here too (``--method``, ``--out``, ...).
"""

from __future__ import annotations

import sys
from pathlib import Path

from xai_core._cli_common import UsageError
from xai_core.cli import main as cli_main

#: The report's flags, and this script's own; everything else goes to ``python -m xai_core``.
FLAGS = ("--test_image_path", "--test_image_index", "--model_name", "--display_type",
         "--folder_index")


def _whole_number(flag: str, text: str, meaning: str) -> int:
    if not text.strip().isdigit():
        raise UsageError(f"{flag} {text!r}: give a whole number 0 or more ({meaning})")
    return int(text)


def translate(argv: list[str]) -> list[str]:
    """Map the report's flags onto the command line's.

    ``--test_image_index K`` becomes ``--target top{K+1}`` (the class ranked K, from 0),
    ``--model_name`` ``--model``, ``--display_type`` ``--display``; ``--folder_index`` picks
    one image of a folder. Raises :class:`UsageError` for a value that cannot work.
    """
    out: list[str] = []
    values: dict[str, str] = {}
    it = iter(argv)
    for arg in it:
        key, eq, inline = arg.partition("=")
        if key in FLAGS:
            values[key] = inline if eq else next(it, "")
        else:
            out.append(arg)
    if "--model_name" in values:
        out += ["--model", values["--model_name"]]
    if "--display_type" in values:
        display = values["--display_type"].strip().lower()
        if display not in ("singles", "grid"):
            raise UsageError(f"--display_type {values['--display_type']!r}: choose singles or grid")
        out += ["--display", display]
    if "--test_image_index" in values:
        rank = _whole_number("--test_image_index", values["--test_image_index"],
                             "0 = the most probable class, 1 the second, ...")
        out += ["--target", f"top{rank + 1}"]
    path = values.get("--test_image_path")
    if "--folder_index" in values:
        index = _whole_number("--folder_index", values["--folder_index"],
                              "0 = the folder's first image")
        folder = Path(path) if path is not None else None
        if folder is None or not folder.is_dir():
            raise UsageError("--folder_index picks an image of a folder: give the folder "
                             "as --test_image_path")
        from xai_core.images import list_images

        files = list_images(folder)
        if index >= len(files):
            raise UsageError(f"--folder_index {index}: the folder {folder} has {len(files)} "
                             f"images (index 0 to {len(files) - 1})")
        path = str(files[index])
    if path is not None:
        out.insert(0, path)
    return out


def main(argv: list[str] | None = None) -> int:
    """Run with the report's flags; returns the exit code (2 and one line for bad input)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] in (["-h"], ["--help"]):
        print(__doc__.replace("Every ``python -m xai_core`` option works here too",
                              "Every option of python -m xai_core --help works here too")
              .replace("``", ""))
        return 0
    try:
        args = translate(argv)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return cli_main(args)


if __name__ == "__main__":
    sys.exit(main())
