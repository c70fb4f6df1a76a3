"""Loading and resizing images.

:func:`load_image` turns whatever a user hands us (a path, bytes, an upload) into a
sane RGB ``uint8`` array or raises :class:`~xai_core.errors.ImageError` with a message
a student understands. :func:`fit_to_size` resizes and centre-crops to a model's input.
"""

from __future__ import annotations

import io
import os
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import cv2
import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from xai_core.errors import ImageError

#: Largest image accepted, in pixels (width x height). Larger files are refused before decoding.
MAX_PIXELS = 40_000_000
#: Smallest accepted side, in pixels.
MIN_SIDE = 8

ImageSource = str | os.PathLike | bytes | bytearray | memoryview | BinaryIO


def _read_bytes(source: ImageSource) -> bytes:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source)
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.exists():
            raise ImageError(f"no such file: {path}")
        if path.is_dir():
            raise ImageError(f"{path} is a folder, not an image file")
        return path.read_bytes()
    if hasattr(source, "read"):
        if hasattr(source, "seek"):
            source.seek(0)
        data = source.read()
        if not isinstance(data, (bytes, bytearray)):
            raise ImageError("the file object must be opened in binary mode ('rb')")
        return bytes(data)
    raise ImageError(
        f"cannot read an image from a {type(source).__name__}: give a file path, bytes or an open file"
    )


def _looks_like_svg(data: bytes) -> bool:
    head = data[:512].lstrip().lower()
    return (head.startswith(b"<?xml") and b"<svg" in data[:4096].lower()) or head.startswith(b"<svg")


def _to_uint8_gray(arr: np.ndarray) -> np.ndarray:
    """Scale a 16-bit, 32-bit or float single-channel array to uint8.

    Integer data is scaled by its type's range (16-bit when values exceed 255);
    float data by its own min-max range.
    """
    if arr.dtype.kind in "ui":
        top = 65535.0 if int(arr.max(initial=0)) > 255 else 255.0
        scaled = arr.astype(np.float64) / top
    else:
        arr = np.nan_to_num(arr.astype(np.float64))
        lo, hi = float(arr.min()), float(arr.max())
        scaled = (arr - lo) / (hi - lo) if hi > lo else np.zeros_like(arr)
    return np.clip(np.round(scaled * 255.0), 0, 255).astype(np.uint8)


def _to_rgb(im: Image.Image) -> np.ndarray:
    """Convert any PIL mode to an RGB uint8 array; transparency is composited onto white."""
    mode = im.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        gray = _to_uint8_gray(np.asarray(im))
        return np.repeat(gray[:, :, None], 3, axis=2)
    has_alpha = mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
        mode in ("P", "L", "RGB") and "transparency" in im.info
    )
    if has_alpha:
        rgba = im.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return np.asarray(Image.alpha_composite(white, rgba).convert("RGB"))
    return np.asarray(im.convert("RGB"))


def load_image(source: ImageSource, max_side: int | None = None) -> np.ndarray:
    """Load an image file as an RGB array.

    Parameters
    ----------
    source
        A path, the file's bytes, or a binary file-like object (e.g. a Streamlit upload).
    max_side
        If given, a larger image is downscaled (aspect kept) so that its longer side is
        ``max_side`` pixels; JPEGs are then decoded at reduced size, which is much faster.
        Classifiers need at most a few hundred pixels, so the app uses 1024.

    Returns
    -------
    np.ndarray
        uint8 array of shape (H, W, 3), RGB. EXIF orientation is applied; grey, palette,
        16-bit, CMYK and transparent images are converted (transparency onto white);
        animated and multi-page files give their first frame.

    Raises
    ------
    ImageError
        When the input is empty, not an image, truncated, larger than :data:`MAX_PIXELS`
        or smaller than :data:`MIN_SIDE` pixels on a side.
    """
    data = _read_bytes(source)
    if not data:
        raise ImageError("the file is empty (0 bytes)")
    if _looks_like_svg(data):
        raise ImageError(
            "SVG is a vector drawing, not a photo: export it as PNG or JPEG first"
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            im = Image.open(io.BytesIO(data))
        except Image.DecompressionBombError as exc:
            raise ImageError(_too_large_message(exc)) from None
        except UnidentifiedImageError:
            raise ImageError(
                "this is not an image file that can be read (supported: JPEG, PNG, GIF, BMP, TIFF, WebP)"
            ) from None
        except OSError as exc:
            raise ImageError(f"the image file could not be read: {exc}") from None
        width, height = im.size
        if width * height > MAX_PIXELS:
            raise ImageError(
                f"the image is too large: {width}x{height} = {width * height / 1e6:.1f} megapixels; "
                f"the limit is {MAX_PIXELS / 1e6:.0f} megapixels. Resize it and try again"
            )
        if max_side is not None and max_side < 1:
            raise ValueError(f"max_side must be at least 1 pixel; got {max_side}")
        try:
            if getattr(im, "n_frames", 1) > 1:
                im.seek(0)
            if max_side is not None and max(width, height) > max_side and im.format == "JPEG":
                im.draft(None, (max_side, max_side))  # decode at 1/2, 1/4 or 1/8 scale
            im.load()
            im = ImageOps.exif_transpose(im) or im
            rgb = _to_rgb(im)
        except Image.DecompressionBombError as exc:
            raise ImageError(_too_large_message(exc)) from None
        except (OSError, SyntaxError, ValueError, EOFError) as exc:
            text = str(exc).lower()
            if "truncated" in text or "broken" in text or isinstance(exc, EOFError):
                raise ImageError(
                    "the image file is truncated or damaged (it ends before the picture does)"
                ) from None
            raise ImageError(f"the image file is damaged and could not be decoded ({exc})") from None
    if max_side is not None and max(rgb.shape[:2]) > max_side:
        scale = max_side / max(rgb.shape[:2])
        size = (max(1, round(rgb.shape[1] * scale)), max(1, round(rgb.shape[0] * scale)))
        rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
    if rgb.shape[0] < MIN_SIDE or rgb.shape[1] < MIN_SIDE:
        raise ImageError(
            f"the image is too small: {rgb.shape[1]}x{rgb.shape[0]} pixels; "
            f"each side needs at least {MIN_SIDE} pixels"
        )
    return np.ascontiguousarray(rgb, dtype=np.uint8)


def _too_large_message(exc: Exception) -> str:
    return (
        f"the image is too large to open safely ({exc}); "
        f"the limit is {MAX_PIXELS / 1e6:.0f} megapixels"
    )


# Truncated files must raise, not be silently padded with grey.
ImageFile.LOAD_TRUNCATED_IMAGES = False


#: Colour of the bands :func:`fit_to_size` adds in ``"pad"`` mode: ImageNet's mean RGB,
#: which every ImageNet preprocessing maps close to 0.
PAD_COLOUR = (124, 116, 104)

FIT_MODES = ("crop", "pad")


def fit_to_size(image: np.ndarray, size: tuple[int, int], mode: str = "crop") -> np.ndarray:
    """Resize an image to ``size``, keeping its proportions.

    Parameters
    ----------
    image
        (H, W, 3) RGB array, uint8 or float in [0, 255].
    size
        Target (height, width).
    mode
        ``"crop"``: scale the shorter side to fit and cut the centre out (what was
        outside the centre is lost). ``"pad"``: scale the longer side to fit and fill the
        bands on the short sides with :data:`PAD_COLOUR` (the whole photo is kept, smaller).

    Returns
    -------
    np.ndarray
        float32 (height, width, 3) in [0, 255]; the input is not modified.
    """
    arr = np.asarray(image)
    if arr.ndim != 3 or arr.shape[2] != 3:
        raise ValueError(f"expected an RGB image of shape (H, W, 3); got shape {arr.shape}")
    if mode not in FIT_MODES:
        raise ValueError(f"mode must be 'crop' or 'pad'; got {mode!r}")
    th, tw = int(size[0]), int(size[1])
    if th < 1 or tw < 1:
        raise ValueError(f"target size must be positive; got {size}")
    h, w = arr.shape[:2]
    if mode == "pad":
        scale = min(th / h, tw / w)
        nh, nw = min(th, max(1, round(h * scale))), min(tw, max(1, round(w * scale)))
        interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
        resized = cv2.resize(arr.astype(np.float32), (nw, nh), interpolation=interp)
        out = np.empty((th, tw, 3), np.float32)
        out[:] = np.asarray(PAD_COLOUR, np.float32)
        top, left = (th - nh) // 2, (tw - nw) // 2
        out[top : top + nh, left : left + nw] = resized
        return np.ascontiguousarray(np.clip(out, 0.0, 255.0), dtype=np.float32)
    scale = max(th / h, tw / w)
    nh, nw = max(th, round(h * scale)), max(tw, round(w * scale))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    resized = cv2.resize(arr.astype(np.float32), (nw, nh), interpolation=interp)
    top, left = (nh - th) // 2, (nw - tw) // 2
    out = resized[top : top + th, left : left + tw]
    return np.ascontiguousarray(np.clip(out, 0.0, 255.0), dtype=np.float32)


def is_square_enough(shape: tuple[int, ...], size: tuple[int, int], tolerance: float = 0.02) -> bool:
    """Whether an image of ``shape`` (H, W, ...) fits ``size`` with at most ``tolerance``
    relative change of proportions (nothing worth cropping or padding)."""
    h, w = shape[0], shape[1]
    return abs((w / h) / (size[1] / size[0]) - 1.0) <= tolerance


def _skimage_sample(name: str) -> Callable[[], np.ndarray]:
    def load() -> np.ndarray:
        from skimage import data

        img = getattr(data, name)()
        if img.ndim == 2:
            img = np.repeat(img[:, :, None], 3, axis=2)
        return np.ascontiguousarray(img[:, :, :3], dtype=np.uint8)

    return load


#: Photos that ship offline with scikit-image, by display name.
SAMPLE_IMAGES: dict[str, Callable[[], np.ndarray]] = {
    name: _skimage_sample(name)
    for name in ("coffee", "chelsea", "rocket", "astronaut", "motorcycle_left", "camera")
}

#: The lab's data folder: ``data/<class>/<image>`` (see ``data/README.md``).
DATA_DIR = Path(__file__).resolve().parent.parent / "data"
#: File name endings treated as images when a folder is listed.
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp"})


def _images_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir()
                  if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith("."))


def list_images(folder: str | os.PathLike) -> list[Path]:
    """The image files (by :data:`IMAGE_SUFFIXES`) in ``folder`` and its class subfolders.

    The files directly in ``folder`` come first, sorted by name; then those of each
    subfolder one level down (the lab's ``data/<class>/<image>`` layout), by class, then
    by name. Hidden files and deeper folders are skipped.
    """
    root = Path(folder)
    files = _images_in(root)
    for sub in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        files += _images_in(sub)
    return files


def data_images(folder: str | os.PathLike | None = None) -> dict[str, list[str]]:
    """The lab's images by class: ``{class: ["<class>/<file>", ...]}`` from ``data/``.

    ``folder`` defaults to :data:`DATA_DIR`. A missing or empty folder gives ``{}``;
    classes without images are left out.
    """
    root = Path(DATA_DIR if folder is None else folder)
    if not root.is_dir():
        return {}
    out: dict[str, list[str]] = {}
    for sub in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        names = [f"{sub.name}/{p.name}" for p in _images_in(sub)]
        if names:
            out[sub.name] = names
    return out


def sample_names() -> list[str]:
    """Names of the sample images: scikit-image's photos, then the ``data/`` images as
    ``"<class>/<file>"`` (see :func:`data_images`)."""
    return list(SAMPLE_IMAGES) + [n for names in data_images().values() for n in names]


def load_sample(name: str) -> np.ndarray:
    """Load a sample image by name (see :func:`sample_names`) as RGB uint8 (H, W, 3)."""
    if name in SAMPLE_IMAGES:
        return SAMPLE_IMAGES[name]()
    if name in sample_names():  # only names listed: no path from outside data/
        return load_image(DATA_DIR / name)
    raise ImageError(f"unknown sample image {name!r}; choose one of: {', '.join(sample_names())}")
