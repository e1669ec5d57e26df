"""The scoring engine: parse each response once with spaCy and run every metric family."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from typing import Any

from spacy.language import Language

from bsb_core.metrics import compliance, pragmatic, structural, stylistic
from bsb_core.metrics.document import Parsed, prepare
from bsb_core.metrics.nlp import MAX_PROSE_CHARS, load_pipeline
from bsb_core.metrics.registry import REGISTRY, Null, Value

log = logging.getLogger(__name__)

# Bump when any metric's definition or implementation changes: stored values of an older
# version are kept, and `bsb score` computes the new version for every response.
# "3": spaCy parses at most MAX_PROSE_CHARS = 200,000 characters of prose (it was 2,000,000).
METRIC_SET_VERSION = "3"

FAMILY_MODULES = (structural, pragmatic, stylistic, compliance)

ScoreInput = tuple[Any, list[dict[str, Any]] | None, str | None]  # (text, constraints, prompt)


def compute_all(parsed: Parsed) -> dict[str, Value]:
    """Run every family on one parsed response and return a value for every registered metric."""
    values: dict[str, Value] = {}
    for module in FAMILY_MODULES:
        try:
            values.update(module.compute(parsed))
        except Exception as error:  # noqa: BLE001 - a metric bug must not stop a scoring run
            # NOTE: the property tests assert this branch is never taken; it is a safety net.
            log.exception("metric family %s failed on a response", module.__name__)
            for name in REGISTRY.names(module.FAMILY):
                values[name] = Null(f"internal error: {type(error).__name__}")
    for name in REGISTRY.names():
        values.setdefault(name, Null("not computed"))
    return values


def score_items(
    items: Iterable[ScoreInput],
    *,
    nlp: Language | None = None,
    batch_size: int = 32,
    n_process: int = 1,
) -> Iterator[dict[str, Value]]:
    """Yield the metric values of each (text, constraints, prompt) item, in input order.

    Every response is parsed once with ``nlp.pipe``; ``n_process`` > 1 uses spaCy's worker
    processes.
    """
    nlp = nlp or load_pipeline()

    def prepared() -> Iterator[tuple[str, tuple[str, Any, list[dict[str, Any]], str | None]]]:
        for text, constraints, prompt in items:
            cleaned, layout = prepare(text)
            prose = layout.prose[:MAX_PROSE_CHARS]
            yield prose, (cleaned, layout, constraints or [], prompt)

    for doc, (cleaned, layout, constraints, prompt) in nlp.pipe(
        prepared(), as_tuples=True, batch_size=batch_size, n_process=n_process
    ):
        parsed = Parsed(
            text=cleaned,
            layout=layout,
            doc=doc if layout.prose.strip() else None,
            constraints=constraints,
            prompt=prompt,
        )
        yield compute_all(parsed)


def score_text(
    text: Any, constraints: list[dict[str, Any]] | None = None, prompt: str | None = None, *, nlp: Language | None = None
) -> dict[str, Value]:
    """Return the metric values of a single response."""
    return next(score_items([(text, constraints, prompt)], nlp=nlp))
