"""The app in a real browser: Debian's chromium driven by Playwright against ``streamlit run`` on 127.0.0.1.

Opens every page, submits the recommender form, downloads the PDF card and saves screenshots
of the overview and a model card under test-artifacts/ (copied by hand to docs/screenshots/).
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest

from bsb_core.cards import store_cards
from bsb_core.recommend import profile_from, recommend
from bsb_core.store import Store
from ui.server import REPO_ROOT, AppServer
from ui.tables import model_label

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
ARTIFACTS = REPO_ROOT / "test-artifacts"
# Milliseconds a page may take to finish its script run; a first load reads every card.
PAGE_TIMEOUT_MS = 180_000
# Milliseconds the PDF card may take: it renders five charts with vl-convert on click.
PDF_TIMEOUT_MS = 300_000
# Milliseconds a one-persona collection with scoring may take; the temporary Prefect server
# alone can take half a minute to start on a loaded two-core machine.
COLLECT_TIMEOUT_MS = 600_000
VIEWPORT = {"width": 1400, "height": 1000}
# Hosts and URL schemes the app's pages may load from. Any other request is blocked and recorded.
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
LOCAL_SCHEMES = {"data", "blob", "about"}
PAGES = {
    "": "Overview",
    "card": "Model card",
    "compare": "Compare",
    "drift": "Drift map",
    "recommend": "Which model fits my task",
    "runs": "Runs",
    "settings": "Settings",
}
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


@pytest.fixture(scope="module")
def app_url(ui_store):
    """Address of the app served on a free port of 127.0.0.1 with the simulated store."""
    ARTIFACTS.mkdir(exist_ok=True)
    with AppServer(db=ui_store, log_file=ARTIFACTS / "streamlit.log") as server:
        yield server.url


# Requests to other hosts made by any page this module opened, blocked before they left.
FOREIGN_REQUESTS: list[str] = []


def is_local(url: str) -> bool:
    """Return True when ``url`` is served by this machine's loopback or needs no network."""
    parts = urlsplit(url)
    return parts.scheme in LOCAL_SCHEMES or parts.hostname in LOCAL_HOSTS


def block_foreign(route) -> None:
    """Continue loopback requests, and record and abort every other one."""
    if is_local(route.request.url):
        route.continue_()
    else:
        FOREIGN_REQUESTS.append(route.request.url)
        route.abort()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    """A headless chromium context with a fresh user-data folder that blocks (and records) requests to other hosts."""
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} not found: run scripts/system_deps.sh (make test runs it) to install Debian's chromium")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")), executable_path=str(CHROMIUM), headless=True,
            args=CHROMIUM_ARGS, viewport=VIEWPORT, accept_downloads=True,
        )  # fmt: skip
        context.route("**/*", block_foreign)
        yield context
        context.close()


def open_page(browser, url: str):
    """Open ``url`` in a new tab and return it once the app's script run has finished."""
    page = browser.new_page()
    page.set_default_timeout(PAGE_TIMEOUT_MS)
    page.goto(url)
    page.wait_for_selector(IDLE)
    return page


def wait_for_drawing(page, charts: int, tables: int) -> None:
    """Wait until at least ``charts`` Altair charts and ``tables`` visible tables have drawn.

    The script run can end before the browser has drawn the elements it sent, so the run
    state alone does not say the page is complete.
    """
    page.wait_for_function(PAGE_DRAWN, arg=[charts, tables])


@pytest.mark.parametrize("path", list(PAGES), ids=lambda path: path or "overview")
def test_browser_opens_page(path, app_url, browser):
    page = open_page(browser, f"{app_url}/{path}")
    try:
        heading = page.locator("h1").first.inner_text()
        exceptions = page.locator('[data-testid="stException"]').count()
        not_found = page.get_by_text("Page not found").count()
    finally:
        page.close()
    assert heading == PAGES[path]
    assert exceptions == 0
    assert not_found == 0


def test_browser_recommender(app_url, browser, ui_store):
    page = open_page(browser, f"{app_url}/recommend")
    try:
        page.get_by_role("button", name="Rank models").click()
        page.get_by_text("Ranking for custom").wait_for()
        page.wait_for_selector(IDLE)
        # The summary's first line is the expander's icon name; the label is the last line.
        first = page.locator('[data-testid="stExpander"] summary').first.inner_text().strip().splitlines()[-1]
    finally:
        page.close()
    with Store(ui_store) as store:
        best = recommend(store_cards(store), profile_from(None))[0]
    assert first == f"#1 {model_label(best.model, best.simulated)}: score {best.score:.1f}"


def test_browser_card_section_link(app_url, browser):
    page = open_page(browser, f"{app_url}/card?model=sim/warm&card_section=Drift")
    try:
        page.get_by_text("Drift magnitude").wait_for()
        heading = page.locator("h3").first.inner_text()
    finally:
        page.close()
    assert heading == "sim/warm"


def test_browser_pdf_card(app_url, browser):
    page = open_page(browser, f"{app_url}/card?model=sim/terse")
    try:
        with page.expect_download(timeout=PDF_TIMEOUT_MS) as download:
            page.get_by_role("button", name="Download PDF card").click()
        target = ARTIFACTS / "sim_terse.card.pdf"
        download.value.save_as(target)
    finally:
        page.close()
    assert target.read_bytes()[:5] == b"%PDF-"


@pytest.mark.parametrize(("name", "path", "charts", "tables"), [("overview", "", 1, 2), ("card", "card?model=sim/bulleteer", 2, 0)])
def test_browser_screenshot(name, path, charts, tables, app_url, browser):
    page = open_page(browser, f"{app_url}/{path}")
    try:
        wait_for_drawing(page, charts, tables)
        target = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(target))
    finally:
        page.close()
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_browser_contacts_only_loopback(app_url, browser):
    """Check that no page requests anything outside 127.0.0.1 (icons, fonts and scripts included).

    The pages opened by the tests above count too. This test also opens the overview and a
    card itself, so the check works when it runs alone.
    """
    for path in ("", "card?model=sim/bulleteer"):
        page = open_page(browser, f"{app_url}/{path}")
        try:
            wait_for_drawing(page, 1, 0)
        finally:
            page.close()
    assert FOREIGN_REQUESTS == []


@pytest.mark.slow
def test_browser_collection_progress(browser, tmp_path):
    with AppServer(db=tmp_path / "bsb.db", log_file=ARTIFACTS / "streamlit-collect.log") as server:
        page = open_page(browser, f"{server.url}/runs")
        try:
            page.get_by_role("combobox", name="Models").click()
            page.keyboard.type("sim/terse")
            page.keyboard.press("Enter")
            page.keyboard.press("Escape")
            page.get_by_role("button", name="Start collection").click()
            page.get_by_text("collect sim/terse:").first.wait_for(timeout=COLLECT_TIMEOUT_MS)
            page.get_by_text("BSB run 1 completed").wait_for(timeout=COLLECT_TIMEOUT_MS)
            # The page reruns when the job ends, so the runs table replaces the empty-store guide.
            page.locator('[data-testid="stDataFrame"]').first.wait_for()
            guide = page.get_by_text("No BSB store at").count()
        finally:
            page.close()
    assert guide == 0
