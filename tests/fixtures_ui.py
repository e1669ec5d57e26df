"""Stores and an AppTest helper for the app's tests.

``ui_store`` is the six simulated personas collected with ``bsb collect --samples 1``, scored
with ``bsb score`` and with their signature cards stored by ``refresh_signatures`` (about two
minutes on two cores, mostly spaCy). ``baseline_store`` is a slice of the real AlpacaEval
transcripts: baseline answers only, so every contrast-stream section is unavailable.
``mixed_store`` is ``ui_store`` plus one of those real models, as most real stores are.
tests/conftest.py registers this module as a plugin, so every test module sees the fixtures
and each store is built once per test process. Set ``BSB_UI_DB`` to a store path to keep the
simulated store between sessions: it is built there when missing.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from bsb_core.cli import main
from bsb_core.importers import import_file
from bsb_core.scoring import score_store
from bsb_core.signature import refresh_signatures
from bsb_core.store import Store

APP = Path(__file__).resolve().parent.parent / "ui" / "app.py"
PAGES = (
    "views/overview.py",
    "views/card.py",
    "views/compare.py",
    "views/drift.py",
    "views/recommend.py",
    "views/runs.py",
    "views/settings.py",
)
SIM_PERSONAS = ("sim/terse", "sim/bulleteer", "sim/hedger", "sim/json-strict", "sim/format-loose", "sim/warm")
# AlpacaEval files and rows per file in the baseline slice: enough for percentiles among three models.
BASELINE_FILES = ("claude-2.1.jsonl", "gpt4_1106_preview.jsonl", "Mixtral-8x7B-Instruct-v0.1.jsonl")
BASELINE_ROWS = 30
# Seconds one AppTest run may take: the first load of a store reads every card, and the
# Compare page runs permutation tests, on a loaded two-core machine.
APPTEST_TIMEOUT_S = 180


def build_sim_store(path: Path) -> Path:
    """Collect, score and sign the simulated personas into ``path`` through the ``bsb`` CLI."""
    runner = CliRunner()
    with Store(path) as store:
        empty = store.count("responses") == 0
    if empty:
        collected = runner.invoke(main, ["collect", "--models", ",".join(SIM_PERSONAS), "--samples", "1", "--db", str(path)])
        if collected.exit_code != 0:
            pytest.fail(f"bsb collect failed (exit {collected.exit_code}): {collected.output}\n{collected.exception!r}")
    scored = runner.invoke(main, ["score", "--db", str(path)])
    if scored.exit_code != 0:
        pytest.fail(f"bsb score failed (exit {scored.exit_code}): {scored.output}\n{scored.exception!r}")
    with Store(path) as store:
        refresh_signatures(store)
    return path


def build_baseline_store(path: Path, alpaca_dir: Path, files: tuple[str, ...] = BASELINE_FILES) -> Path:
    """Import the first BASELINE_ROWS rows of each of ``files`` into ``path``, score them and sign them."""
    with Store(path) as store:
        for name in files:
            lines = (alpaca_dir / name).read_text(encoding="utf-8").splitlines()[:BASELINE_ROWS]
            part = path.parent / name
            part.write_text("\n".join(lines) + "\n", encoding="utf-8")
            import_file(store, part, "jsonl")
        score_store(store)
        refresh_signatures(store)
    return path


@pytest.fixture(scope="session")
def ui_store(tmp_path_factory) -> Path:
    """Path of a store with the six simulated personas, scored, with stored signature cards."""
    explicit = os.environ.get("BSB_UI_DB")
    return build_sim_store(Path(explicit) if explicit else tmp_path_factory.mktemp("ui-sim") / "bsb.db")


@pytest.fixture(scope="session")
def baseline_store(shared_data, tmp_path_factory) -> Path:
    """Path of a store with three real AlpacaEval models (baseline stream only), scored and signed."""
    return build_baseline_store(tmp_path_factory.mktemp("ui-baseline") / "bsb.db", shared_data / "alpaca_eval")


@pytest.fixture(scope="session")
def mixed_store(ui_store, shared_data, tmp_path_factory) -> Path:
    """Path of a copy of ``ui_store`` plus one real AlpacaEval model: models with and without contrast data."""
    path = tmp_path_factory.mktemp("ui-mixed") / "bsb.db"
    shutil.copyfile(ui_store, path)
    return build_baseline_store(path, shared_data / "alpaca_eval", BASELINE_FILES[:1])


@pytest.fixture()
def empty_store(tmp_path) -> Path:
    """Path of a migrated store with no data."""
    path = tmp_path / "empty.db"
    Store(path).close()
    return path


def open_page(db: Path, page: str, monkeypatch: pytest.MonkeyPatch):
    """Run the app on store ``db`` (through ``BSB_DB``), switch to ``page`` and return the AppTest."""
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("BSB_DB", str(db))
    monkeypatch.delenv("BSB_CONFIG", raising=False)
    app = AppTest.from_file(str(APP), default_timeout=APPTEST_TIMEOUT_S)
    app.run()
    if page != PAGES[0]:
        app.switch_page(page).run()
    return app


def page_text(app) -> str:
    """Return the text of every markdown, caption, info, warning, error and success element, joined."""
    parts = []
    for kind in ("markdown", "caption", "info", "warning", "error", "success", "title", "subheader", "code"):
        parts.extend(str(element.value) for element in app.get(kind))
    return "\n".join(parts)
