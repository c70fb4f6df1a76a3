"""The comparison view's pure parts: page scales, row titles, the report figure."""

from __future__ import annotations

import dataclasses
import io

import cv2
import numpy as np
from PIL import Image

import xai_core as xc
from dashboard.comparison import describe, page_scales, report_png, row_figure, timing
from dashboard.sidebar import Context, Display
from dashboard.views import Result


def _expl(method: str, sal: np.ndarray, *, wall_s: float = 12.34, passes: int = 500,
          target: int = 1) -> xc.Explanation:
    params = ({"n_masks": 500, "mask_size": 7, "keep_prob": 0.5, "seed": 0} if method == "rise"
              else {"num_samples": 300, "segmentation": "slic", "hide_color": "mean",
                    "num_features": 100000, "positive_only": False, "seed": 0})
    return xc.Explanation(method, sal.astype(np.float32), np.full((32, 32, 3), 120, np.float32),
                          target, params, forward_passes=passes, wall_s=wall_s,
                          probability=0.4, model="tiny", image_name="grey", target_label="cat")


def _res(expl: xc.Explanation, cached: bool = False) -> Result:
    return Result(expl, None, "img", "efficientnet_lite0", cached)  # type: ignore[arg-type]


def _ramp(lo: float, hi: float) -> np.ndarray:
    return np.linspace(lo, hi, 32 * 32).reshape(32, 32)


def test_by_default_each_map_has_its_own_range_and_the_toggle_gives_one_per_kind():
    rise = [_res(_expl("rise", _ramp(0.41, 0.50))), _res(_expl("rise", _ramp(0.066, 0.076)))]
    lime = [_res(_expl("lime", _ramp(-0.05, 0.2))), _res(_expl("lime", _ramp(-0.3, 0.1)))]
    own = page_scales(rise + lime, None)
    assert own["rise"].colormap == "jet" and own["lime"].colormap == "RdBu"
    assert own["rise"].value_range is None and "own range" in own["rise"].title
    np.testing.assert_allclose(own["rise"].range_of(rise[1].expl.display_saliency),
                               (0.066, 0.076), rtol=1e-5)
    np.testing.assert_allclose(own["lime"].range_of(lime[0].expl.display_saliency),
                               (-0.2, 0.2), rtol=1e-5)  # signed: symmetric about 0
    one = page_scales(rise + lime, None, shared=True)
    # RISE centred: each map minus its mean, on one range symmetric about 0, diverging
    assert one["rise"].centred and one["rise"].colormap == "RdBu"
    np.testing.assert_allclose(one["rise"].value_range, (-0.045, 0.045), rtol=1e-4)
    np.testing.assert_allclose(one["rise"].values(rise[1].expl.display_saliency).mean(), 0,
                               atol=1e-7)
    # LIME's weights as they are
    assert not one["lime"].centred
    np.testing.assert_allclose(one["lime"].value_range, (-0.3, 0.3), rtol=1e-6)
    chosen = page_scales(rise + lime, "viridis", shared=True)
    assert {s.colormap for s in chosen.values()} == {"viridis"}  # never two colormaps per kind


def _heatmaps(fig) -> list[tuple[np.ndarray, float, float]]:
    return [(np.asarray(t.z, np.float64), t.zmin, t.zmax) for t in fig.data
            if t.type == "heatmap"]


def test_row_figures_cover_most_of_their_colour_range_by_default():
    """The issue's case: RISE s = 7 and s = 15 on coffee sit at different levels (means
    ≈ 0.3 and ≈ 0.05); on one absolute range the s = 15 map covered 2% of the colours.
    By default every heatmap the page draws covers >= 40% of its range; the toggle puts
    both on one (centred) range."""
    ctx = Context(None, "m", np.zeros((32, 32, 3), np.uint8), np.zeros((32, 32, 3), np.float32),  # type: ignore[arg-type]
                  "grey", "k", False, 0, Display(None, 0.5, 6, "value"))
    rng = np.random.default_rng(0)
    s7 = _ramp(0.10, 0.50) + rng.normal(0, 0.01, (32, 32))
    s15 = _ramp(0.045, 0.057) + rng.normal(0, 0.001, (32, 32))
    results = [_res(_expl("rise", s7)), _res(_expl("rise", s15))]
    for shared, low in ((False, 0.4), (True, 0.0)):
        scales = page_scales(results, None, shared)
        maps = [h for r in results for h in _heatmaps(row_figure(r, scales["rise"], ctx))]
        assert len(maps) == 4  # heatmap and overlay of each row
        cover = [xc.viz.range_coverage(z, (lo, hi)) for z, lo, hi in maps]
        assert min(cover) >= low, cover
        if shared:
            assert len({(lo, hi) for _, lo, hi in maps}) == 1
            assert maps[0][1] == -maps[0][2]  # symmetric about 0
            assert cover[2] < 0.1  # the weak map looks weak: honest magnitudes
        else:
            assert cover == [1.0, 1.0, 1.0, 1.0]


def test_titles_say_cached_with_the_original_time_and_shared_runs_honestly():
    e = _expl("rise", _ramp(0.4, 0.5))
    assert timing(e, cached=True) == "cached (orig. 12.3 s)"
    assert timing(e, cached=False) == "12.3 s"
    shared = _expl("rise", _ramp(0.4, 0.5), wall_s=0.0, passes=0)
    assert "0.0 s" not in timing(shared, cached=False)
    title = describe(_res(e, cached=True))
    for words in ("RISE", "EfficientNet-Lite0", "cat", "p = 0.400", "500 masks", "s = 7",
                  "500 forward passes", "cached (orig. 12.3 s)", "seed 0",
                  "RISE score 0.401–0.499 (1st–99th pct)"):
        assert words in title, words
    assert "300 samples" in describe(_res(_expl("lime", _ramp(-0.1, 0.1))))
    # a run shared between classes: forward passes and masks differ, and the title says why
    e = _expl("rise", _ramp(0.4, 0.5), passes=512)
    e = dataclasses.replace(e, extra={"masks_used": 1024})
    assert "512 forward passes (run shared between this image's classes: 512 of the 1024 " \
           "masks were scored for another class)" in describe(_res(e))


def test_report_figure_is_one_png_with_a_row_per_result_and_colour_bars():
    results = [_res(_expl("rise", _ramp(0.41, 0.50))), _res(_expl("lime", _ramp(-0.1, 0.2)))]
    ctx = Context(None, "m", np.zeros((32, 32, 3), np.uint8), np.zeros((32, 32, 3), np.float32),  # type: ignore[arg-type]
                  "grey", "k", False, 0, Display(None, 0.5, 6, "value"))
    png = report_png(results, page_scales(results, None, shared=True), ctx)
    img = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
    alone = report_png(results, page_scales(results, None), ctx)
    wide = np.asarray(Image.open(io.BytesIO(alone)).convert("RGB"))
    assert img.shape[1] > 4 * 32  # four faces per row, plus the colour bars
    assert img.shape[0] > 2 * 32  # two rows with their titles
    assert wide.shape[0] == img.shape[0]


def test_show_as_ready_draws_each_row_before_computing_the_next():
    from streamlit.testing.v1 import AppTest

    def script():
        import numpy as np
        import streamlit as st

        import xai_core as xc
        from dashboard import comparison
        from dashboard.sidebar import Context, Display
        from dashboard.views import Result

        log = st.session_state.setdefault("log", [])
        drawn = comparison._View._row

        def row(self, i, label, res):
            log.append(f"draw {res.expl.method} {i} {label}")
            drawn(self, i, label, res)

        comparison._View._row = row
        ctx = Context(None, "m", np.zeros((32, 32, 3), np.uint8),
                      np.full((32, 32, 3), 120, np.float32), "grey", "k", False, 0,
                      Display(None, 0.5, 4, "value"))

        def make(method, lo, hi):
            def go():
                log.append(f"compute {method}")
                sal = np.linspace(lo, hi, 32 * 32).reshape(32, 32).astype(np.float32)
                expl = xc.Explanation(method, sal, np.full((32, 32, 3), 120, np.float32), 1,
                                      {"seed": 0}, forward_passes=64, wall_s=1.0,
                                      probability=0.4, model="tiny", image_name="grey",
                                      target_label="cat")
                return Result(expl, None, "img", "efficientnet_lite0")
            return go

        def failed():
            log.append("compute gradcam")
            return None  # an error was shown for it; the other rows stay

        try:
            if st.session_state.get("twice"):
                comparison.show_as_ready("u", [make("rise", 0.1, 0.5), make("rise", 0, 1)], ctx)
            else:
                comparison.show_as_ready("t", [make("rise", 0.1, 0.5), failed,
                                               make("lime", -0.1, 0.2)], ctx,
                                         labels=["RISE", "Grad-CAM", "LIME"])
        except ValueError as exc:
            st.write(f"refused: {exc}")
        finally:
            comparison._View._row = drawn

    at = AppTest.from_function(script, default_timeout=60).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.session_state["log"] == ["compute rise", "draw rise 0 RISE", "compute gradcam",
                                       "compute lime", "draw lime 1 LIME"]
    assert len(at.get("plotly_chart")) == 2
    results, labels = at.session_state["t-shown"]
    assert [r is None for r in results] == [False, True, False] and labels[1] == "Grad-CAM"
    at.session_state["log"] = []
    at.session_state["twice"] = True
    at.run()
    assert any("refused: show_as_ready draws one result per kind" in m.value
               for m in at.markdown)


def test_a_row_figure_stays_under_its_byte_budget():
    """What a warmed page sends per result row. Measured on the coffee photo at 224 px
    (EfficientNet-Lite0's input): a RISE row 186 kB and a LIME row 164 kB of JSON (here 183
    and 158 kB), where the rows drew every picture as pixel arrays before (1.37 and 1.33 MB,
    ~1 s for Plotly to draw one in Chromium; now ~0.25 s). Budget: 260 kB."""
    import plotly.io as pio
    from skimage.data import coffee
    from skimage.segmentation import slic

    photo = cv2.resize(coffee()[:, 100:500], (224, 224), interpolation=cv2.INTER_AREA)
    image = photo.astype(np.float32)
    rng = np.random.default_rng(0)
    grid = rng.random((7, 7)).astype(np.float32)  # RISE: a 7 x 7 grid, upsampled bilinearly
    rise = 0.3 + 0.2 * cv2.resize(grid, (256, 256), interpolation=cv2.INTER_LINEAR)[16:240, 16:240]
    segments = slic(photo, n_segments=60, start_label=0)  # LIME: one weight per superpixel
    lime = rng.normal(0.0, 0.05, segments.max() + 1)[segments].astype(np.float32)
    ctx = Context(None, "m", photo, image, "coffee", "k", False, 0,  # type: ignore[arg-type]
                  Display(None, 0.5, 8, "value"))
    for method, sal in (("rise", rise), ("lime", lime)):
        res = _res(dataclasses.replace(_expl(method, sal), image=image))
        fig = row_figure(res, page_scales([res], None)[method], ctx)
        size = len(pio.to_json(fig, validate=False))  # what st.plotly_chart sends
        assert size < 260_000, (method, size)
        assert [t.type for t in fig.data][:5] == ["image", "image", "heatmap", "image", "heatmap"]
