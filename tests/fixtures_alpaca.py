"""Session fixture ``alpaca_store``: the eleven AlpacaEval models imported and scored once per session.

Use it from a test file with ``from fixtures_alpaca import alpaca_store  # noqa: F401``.
Building it imports about 8.9k responses and scores them (minutes on two cores), so tests
that use it are marked slow. Set ``BSB_ALPACA_DB`` to a store path to keep the scored store
between sessions: it is built there when missing and reused (and topped up by scoring)
when present.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bsb_core.importers import import_file
from bsb_core.scoring import score_store
from bsb_core.store import Store

ALPACA_MODELS = 11
# spaCy worker processes for scoring; CI has two cores.
SCORING_WORKERS = 2


def build_alpaca_store(path: Path, data_dir: Path) -> Store:
    """Import every AlpacaEval file in ``data_dir`` into the store at ``path`` (once) and score it."""
    store = Store(path)
    if store.count("responses") == 0:
        files = sorted(data_dir.glob("*.jsonl"))
        if len(files) != ALPACA_MODELS:
            pytest.fail(f"expected {ALPACA_MODELS} AlpacaEval files in {data_dir}, found {len(files)}")
        for file in files:
            import_file(store, file, "jsonl")
    score_store(store, workers=SCORING_WORKERS)
    return store


@pytest.fixture(scope="session")
def alpaca_store(shared_data, tmp_path_factory):
    """The eleven AlpacaEval models (baseline stream only) imported and scored."""
    path = Path(os.environ["BSB_ALPACA_DB"]) if os.environ.get("BSB_ALPACA_DB") else tmp_path_factory.mktemp("alpaca") / "bsb.db"
    store = build_alpaca_store(path, shared_data / "alpaca_eval")
    yield store
    store.close()
