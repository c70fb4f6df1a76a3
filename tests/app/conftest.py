"""AppTest set-up shared by the page tests."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _serve_like_a_running_server(monkeypatch):
    """Run every AppTest run through app.py, as a running server does.

    AppTest resets Streamlit's "legacy pages/ folder" flag before each run, so from the
    second run on it executes the page file alone (no app.py, no shared sidebar): a mode a
    real server is in only for its very first run, which dashboard/sidebar.py already leaves.
    Here the legacy runner is replaced by one that runs app.py.
    """
    from streamlit.runtime.pages_manager import PagesManager
    from streamlit.runtime.scriptrunner import script_runner

    def run_main_script(main_script_path: str) -> None:
        PagesManager.uses_pages_directory = False
        path = Path(main_script_path)
        code = compile(path.read_text(encoding="utf-8"), str(path), "exec")
        exec(code, {"__name__": "__main__", "__file__": str(path)})

    monkeypatch.setattr(script_runner, "_mpa_v1", run_main_script)


@pytest.fixture(autouse=True)
def _full_error_details():
    """The served app hides stack traces from users; tests want to see them."""
    from streamlit import config

    old = config.get_option("client.showErrorDetails")
    config.set_option("client.showErrorDetails", "full")
    yield
    config.set_option("client.showErrorDetails", old)
