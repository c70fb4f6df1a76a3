"""load_image on every kind of file a student may upload, good and bad."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from xai_core import ImageError, fit_to_size, load_image, load_sample, sample_names


def encode(im: Image.Image, fmt: str, **kwargs) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format=fmt, **kwargs)
    return buf.getvalue()


def gradient_rgb(w: int = 40, h: int = 30) -> np.ndarray:
    x = np.zeros((h, w, 3), np.uint8)
    x[..., 0] = np.linspace(0, 255, w)[None, :]
    x[..., 1] = np.linspace(0, 255, h)[:, None]
    x[..., 2] = 90
    return x


def test_rgb_png_round_trip_from_path_bytes_and_file(tmp_path):
    arr = gradient_rgb()
    data = encode(Image.fromarray(arr), "PNG")
    path = tmp_path / "a.png"
    path.write_bytes(data)
    for source in (path, str(path), data, bytearray(data), io.BytesIO(data)):
        out = load_image(source)
        assert out.dtype == np.uint8 and out.shape == (30, 40, 3)
        np.testing.assert_array_equal(out, arr)


@pytest.mark.parametrize("mode", ["L", "1", "P", "I", "F", "YCbCr"])
def test_single_and_odd_modes_become_rgb(mode):
    im = Image.fromarray(gradient_rgb())
    im = im.convert("L").convert(mode) if mode in ("I", "F") else im.convert(mode)
    fmt = {"I": "TIFF", "F": "TIFF", "YCbCr": "JPEG"}.get(mode, "PNG")
    out = load_image(encode(im, fmt))
    assert out.shape == (30, 40, 3) and out.dtype == np.uint8
    assert out.max() > 100  # not collapsed to black


def test_16bit_png_is_scaled_not_clipped():
    a = np.linspace(0, 65535, 40 * 30).reshape(30, 40).astype(np.uint16)
    data = encode(Image.fromarray(a), "PNG")
    out = load_image(data)
    assert out.shape == (30, 40, 3)
    assert out[0, 0, 0] == 0 and out[-1, -1, 0] == 255
    assert 120 < out[15, 20, 0] < 135  # mid-range stays mid-range


def test_palette_png_with_transparency_and_rgba_go_onto_white():
    rgba = np.zeros((20, 20, 4), np.uint8)
    rgba[..., 0] = 200
    rgba[:, :10, 3] = 255  # left half opaque red, right half fully transparent
    out = load_image(encode(Image.fromarray(rgba, "RGBA"), "PNG"))
    np.testing.assert_array_equal(out[5, 2], [200, 0, 0])
    np.testing.assert_array_equal(out[5, 15], [255, 255, 255])
    pal = Image.fromarray(rgba, "RGBA").convert("P")
    pal.info["transparency"] = pal.getpixel((15, 5))
    out = load_image(encode(pal, "PNG", transparency=pal.getpixel((15, 5))))
    np.testing.assert_array_equal(out[5, 15], [255, 255, 255])
    la = Image.fromarray(rgba, "RGBA").convert("LA")
    out = load_image(encode(la, "PNG"))
    np.testing.assert_array_equal(out[5, 15], [255, 255, 255])


def test_cmyk_jpeg_becomes_rgb():
    im = Image.fromarray(np.full((24, 24, 3), (255, 0, 0), np.uint8)).convert("CMYK")
    out = load_image(encode(im, "JPEG", quality=95))
    assert out.shape == (24, 24, 3)
    r, g, b = out[12, 12].astype(int)
    assert r > 200 and g < 60 and b < 60


def test_animated_gif_and_multipage_tiff_give_first_frame():
    frames = [Image.fromarray(np.full((16, 16, 3), v, np.uint8)) for v in (10, 240)]
    for fmt in ("GIF", "TIFF"):
        data = encode(frames[0], fmt, save_all=True, append_images=frames[1:])
        assert Image.open(io.BytesIO(data)).n_frames == 2
        out = load_image(data)
        assert out.shape == (16, 16, 3) and out.max() < 40


def test_exif_orientation_is_applied():
    arr = gradient_rgb(40, 20)  # wide
    im = Image.fromarray(arr)
    exif = im.getexif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    out = load_image(encode(im, "JPEG", exif=exif, quality=95))
    assert out.shape == (40, 20, 3)  # displayed tall


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_truncated_files_are_refused_with_a_clear_message(fmt):
    rng = np.random.default_rng(0)
    data = encode(Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)), fmt)
    with pytest.raises(ImageError, match="truncated|damaged"):
        load_image(data[: len(data) // 2])


@pytest.mark.parametrize(
    "data, words",
    [
        (b"", "empty"),
        (b"hello, this is a text file pretending to be a jpg\n" * 3, "not an image"),
        (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"></svg>', "SVG"),
        (b"<svg width='10' height='10'></svg>", "SVG"),
    ],
)
def test_non_images_are_refused(data, words):
    with pytest.raises(ImageError, match=words):
        load_image(data)


def test_too_small_and_too_large(monkeypatch):
    with pytest.raises(ImageError, match="too small"):
        load_image(encode(Image.new("RGB", (7, 20)), "PNG"))
    assert load_image(encode(Image.new("RGB", (8, 8)), "PNG")).shape == (8, 8, 3)
    # a decompression bomb: a few kB of PNG that claims 10000 x 10000 = 100 megapixels
    bomb = encode(Image.new("1", (10000, 10000)), "PNG")
    assert len(bomb) < 100_000
    with pytest.raises(ImageError, match="too large.*megapixels"):
        load_image(bomb)


def test_missing_file_folder_and_wrong_type(tmp_path):
    with pytest.raises(ImageError, match="no such file"):
        load_image(tmp_path / "nope.png")
    with pytest.raises(ImageError, match="folder"):
        load_image(tmp_path)
    with pytest.raises(ImageError, match="file path, bytes"):
        load_image(12345)  # type: ignore[arg-type]
    assert issubclass(ImageError, ValueError)


def test_fit_to_size_crops_the_centre_and_keeps_the_input():
    arr = gradient_rgb(80, 40)
    before = arr.copy()
    out = fit_to_size(arr, (20, 20))
    assert out.shape == (20, 20, 3) and out.dtype == np.float32
    assert out.min() >= 0 and out.max() <= 255
    # width 80 -> 40 after scaling; the centre crop keeps the middle columns
    assert 60 < out[10, 0, 0] < 100 and 150 < out[10, -1, 0] < 195
    np.testing.assert_array_equal(arr, before)
    with pytest.raises(ValueError):
        fit_to_size(arr[..., 0], (20, 20))


def test_sample_images_load_offline():
    names = sample_names()
    assert {"chelsea", "coffee", "rocket"} <= set(names)
    img = load_sample("chelsea")
    assert img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3
    assert load_sample("camera").shape[2] == 3  # grey photo made RGB
    with pytest.raises(ImageError, match="unknown sample"):
        load_sample("no-such-picture")


def test_huge_photo_is_downscaled_not_refused():
    rng = np.random.default_rng(0)
    small = rng.integers(0, 255, (40, 60, 3), dtype=np.uint8)
    big = np.asarray(Image.fromarray(small).resize((6000, 4000), Image.NEAREST))
    data = encode(Image.fromarray(big), "JPEG", quality=80)
    out = load_image(data, max_side=1024)
    assert out.shape == (683, 1024, 3)
    assert abs(float(out.mean()) - float(small.mean())) < 6  # the same picture, smaller
    assert load_image(data).shape == (4000, 6000, 3)  # untouched without max_side
    png = encode(Image.fromarray(big[:2000, :3000]), "PNG")
    assert load_image(png, max_side=300).shape == (200, 300, 3)
    with pytest.raises(ValueError, match="max_side"):
        load_image(png, max_side=0)


# --- hostile files (issue 12) ---------------------------------------------------------

EPS_LOOP = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n{ } loop\n"


@pytest.mark.parametrize("data", [
    EPS_LOOP,
    b"\n  " + EPS_LOOP,  # leading white space
    b"\xc5\xd0\xd3\xc6" + b"\x00" * 28 + EPS_LOOP,  # DOS EPS binary header
    b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n",
])
def test_postscript_renamed_png_never_reaches_an_external_program(tmp_path, monkeypatch, data):
    import subprocess

    def no_programs(*_a, **_k):
        raise AssertionError("an external program was started to decode an image")

    monkeypatch.setattr(subprocess, "Popen", no_programs)
    path = tmp_path / "cat.png"
    path.write_bytes(data)
    with pytest.raises(ImageError, match="PostScript/EPS or PDF document"):
        load_image(path)


def test_only_the_listed_formats_are_decoded():
    # ICO, PCX and TGA are images Pillow can read, but they are not in the README's list.
    for fmt in ("ICO", "PCX", "TGA"):
        with pytest.raises(ImageError, match="not an image file that can be read"):
            load_image(encode(Image.fromarray(gradient_rgb()), fmt))
    from xai_core.images import FORMATS

    assert set(FORMATS) == {"JPEG", "PNG", "BMP", "GIF", "TIFF", "WEBP"}
    for fmt in ("JPEG", "PNG", "BMP", "GIF", "TIFF", "WEBP"):
        assert load_image(encode(Image.fromarray(gradient_rgb()), fmt)).shape == (30, 40, 3)


@pytest.mark.parametrize("size", [(8, 100_000), (100_000, 8), (30, 1000)])
def test_thin_strips_are_refused_from_the_header(size):
    data = encode(Image.new("L", size), "PNG")
    assert len(data) < 20_000
    with pytest.raises(ImageError, match="thin strip.*20 times"):
        load_image(data)


def test_a_20_to_1_panorama_is_accepted():
    assert load_image(encode(Image.new("RGB", (400, 20)), "PNG")).shape == (20, 400, 3)


def _fit_thin_strip() -> tuple[int, ...]:
    strip = np.full((8, 100_000, 3), 200, np.uint8)
    return fit_to_size(strip, (224, 224)).shape


def test_fit_to_size_work_is_bounded_for_any_aspect_ratio():
    from tests.memcap import run_capped

    # resizing before cropping needed ~7.5 GB here; crop-then-resize needs a few MB
    assert run_capped(_fit_thin_strip, headroom_mb=300) == ("ok", (224, 224, 3))
    out = fit_to_size(np.full((8, 1000, 3), 100, np.uint8), (20, 20))
    assert out.shape == (20, 20, 3) and np.allclose(out, 100)
    with pytest.raises(ValueError, match="megapixel"):
        fit_to_size(np.zeros((8, 8, 3), np.uint8), (100_000, 100_000))


def test_16bit_png_with_small_values_stays_dark():
    a = np.full((30, 40), 255, np.uint16)  # all <= 255 in a 16-bit file: almost black
    a[:, 20:] = 65535
    im = Image.fromarray(a)
    assert im.mode.startswith("I")
    out = load_image(encode(im, "PNG"))
    assert out[0, 0, 0] == 1  # 255 / 65535 * 255, not 255
    assert out[0, -1, 0] == 255


def test_devices_and_endless_streams_are_not_read_forever():
    with pytest.raises(ImageError, match="not a regular file"):
        load_image("/dev/zero")

    class Endless:
        def read(self, n=-1):
            if n is None or n < 0:
                raise AssertionError("asked to read an endless stream to its end")
            return b"\0" * n

    with pytest.raises(ImageError, match="larger than 256 MB"):
        load_image(Endless())

def _save(path, w=40, h=30):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(gradient_rgb(w, h)).save(path)


def test_data_folder_is_listed_by_class(tmp_path, monkeypatch):
    import xai_core.images as images

    _save(tmp_path / "espresso" / "coffee.png")
    _save(tmp_path / "missile" / "rocket.png")
    _save(tmp_path / "missile" / "b.jpg")
    (tmp_path / "missile" / "notes.txt").write_text("not an image")
    (tmp_path / "empty").mkdir()
    (tmp_path / ".hidden").mkdir()
    _save(tmp_path / ".hidden" / "x.png")
    assert images.data_images(tmp_path) == {"espresso": ["espresso/coffee.png"],
                                            "missile": ["missile/b.jpg", "missile/rocket.png"]}
    assert [p.name for p in images.list_images(tmp_path)] == ["coffee.png", "b.jpg", "rocket.png"]
    monkeypatch.setattr(images, "DATA_DIR", tmp_path)
    names = images.sample_names()
    assert names[-3:] == ["espresso/coffee.png", "missile/b.jpg", "missile/rocket.png"]
    assert images.load_sample("missile/rocket.png").shape == (30, 40, 3)
    with pytest.raises(ImageError, match="unknown sample"):
        images.load_sample("../secret.png")


def test_missing_or_empty_data_folder_lists_nothing(tmp_path, monkeypatch):
    import xai_core.images as images

    assert images.data_images(tmp_path / "absent") == {}
    assert images.data_images(tmp_path) == {}
    monkeypatch.setattr(images, "DATA_DIR", tmp_path / "absent")
    assert images.sample_names() == list(images.SAMPLE_IMAGES)


def test_fit_to_size_pads_or_crops_a_wide_photo():
    wide = np.zeros((300, 600, 3), np.uint8)
    wide[:, :, 0] = 255  # all red
    pad = fit_to_size(wide, (224, 224), "pad")
    assert pad.shape == (224, 224, 3)
    np.testing.assert_allclose(pad[0, 112], [124, 116, 104])  # grey band on top
    np.testing.assert_allclose(pad[112, 112], [255, 0, 0])  # the whole photo, smaller
    assert (pad[:, 112, 0] > 250).sum() == 112  # 600x300 -> 224x112
    crop = fit_to_size(wide, (224, 224))
    assert (crop[:, :, 0] > 250).all()
    from xai_core.images import is_square_enough

    assert not is_square_enough(wide.shape, (224, 224))
    assert is_square_enough((301, 300, 3), (224, 224))
    with pytest.raises(ValueError, match="crop"):
        fit_to_size(wide, (224, 224), "stretch")


def test_every_sample_image_offered_loads():
    """Each sample the pickers offer ships with this scikit-image (motorcycle_left did not)."""
    from xai_core.images import SAMPLE_IMAGES

    for name, load in SAMPLE_IMAGES.items():
        img = load()
        assert img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3, name
