"""Compliance metrics: how far a response follows the machine-checkable constraints of its prompt.

Each constraint is checked by :func:`bsb_core.metrics.constraints.check_constraint`. A metric
about one kind of constraint is 1.0 when every constraint of that kind that could be checked
was followed, and 0.0 when one was not. It is Null when the prompt has none of that kind, or
when none of them could be checked (an unusable schema, for example).
"""

from __future__ import annotations

from bsb_core.metrics.compliance_types import CheckResult
from bsb_core.metrics.constraints import JSON_IDS, check_constraint
from bsb_core.metrics.document import Parsed
from bsb_core.metrics.registry import REGISTRY, Null, Value

FAMILY = "compliance"

NO_CONSTRAINT = Null("no constraint of this type")

# The metric that reports each constraint id. JSON ids also set json_parses and json_parses_lenient.
METRIC_OF_ID = {
    "detectable_format:number_bullet_lists": "bullet_count_ok",
    "length_constraints:number_words": "length_ok",
    "length_constraints:number_sentences": "length_ok",
    "length_constraints:number_paragraphs": "length_ok",
    "length_constraints:nth_paragraph_first_word": "length_ok",
    "change_case:english_lowercase": "case_ok",
    "change_case:english_capital": "case_ok",
    "change_case:capital_word_frequency": "case_ok",
    "bsb:no_markdown": "no_markdown_ok",
    "keywords:existence": "keywords_ok",
    "keywords:forbidden_words": "keywords_ok",
    "keywords:frequency": "keywords_ok",
    "keywords:letter_frequency": "keywords_ok",
    "detectable_format:title": "format_ok",
    "detectable_format:multiple_sections": "format_ok",
    "detectable_format:number_highlighted_sections": "format_ok",
    "detectable_content:number_placeholders": "format_ok",
    "detectable_content:postscript": "format_ok",
    "startend:quotation": "format_ok",
    "startend:end_checker": "format_ok",
    "punctuation:no_comma": "format_ok",
    "detectable_format:constrained_response": "format_ok",
    "combination:repeat_prompt": "format_ok",
    "combination:two_responses": "format_ok",
    "language:response_language": "format_ok",
    "detectable_format:json_format": "json_format_ok",
    "bsb:json_schema": "json_schema_valid",
    "bsb:numbered_steps": "numbered_steps_ok",
    "bsb:prose_intro": "prose_intro_ok",
}

REGISTRY.add("constraints_followed_share", FAMILY, "share 0-1", "higher = more constraints followed",
             "Share of the prompt's constraints the response follows, over the constraints that could be checked.")
REGISTRY.add("all_constraints_followed", FAMILY, "0/1", "1 = every constraint followed",
             "1 when the response follows every constraint of its prompt that could be checked, else 0.")
REGISTRY.add("json_parses", FAMILY, "0/1", "1 = the whole response is JSON",
             "For a prompt asking for JSON: 1 when the whole response (trimmed) parses as a JSON object or array.")
REGISTRY.add("json_parses_lenient", FAMILY, "0/1", "1 = JSON found",
             "For a prompt asking for JSON: 1 when a JSON object or array parses after removing a code fence and surrounding prose.")
REGISTRY.add("json_schema_valid", FAMILY, "0/1", "1 = valid against the schema",
             "For a prompt with a JSON Schema: 1 when the whole response is JSON that validates against the schema.")
REGISTRY.add("json_schema_valid_lenient", FAMILY, "0/1", "1 = valid against the schema",
             "For a prompt with a JSON Schema: 1 when the JSON found after removing a fence and prose validates against the schema.")
REGISTRY.add("json_format_ok", FAMILY, "0/1", "1 = constraint followed",
             "IFEval json_format: 1 when the response is JSON, an enclosing code fence allowed.")
REGISTRY.add("bullet_count_ok", FAMILY, "0/1", "1 = constraint followed",
             "1 when the response has exactly the required number of markdown bullet items.")
REGISTRY.add("length_ok", FAMILY, "0/1", "1 = every length constraint followed",
             "1 when the word, sentence and paragraph counts (and a paragraph's first word) meet the prompt's length constraints.")
REGISTRY.add("case_ok", FAMILY, "0/1", "1 = every case constraint followed",
             "1 when the response meets the prompt's letter-case constraints (all lowercase, all capitals, count of capitalised words).")
REGISTRY.add("no_markdown_ok", FAMILY, "0/1", "1 = no markdown",
             "1 when a response asked for plain text has no headings, list markers, emphasis, code, tables, rules, quotes or links.")
REGISTRY.add("keywords_ok", FAMILY, "0/1", "1 = every keyword constraint followed",
             "1 when required keywords are present, forbidden words absent, and keyword and letter frequencies as required.")
REGISTRY.add("format_ok", FAMILY, "0/1", "1 = every format constraint followed",
             "1 when the response meets the prompt's other format constraints: title, sections, highlights, placeholders, "
             "postscript, quotation, end phrase, no commas, fixed answer, repeated prompt, two responses, language.")
REGISTRY.add("numbered_steps_ok", FAMILY, "0/1", "1 = constraint followed",
             "1 when the response is a numbered list (1. or 1)) numbered in order, with the required number of steps.")
REGISTRY.add("prose_intro_ok", FAMILY, "0/1", "1 = constraint followed",
             "1 when the response opens with a prose sentence before any JSON, list or heading.")

METRIC_NAMES = tuple(REGISTRY.names(FAMILY))


def _all_followed(results: list[CheckResult], *, lenient: bool = False) -> Value:
    """Return 1.0 when every checkable result is followed, 0.0 when one is not, Null when none is checkable."""
    verdicts = [result.lenient if lenient else result.followed for result in results]
    checkable = [verdict for verdict in verdicts if verdict is not None]
    if not checkable:
        return Null(results[0].reason) if results else NO_CONSTRAINT
    return 1.0 if all(checkable) else 0.0


def compute(parsed: Parsed) -> dict[str, Value]:
    """Return this family's metric values for one response."""
    values: dict[str, Value] = dict.fromkeys(METRIC_NAMES, NO_CONSTRAINT)
    constraints = parsed.constraints if isinstance(parsed.constraints, list) else []
    if not constraints:
        return values

    grouped: dict[str, list[CheckResult]] = {}
    results = []
    for constraint in constraints:
        result = check_constraint(constraint, parsed.text, parsed.prompt, parsed)
        results.append(result)
        constraint_id = constraint.get("id") if isinstance(constraint, dict) else None
        metric = METRIC_OF_ID.get(constraint_id)  # type: ignore[arg-type]
        if metric is not None:
            grouped.setdefault(metric, []).append(result)

    checkable = [result.followed for result in results if result.followed is not None]
    if checkable:
        values["constraints_followed_share"] = sum(checkable) / len(checkable)
        values["all_constraints_followed"] = 1.0 if all(checkable) else 0.0
    else:
        values["constraints_followed_share"] = values["all_constraints_followed"] = Null("no constraint could be checked")

    for metric, metric_results in grouped.items():
        values[metric] = _all_followed(metric_results)
    if "json_schema_valid" in grouped:
        values["json_schema_valid_lenient"] = _all_followed(grouped["json_schema_valid"], lenient=True)

    if any(isinstance(c, dict) and c.get("id") in JSON_IDS for c in constraints):
        finding = parsed.json_finding
        values["json_parses"] = float(finding.strict)
        values["json_parses_lenient"] = float(finding.lenient)
    return values
