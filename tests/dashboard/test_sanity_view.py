"""The sanity-check page's display parts: layer names, constant maps, the report figure."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

import xai_core as xc
from dashboard.sanity import is_constant, layer_label, report_png, sanity_figure
from dashboard.sidebar import Context, Display


def test_layer_names_read_as_words():
    assert layer_label("_blocks__14___depthwise_conv") == "block 14 · depthwise conv"
    assert layer_label("_blocks__0___se_reduce_conv") == "block 0 · se reduce conv"
    assert layer_label("stem_conv") == "stem conv"
    assert layer_label("predictions") == "predictions"
    assert layer_label("conv2d_1") == "conv2d 1"


def test_constant_maps_are_recognised():
    assert is_constant(np.full((8, 8), 0.3))
    assert is_constant(np.zeros((8, 8)))
    assert not is_constant(np.linspace(0, 1e-3, 64).reshape(8, 8))


class _Clf:
    name = "tiny"
    class_names = ("a", "b")


def _result() -> xc.RandomizationResult:
    ramp = np.linspace(0, 1, 32 * 32).reshape(32, 32).astype(np.float32)
    layers = ("predictions", "_blocks__14___depthwise_conv")
    return xc.RandomizationResult("gradcam", layers, (layers[:1], layers),
                                  (ramp, ramp[::-1], np.zeros_like(ramp)), (0.4, 0.0),
                                  (0.5, 0.0), target=1, seed=0)


def test_report_figure_and_plot_use_readable_names():
    res = _result()
    fig = sanity_figure(res)
    assert "2: ↓ block 14 · depthwise conv" in list(fig.data[0].x)
    assert fig.layout.legend.y > 1  # above the plot, clear of the rotated stage names
    ctx = Context(_Clf(), "m", np.zeros((32, 32, 3), np.uint8),  # type: ignore[arg-type]
                  np.full((32, 32, 3), 120, np.float32), "grey", "k", False, 0,
                  Display(None, 0.5, 6, "value"))
    png = report_png(res, ctx, list(res.saliency), "jet")
    img = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
    assert img.shape[1] >= 4 * 32  # the image and three maps in one row
