"""The dashboard's shared code: everything a page in ``pages/`` needs, and nothing it computes.

Pages import :mod:`dashboard.ui` only (``from dashboard import ui``), which gathers what
a page needs; the package imports :mod:`xai_core`. Importing ``dashboard`` itself loads
nothing, so :mod:`dashboard.compute` is usable (and tested) without Streamlit.

- :mod:`dashboard.ui`: the names pages use, gathered from the modules below.
- :mod:`dashboard.state`: widgets whose values live in the URL (one owner per value).
- :mod:`dashboard.models`: which models are offered, loading them once, failure memory.
- :mod:`dashboard.sidebar`: the shared sidebar and the page :class:`Context`.
- :mod:`dashboard.compute`: the explanation store, work queue and shared RISE runs (no
  Streamlit; tested alone).
- :mod:`dashboard.views`: computing results through that layer.
- :mod:`dashboard.comparison`: a page's results as one comparison (each map on its own
  range by default, one range per kind on demand, titled rows, flat maps flagged, the
  report figure). It imports :mod:`dashboard.views`, never the other way round.
- :mod:`dashboard.controls`: method parameters, run buttons, the target class.
- :mod:`dashboard.queue`: the first-come line; :mod:`dashboard.warm`: the background warm-up.
"""
