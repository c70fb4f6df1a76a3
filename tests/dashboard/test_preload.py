"""The pages import the browser's Plotly code as they open (dashboard.preload)."""

from __future__ import annotations

from pathlib import Path

import streamlit as st
from streamlit.testing.v1 import AppTest

from dashboard.preload import _chunk


def test_the_installed_streamlit_has_one_plotly_chart_module():
    """If a Streamlit upgrade renames or splits it, the preload silently stops: fail here."""
    name = _chunk()
    assert name is not None and name.startswith("PlotlyChart.") and name.endswith(".js")
    assert (Path(st.__file__).parent / "static" / "static" / "js" / name).is_file()


def test_a_page_imports_the_module_relative_to_streamlits_own_script():
    def script():
        from dashboard.preload import preload_plotly

        preload_plotly()

    at = AppTest.from_function(script, default_timeout=30).run()
    assert not at.exception
    [html] = at.get("html")
    body = html.proto.body
    assert f'"{_chunk()}"' in body and "import(new URL(" in body
    assert "/static/js/index" in body.replace("\\", "")  # found next to Streamlit's main script
    assert "window.__slPlotlyPreload" in body  # once per tab, however often the page reruns
