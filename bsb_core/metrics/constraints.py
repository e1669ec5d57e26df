"""Check a prompt's constraints against a response, and spot constraint sets that cannot hold.

A constraint is ``{"id": "<instruction id>", "kwargs": {...}}``: one of the 25 IFEval
instruction ids with IFEval's kwargs names, or a BSB id (``bsb:json_schema``,
``bsb:no_markdown``, ``bsb:numbered_steps``, ``bsb:prose_intro``).
"""

from __future__ import annotations

import logging
from typing import Any

from bsb_core.metrics.compliance_bsb import BSB_CHECKERS
from bsb_core.metrics.compliance_ifeval import IFEVAL_CHECKERS
from bsb_core.metrics.compliance_types import CheckContext, CheckResult, ConstraintArgumentError
from bsb_core.metrics.document import Parsed, clean_text

log = logging.getLogger(__name__)

CHECKERS = {**IFEVAL_CHECKERS, **BSB_CHECKERS}
IFEVAL_IDS = tuple(sorted(IFEVAL_CHECKERS))
BSB_IDS = tuple(sorted(BSB_CHECKERS))
CONSTRAINT_IDS = IFEVAL_IDS + BSB_IDS

JSON_IDS = frozenset({"detectable_format:json_format", "bsb:json_schema"})


def check_constraint(
    constraint: dict[str, Any], text: str, prompt: str | None = None, parsed: Parsed | None = None
) -> CheckResult:
    """Check one constraint against a response; never raises.

    ``followed`` is False for an empty or whitespace-only response (as in IFEval's strict
    evaluation) and None, with the reason, for an unknown id or invalid kwargs. ``parsed``,
    when given for the same text, lends its markdown layout.
    """
    if not isinstance(constraint, dict):
        return CheckResult(None, f"a constraint must be an object with 'id' and 'kwargs', got {type(constraint).__name__}")
    factory = CHECKERS.get(constraint.get("id"))  # type: ignore[arg-type]
    if factory is None:
        return CheckResult(None, "unknown constraint id")
    kwargs = constraint.get("kwargs") or {}
    if not isinstance(kwargs, dict):
        return CheckResult(None, f"kwargs must be an object, got {type(kwargs).__name__}")
    if not isinstance(text, str):
        text = clean_text(text)

    try:
        check = factory(kwargs)
        if not text.strip():
            return CheckResult(False, "empty response")
        return check(CheckContext(text, prompt, parsed))
    except ConstraintArgumentError as error:
        return CheckResult(None, f"invalid kwargs: {error}")
    except Exception as error:  # noqa: BLE001 - a checker bug must not stop a scoring run
        log.exception("checker for constraint %r failed", constraint.get("id"))
        return CheckResult(None, f"internal error: {type(error).__name__}")


def _kwarg(constraint: dict[str, Any], name: str) -> Any:
    kwargs = constraint.get("kwargs")
    return kwargs.get(name) if isinstance(kwargs, dict) else None


def _by_id(constraints: list[dict[str, Any]], constraint_id: str) -> list[dict[str, Any]]:
    return [c for c in constraints if isinstance(c, dict) and c.get("id") == constraint_id]


def _distinct(values: list[Any]) -> set[Any]:
    return {value for value in values if value is not None and not isinstance(value, (dict, list))}


def _count_bounds_conflict(constraints: list[dict[str, Any]], constraint_id: str, count_name: str) -> bool:
    """Return True when "less than a" and "at least b" with b >= a are both required."""
    upper = [_kwarg(c, count_name) for c in _by_id(constraints, constraint_id) if _kwarg(c, "relation") == "less than"]
    lower = [_kwarg(c, count_name) for c in _by_id(constraints, constraint_id) if _kwarg(c, "relation") == "at least"]
    upper_ints = [value for value in upper if isinstance(value, int)]
    lower_ints = [value for value in lower if isinstance(value, int)]
    return bool(upper_ints and lower_ints and max(lower_ints) >= min(upper_ints))


def impossible_reasons(constraints: list[dict[str, Any]]) -> list[str]:
    """Return why no response can satisfy all ``constraints`` together (empty when it can).

    Detected contradictions:

    - two different exact bullet counts, step counts or paragraph counts,
    - JSON together with a prose intro,
    - no markdown together with bullets, numbered steps or highlights,
    - all lowercase together with all capitals,
    - word or sentence bounds that exclude each other,
    - a keyword both required and forbidden.
    """
    if not isinstance(constraints, list):
        return []
    reasons = []
    ids = {c.get("id") for c in constraints if isinstance(c, dict)}

    exact_counts = (
        ("detectable_format:number_bullet_lists", "num_bullets", "bullet counts"),
        ("bsb:numbered_steps", "num_steps", "step counts"),
        ("length_constraints:number_paragraphs", "num_paragraphs", "paragraph counts"),
    )
    for constraint_id, name, label in exact_counts:
        values = _distinct([_kwarg(c, name) for c in _by_id(constraints, constraint_id)])
        if len(values) > 1:
            reasons.append(f"two different exact {label}: {sorted(values, key=str)}")

    if ids & JSON_IDS and "bsb:prose_intro" in ids:
        reasons.append("the whole response must be JSON and must open with prose")
    if "bsb:no_markdown" in ids:
        if any(_kwarg(c, "num_bullets") for c in _by_id(constraints, "detectable_format:number_bullet_lists")):
            reasons.append("no markdown, yet bullet items are required")
        if "bsb:numbered_steps" in ids:
            reasons.append("no markdown, yet a numbered list is required")
        if any(_kwarg(c, "num_highlights") for c in _by_id(constraints, "detectable_format:number_highlighted_sections")):
            reasons.append("no markdown, yet highlighted sections are required")
    if {"change_case:english_lowercase", "change_case:english_capital"} <= ids:
        reasons.append("all lowercase and all capitals at once")
    if _count_bounds_conflict(constraints, "length_constraints:number_words", "num_words"):
        reasons.append("word count bounds exclude each other")
    if _count_bounds_conflict(constraints, "length_constraints:number_sentences", "num_sentences"):
        reasons.append("sentence count bounds exclude each other")

    required = {str(k).strip().lower() for c in _by_id(constraints, "keywords:existence") for k in _kwarg(c, "keywords") or []}
    forbidden = {str(w).strip().lower() for c in _by_id(constraints, "keywords:forbidden_words") for w in _kwarg(c, "forbidden_words") or []}
    both = sorted(required & forbidden)
    if both:
        reasons.append(f"keywords both required and forbidden: {both}")
    return reasons


def is_impossible(constraints: list[dict[str, Any]]) -> bool:
    """Return True when the constraints contradict each other (see :func:`impossible_reasons`)."""
    return bool(impossible_reasons(constraints))
