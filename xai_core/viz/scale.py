"""Value ranges for maps and comparisons, readable colour-bar ticks, and flat maps.

Two ways to colour several maps of one kind:

- **Each on its own range** (the dashboard's default): every map uses its whole colormap,
  so its shape is legible, and its title states its spread (:func:`percentile_range`) so
  its magnitude is not lost. One absolute scale for RISE maps made with different settings
  would mostly show their offsets: a RISE map's level is the mean class score under the
  masks (≈ 0.05 at s = 15, ≈ 0.3 at s = 7 on coffee), so the s = 15 map spanning
  0.045–0.057 covered 2% of a page range of 0.044–0.503 and came out a flat block.
- **One range for all** (:func:`shared_value_range`), for honest magnitudes: RISE maps
  *centred* first (:func:`centred`, each map minus its mean: how much more likely the class
  is when a part is kept than on average) on a range symmetric about 0; LIME's signed
  weights as they are.

:func:`range_coverage` measures how much of a colour range a map's values use;
:func:`flatness` says when a map has hardly any contrast to show.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from xai_core.viz.colors import _check_saliency, _value_range

#: A map whose :func:`flatness` is below this is called flat (see :func:`flatness`).
FLAT_BELOW = 0.1


def shared_value_range(maps: Iterable[np.ndarray]) -> tuple[float, float]:
    """The value range that draws several maps of one kind on one scale.

    Signed maps (any negative value in any map, as LIME's weights): ``(-m, m)`` with
    ``m`` the largest absolute value over all maps, so 0 is the diverging colormap's
    centre on every map. Unsigned maps (RISE's scores): the smallest minimum to the
    largest maximum. Pass the result as ``value_range=`` to the renderers.

    Parameters
    ----------
    maps : iterable of numpy.ndarray
        Float (H, W) maps, at least one.

    Returns
    -------
    (float, float)
        ``(lo, hi)`` with ``lo <= hi``.
    """
    ranges = [_value_range(_check_saliency(m)) for m in maps]
    if not ranges:
        raise ValueError("shared_value_range needs at least one map")
    lo, hi = min(r[0] for r in ranges), max(r[1] for r in ranges)
    if lo < 0.0:
        m = max(-lo, abs(hi))
        return -m, m
    return lo, hi


def centred(saliency: np.ndarray) -> np.ndarray:
    """``saliency`` minus its mean, as float64 (H, W): values above 0 are above average."""
    sal = _check_saliency(saliency).astype(np.float64)
    return sal - float(sal.mean())


def percentile_range(saliency: np.ndarray) -> tuple[float, float]:
    """The map's 1st and 99th percentiles: its spread with a stray pixel ignored."""
    q1, q99 = np.percentile(_check_saliency(saliency), [1.0, 99.0])
    return float(q1), float(q99)


def range_coverage(saliency: np.ndarray, value_range: tuple[float, float]) -> float:
    """The fraction of ``value_range`` that the map's values span, in [0, 1].

    ``(min(hi, max) - max(lo, min)) / (hi - lo)``: 1 when the map uses every colour of the
    range, about 0 for a map drawn as one flat colour. A constant map covers 0.
    """
    checked = check_value_range(value_range)
    if checked is None:
        raise ValueError("range_coverage needs a value range (lo, hi)")
    lo, hi = checked
    sal = _check_saliency(saliency)
    top, bottom = min(hi, float(sal.max())), max(lo, float(sal.min()))
    return max(0.0, top - bottom) / (hi - lo)


def check_value_range(value_range: object) -> tuple[float, float] | None:
    """``None``, or ``value_range`` as two finite floats ``lo < hi`` (else ``ValueError``)."""
    if value_range is None:
        return None
    try:
        lo, hi = (float(v) for v in value_range)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        raise ValueError(f"value_range must be two numbers (lo, hi); got {value_range!r}") from None
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        raise ValueError(f"value_range must be two finite numbers with lo < hi; got {value_range!r}")
    return lo, hi


def nice_ticks(lo: float, hi: float, max_ticks: int = 6) -> tuple[list[float], list[str]]:
    """At most ``max_ticks`` round tick values in [lo, hi], all written with one precision.

    The step is 1, 2, 2.5 or 5 times a power of ten; the labels have as many decimals as
    the step needs (``0.40, 0.45, 0.50``, never ``0.4, 0.45, 0.5``).

    Returns
    -------
    (list of float, list of str)
        Tick values (increasing) and their labels.
    """
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [float(lo)], [f"{lo:.3g}"]
    n = max(2, int(max_ticks))
    raw = (hi - lo) / (n - 1)
    power = 10.0 ** math.floor(math.log10(raw))
    for mult in (1.0, 2.0, 2.5, 5.0, 10.0):
        step = mult * power
        first = math.ceil(lo / step - 1e-9)
        last = math.floor(hi / step + 1e-9)
        if last - first + 1 <= n:
            break
    decimals = max(0, -math.floor(math.log10(step) + 1e-12)) + (1 if mult == 2.5 else 0)
    values = [k * step for k in range(first, last + 1)]
    values = [0.0 if abs(v) < step * 1e-9 else v for v in values]
    return values, [f"{v:.{decimals}f}" for v in values]


def map_spread(saliency: np.ndarray) -> float:
    """The map's robust spread: its 99th minus its 1st percentile (one stray pixel ignored)."""
    q1, q99 = percentile_range(saliency)
    return q99 - q1


def flatness(saliency: np.ndarray, method: str, probability: float) -> float:
    """How much the class score depends on *where* the image is hidden, as a fraction.

    The map's robust spread (:func:`map_spread`) divided by the class score it is made of:

    - **RISE**: each value is the expected class score when that pixel is kept (Petsiuk et
      al., 2018), so the map's mean is the model's typical score on masked images. The
      spread divided by that mean says how much keeping the most important rather than the
      least important part changes the score, relative to the score itself.
    - **LIME**: each value is a superpixel's weight in a linear model of the score, in
      probability units, so the spread is divided by the class probability on the whole
      image.

    Below :data:`FLAT_BELOW` (10 %), keeping or hiding any part moves the score by less
    than a tenth of its size: the colours of a min-max scaled map then mostly show Monte
    Carlo noise and small effects stretched to full contrast. Measured on
    EfficientNet-Lite0, seed 0 — RISE (500 masks): coffee/espresso 0.21, coffee/cup 0.17,
    chelsea/tiger cat 0.15, chelsea/Egyptian cat 0.075 (the map first users called
    "flat", spanning 0.58–0.63); LIME (300 samples): coffee/espresso 0.35, chelsea/Egyptian
    cat 0.30, astronaut/bobsled 0.07 (p = 0.23, weights within ±0.013). The spread alone
    would not do: the cup map spans only 0.012 but is a sixth of its tiny score.

    Parameters
    ----------
    saliency : numpy.ndarray
        Float (H, W) map as drawn (RISE's clipped at 0).
    method : {"rise", "lime"}
        How the map was made.
    probability : float
        The model's probability for the class on the whole image (used for LIME).

    Returns
    -------
    float
        ``>= 0``; ``inf`` when the reference score is 0 but the map is not constant.
    """
    spread = map_spread(saliency)
    if method == "rise":
        reference = float(np.mean(np.abs(np.asarray(saliency, dtype=np.float64))))
    elif method == "lime":
        reference = float(probability)
    else:
        raise ValueError(f"method must be 'rise' or 'lime'; got {method!r}")
    if not math.isfinite(reference) or reference <= 0.0:
        return math.inf if spread > 0 else 0.0
    return spread / reference


def is_flat(saliency: np.ndarray, method: str, probability: float) -> bool:
    """Whether :func:`flatness` is below :data:`FLAT_BELOW`."""
    return flatness(saliency, method, probability) < FLAT_BELOW
