"""End to end in a real browser: the served app, Debian's Chromium driven by Playwright.

Starts ``streamlit run app.py`` on a loopback port, opens every page with a link that
asks for a small explanation on the offline model, waits for the figures and checks no
error box is shown. Screenshots go to ``artifacts/screenshots/``.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
SHOTS = ROOT / "artifacts" / "screenshots"

pytestmark = pytest.mark.browser

playwright = pytest.importorskip("playwright.sync_api")
if not Path(CHROMIUM).exists():
    pytest.skip("Debian's chromium is not installed (apt-get install chromium)", allow_module_level=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(square_cnn, tmp_path_factory):
    _, model_path = square_cnn
    tiny = tmp_path_factory.mktemp("e2e") / "tiny.keras"
    shutil.copy(model_path, tiny)
    port = free_port()
    env = {**os.environ, "SALIENCY_LAB_EXTRA_MODELS": str(tiny), "TF_CPP_MIN_LOG_LEVEL": "2",
           "XAI_CACHE_DIR": str(tmp_path_factory.mktemp("cache"))}
    env.pop("SALIENCY_LAB_MODELS", None)
    log = open(tmp_path_factory.mktemp("log") / "streamlit.log", "w")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail("the Streamlit server did not start within 60 s")
    yield base, tiny.name  # models are offered by file name, never by server path
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


@pytest.fixture(scope="module")
def browser():
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--no-first-run", "--disable-sync"],
        )
        yield b
        b.close()


def small(**extra: str) -> str:
    params = {"rn": "40", "ln": "40", "an": "40", "bn": "40", "cn": "40", "mn": "40", "n": "40",
              **extra}
    return "&".join(f"{k}={v}" for k, v in params.items())


CASES = [
    ("parameter_effect", small(method="rise", run="params"), 2),
    ("cross_class", small(method="rise", run="cross"), 2),
    ("mask_size", small(sizes="4,7", run="masks"), 2),
    ("lime_vs_rise", small(run="versus"), 2),
]


def open_and_wait(page, url: str, n_charts: int, name: str, timeout: float = 150.0) -> None:
    page.goto(url)
    wait_for_figures(page, n_charts, name, timeout)


def wait_for_figures(page, n_charts: int, name: str, timeout: float = 150.0) -> None:
    """Wait until ``n_charts`` Plotly figures are drawn; screenshot; no error box allowed."""
    deadline = time.time() + timeout
    charts = 0
    while time.time() < deadline:
        charts = page.locator(".js-plotly-plot").count()
        if charts >= n_charts:
            break
        if page.locator('[data-testid="stException"]').count():
            break
        time.sleep(1.0)
    time.sleep(1.0)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
    exceptions = page.locator('[data-testid="stException"]')
    assert exceptions.count() == 0, exceptions.first.inner_text()
    assert "Traceback" not in page.content()
    assert charts >= n_charts, f"{name}: {charts} figures after {timeout:.0f} s"


def test_home_shows_top5_and_explains(server, browser):
    base, _ = server
    page = browser.new_page(viewport={"width": 1400, "height": 2400})
    page.goto(base)
    page.get_by_text("Top-5 classes").wait_for(timeout=90_000)
    page.get_by_text("as efficientnet_lite0 sees it").wait_for(timeout=90_000)
    page.locator(".js-plotly-plot").first.wait_for(timeout=60_000)  # the top-5 bars
    assert "espresso" in page.locator(".js-plotly-plot").first.inner_text()
    page.get_by_role("button", name="Explain the top class with RISE and LIME").click()
    wait_for_figures(page, 3, "home", timeout=150)  # and one row per result
    page.close()


@pytest.mark.parametrize("path, query, n_charts", CASES, ids=[c[0] for c in CASES])
def test_experiment_pages(server, browser, path, query, n_charts):
    base, _ = server
    page = browser.new_page(viewport={"width": 1400, "height": 2400})
    open_and_wait(page, f"{base}/{path}?{query}", n_charts, path)
    page.close()


def test_model_comparison(server, browser):
    base, tiny = server
    page = browser.new_page(viewport={"width": 1400, "height": 2400})
    url = f"{base}/compare_models?m1=efficientnet_lite0&m2={tiny}&{small(method='rise', run='models')}"
    open_and_wait(page, url, 2, "compare_models")
    page.close()
