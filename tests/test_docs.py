"""Generated docs stay in step with the code."""

from __future__ import annotations

from pathlib import Path

from bsb_core.metrics.docs import registry_markdown

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_metrics_doc_is_current():
    current = (DOCS / "metrics.md").read_text(encoding="utf-8")
    assert current == registry_markdown(), "docs/metrics.md is stale: run `make docs`"
