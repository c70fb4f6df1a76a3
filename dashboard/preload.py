"""Load the browser's Plotly code while a page opens, not when its first result arrives.

Streamlit fetches and runs its Plotly chart code (about 5 MB of JavaScript) the first time
a page of the tab draws a Plotly chart. On the home page the top-5 bar chart does that
before any click; on a page opened directly by a link the first result row did, and the
rows came 1.5-2 s after their titles on a loaded 2-core machine (measured on LIME vs RISE
with stored results: titles at 0.4-1.6 s, the three rows together at 3.1-3.5 s). This
module imports that code in the background as the page opens instead.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import streamlit as st


@cache
def _chunk() -> str | None:
    """The file name of Streamlit's Plotly chart module (``PlotlyChart.<hash>.js``), if any."""
    folder = Path(st.__file__).parent / "static" / "static" / "js"
    found = sorted(folder.glob("PlotlyChart.*.js"))
    return found[0].name if len(found) == 1 else None


def preload_plotly() -> None:
    """Import Streamlit's Plotly chart module in the page, once per tab, if it can be found.

    The module's address is taken relative to Streamlit's own main script, so a server
    under a path prefix works too; any failure is ignored (the chart then loads on first
    use, as before).
    """
    name = _chunk()
    if name is None:
        return
    st.html(
        "<script>(() => {"
        "if (window.__slPlotlyPreload) return; window.__slPlotlyPreload = true;"
        "const main = [...document.querySelectorAll('script[src]')]"
        ".find(s => /\\/static\\/js\\/index\\.[^/]*\\.js$/.test(s.src));"
        f"if (main) import(new URL({json.dumps(name)}, main.src).href).catch(() => {{}});"
        "})();</script>",
        unsafe_allow_javascript=True,
    )
