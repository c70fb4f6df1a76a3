"""The comparison view's pure parts: page scales, row titles, the report figure."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

import xai_core as xc
from dashboard.comparison import describe, page_scales, report_png, timing
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


def test_maps_of_one_kind_get_one_scale_and_signed_ones_a_symmetric_diverging_one():
    rise = [_res(_expl("rise", _ramp(0.41, 0.50))), _res(_expl("rise", _ramp(0.066, 0.076)))]
    lime = [_res(_expl("lime", _ramp(-0.05, 0.2))), _res(_expl("lime", _ramp(-0.3, 0.1)))]
    scales = page_scales(rise + lime, None, alone=False)
    assert scales["rise"].colormap == "jet" and scales["lime"].colormap == "RdBu"
    np.testing.assert_allclose(scales["rise"].value_range, (0.066, 0.50), rtol=1e-6)
    np.testing.assert_allclose(scales["lime"].value_range, (-0.3, 0.3), rtol=1e-6)
    assert "page scale" in scales["rise"].title
    chosen = page_scales(rise + lime, "viridis", alone=True)
    assert {s.colormap for s in chosen.values()} == {"viridis"}  # never two colormaps per kind
    assert chosen["rise"].value_range is None and "own scale" in chosen["rise"].title


def test_titles_say_cached_with_the_original_time_and_shared_runs_honestly():
    e = _expl("rise", _ramp(0.4, 0.5))
    assert timing(e, cached=True) == "cached (orig. 12.3 s)"
    assert timing(e, cached=False) == "12.3 s"
    shared = _expl("rise", _ramp(0.4, 0.5), wall_s=0.0, passes=0)
    assert "0.0 s" not in timing(shared, cached=False)
    title = describe(_res(e, cached=True))
    for words in ("RISE", "EfficientNet-Lite0", "cat", "p = 0.400", "500 masks", "s = 7",
                  "500 forward passes", "cached (orig. 12.3 s)", "seed 0"):
        assert words in title, words
    assert "300 samples" in describe(_res(_expl("lime", _ramp(-0.1, 0.1))))


def test_report_figure_is_one_png_with_a_row_per_result_and_colour_bars():
    results = [_res(_expl("rise", _ramp(0.41, 0.50))), _res(_expl("lime", _ramp(-0.1, 0.2)))]
    ctx = Context(None, "m", np.zeros((32, 32, 3), np.uint8), np.zeros((32, 32, 3), np.float32),  # type: ignore[arg-type]
                  "grey", "k", False, 0, Display(None, 0.5, 6, "value"))
    png = report_png(results, page_scales(results, None, alone=False), ctx)
    img = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
    alone = report_png(results, page_scales(results, None, alone=True), ctx)
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
