"""Incremental scoring: compute metric values for every response that has none yet."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from bsb_core.metrics.engine import METRIC_SET_VERSION, score_items
from bsb_core.metrics.nlp import load_pipeline, pipeline_id
from bsb_core.metrics.registry import Null
from bsb_core.store import Store

log = logging.getLogger(__name__)

# Responses scored between two commits: a killed run loses at most this many.
COMMIT_EVERY = 200


@dataclass
class ScoreSummary:
    """What one scoring pass did."""

    responses: int
    values: int
    metric_set_version: str
    pipeline: str


def score_store(
    store: Store,
    *,
    workers: int = 1,
    batch_size: int = 32,
    progress: Callable[[int], None] | None = None,
) -> ScoreSummary:
    """Score every response in ``store`` that has no values for the current metric-set version.

    ``workers`` > 1 runs spaCy's ``n_process`` worker processes. Re-running scores nothing new.
    """
    if workers < 1:
        raise ValueError(f"workers must be 1 or more, got {workers}")
    nlp = load_pipeline()
    pipeline = pipeline_id(nlp)
    pending = list(store.responses_to_score(METRIC_SET_VERSION))
    log.info("scoring %d responses with metric set %s and %s", len(pending), METRIC_SET_VERSION, pipeline)

    items = ((row["text"], row["constraints"], row["prompt"]) for row in pending)
    buffer: list[tuple[int, str, float | None, str | None, str, str]] = []
    written = 0
    scored = 0
    for row, values in zip(pending, score_items(items, nlp=nlp, batch_size=batch_size, n_process=workers)):
        for name, value in values.items():
            if isinstance(value, Null):
                buffer.append((row["id"], name, None, value.reason, METRIC_SET_VERSION, pipeline))
            else:
                buffer.append((row["id"], name, float(value), None, METRIC_SET_VERSION, pipeline))
        scored += 1
        if progress:
            progress(1)
        if scored % COMMIT_EVERY == 0:
            written += store.insert_metric_values(buffer)
            buffer.clear()
    written += store.insert_metric_values(buffer)
    log.info("scored %d responses (%d values written)", len(pending), written)
    return ScoreSummary(len(pending), written, METRIC_SET_VERSION, pipeline)
