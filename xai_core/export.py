"""Files describing an explanation: PNGs (singles or one grid), the raw map, a JSON record;
and those of a randomisation sanity check (the row of maps and the similarities).

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
from xai_core.sanity import RandomizationResult
from xai_core.viz import default_colormap, grid_image, heatmap_image, png_bytes, representations


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


def sanity_row_image(result: RandomizationResult, image: np.ndarray,
                     colormap: str | None = None) -> np.ndarray:
    """uint8 RGB row: the image, the trained model's map, then each stage's map.

    Each map is coloured over its own range; titles give the stage and its Spearman rho.
    """
    maps = [np.maximum(m, 0.0) if result.method == "rise" else m for m in result.saliency]
    cmap = colormap or default_colormap(np.concatenate(maps, axis=1))
    tiles = [("image", np.clip(image, 0, 255).astype(np.uint8)),
             ("trained", heatmap_image(maps[0], colormap=cmap))]
    tiles += [(f"stage {i} rho={r:.2f}", heatmap_image(m, colormap=cmap))
              for i, (m, r) in enumerate(zip(maps[1:], result.spearman, strict=True), 1)]
    return grid_image(tiles, cols=len(tiles))


def sanity_bytes(result: RandomizationResult, image: np.ndarray, stem: str,
                 colormap: str | None = None) -> dict[str, bytes]:
    """``{<stem>_sanity.png: the row of maps, <stem>_sanity.json: the similarities}``."""
    return {f"{stem}_sanity.png": png_bytes(sanity_row_image(result, image, colormap)),
            f"{stem}_sanity.json": json.dumps(result.record(), indent=2).encode()}
