"""Loading and resizing images.

:func:`load_image` turns whatever a user hands us (a path, bytes, an upload) into a
sane RGB ``uint8`` array or raises :class:`~xai_core.errors.ImageError` with a message
a student understands. :func:`fit_to_size` resizes and centre-crops to a model's input.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import sys
import tempfile
import warnings
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import BinaryIO

import cv2
import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from xai_core._common import check_pixel_scale
from xai_core._tf import STDERR_LOCK
from xai_core.errors import FileRefusedError, ImageError
from xai_core.names import printable
from xai_core.reading import read_file

#: Largest image accepted, in pixels (width x height). Larger files are refused before decoding.
MAX_PIXELS = 40_000_000
#: Largest image file read, in bytes (an uncompressed 40-megapixel RGB file is 120 MB).
MAX_FILE_BYTES = 256 * 2**20
#: Smallest accepted side, in pixels.
MIN_SIDE = 8
#: Largest accepted ratio of the longer side to the shorter one (a 20:1 panorama is fine;
#: a thin 8 x 100000 strip would be blown up to gigabytes when fitted to a square model input).
MAX_ASPECT_RATIO = 20
#: The only formats decoded (Pillow's names). Others, notably PostScript/EPS, which Pillow
#: hands to an external program (Ghostscript), are refused before any decoding.
FORMATS = ("JPEG", "PNG", "BMP", "GIF", "TIFF", "WEBP")
_SUPPORTED = "supported: JPEG, PNG, GIF, BMP, TIFF, WebP"
# Leading bytes of documents that are not images: PostScript, EPS (binary header), PDF.
_DOCUMENT_MAGIC = (b"%!", b"\xc5\xd0\xd3\xc6", b"%PDF")

ImageSource = str | os.PathLike | bytes | bytearray | memoryview | BinaryIO


def _too_big_file() -> ImageError:
    return ImageError(f"the file is larger than {MAX_FILE_BYTES // 2**20} MB, too large for "
                      "an image to explain; resize it and try again")


def _read_bytes(source: ImageSource) -> bytes:
    if isinstance(source, (bytes, bytearray, memoryview)):
        if len(source) > MAX_FILE_BYTES:
            raise _too_big_file()
        return bytes(source)
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        name = printable(path.name)
        try:
            data = read_file(path, MAX_FILE_BYTES)
        except FileNotFoundError:
            raise ImageError(f"no such file: {name}") from None
        except IsADirectoryError:
            raise ImageError(f"{name} is a folder, not an image file") from None
        except FileRefusedError as exc:
            if "larger than" in str(exc):
                raise _too_big_file() from None
            raise ImageError(str(exc)) from None
        except OSError as exc:
            raise ImageError(f"{name} could not be read "
                             f"({exc.strerror or type(exc).__name__})") from None
    elif hasattr(source, "read"):
        if hasattr(source, "seek"):
            source.seek(0)
        data = source.read(MAX_FILE_BYTES + 1)
        if not isinstance(data, (bytes, bytearray)):
            raise ImageError("the file object must be opened in binary mode ('rb')")
    else:
        data = None
    if data is not None:
        if len(data) > MAX_FILE_BYTES:
            raise _too_big_file()
        return bytes(data)
    raise ImageError(
        f"cannot read an image from a {type(source).__name__}: give a file path, bytes or an open file"
    )


def _looks_like_svg(data: bytes) -> bool:
    head = data[:512].lstrip().lower()
    return (head.startswith(b"<?xml") and b"<svg" in data[:4096].lower()) or head.startswith(b"<svg")


def _to_uint8_gray(arr: np.ndarray, bits: int | None = None) -> np.ndarray:
    """Scale a 16-bit, 32-bit or float single-channel array to uint8.

    Integer data is scaled by its declared bit depth (``bits=16``: 0..65535, so a
    16-bit file with small values stays dark, as it is); of unknown depth, by 65535
    when values exceed 255, else 255. Float data by its own min-max range.
    """
    if arr.dtype.kind in "ui":
        wide = bits == 16 or int(arr.max(initial=0)) > 255
        top = 65535.0 if wide else 255.0
        scaled = arr.astype(np.float64) / top
    else:
        arr = arr.astype(np.float64)
        bad = ~np.isfinite(arr)
        if bad.any():
            raise ImageError(
                f"the image holds {int(bad.sum()):,} pixels that are not numbers (NaN or "
                "infinite) in a floating-point file: it is measurement data, not a photo, and "
                "no brightness scale can show it faithfully. Replace those pixels and save it "
                "as an 8- or 16-bit image"
            )
        lo, hi = float(arr.min()), float(arr.max())
        scaled = (arr - lo) / (hi - lo) if hi > lo else np.zeros_like(arr)
    return np.clip(np.round(scaled * 255.0), 0, 255).astype(np.uint8)


def _bit_depth(im: Image.Image, tags: Mapping | None) -> int | None:
    """The declared bits per sample of a single-channel integer image, where known."""
    if im.mode.startswith("I;16") or (im.mode == "I" and im.format == "PNG"):
        return 16  # PNG stores grey as 1, 2, 4, 8 or 16 bits; Pillow's "I" means 16
    if tags is not None:
        bits = tags.get(258)  # TIFF BitsPerSample
        if isinstance(bits, tuple):
            bits = bits[0] if bits else None
        if isinstance(bits, int):
            return bits
    return None


def _check_declared_size(width: int, height: int) -> None:
    """Refuse, from the header alone, sizes whose later steps would need unbounded work."""
    if width * height > MAX_PIXELS:
        raise ImageError(
            f"the image is too large: {width}x{height} = {width * height / 1e6:.1f} megapixels; "
            f"the limit is {MAX_PIXELS / 1e6:.0f} megapixels. Resize it and try again"
        )
    if min(width, height) < MIN_SIDE:
        raise ImageError(
            f"the image is too small: {width}x{height} pixels; "
            f"each side needs at least {MIN_SIDE} pixels"
        )
    if max(width, height) > MAX_ASPECT_RATIO * min(width, height):
        raise ImageError(
            f"the image is a thin strip ({width}x{height} pixels): its longer side may be at "
            f"most {MAX_ASPECT_RATIO} times its shorter side. Crop it to the part that matters"
        )


def _to_rgb(im: Image.Image, tags: Mapping | None = None) -> np.ndarray:
    """Convert any PIL mode to an RGB uint8 array; transparency is composited onto white.

    ``tags``: the TIFF tags of the file (a transposed copy of the image has lost them).
    """
    mode = im.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        gray = _to_uint8_gray(np.asarray(im), _bit_depth(im, tags))
        return np.repeat(gray[:, :, None], 3, axis=2)
    if mode == "LAB":
        return _lab_to_rgb(im, tags)
    has_alpha = mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
        mode in ("P", "L", "RGB") and "transparency" in im.info
    )
    if has_alpha:
        rgba = im.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return np.asarray(Image.alpha_composite(white, rgba).convert("RGB"))
    return np.asarray(_to_srgb(im).convert("RGB"))


#: CIE chromaticities (x, y) of the white points a TIFF's WhitePoint tag may name.
_WHITE_POINTS = {"D50": (0.3457, 0.3585), "D65": (0.3127, 0.3290)}


def _lab_to_rgb(im: Image.Image, tags: Mapping | None) -> np.ndarray:
    """A CIE L*a*b* image (TIFF CIELab: L* scaled to 0..255, a* and b* signed bytes) in sRGB.

    Converted by the CIE formulas (scikit-image's ``lab2rgb``) with the white point of the
    file's WhitePoint tag, D65 when it has none (the white of sRGB). Pillow's own
    conversion assumes another rendering and shifted saturated blues by up to 48 levels.
    """
    from skimage.color import lab2rgb

    raw = np.asarray(im)
    white = "D65"
    point = (tags or {}).get(318)  # TIFF WhitePoint (x, y)
    if isinstance(point, tuple) and len(point) == 2:
        xy = (float(point[0]), float(point[1]))
        white = min(_WHITE_POINTS, key=lambda k: sum((a - b) ** 2 for a, b in
                                                     zip(_WHITE_POINTS[k], xy, strict=True)))
    out = np.empty(raw.shape, np.uint8)
    rows = max(1, 2**20 // max(raw.shape[1], 1))  # about a million pixels at a time
    for top in range(0, raw.shape[0], rows):
        part = raw[top : top + rows]
        lab = np.stack([part[..., 0] * (100.0 / 255.0),
                        part[..., 1].view(np.int8).astype(np.float64),
                        part[..., 2].view(np.int8).astype(np.float64)], axis=-1)
        rgb = lab2rgb(lab, illuminant=white)
        out[top : top + rows] = np.clip(np.round(rgb * 255.0), 0, 255).astype(np.uint8)
    return out


def _to_srgb(im: Image.Image) -> Image.Image:
    """``im`` with its embedded colour profile (ICC) applied, in sRGB where it has one.

    Without this a photo saved in Adobe RGB, ProPhoto or a CMYK press profile shows with
    wrong colours. A profile that cannot be read or does not fit the image is ignored.
    """
    icc = im.info.get("icc_profile")
    if not icc or im.mode not in ("RGB", "CMYK", "L"):
        return im
    from PIL import ImageCms

    try:
        src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        dst = ImageCms.createProfile("sRGB")
        return ImageCms.profileToProfile(im, src, dst, outputMode="RGB") or im
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return im


#: What the C decoders Pillow calls (libtiff, libjpeg) print straight to descriptor 2 on a
#: damaged file: "TIFFFetchStripThing: Incompatible type ...", "JPEGLib: Bogus marker
#: length.", "tempfile.tif: Using code not yet in table.", "LZWDecode: ...".
_DECODER_NOISE = re.compile(
    r"^(_?TIFF\w*|\w*Decode|JPEGLib|tempfile\.tif|ZIPDecode|OJPEG\w*|"
    r"More samples per pixel than can be decoded)\b"
)


@contextlib.contextmanager
def _quiet_decoders() -> Iterator[None]:
    """Keep the C decoders' own lines about a damaged file off the console.

    Descriptor 2 is captured while Pillow decodes; every captured line that is not one of
    :data:`_DECODER_NOISE` is written back, so nothing else printed meanwhile is lost.
    The damage itself is reported by :class:`ImageError`.
    """
    with STDERR_LOCK:
        try:
            sys.stderr.flush()
            saved = os.dup(2)
        except (OSError, ValueError, AttributeError):  # no real descriptor 2
            yield
            return
        with tempfile.TemporaryFile(mode="w+b") as capture:
            os.dup2(capture.fileno(), 2)
            try:
                yield
            finally:
                os.dup2(saved, 2)
                os.close(saved)
                capture.seek(0)
                text = capture.read(1 << 20).decode("utf-8", "replace")
                kept = [ln for ln in text.splitlines() if ln and not _DECODER_NOISE.match(ln)]
                if kept:
                    sys.stderr.write("\n".join(kept) + "\n")
                    sys.stderr.flush()


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
        When the input is empty, not in one of :data:`FORMATS` (PostScript/EPS and PDF
        are refused by their first bytes; no external program is ever started), truncated
        or damaged (every failure of Pillow's decoders becomes this error), a file over
        :data:`MAX_FILE_BYTES` or not a regular file (a pipe or a device is refused
        without waiting; see :mod:`xai_core.reading`), larger than :data:`MAX_PIXELS`,
        smaller than :data:`MIN_SIDE` pixels on a side, a strip longer than
        :data:`MAX_ASPECT_RATIO` times its width, or a floating-point image holding NaN or
        infinite values. Sizes are checked from the header, before decoding. LAB images
        are converted by the CIE formulas, and an embedded colour profile is applied.
    """
    data = _read_bytes(source)
    if not data:
        raise ImageError("the file is empty (0 bytes)")
    if _looks_like_svg(data):
        raise ImageError(
            "SVG is a vector drawing, not a photo: export it as PNG or JPEG first"
        )
    if data.lstrip()[:4].startswith(_DOCUMENT_MAGIC):
        raise ImageError(
            f"this is a PostScript/EPS or PDF document, not an image ({_SUPPORTED}): "
            "export it as PNG or JPEG first"
        )
    if max_side is not None and max_side < 1:
        raise ValueError(f"max_side must be at least 1 pixel; got {max_side}")
    with warnings.catch_warnings(), _quiet_decoders():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        # Pillow's notes on damaged metadata ("Corrupt EXIF data", "tag had too many
        # entries") are for developers; a file that cannot be decoded raises ImageError.
        warnings.filterwarnings("ignore", category=UserWarning, module=r"PIL\.")
        try:
            # Only the listed formats: no plugin that starts an external program is ever tried.
            im = Image.open(io.BytesIO(data), formats=FORMATS)
        except Image.DecompressionBombError as exc:
            raise ImageError(_too_large_message(exc)) from None
        except UnidentifiedImageError:
            raise ImageError(
                f"this is not an image file that can be read ({_SUPPORTED})"
            ) from None
        except Exception as exc:  # a damaged header may raise anything
            raise ImageError(f"the image file could not be read ({_short(exc)})") from None
        try:
            width, height = im.size
        except Exception as exc:
            raise ImageError(f"the image file could not be read ({_short(exc)})") from None
        _check_declared_size(width, height)
        try:
            if max_side is not None and max(width, height) > max_side and im.format == "JPEG":
                im.draft(None, (max_side, max_side))  # decode at 1/2, 1/4 or 1/8 scale
            im.load()
            tags = getattr(im, "tag_v2", None)
            im = ImageOps.exif_transpose(im) or im
            rgb = _to_rgb(im, tags)
        except ImageError:
            raise
        except Image.DecompressionBombError as exc:
            raise ImageError(_too_large_message(exc)) from None
        except (OSError, EOFError) as exc:
            text = str(exc).lower()
            if "truncated" in text or "broken" in text or isinstance(exc, EOFError):
                raise ImageError(
                    "the image file is truncated or damaged (it ends before the picture does)"
                ) from None
            raise ImageError(
                f"the image file is damaged and could not be decoded ({_short(exc)})"
            ) from None
        except MemoryError:
            raise ImageError("the image file is damaged and could not be decoded (it asks "
                             "for more memory than its size allows)") from None
        except Exception as exc:
            # A damaged file makes Pillow's decoders fail in many ways (TypeError on a
            # rational where an int belongs, IndexError, ZeroDivisionError, struct.error, ...):
            # each is the file's fault, none is a reason to stop a folder or crash a page.
            raise ImageError(
                f"the image file is damaged and could not be decoded ({_short(exc)})"
            ) from None
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


def _short(exc: BaseException) -> str:
    """An exception's text for a user: one line, at most 200 characters, no file paths.

    Texts that are not sentences (a bare number, a repr) become the exception's type.
    """
    text = " ".join(str(exc).split())
    if sum(ch.isalpha() for ch in text) < 3:
        text = type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."


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
    check_pixel_scale(arr)
    if mode not in FIT_MODES:
        raise ValueError(f"mode must be 'crop' or 'pad'; got {mode!r}")
    th, tw = int(size[0]), int(size[1])
    if th < 1 or tw < 1:
        raise ValueError(f"target size must be positive; got {size}")
    if th * tw > MAX_PIXELS:
        raise ValueError(f"target size {th}x{tw} is over the {MAX_PIXELS / 1e6:.0f} megapixel limit")
    h, w = arr.shape[:2]
    if h < 1 or w < 1:
        raise ValueError(f"the image is empty: shape {arr.shape}")
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
    # Crop first, in the source, the part that will fill the target, then resize only
    # that: the work is bounded by the source and target sizes whatever the aspect ratio
    # (resizing first would blow a thin strip up to gigabytes).
    scale = max(th / h, tw / w)
    ch = min(h, max(1, round(th / scale)))
    cw = min(w, max(1, round(tw / scale)))
    top, left = (h - ch) // 2, (w - cw) // 2
    crop = arr[top : top + ch, left : left + cw].astype(np.float32)
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    out = cv2.resize(crop, (tw, th), interpolation=interp)
    if out.ndim == 2:  # cv2 drops a channel axis of size 1; ours has 3
        out = out[:, :, None]
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
    for name in ("coffee", "chelsea", "rocket", "astronaut", "camera")
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
