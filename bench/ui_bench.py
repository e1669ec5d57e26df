"""Benchmark warm page loads of the app's overview and model card on a store of seventeen models.

The store contains the eleven real AlpacaEval models (imported and scored) and the six simulated
personas (``bsb collect --samples 1``, scored), with stored signature cards. It is built at
``--db`` when missing (about ten minutes on two cores, mostly spaCy) and reused when present.

Each page is loaded once cold (empty caches), then ``--repeats`` times warm, each time as a new
session, the way a reload reaches the server. Two clocks are used: an AppTest run (the page
script on the server, no browser) and Debian's chromium through Playwright (from navigation
until the script run has finished and every chart has drawn). The reference is the same
measurement of a one-line Streamlit page, so the ratio does not depend on the machine.
Target: warm loads under one second.

    .venv/bin/python bench/ui_bench.py [--db PATH] [--repeats 5] [--no-browser]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bsb_core.paths import shared_data_dir  # noqa: E402
from bsb_core.store import Store  # noqa: E402

SIM_PERSONAS = ("sim/terse", "sim/bulleteer", "sim/hedger", "sim/json-strict", "sim/format-loose", "sim/warm")
ALPACA_MODELS = 11
TARGET_S = 1.0
# A page with one text element: the cost of any Streamlit page load, for the ratio.
REFERENCE_SCRIPT = "import streamlit as st\nst.title('Reference')\nst.write('one line')\n"
# Page script, URL path, and the charts and visible tables the page draws (the browser clock
# stops when all of them are drawn).
PAGES = {"overview": ("views/overview.py", "", 1, 2), "model card": ("views/card.py", "card?model=sim/bulleteer", 2, 0)}
APPTEST_TIMEOUT_S = 600
BROWSER_TIMEOUT_MS = 600_000
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
# True once at least `charts` Altair charts have drawn (canvas or SVG) and at least `tables`
# visible tables have drawn their grid. Tables in collapsed expanders draw only when opened.
PAGE_DRAWN = """([chartCount, tableCount]) => {
    const charts = [...document.querySelectorAll('[data-testid="stVegaLiteChart"]')];
    const tables = [...document.querySelectorAll('[data-testid="stDataFrame"]')].filter(
        table => table.checkVisibility({visibilityProperty: true, opacityProperty: true}));
    return charts.length >= chartCount && charts.every(chart => chart.querySelector('canvas, svg'))
        && tables.length >= tableCount && tables.every(table => table.querySelector('canvas'));
}"""


def build_store(path: Path) -> None:
    """Import and score AlpacaEval, collect and score the personas, and store the cards, unless already done."""
    from click.testing import CliRunner

    from bsb_core.cli import main
    from bsb_core.importers import import_file
    from bsb_core.scoring import score_store
    from bsb_core.signature import refresh_signatures

    with Store(path) as store:
        names = {row["name"] for row in store.models()}
        files = sorted((shared_data_dir() / "alpaca_eval").glob("*.jsonl"))
        if len(files) != ALPACA_MODELS:
            sys.exit(f"expected {ALPACA_MODELS} AlpacaEval files in {shared_data_dir() / 'alpaca_eval'}, found {len(files)}; set BSB_SHARED_DATA")
        for file in files:
            if file.stem not in names:
                print(f"importing {file.name}", file=sys.stderr)
                import_file(store, file, "jsonl")
    missing = [spec for spec in SIM_PERSONAS if spec not in names]
    if missing:
        print(f"collecting {', '.join(missing)}", file=sys.stderr)
        result = CliRunner().invoke(main, ["collect", "--models", ",".join(missing), "--samples", "1", "--db", str(path)])
        if result.exit_code != 0:
            sys.exit(f"bsb collect failed: {result.output}")
    with Store(path) as store:
        print("scoring (only responses without values)", file=sys.stderr)
        score_store(store, workers=2)
        if store.count("signatures") < ALPACA_MODELS + len(SIM_PERSONAS):
            print("computing signature cards", file=sys.stderr)
            refresh_signatures(store)


def summary(label: str, cold: float, warm: list[float], reference: float) -> str:
    """Return one result line: cold, warm median and maximum, and the warm median over the reference."""
    median = statistics.median(warm)
    verdict = "under" if median < TARGET_S else "OVER"
    return (
        f"{label:<28} cold {cold:6.3f} s   warm median {median:6.3f} s, max {max(warm):6.3f} s "
        f"({verdict} {TARGET_S:.0f} s)   warm / reference {median / reference:4.1f}x"
    )


def timed_run(app) -> float:
    """Return the seconds one AppTest run takes; exit naming the exception when the page raised one."""
    start = time.perf_counter()
    app.run()
    elapsed = time.perf_counter() - start
    if app.exception:
        sys.exit(f"the page raised: {app.exception[0].value}")
    return elapsed


def apptest_times(db: Path, repeats: int) -> list[str]:
    """Time AppTest runs of the reference page and of each benchmarked page, cold then warm.

    The first run of an AppTest instance also scans the installed packages for Streamlit
    components (about half a second), so every timed load is the second run of a fresh
    instance. The cold load clears the caches before its timed run; the warm loads do not.
    """
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    os.environ["BSB_DB"] = str(db)
    app_file = str(Path(__file__).resolve().parent.parent / "ui" / "app.py")

    reference = []
    for _ in range(repeats):
        app = AppTest.from_string(REFERENCE_SCRIPT, default_timeout=APPTEST_TIMEOUT_S)
        app.run()
        reference.append(timed_run(app))
    reference_median = statistics.median(reference)
    lines = [f"{'reference (one-line page)':<28} warm median {reference_median:6.3f} s"]

    for label, (script, *_) in PAGES.items():
        runs = []
        for index in range(repeats + 1):
            app = AppTest.from_file(app_file, default_timeout=APPTEST_TIMEOUT_S)
            app.run()
            if script != PAGES["overview"][0]:
                app.switch_page(script)
            if index == 0:
                st.cache_data.clear()
            runs.append(timed_run(app))
        lines.append(summary(label, runs[0], runs[1:], reference_median))
    return lines


def browser_times(db: Path, repeats: int) -> list[str]:
    """Time page loads in chromium against ``streamlit run``, cold then warm, with the reference page served the same way."""
    from playwright.sync_api import sync_playwright

    from ui.server import AppServer

    with tempfile.TemporaryDirectory(prefix="bsb-ui-bench-") as folder:
        reference_app = Path(folder) / "reference.py"
        reference_app.write_text(REFERENCE_SCRIPT, encoding="utf-8")
        with sync_playwright() as playwright:
            context = playwright.chromium.launch_persistent_context(
                str(Path(folder) / "profile"), executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
                viewport={"width": 1400, "height": 1000},
            )  # fmt: skip
            page = context.new_page()
            page.set_default_timeout(BROWSER_TIMEOUT_MS)

            def load(url: str, charts: int = 0, tables: int = 0) -> float:
                start = time.perf_counter()
                page.goto(url)
                page.wait_for_selector(IDLE)
                page.wait_for_function(PAGE_DRAWN, arg=[charts, tables])
                return time.perf_counter() - start

            with AppServer(app=reference_app) as reference_server:
                reference = [load(reference_server.url) for _ in range(repeats + 1)]
            reference_median = statistics.median(reference[1:])
            lines = [f"{'reference (one-line page)':<28} warm median {reference_median:6.3f} s"]
            with AppServer(db=db) as server:
                for label, (_, path, charts, tables) in PAGES.items():
                    times = [load(f"{server.url}/{path}", charts, tables) for _ in range(repeats + 1)]
                    lines.append(summary(label, times[0], times[1:], reference_median))
            context.close()
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, default=Path(tempfile.gettempdir()) / "bsb-ui-bench.db", help="store to build or reuse")
    parser.add_argument("--repeats", type=int, default=5, help="warm loads per page")
    parser.add_argument("--no-browser", action="store_true", help="skip the chromium measurement")
    args = parser.parse_args()

    build_store(args.db)
    with Store(args.db) as store:
        models, responses, cards = store.count("models"), store.count("responses"), store.count("signatures")
    print(f"store {args.db}: {models} models, {responses} responses, {cards} signature cards")
    print(f"AppTest (page script on the server), {args.repeats} warm runs per page:")
    for line in apptest_times(args.db, args.repeats):
        print("  " + line)
    if not args.no_browser:
        print(f"chromium (navigation until the script run ends and every chart is drawn), {args.repeats} warm loads per page:")
        for line in browser_times(args.db, args.repeats):
            print("  " + line)


if __name__ == "__main__":
    main()
