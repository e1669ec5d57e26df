"""Incremental scoring: compute metric values for every response that has none yet."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from spacy.language import Language

from bsb_core.metrics.engine import METRIC_SET_VERSION, ScoreInput, score_items
from bsb_core.metrics.nlp import load_pipeline, pipeline_id
from bsb_core.metrics.registry import REGISTRY, Null, Value
from bsb_core.store import Store

log = logging.getLogger(__name__)

# Responses scored between two commits: a killed run loses at most this many.
COMMIT_EVERY = 200


@dataclass
class ScoreSummary:
    """Counts and versions of one scoring pass."""

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
    with store.lenient_text():
        pending = list(store.responses_to_score(METRIC_SET_VERSION))
    log.info("scoring %d responses with metric set %s and %s", len(pending), METRIC_SET_VERSION, pipeline)

    items = [(row["text"], row["constraints"], row["prompt"]) for row in pending]
    buffer: list[tuple[int, str, float | None, str | None, str, str]] = []
    written = 0
    scored = 0
    try:
        for row, values in zip(pending, _guarded_values(items, nlp, batch_size, workers)):
            # A response's values join the buffer together, so a flush never stores only some
            # of them (a response with any value counts as scored and is never rescored).
            buffer.extend(_value_rows(row["id"], values, pipeline))
            scored += 1
            if progress:
                progress(1)
            if scored % COMMIT_EVERY == 0:
                written += store.insert_metric_values(buffer)
                buffer.clear()
    except KeyboardInterrupt:
        written += store.insert_metric_values(buffer)
        log.warning("scoring interrupted after %d responses (%d values written)", scored, written)
        raise
    written += store.insert_metric_values(buffer)
    log.info("scored %d responses (%d values written)", len(pending), written)
    return ScoreSummary(len(pending), written, METRIC_SET_VERSION, pipeline)


def _value_rows(response_id: int, values: dict[str, Value], pipeline: str) -> list[tuple[int, str, float | None, str | None, str, str]]:
    rows = []
    for name, value in values.items():
        if isinstance(value, Null):
            rows.append((response_id, name, None, value.reason, METRIC_SET_VERSION, pipeline))
            continue
        try:
            number = float(value)
        except (TypeError, ValueError):
            log.error("metric %s returned %s for response %d, not a number", name, type(value).__name__, response_id)
            rows.append((response_id, name, None, f"internal error: {type(value).__name__} value", METRIC_SET_VERSION, pipeline))
            continue
        if not math.isfinite(number):
            # SQLite stores NaN as NULL, which would read as a value with no reason.
            rows.append((response_id, name, None, f"not a finite number ({number})", METRIC_SET_VERSION, pipeline))
            continue
        rows.append((response_id, name, number, None, METRIC_SET_VERSION, pipeline))
    return rows


def _guarded_values(items: list[ScoreInput], nlp: Language, batch_size: int, workers: int) -> Iterator[dict[str, Value]]:
    """Yield the values of every item in order, even when parsing or scoring one of them raises.

    ``score_items`` already turns a metric family's exception into Null values; this also
    covers the text preparation and spaCy itself. After an exception, the batch that held
    the failing response is scored one response at a time, and a response that still
    raises gets an "internal error" Null for every metric, so one stored response can
    never stop `bsb score` for good.
    """
    # NOTE: tested with workers=1 only; how spaCy's n_process workers report an exception is unverified.
    position = 0
    while position < len(items):
        try:
            for values in score_items(items[position:], nlp=nlp, batch_size=batch_size, n_process=workers):
                position += 1
                yield values
            return
        except Exception:  # noqa: BLE001 - see the docstring
            log.exception("scoring failed in the batch starting at pending response %d; rescoring it one by one", position)
        for item in items[position:position + batch_size]:
            yield _single_values(item, nlp)
            position += 1


def _single_values(item: ScoreInput, nlp: Language) -> dict[str, Value]:
    try:
        return next(score_items([item], nlp=nlp, batch_size=1, n_process=1))
    except Exception as error:  # noqa: BLE001 - see _guarded_values
        log.exception("scoring failed on one response (%d characters)", len(item[0]) if isinstance(item[0], str) else 0)
        return {name: Null(f"internal error: {type(error).__name__}") for name in REGISTRY.names()}
