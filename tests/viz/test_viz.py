"""Tests for xai_core.viz: saliency maps as uint8 images and Plotly figures."""

from __future__ import annotations

import base64
import re

import cv2
import numpy as np
import plotly.graph_objects as go
import pytest

from xai_core import viz as render

RNG_SEED = 0
CENTRE = 32  # the cone below peaks at pixel (32, 32) of a 65x65 map


def _cone() -> np.ndarray:
    """A cone peaking at the centre pixel: all values >= 0, so an unsigned map; float64 (65, 65)."""
    rows, cols = np.mgrid[0:65, 0:65]
    dist = np.hypot(rows - CENTRE, cols - CENTRE)
    return dist.max() - dist


def _signed() -> np.ndarray:
    """A signed map: left half negative, right half positive, one exact zero column."""
    sal = np.tile(np.linspace(-2.0, 1.0, 31), (20, 1))  # column 20 is exactly 0
    assert sal[0, 20] == 0.0
    return sal


def _grey_image(value: int = 128, shape: tuple[int, int] = (65, 65)) -> np.ndarray:
    return np.full((*shape, 3), value, dtype=np.uint8)


def _parse_rgb(text: str) -> tuple[int, ...]:
    return tuple(int(v) for v in re.findall(r"\d+", text))


# --- normalise ---------------------------------------------------------------


def test_normalise_unsigned_is_min_max_float32():
    sal = np.array([[2.0, 4.0], [6.0, 10.0]])
    out = render.normalise(sal)
    assert out.dtype == np.float32 and out.shape == (2, 2)
    np.testing.assert_allclose(out, [[0.0, 0.25], [0.5, 1.0]])


def test_normalise_all_negative_map_keeps_its_sign():
    # LIME can give only negative weights (evidence against the class): 0 must stay 0
    out = render.normalise(-np.array([[1.0, 2.0], [3.0, 5.0]]))
    np.testing.assert_allclose(out, [[-0.2, -0.4], [-0.6, -1.0]])
    assert render.default_colormap(-np.array([[1.0, 2.0], [3.0, 5.0]])) == "RdBu"

def test_normalise_signed_keeps_sign_and_zero():
    sal = _signed()
    out = render.normalise(sal)
    assert out.min() == -1.0 and out.max() == pytest.approx(0.5)
    np.testing.assert_array_equal(np.sign(out), np.sign(sal))
    assert out[0, 20] == 0.0


@pytest.mark.parametrize("value", [0.0, 3.5, -2.0])
def test_normalise_constant_map_is_zeros(value):
    out = render.normalise(np.full((4, 5), value))
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, 0.0)


def test_normalise_does_not_modify_input():
    sal = _signed()
    copy = sal.copy()
    render.normalise(sal)
    np.testing.assert_array_equal(sal, copy)


@pytest.mark.parametrize(
    "bad",
    [
        np.array([[0.0, np.nan], [1.0, 2.0]]),
        np.array([[0.0, np.inf], [1.0, 2.0]]),
        np.zeros((4, 4, 3)),
        np.zeros(5),
        np.zeros((1, 5)),
        [["a", "b"], ["c", "d"]],
    ],
)
def test_normalise_rejects_bad_maps(bad):
    with pytest.raises(ValueError):
        render.normalise(bad)


# --- colormaps ---------------------------------------------------------------


def test_colormap_names():
    assert {"jet", "viridis", "inferno", "magma", "gray", "RdBu"} <= set(render.COLORMAPS)


@pytest.mark.parametrize("name", render.COLORMAPS)
def test_lut_shape_and_plotly_colorscale_agree(name):
    lut = render.colormap_lut(name)
    assert lut.shape == (256, 3) and lut.dtype == np.uint8
    scale = render.plotly_colorscale(name)
    positions = np.array([p for p, _ in scale])
    colours = np.array([_parse_rgb(c) for _, c in scale], dtype=float)
    assert positions[0] == 0.0 and positions[-1] == 1.0
    assert np.all(np.diff(positions) > 0)
    x = np.linspace(0.0, 1.0, 256)
    # Plotly interpolates linearly in RGB between stops: it must give the table's colours.
    expected = np.stack([np.interp(x, positions, colours[:, c]) for c in range(3)], axis=1)
    assert np.abs(expected - lut).max() <= 0.5 + 1e-9


def test_lut_endpoints():
    jet = render.colormap_lut("jet").astype(int)
    low, high = jet[0], jet[-1]
    assert low[2] > 100 and low[2] > low[0] + 100 and low[2] > low[1] + 100  # blue
    assert high[0] > 100 and high[0] > high[1] + 100 and high[0] > high[2] + 100  # red
    gray = render.colormap_lut("gray")
    np.testing.assert_array_equal(gray[0], [0, 0, 0])
    np.testing.assert_array_equal(gray[-1], [255, 255, 255])
    viridis = render.colormap_lut("viridis")
    np.testing.assert_array_equal(viridis[0], [68, 1, 84])
    np.testing.assert_array_equal(viridis[-1], [253, 231, 37])


def test_diverging_lut_is_symmetric_around_white():
    rdbu = render.colormap_lut("RdBu").astype(int)
    np.testing.assert_array_equal(rdbu[127], [247, 247, 247])
    np.testing.assert_array_equal(rdbu[128], [247, 247, 247])
    assert rdbu[0, 2] > rdbu[0, 0]  # negative end is blue
    assert rdbu[255, 0] > rdbu[255, 2]  # positive end is red


def test_lut_is_read_only_and_name_is_case_insensitive():
    lut = render.colormap_lut("rdbu")
    np.testing.assert_array_equal(lut, render.colormap_lut("RdBu"))
    with pytest.raises(ValueError):
        lut[0, 0] = 1


@pytest.mark.parametrize("bad", ["hot", "", None, 3])
def test_unknown_colormap_raises(bad):
    with pytest.raises(ValueError, match="colormap"):
        render.heatmap_image(_cone(), bad)


def test_default_colormap():
    assert render.default_colormap(_signed()) == "RdBu"
    assert render.default_colormap(_cone()) == "jet"


# --- heatmap_image ----------------------------------------------------------


@pytest.mark.parametrize("name", render.COLORMAPS)
def test_heatmap_image_shape_and_ends(name):
    sal = _cone()[:40]
    out = render.heatmap_image(sal, name)
    assert out.shape == (40, 65, 3) and out.dtype == np.uint8
    lut = render.colormap_lut(name)
    np.testing.assert_array_equal(out[CENTRE, CENTRE], lut[255])  # the peak
    np.testing.assert_array_equal(out[0, 0], lut[0])  # the farthest corner


def test_heatmap_image_signed_zero_is_centre_colour():
    sal = _signed()
    out = render.heatmap_image(sal, "RdBu").astype(int)
    np.testing.assert_array_equal(out[:, 20], np.tile([247, 247, 247], (20, 1)))
    assert out[0, 0, 2] > out[0, 0, 0]  # most negative: blue
    assert out[0, -1, 0] > out[0, -1, 2]  # positive: red
    # -2 is the largest magnitude: the blue end; +1 is half-way to the red end.
    lut = render.colormap_lut("RdBu").astype(int)
    np.testing.assert_array_equal(out[0, 0], lut[0])
    np.testing.assert_array_equal(out[0, -1], lut[191])


def test_heatmap_image_constant_map_is_low_colour():
    out = render.heatmap_image(np.full((5, 6), 7.0), "viridis")
    np.testing.assert_array_equal(
        out, np.broadcast_to(render.colormap_lut("viridis")[0], (5, 6, 3))
    )


# --- overlay_image ----------------------------------------------------------


def test_overlay_alpha_zero_is_image_and_one_is_heatmap():
    rng = np.random.default_rng(RNG_SEED)
    image = rng.integers(0, 256, size=(65, 65, 3), dtype=np.uint8)
    small = _cone()[::4, ::4]  # (17, 17): resized to the image
    np.testing.assert_array_equal(render.overlay_image(image, small, alpha=0.0), image)
    resized = cv2.resize(small, (65, 65), interpolation=cv2.INTER_LINEAR)
    np.testing.assert_array_equal(
        render.overlay_image(image, small, alpha=1.0), render.heatmap_image(resized)
    )


def test_overlay_half_blend_and_float_image():
    image = np.full((65, 65, 3), 200.0)
    out = render.overlay_image(image, _cone(), "gray", alpha=0.5)
    assert out.shape == (65, 65, 3) and out.dtype == np.uint8
    assert out[CENTRE, CENTRE, 0] == round(0.5 * 200 + 0.5 * 255)
    assert out[0, 0, 0] == 100


@pytest.mark.parametrize("alpha", [-0.1, 1.5, float("nan"), True, "0.5"])
def test_overlay_rejects_bad_alpha(alpha):
    with pytest.raises(ValueError, match="alpha"):
        render.overlay_image(_grey_image(), _cone(), alpha=alpha)


@pytest.mark.parametrize(
    "image",
    [np.zeros((65, 65)), np.zeros((65, 65, 4)), np.full((65, 65, 3), 300.0)],
)
def test_overlay_rejects_bad_image(image):
    with pytest.raises(ValueError):
        render.overlay_image(image, _cone())


# --- contour levels and contours ------------------------------------------------


@pytest.mark.parametrize("n", [1, 4, 8])
def test_contour_levels_value_mode(n):
    sal = _cone()
    levels = render.contour_levels(sal, n, "value")
    assert levels.shape == (n,)
    assert np.all(np.diff(levels) > 0)
    assert levels[0] > sal.min() and levels[-1] < sal.max()
    np.testing.assert_allclose(np.diff(np.r_[sal.min(), levels, sal.max()]), np.ptp(sal) / (n + 1))


@pytest.mark.parametrize("n", [1, 4, 8])
def test_contour_levels_quantile_mode(n):
    sal = np.random.default_rng(RNG_SEED).random((50, 50))
    levels = render.contour_levels(sal, n, "quantile")
    assert levels.shape == (n,)
    assert np.all(np.diff(levels) > 0)
    fractions = [(sal < level).mean() for level in levels]
    np.testing.assert_allclose(fractions, np.arange(1, n + 1) / (n + 1), atol=0.01)


def test_contour_levels_constant_map_and_ties():
    assert render.contour_levels(np.ones((4, 4)), 5).shape == (0,)
    # Half the pixels are 0 (the minimum): the quantiles below 1/2 are 0 and are dropped.
    sal = np.zeros((10, 10))
    sal[5:] = np.arange(1, 51).reshape(5, 10)
    levels = render.contour_levels(sal, 8, "quantile")
    assert len(levels) == 4 and np.all(levels > 0) and np.all(np.diff(levels) > 0)


@pytest.mark.parametrize(
    ("n_levels", "mode"), [(0, "value"), (65, "value"), (2.5, "value"), (3, "linear")]
)
def test_contour_levels_rejects_bad_settings(n_levels, mode):
    with pytest.raises(ValueError):
        render.contour_levels(_cone(), n_levels, mode)


def test_contours_of_a_cone_are_circles():
    radii = [5.0, 12.0, 20.5]
    top = float(_cone().max())  # the cone's value is top - distance to the centre
    contours = render.compute_contours(_cone(), [top - r for r in radii])
    assert len(contours) == 3
    for radius, paths in zip(radii, contours, strict=True):
        assert len(paths) == 1  # one closed circle per level
        path = paths[0]
        assert path.ndim == 2 and path.shape[1] == 2 and len(path) > 10
        np.testing.assert_array_equal(path[0], path[-1])  # closed
        distances = np.hypot(path[:, 0] - CENTRE, path[:, 1] - CENTRE)
        np.testing.assert_allclose(distances, radius, atol=0.1)


def test_compute_contours_edge_cases():
    assert render.compute_contours(_cone(), []) == []
    above = float(_cone().max()) + 1.0
    assert render.compute_contours(_cone(), [above]) == [[]]  # above the maximum: no line
    with pytest.raises(ValueError):
        render.compute_contours(_cone(), [[1.0, 2.0]])
    with pytest.raises(ValueError):
        render.compute_contours(_cone(), [np.nan])


# --- isolines_image ------------------------------------------------------------


def test_isolines_image_draws_the_circle_only():
    sal = _cone()
    (level,) = render.contour_levels(sal, 1)
    radius = float(sal.max()) - level  # about 22.6 pixels
    out = render.isolines_image(_grey_image(128), sal, "jet", n_levels=1, dim=0.5)
    assert out.shape == (65, 65, 3) and out.dtype == np.uint8
    base = np.array([64, 64, 64])
    colour = render.colormap_lut("jet")[128].astype(int)  # the middle level's colour
    for angle in np.linspace(0, 2 * np.pi, 16, endpoint=False):
        r = round(CENTRE + radius * np.sin(angle))
        c = round(CENTRE + radius * np.cos(angle))
        pixel = out[r, c].astype(int)
        assert np.any(pixel != base)
        assert np.abs(pixel - colour).sum() < np.abs(base - colour).sum()  # tinted towards it
    # Pixels more than two pixels away from the circle keep the dimmed image.
    rows, cols = np.mgrid[0:65, 0:65]
    far = np.abs(np.hypot(rows - CENTRE, cols - CENTRE) - radius) > 2
    np.testing.assert_array_equal(out[far], np.broadcast_to(base, (far.sum(), 3)))


def test_isolines_image_dim_and_no_levels():
    black = render.isolines_image(_grey_image(200), np.ones((65, 65)), dim=1.0)
    np.testing.assert_array_equal(black, 0)
    same = render.isolines_image(_grey_image(200), np.ones((65, 65)), dim=0.0)
    np.testing.assert_array_equal(same, 200)


def test_isolines_image_resizes_saliency_and_thicker_lines_cover_more():
    image = _grey_image(0, (130, 130))
    small = _cone()
    thin = render.isolines_image(image, small, n_levels=3, thickness=1)
    thick = render.isolines_image(image, small, n_levels=3, thickness=3)
    assert thin.shape == (130, 130, 3)
    assert (thick.sum(axis=2) > 0).sum() > (thin.sum(axis=2) > 0).sum()


@pytest.mark.parametrize(
    "kwargs", [{"dim": 1.2}, {"dim": -0.5}, {"thickness": 0}, {"n_levels": 0}, {"mode": "x"}]
)
def test_isolines_image_rejects_bad_settings(kwargs):
    with pytest.raises(ValueError):
        render.isolines_image(_grey_image(), _cone(), **kwargs)


# --- grid_image and save_png ---------------------------------------------------------


def test_grid_image_size_arithmetic_and_placement():
    a = np.full((40, 60, 3), 10, dtype=np.uint8)
    b = np.full((20, 30, 3), 20, dtype=np.uint8)  # scaled to (40, 60)
    c = np.full((40, 20, 3), 30, dtype=np.uint8)
    out = render.grid_image([("a", a), ("b", b), ("c", c)], cols=2, title_height=10, gap=4)
    # 2 columns of width 60, 2 rows of 10 + 40, gaps of 4 between cells.
    assert out.shape == (2 * (10 + 40) + 4, 2 * 60 + 4, 3) and out.dtype == np.uint8
    np.testing.assert_array_equal(out[10:50, 0:60], 10)
    np.testing.assert_array_equal(out[10:50, 64:124], 20)
    np.testing.assert_array_equal(out[64:104, 20:40], 30)  # centred in its 60-pixel cell
    np.testing.assert_array_equal(out[64:104, 0:20], 255)
    np.testing.assert_array_equal(out[50:54], 255)  # the gap between rows
    assert (out[0:10, 0:60] < 255).any()  # the title was written


def test_grid_image_single_row_without_titles():
    tiles = [(str(i), np.zeros((8, 8, 3), dtype=np.uint8)) for i in range(2)]
    out = render.grid_image(tiles, cols=5, title_height=0, gap=0)
    assert out.shape == (8, 16, 3)
    np.testing.assert_array_equal(out, 0)


def test_grid_image_long_title_is_shortened():
    tile = ("a very long title that cannot possibly fit " * 3, _grey_image(128, (30, 40)))
    out = render.grid_image([tile], title_height=20)
    assert out.shape == (50, 40, 3)


@pytest.mark.parametrize(
    "tiles",
    [
        [],
        [("x", np.zeros((8, 8, 3)))],  # float, not uint8
        [("x", np.zeros((8, 8), dtype=np.uint8))],
        [np.zeros((8, 8, 3), dtype=np.uint8)],
    ],
)
def test_grid_image_rejects_bad_tiles(tiles):
    with pytest.raises(ValueError):
        render.grid_image(tiles)


def test_save_png_round_trip_keeps_rgb_order(tmp_path):
    red = np.zeros((4, 5, 3), dtype=np.uint8)
    red[..., 0] = 255
    path = render.save_png(tmp_path / "new" / "dir" / "red.png", red)
    assert path.exists()
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    assert bgr.shape == (4, 5, 3)
    np.testing.assert_array_equal(bgr[..., 2], 255)  # red is OpenCV's last channel
    np.testing.assert_array_equal(bgr[..., :2], 0)


def test_save_png_rejects_bad_input(tmp_path):
    with pytest.raises(ValueError, match=r"\.png"):
        render.save_png(tmp_path / "x.jpg", _grey_image())
    with pytest.raises(ValueError):
        render.save_png(tmp_path / "x.png", np.zeros((4, 4, 3)))


def test_representations():
    image = _grey_image(100, (130, 100))
    out = render.representations(image, _cone(), "magma", 0.4, 5, "quantile")
    assert set(out) == {"heatmap", "overlay", "isolines"}
    for img in out.values():
        assert img.shape == (130, 100, 3) and img.dtype == np.uint8


# --- Plotly figures --------------------------------------------------------------


def test_heatmap_figure():
    fig = render.heatmap_figure(_signed(), "RdBu", title="LIME")
    assert isinstance(fig, go.Figure)
    assert [t.type for t in fig.data] == ["heatmap"]
    heat = fig.data[0]
    assert heat.zmin == -2.0 and heat.zmax == 2.0  # centred on 0, as heatmap_image
    assert "%{z" in heat.hovertemplate
    assert fig.layout.yaxis.autorange == "reversed" and fig.layout.yaxis.scaleanchor == "x"
    assert fig.layout.xaxis.showticklabels is False
    assert fig.layout.title.text == "LIME"


def test_heatmap_figure_constant_map_has_valid_range():
    heat = render.heatmap_figure(np.zeros((4, 4))).data[0]
    assert heat.zmax > heat.zmin


def test_overlay_figure():
    fig = render.overlay_figure(_grey_image(), _cone()[::4, ::4], "viridis", alpha=0.3)
    assert [t.type for t in fig.data] == ["image", "heatmap"]
    assert fig.data[1].opacity == 0.3
    assert np.shape(fig.data[1].z) == (65, 65)  # resized to the image
    assert fig.layout.yaxis.autorange == "reversed"


def test_isolines_figure_draws_the_same_contours_as_the_image_one_trace_per_level():
    image, sal = _grey_image(), _cone()
    fig = render.isolines_figure(image, sal, "inferno", n_levels=4, mode="value", dim=0.2)
    levels = render.contour_levels(sal, 4, "value")
    contours = render.compute_contours(sal, levels)
    assert sum(len(c) for c in contours) > len(levels)  # the outer level has corner arcs
    assert fig.data[0].type == "image"
    lines = [t for t in fig.data if t.type == "scatter" and t.mode == "lines"]
    assert len(lines) == len(levels)  # one trace per level, however many paths
    lut = render.colormap_lut("inferno")
    for trace, level, paths in zip(lines, levels, contours, strict=True):
        x = np.asarray(trace.x, dtype=float)
        y = np.asarray(trace.y, dtype=float)
        gaps = np.flatnonzero(np.isnan(x))
        assert len(gaps) == len(paths) - 1 and trace.connectgaps is False
        pieces = np.split(np.stack([y, x], axis=1), gaps)
        for piece, path in zip(pieces, paths, strict=True):
            piece = piece[~np.isnan(piece[:, 0])]
            np.testing.assert_allclose(piece, path)
        t = (level - sal.min()) / np.ptp(sal)
        assert _parse_rgb(trace.line.color) == tuple(lut[int(np.floor(t * 255 + 0.5))])
    bar = fig.data[-1]
    assert bar.mode == "markers" and bar.marker.showscale is True
    ticks = bar.marker.colorbar.ticktext
    assert 2 <= len(ticks) <= 6
    assert len({len(t.split(".")[-1]) if "." in t else 0 for t in ticks}) == 1  # one precision
    assert len(fig.data) == 1 + len(levels) + 1


def test_piecewise_constant_map_gets_level_lines_not_superpixel_borders():
    """A LIME-like map (constant blocks, signed): lines follow a smoothed map, none near 0."""
    image = _grey_image()
    sal = np.zeros((65, 65))
    sal[10:30, 10:30] = 0.3
    sal[35:55, 35:55] = -0.2
    sal[10:30, 35:55] = 0.01  # a weak block: its border is near 0, drawn white before
    fig = render.isolines_figure(image, sal, "RdBu", n_levels=8)
    lines = [t for t in fig.data if t.type == "scatter" and t.mode == "lines"]
    assert lines
    m = 0.3
    for trace in lines:
        level = float(trace.name.split()[-1])
        assert abs(level) >= 0.4 * m - 1e-6  # no near-white lines on the photo
        r, g, b = _parse_rgb(trace.line.color)
        assert min(r, g, b) < 200  # a visible colour, not the white-grey middle
    # the weak block has no line of its own
    xs = np.concatenate([np.asarray(t.x, dtype=float) for t in lines])
    ys = np.concatenate([np.asarray(t.y, dtype=float) for t in lines])
    inside_weak = (ys > 12) & (ys < 28) & (xs > 37) & (xs < 53)
    assert not inside_weak.any()


def test_shared_value_range_sets_every_face():
    image, sal = _grey_image(), _cone()
    weak = sal * 0.1
    vr = render.shared_value_range([sal, weak])
    assert vr == (float(sal.min()), float(sal.max()))
    for fig in (render.heatmap_figure(weak, value_range=vr),
                render.overlay_figure(image, weak, value_range=vr)):
        trace = fig.data[-1]
        assert (trace.zmin, trace.zmax) == vr
    bar = render.isolines_figure(image, sal, value_range=vr).data[-1]
    assert (bar.marker.cmin, bar.marker.cmax) == vr
    # the weak map, on the strong map's scale, is drawn in the colormap's low colours
    low = render.heatmap_image(weak, "jet", value_range=vr)
    own = render.heatmap_image(weak, "jet")
    assert low.astype(int).sum() != own.astype(int).sum()
    assert np.array_equal(render.heatmap_image(sal, "jet", value_range=vr),
                          render.heatmap_image(sal, "jet"))
    signed = render.shared_value_range([sal, -0.5 * sal])
    assert signed[0] == -signed[1] == -float(np.abs(sal).max())
    with pytest.raises(ValueError, match="value_range"):
        render.heatmap_figure(sal, value_range=(1.0, 1.0))


@pytest.mark.parametrize(("lo", "hi"), [(0.41, 0.51), (-0.25, 0.25), (0.0632, 0.0765),
                                        (0.0, 1.0), (-0.017, 0.017), (3.0, 1200.0)])
def test_nice_ticks_are_few_round_and_of_one_precision(lo, hi):
    values, labels = render.nice_ticks(lo, hi, 6)
    assert 2 <= len(values) <= 6
    assert all(lo - 1e-12 <= v <= hi + 1e-12 for v in values)
    assert len({len(t.split(".")[-1]) if "." in t else 0 for t in labels}) == 1
    steps = np.diff(values)
    np.testing.assert_allclose(steps, steps[0])


def test_grid_image_with_row_titles_and_colorbars():
    tiles = [(f"t{i}", np.full((150, 150, 3), 100, np.uint8)) for i in range(4)]
    plain = render.grid_image(tiles, cols=2, title_height=20, gap=4)
    bars = [render.Colorbar("RISE score", "jet", (0.4, 0.5)),
            render.Colorbar("LIME weight", "RdBu", (-0.2, 0.2))]
    out = render.grid_image(tiles, cols=2, title_height=20, gap=4,
                            row_titles=["row one", "row two"], colorbars=bars)
    assert out.shape[0] == plain.shape[0] + 2 * 20
    assert out.shape[1] > plain.shape[1]
    right = out[:, plain.shape[1]:]
    jet = {tuple(int(v) for v in c) for c in render.colormap_lut("jet")[[10, 128, 245]]}
    colours = {tuple(int(v) for v in c) for c in right.reshape(-1, 3)}
    assert jet <= colours  # the jet bar: low, middle and high colours
    with pytest.raises(ValueError, match="row_titles"):
        render.grid_image(tiles, cols=2, row_titles=["only one"])


def test_grid_image_wraps_long_row_titles_instead_of_cutting_them():
    from xai_core.viz.raster import _wrap

    tiles = [(f"t{i}", np.full((60, 60, 3), 100, np.uint8)) for i in range(2)]
    title = "1. RISE | EfficientNet-Lite0 | coffee | class espresso (p = 0.871) | " * 3 + "seed 0"
    short = render.grid_image(tiles, cols=2, title_height=20, row_titles=["short"])
    long = render.grid_image(tiles, cols=2, title_height=20, row_titles=[title])
    lines = _wrap(title, short.shape[1], 20, bold=True)
    assert len(lines) >= 3 and " ".join(lines) == title  # every word kept, the seed too
    assert long.shape[0] == short.shape[0] + (len(lines) - 1) * 20
    assert long.shape[1] == short.shape[1]


def test_isolines_figure_constant_map_has_only_the_image():
    fig = render.isolines_figure(_grey_image(), np.zeros((65, 65)))
    assert [t.type for t in fig.data] == ["image"]


def test_grid_figure():
    image, sal = _grey_image(), _cone()
    panels = [
        ("heatmap", render.heatmap_figure(sal)),
        render.Panel("overlay", render.overlay_figure(image, sal)),
        ("isolines", render.isolines_figure(image, sal, n_levels=3)),
    ]
    fig = render.grid_figure(panels, cols=2, title="all")
    assert isinstance(fig, go.Figure)
    assert len(fig.data) == sum(
        len(p[1].data if isinstance(p, tuple) else p.figure.data) for p in panels
    )
    assert [a.text for a in fig.layout.annotations] == ["heatmap", "overlay", "isolines"]
    # Every cell keeps the image orientation and square pixels, on its own axes.
    for name, x_name in (("yaxis", "x"), ("yaxis2", "x2"), ("yaxis3", "x3")):
        axis = fig.layout[name]
        reversed_y = axis.autorange == "reversed" or (axis.range and axis.range[0] > axis.range[1])
        assert reversed_y and axis.scaleanchor == x_name
    # The heatmap's colour bar sits next to its own (top-left) cell.
    heat = fig.data[0]
    assert heat.xaxis == "x" and heat.colorbar.x < 0.6 and heat.colorbar.y > 0.5


@pytest.mark.parametrize("panels", [[], [("a", "not a figure")], ["just a title"]])
def test_grid_figure_rejects_bad_panels(panels):
    with pytest.raises(ValueError):
        render.grid_figure(panels)


def test_flatness_flags_a_map_whose_spread_is_small_next_to_the_score():
    rng = np.random.default_rng(0)
    # RISE: values are expected scores; 0.58..0.63 around 0.6 is flat (spread/mean ~ 7 %)
    flat = 0.58 + 0.045 * rng.random((64, 64))
    strong = 0.41 + 0.10 * rng.random((64, 64))
    assert render.flatness(flat, "rise", 0.39) < render.FLAT_BELOW
    assert render.is_flat(flat, "rise", 0.39)
    assert not render.is_flat(strong, "rise", 0.94)
    # the same shape at a tenth of the score is just as informative: relative, not absolute
    assert render.flatness(strong * 0.1, "rise", 0.05) == pytest.approx(
        render.flatness(strong, "rise", 0.5))
    # LIME: weights in probability units, compared with the class probability
    weights = np.zeros((64, 64))
    weights[:32] = 0.004
    assert render.is_flat(weights, "lime", 0.4)
    assert not render.is_flat(weights * 50, "lime", 0.4)
    # one stray pixel does not make a map informative
    spike = np.full((64, 64), 0.5)
    spike[0, 0] = 0.9
    assert render.is_flat(spike, "rise", 0.5)
    assert render.flatness(np.zeros((8, 8)), "lime", 0.0) == 0.0
    with pytest.raises(ValueError, match="method"):
        render.flatness(flat, "gradcam", 0.5)


def test_top_classes_figure_lists_the_most_probable_first():
    from xai_core.viz import top_classes_figure

    p = np.array([0.05, 0.6, 0.1, 0.2, 0.0, 0.05])
    names = ["a", "b", "c", "d", "e", "f"]
    fig = top_classes_figure(p, names, k=3)
    bar = fig.data[0]
    assert list(bar.y) == ["1", "3", "2"] and list(bar.text) == ["0.600", "0.200", "0.100"]
    assert list(fig.layout.yaxis.ticktext) == ["b", "d", "c"] == list(bar.customdata)
    assert fig.layout.xaxis.range == (0, 1)
    assert len(top_classes_figure(p, names, k=10).data[0].y) == 6  # no more than there are
    # two classes of one name (ImageNet's two "crane"s) stay two bars
    twins = top_classes_figure(np.array([0.5, 0.3, 0.2]), ["crane", "crane", "heron"])
    assert list(twins.data[0].y) == ["0", "1", "2"]
    for scores in ([3.0, -1.0], [0.5, -2.0]):  # not probabilities: no [0, 1] axis
        assert top_classes_figure(np.array(scores), ["x", "y"]).layout.xaxis.range is None
    with pytest.raises(ValueError, match="class names"):
        top_classes_figure(p, names[:2])


def test_centred_percentile_range_and_coverage():
    from xai_core.viz import centred, percentile_range, range_coverage

    ramp = np.linspace(0.045, 0.057, 101 * 101).reshape(101, 101)
    np.testing.assert_allclose(centred(ramp).mean(), 0.0, atol=1e-12)
    lo, hi = percentile_range(ramp)
    np.testing.assert_allclose((lo, hi), (0.04512, 0.05688), rtol=1e-3)
    assert range_coverage(ramp, (0.044, 0.503)) < 0.03  # the flat block: 2%
    assert range_coverage(ramp, (0.045, 0.057)) == 1.0
    assert range_coverage(np.full((4, 4), 0.3), (0.0, 1.0)) == 0.0
    with pytest.raises(ValueError, match="lo < hi"):
        range_coverage(ramp, (1.0, 0.0))


# --- compact figures (the dashboard's rows) -----------------------------------------


def _decoded(uri: str) -> np.ndarray:
    head, data = uri.split(",", 1)
    assert head in ("data:image/png;base64", "data:image/jpeg;base64"), head
    buf = np.frombuffer(base64.b64decode(data), np.uint8)
    return cv2.cvtColor(cv2.imdecode(buf, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def _photo(size: int = 130) -> np.ndarray:
    """A smooth colour photo stand-in (two ramps and a disc), uint8 (size, size, 3)."""
    rows, cols = np.mgrid[0:size, 0:size]
    disc = np.hypot(rows - size / 2, cols - size / 3) < size / 4
    return np.stack([rows * 255 / size, cols * 255 / size, 60 + 120 * disc], -1).astype(np.uint8)


def _path_error(path: np.ndarray, simplified: np.ndarray) -> float:
    """The largest distance from a point of ``path`` to the polyline ``simplified``."""
    a, b = simplified[:-1][:, None], simplified[1:][:, None]  # segments x points
    ab, ap = b - a, path[None] - a
    t = np.clip((ap * ab).sum(-1) / np.maximum((ab * ab).sum(-1), 1e-12), 0.0, 1.0)
    return float(np.min(np.linalg.norm(ap - t[..., None] * ab, axis=-1), axis=0).max())


def test_compact_faces_draw_the_same_pictures_from_embedded_files():
    image, sal = _photo(), _cone()  # the 65 x 65 map is fitted to the 130 x 130 image
    vr = (5.0, 40.0)

    face = render.image_figure(image, compact=True).data[0]
    assert face.type == "image" and face.z is None and "RGB" in face.hovertemplate
    photo = _decoded(face.source)  # JPEG, quality 90, no chroma subsampling
    assert np.abs(photo.astype(int) - image).mean() < 1.5

    heat = render.heatmap_figure(sal, "viridis", value_range=vr, compact=True)
    picture, hover = heat.data
    assert picture.type == "image" and hover.type == "heatmap"
    # a PNG: exactly the raster renderer's colours, on the given range
    assert np.array_equal(_decoded(picture.source), render.heatmap_image(sal, "viridis", vr))
    assert hover.opacity == 0 and (hover.zmin, hover.zmax) == vr and "%{z" in hover.hovertemplate
    # the values under the cursor are the map's own, at the cells' centres
    z = np.asarray(hover.z)
    assert max(z.shape) <= 64
    np.testing.assert_allclose(z, sal[hover.y0::hover.dy, hover.x0::hover.dx], rtol=1e-6)
    assert list(heat.layout.xaxis.range) == [-0.5, 64.5]  # the image's extent, no margin

    over = render.overlay_figure(image, sal, "jet", alpha=0.4, compact=True)
    blend = render.overlay_image(image, sal, "jet", 0.4)
    assert np.abs(_decoded(over.data[0].source).astype(int) - blend).mean() < 2.0
    hover = over.data[1]  # the map fitted to the image (bilinear), every 3rd pixel
    fitted = cv2.resize(sal, (130, 130), interpolation=cv2.INTER_LINEAR)
    np.testing.assert_allclose(hover.z, fitted[hover.y0::hover.dy, hover.x0::hover.dx],
                               rtol=1e-6)
    assert np.shape(hover.z) == (43, 43)


def test_compact_isolines_keep_every_line_within_a_third_of_a_pixel():
    image, sal = _photo(), _cone() + 3.0 * np.sin(np.arange(65) / 4.0)[None]
    full = render.isolines_figure(image, sal, "inferno", n_levels=6)
    small = render.isolines_figure(image, sal, "inferno", n_levels=6, compact=True)
    assert [t.name for t in small.data[1:]] == [t.name for t in full.data[1:]]
    points = kept = 0
    for a, b in zip(full.data[1:-1], small.data[1:-1], strict=True):
        xa, ya = np.asarray(a.x, float), np.asarray(a.y, float)
        xb, yb = np.asarray(b.x, float), np.asarray(b.y, float)
        pieces_a = np.split(np.stack([ya, xa], 1), np.flatnonzero(np.isnan(xa)))
        pieces_b = np.split(np.stack([yb, xb], 1), np.flatnonzero(np.isnan(xb)))
        assert len(pieces_a) == len(pieces_b)  # no path lost
        for pa, pb in zip(pieces_a, pieces_b, strict=True):
            pa, pb = pa[~np.isnan(pa[:, 0])], pb[~np.isnan(pb[:, 0])]
            np.testing.assert_allclose(pb[[0, -1]], pa[[0, -1]], atol=1e-4)  # ends kept
            assert _path_error(pa, pb) <= 0.35 + 1e-3
            points, kept = points + len(pa), kept + len(pb)
    assert kept < points / 3
    assert list(small.layout.yaxis.range) == [129.5, -0.5]


def test_compact_faces_are_a_fraction_of_the_bytes():
    image = _photo(224)
    rows, cols = np.mgrid[0:224, 0:224]
    sal = np.sin(rows / 30.0) * np.cos(cols / 25.0)  # smooth, like RISE's maps
    for make in (lambda c: render.image_figure(image, compact=c),
                 lambda c: render.heatmap_figure(sal, compact=c),
                 lambda c: render.overlay_figure(image, sal, compact=c),
                 lambda c: render.isolines_figure(image, sal, compact=c)):
        full, small = len(make(False).to_json()), len(make(True).to_json())
        assert small < full / 4, (small, full)
