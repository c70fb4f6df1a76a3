"""Files describing an explanation: PNGs (singles or one grid), the raw map, a JSON record.

The command line writes them with :func:`export_files`; the dashboard offers the same
bytes from :func:`export_bytes` as downloads.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np

from xai_core.explainers.base import Explanation
from xai_core.viz import default_colormap, grid_image, png_bytes, representations


def export_bytes(
    expl: Explanation,
    *,
    display: str = "singles",
    colormap: str | None = None,
    alpha: float = 0.5,
    n_levels: int = 8,
    level_mode: str = "value",
    stem: str | None = None,
) -> dict[str, bytes]:
    """The files describing one explanation, as ``{file name: content}``.

    ``display="singles"`` gives heatmap, overlay and isolines PNGs; ``"grid"`` one PNG
    with the image and the three representations side by side. Always adds the raw map
    (``.npy``) and the JSON record. Files are named ``<stem>_<model>_<method>...``;
    ``stem`` defaults to the image's file name without its extension.
    """
    if display not in ("singles", "grid"):
        raise ValueError(f"display must be 'singles' or 'grid'; got {display!r}")
    cmap = colormap or default_colormap(expl.display_saliency)
    faces = representations(expl.image, expl.display_saliency, colormap=cmap, alpha=alpha,
                            n_levels=n_levels, mode=level_mode)
    stem = f"{stem or Path(expl.image_name).stem}_{expl.model}_{expl.method}"
    files: dict[str, bytes] = {}
    if display == "grid":
        tiles = [("image", np.clip(expl.image, 0, 255).astype(np.uint8))]
        tiles += [(f"{expl.method.upper()} {name}", faces[name]) for name in ("heatmap", "overlay", "isolines")]
        files[f"{stem}_grid.png"] = png_bytes(grid_image(tiles, cols=4))
    else:
        for name, face in faces.items():
            files[f"{stem}_{name}.png"] = png_bytes(face)
    buf = io.BytesIO()
    np.save(buf, expl.saliency)
    files[f"{stem}.npy"] = buf.getvalue()
    files[f"{stem}.json"] = json.dumps(expl.record(), indent=2).encode()
    return files


def export_files(expl: Explanation, out_dir: str | Path, **kwargs: Any) -> list[Path]:
    """Write :func:`export_bytes` into ``out_dir`` (created if needed); return the paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, data in export_bytes(expl, **kwargs).items():
        path = out / name
        path.write_bytes(data)
        paths.append(path)
    return paths
