"""Click-to-picture times in a real browser: ``python -m benchmarks.browser_timing``.

Serves the app (``streamlit run app.py``), opens the home page in Debian's Chromium
(Playwright, ``/usr/bin/chromium``), waits for the top-5 bar chart (model loaded), clicks
*Explain the top class with RISE and LIME* and records when the first result row (one
Plotly figure: image | heatmap | overlay | isolines) and then the second are drawn, with
the app's defaults (auto budget on). Each row is drawn as soon as its own map is ready
(RISE first, then LIME; each kind of map has its own colour scale, so an early row never
changes). ``lime_s`` is counted from the click too. Prints one JSON object per image.

``--store`` measures every page instead, cold and from the warmed explanation store
(``python -m benchmarks.browser_timing --store``, one command): for each page, the time
from clicking its run button with its defaults on a ``data/`` photo (``coffee``, which
``data/espresso/coffee.png`` copies; the picker offers it as that sample) to the last result
row drawn, each page on a freshly started server. Cold: an empty store (the page computes
every row). Warmed: the store filled once by ``saliency-lab warm``, then every page after
a restart, so every row comes from disk. Two runs of each; JSON lines, then a Markdown
table. About 15 minutes on a quiet 2-core machine. ``--warmed-only`` times only the warmed
pages and keeps what the store already holds (the warm-up adds only what is missing): a
few minutes.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks._server import ROOT, served_app

#: Each page: its URL path, its run button's key, and the result figures a click draws
#: (one Plotly figure per result row; the sanity check draws one similarity plot).
STORE_PAGES = {
    "home": ("", "home-run-button", 2),
    "parameter_effect": ("parameter_effect", "params-run-button", 2),
    "cross_class": ("cross_class", "cross-run-button", 2),
    "compare_models": ("compare_models", "models-run-button", 2),
    "mask_size": ("mask_size", "masks-run-button", 2),
    "lime_vs_rise": ("lime_vs_rise", "versus-run-button", 3),
    "sanity_check": ("sanity_check", "sanity-run-button", 1),
}


def _load() -> str:
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def _idle(page, timeout_ms: float) -> None:
    """Wait until the script run has finished (Streamlit's running indicator is gone)."""
    page.wait_for_function(
        "!document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=timeout_ms)


def _time_page(browser, base: str, name: str, image: str, timeout_s: float) -> dict:
    """Open ``name`` on ``image``, click its run button, time until its last figure is drawn."""
    path, button, n = STORE_PAGES[name]
    page = browser.new_page(viewport={"width": 1400, "height": 3000})
    page.goto(f"{base}/{path}?img={image}")
    run = page.locator(f".st-key-{button} button")
    run.wait_for(timeout=timeout_s * 1000)
    _idle(page, timeout_s * 1000)
    time.sleep(1.0)
    before = page.locator(".js-plotly-plot").count()
    t0 = time.perf_counter()
    run.click()
    page.wait_for_function(f"document.querySelectorAll('.js-plotly-plot').length >= {before + 1}",
                           timeout=timeout_s * 1000)
    first = round(time.perf_counter() - t0, 2)
    page.wait_for_function(f"document.querySelectorAll('.js-plotly-plot').length >= {before + n}",
                           timeout=timeout_s * 1000)
    seconds = round(time.perf_counter() - t0, 2)
    _idle(page, timeout_s * 1000)  # the run has ended: every row title is on the page
    text = page.locator("body").inner_text()
    page.close()
    return {"page": name, "s": seconds, "first_s": first,
            "cached_rows": text.count("cached (orig.")}


def _on_fresh_server(browser, env: dict, name: str, image: str, timeout_s: float, log) -> dict:
    with served_app(env=env, log=log) as (base, _):
        return _time_page(browser, base, name, image, timeout_s)


def store_main(args: argparse.Namespace) -> int:
    """Cold vs warmed-store click-to-last-row times per page (see the module docstring)."""
    from playwright.sync_api import sync_playwright

    cache = Path(args.cache_dir)
    cache.mkdir(parents=True, exist_ok=True)
    env = {"XAI_CACHE_DIR": str(cache), "SALIENCY_LAB_WARM": "0"}
    store = cache / "explanations"
    # the photo to warm, alone in a data folder of its own, with exactly the pixels the
    # page shows (the key is the photo's pixels): a data/ photo that copies a sample
    # (data/espresso/coffee.png) is offered in the picker as that sample, whose pixels
    # differ slightly, so the page's name is the sample's and its pixels are written here
    import xai_core as xc

    data = Path(tempfile.mkdtemp(prefix="browser-timing-data-"))
    xc.save_png(data / f"{Path(args.image).stem}.png", xc.load_sample(args.image))
    rows: dict[tuple[str, str], list[dict]] = {}
    phases = ("warm",) if args.warmed_only else ("cold", "warm")
    log = open("/tmp/browser_timing_streamlit.log", "w")  # noqa: SIM115
    with log, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium",
                                     args=["--no-sandbox", "--disable-gpu"])
        for phase in phases:
            if phase == "warm":
                if not args.warmed_only:
                    shutil.rmtree(store, ignore_errors=True)
                t0, load0 = time.perf_counter(), _load()
                subprocess.run([sys.executable, "-m", "xai_core", "warm", str(data),
                                "--no-samples", "--quiet", "--pages", *args.pages],
                               cwd=ROOT, env={**os.environ, **env, "TF_CPP_MIN_LOG_LEVEL": "2"},
                               check=True)
                print(json.dumps({"warm_up_s": round(time.perf_counter() - t0, 1),
                                  "photos": 1, "load": [load0, _load()]}), flush=True)
            for run in (1, 2):
                for name in args.pages:  # each page on a freshly started server
                    if phase == "cold":  # and nothing stored: the page computes every row
                        shutil.rmtree(store, ignore_errors=True)
                    load0 = _load()
                    r = _on_fresh_server(browser, env, name, args.image, args.timeout, log)
                    r.update(phase=phase, run=run, load=[load0, _load()])
                    rows.setdefault((name, phase), []).append(r)
                    print(json.dumps(r), flush=True)
        browser.close()
    shutil.rmtree(data, ignore_errors=True)
    print("\n| page | cold run 1 (s) | cold run 2 (s) | warmed run 1 (s) | warmed run 2 (s) "
          "| rows from the store (warmed) | 1-min load (warmed) |")
    print("|---|---:|---:|---:|---:|---|---|")
    for name in args.pages:
        cold, warm = rows.get((name, "cold"), []), rows.get((name, "warm"), [])
        cells = [f"{r['s']:.2f}" for r in cold] or ["–", "–"]
        cells += [f"{r['s']:.2f}" for r in warm]
        cached = ", ".join(str(r["cached_rows"]) for r in warm)
        load = ", ".join("–".join(x.split()[0] for x in r["load"]) for r in warm)
        print(f"| {name} | " + " | ".join(cells) + f" | {cached} | {load} |")
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.browser_timing")
    p.add_argument("--model", default="efficientnet_lite0")
    p.add_argument("--images", nargs="+", default=["coffee", "chelsea", "rocket"])
    p.add_argument("--timeout", type=float, default=240.0)
    p.add_argument("--store", action="store_true",
                   help="every page, cold and from the warmed explanation store")
    p.add_argument("--warmed-only", action="store_true",
                   help="with --store: only the warmed runs, on the store as it is")
    p.add_argument("--image", default="coffee",
                   help="with --store: the picker's photo the pages run on (coffee: the "
                        "photo of data/espresso/coffee.png, offered as the sample it copies)")
    p.add_argument("--pages", nargs="+", default=list(STORE_PAGES), choices=list(STORE_PAGES),
                   help="with --store: the pages to time")
    p.add_argument("--cache-dir", default=os.path.join(tempfile.gettempdir(),
                                                       "saliency-lab-browser-timing"),
                   help="with --store: XAI_CACHE_DIR of the runs (its explanations/ is "
                        "emptied; converted models are kept between runs)")
    args = p.parse_args(argv)
    if args.store:
        return store_main(args)
    from playwright.sync_api import sync_playwright

    log = open("/tmp/browser_timing_streamlit.log", "w")  # noqa: SIM115
    with log, served_app(log=log) as (base, _), sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium",
                                     args=["--no-sandbox", "--disable-gpu"])
        for name in args.images:
            page = browser.new_page(viewport={"width": 1400, "height": 2400})
            page.goto(f"{base}/?model={args.model}&img={name}")
            page.locator(".js-plotly-plot").first.wait_for(timeout=180_000)  # the top-5 bars
            time.sleep(1.0)
            t0 = time.perf_counter()
            page.get_by_role("button", name="Explain the top class with RISE and LIME").click()
            marks: dict[str, float] = {}
            # waited for inside the page (checked every animation frame), not by polling
            # from here: polling every 50 ms cost Chromium 2.3 CPU-seconds per run instead of
            # 1.6-1.8, on the two cores the model needs
            for key, n in (("rise_s", 2), ("lime_s", 3)):  # after the top-5 bars
                page.wait_for_function(
                    f"document.querySelectorAll('.js-plotly-plot').length >= {n}",
                    timeout=args.timeout * 1000)
                marks[key] = round(time.perf_counter() - t0, 2)
            notes = page.locator("p").all_inner_texts()
            budget = [t for t in notes if " masks" in t or " samples" in t]
            print(json.dumps({"model": args.model, "image": name, **marks,
                              "captions": budget[:4]}), flush=True)
            page.close()
        browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
