"""Command line with the original project's flags, mapped onto ``python -m xai_core``.

    python main.py --test_image_path data/ --test_image_index 0 --model_name resnet50 \
        --display_type grid

Every ``python -m xai_core`` option works here too (``--method``, ``--out``, ...).
"""

from __future__ import annotations

import sys
from pathlib import Path

from xai_core.cli import main as cli_main
from xai_core.images import list_images


def translate(argv: list[str]) -> list[str]:
    """Map the seed flags onto the command line's: path + index -> one image, etc."""
    out: list[str] = []
    path: str | None = None
    index: str | None = None
    it = iter(argv)
    for arg in it:
        key, _, inline = arg.partition("=")
        if key in ("--test_image_path", "--test_image_index", "--model_name", "--display_type"):
            value = inline if inline else next(it, "")
            if key == "--test_image_path":
                path = value
            elif key == "--test_image_index":
                index = value
            elif key == "--model_name":
                out += ["--model", value]
            else:
                out += ["--display", value]
        else:
            out.append(arg)
    if path is not None:
        folder = Path(path)
        if index is not None and folder.is_dir():
            files = list_images(folder)
            if not index.isdigit() or int(index) >= len(files):
                print(f"error: --test_image_index {index!r}: the folder {folder} has "
                      f"{len(files)} images (index 0 to {len(files) - 1})", file=sys.stderr)
                sys.exit(2)
            out.insert(0, str(files[int(index)]))
        else:
            out.insert(0, path)
    return out


if __name__ == "__main__":
    sys.exit(cli_main(translate(sys.argv[1:])))
