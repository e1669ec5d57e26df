"""Checkers for BSB's own constraint ids: JSON Schema, no markdown, numbered steps, prose intro."""

from __future__ import annotations

import re
from typing import Any

from bsb_core.metrics.compliance_schema import validate, validator_for_schema
from bsb_core.metrics.compliance_types import (
    Check,
    CheckContext,
    CheckerFactory,
    CheckResult,
    ConstraintArgumentError,
)
from bsb_core.metrics.jsontext import loads_standard
from bsb_core.metrics.markdown import INLINE_CODE_RE, LINK_RE

# A numbered step marker at the start of a line: "1." or "1)", after any indentation.
STEP_RE = re.compile(r"^([ \t]*)(\d{1,3})[.)]\s+\S")
# Extra indentation (in spaces) up to which a numbered item still counts as a top-level step.
# A nested list is indented by at least the marker width ("1. " is 3 characters).
STEP_INDENT_TOLERANCE = 1
# A line that is only bold or italic text (optionally with a colon): a heading in disguise.
EMPHASIS_LINE_RE = re.compile(r"^\s*(\*\*|__|\*|_)[^\n]+?\1\s*:?\s*$")
PROSE_WORD_RE = re.compile(r"[^\W\d_]+")
# Minimum number of words in an opening line that counts as a prose sentence ("Here is the plan." has 4).
MIN_INTRO_WORDS = 3

BSB_CHECKERS: dict[str, CheckerFactory] = {}


def _parse_strict(text: str) -> tuple[bool, Any]:
    """Parse the whole trimmed text as one JSON value of any type."""
    try:
        return True, loads_standard(text.strip())
    except (ValueError, RecursionError):
        return False, None


def _json_schema(kwargs: dict[str, Any]) -> Check:
    if "schema" not in kwargs:
        name = kwargs.get("schema_name")
        raise ConstraintArgumentError(
            f"kwarg 'schema' is missing (schema_name={name!r}): the suite loader must inline the schema object"
        )
    schema = kwargs["schema"]

    def check(ctx: CheckContext) -> CheckResult:
        checker = validator_for_schema(schema)
        if checker.validator is None:
            return CheckResult(None, checker.problem)

        parsed_ok, value = _parse_strict(ctx.text)
        if parsed_ok:
            strict = validate(checker, value)
            lenient = strict
        else:
            strict = None
            finding = ctx.json_finding
            lenient = validate(checker, finding.value) if finding.lenient else None

        for outcome in (strict, lenient):
            if outcome is not None and outcome.valid is None:
                return CheckResult(None, outcome.reason)
        strict_valid = bool(strict and strict.valid)
        lenient_valid = bool(lenient and lenient.valid)
        strict_reason = strict.reason if strict else "the whole text is not JSON"
        lenient_reason = lenient.reason if lenient else "no JSON found in a fence or in the prose"
        reason = f"{checker.draft}; strict: {strict_reason}; lenient: {lenient_reason}"
        return CheckResult(strict_valid, reason, lenient=lenient_valid)

    return check


def markdown_found(ctx: CheckContext) -> list[str]:
    """Return the kinds of markdown in the response, e.g. ["2 headings", "1 code blocks"]."""
    layout = ctx.layout
    numbered = layout.numbered_items
    counts = {
        "headings": layout.headings,
        "bullet items": layout.bullet_items - numbered,
        "numbered items": numbered,
        "code blocks": layout.code_blocks,
        "tables": layout.tables,
        "bold spans": layout.bold,
        "italic spans": layout.italic,
        "rules": layout.rules,
        "block quotes": layout.quotes,
    }
    inline_code = links = 0
    for line in layout.lines:
        if line.kind in ("text", "heading", "bullet", "numbered", "quote"):
            inline_code += len(INLINE_CODE_RE.findall(line.text))
            links += len(LINK_RE.findall(line.text))
    counts["inline code spans"] = inline_code
    counts["links"] = links
    return [f"{count} {name}" for name, count in counts.items() if count]


def _no_markdown(kwargs: dict[str, Any]) -> Check:
    def check(ctx: CheckContext) -> CheckResult:
        found = markdown_found(ctx)
        if found:
            return CheckResult(False, "markdown found: " + ", ".join(found))
        return CheckResult(True, "no markdown")

    return check


def numbered_steps(ctx: CheckContext) -> list[int]:
    """Return the numbers of the top-level numbered items ("1." or "1)"), in order.

    Top-level items are the least indented ones; items nested under them are left out.
    """
    items = []
    for line in ctx.layout.lines:
        if line.kind != "numbered":
            continue
        match = STEP_RE.match(line.text)
        if match:
            items.append((len(match.group(1).expandtabs(4)), int(match.group(2))))
    if not items:
        return []
    top = min(indent for indent, _ in items)
    return [number for indent, number in items if indent <= top + STEP_INDENT_TOLERANCE]


def _numbered_steps(kwargs: dict[str, Any]) -> Check:
    expected = kwargs.get("num_steps")
    if expected is not None and (isinstance(expected, bool) or not isinstance(expected, int) or expected < 1):
        raise ConstraintArgumentError(f"kwarg 'num_steps' must be null or an integer >= 1, got {expected!r}")
    required = f"exactly {expected}" if expected is not None else "at least 2"

    def check(ctx: CheckContext) -> CheckResult:
        numbers = numbered_steps(ctx)
        count = len(numbers)
        if numbers != list(range(1, count + 1)):
            return CheckResult(False, f"{count} numbered steps, not numbered 1 to {count} in order: {numbers[:12]}")
        followed = count == expected if expected is not None else count >= 2
        return CheckResult(followed, f"{count} numbered steps; required {required}")

    return check


def opening_line(ctx: CheckContext) -> tuple[str, str]:
    """Return the first non-blank line of the response and its markdown kind."""
    for line in ctx.layout.lines:
        if line.kind != "blank":
            return line.text, line.kind
    return "", "blank"


def _prose_intro(kwargs: dict[str, Any]) -> Check:
    def check(ctx: CheckContext) -> CheckResult:
        text, kind = opening_line(ctx)
        if kind != "text":
            return CheckResult(False, f"opens with a {kind} line, not prose")
        stripped = text.strip()
        if stripped[:1] in "{[":
            return CheckResult(False, "opens with JSON, not prose")
        if EMPHASIS_LINE_RE.match(stripped):
            return CheckResult(False, "opens with an emphasised heading line, not prose")
        words = len(PROSE_WORD_RE.findall(stripped))
        if words < MIN_INTRO_WORDS:
            return CheckResult(False, f"the opening line has {words} words; a prose sentence needs {MIN_INTRO_WORDS}")
        return CheckResult(True, "opens with a prose sentence")

    return check


BSB_CHECKERS.update(
    {
        "bsb:json_schema": _json_schema,
        "bsb:no_markdown": _no_markdown,
        "bsb:numbered_steps": _numbered_steps,
        "bsb:prose_intro": _prose_intro,
    }
)
