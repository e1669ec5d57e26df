"""Re-importing and re-scoring the real AlpacaEval data adds no rows."""

from __future__ import annotations

import pytest

from bsb_core.importers import import_file
from bsb_core.scoring import score_store


@pytest.mark.slow
def test_reimport_and_rescore_add_nothing(alpaca_store, shared_data):
    counts = {table: alpaca_store.count(table) for table in ("models", "prompts", "responses", "metric_values")}
    summaries = [import_file(alpaca_store, path) for path in sorted((shared_data / "alpaca_eval").glob("*.jsonl"))]
    rescored = score_store(alpaca_store)
    after = {table: alpaca_store.count(table) for table in counts}
    assert counts["responses"] == 8854
    assert counts["models"] == 11
    assert sum(summary.imported for summary in summaries) == 0
    assert sum(summary.duplicates for summary in summaries) == 8854
    assert rescored.responses == 0
    assert after == counts
