"""Finding JSON in a response: strict (the whole text) and lenient (inside fences or prose)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

FENCED_RE = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[ \t]*\n(.*?)(?:\n[ \t]*```|\Z)", re.DOTALL)
# Responses longer than this are not searched for embedded JSON objects (quadratic worst case).
MAX_SCAN_CHARS = 200_000
# An opener that can start a JSON value: "{" before a key or "}", "[" before a value or "]".
CANDIDATE_RE = re.compile(r'\{(?=\s*["}])|\[(?=\s*[-"{\[\]0-9tfn])')
# Most openers tried as the start of embedded JSON.
# NOTE: JSON preceded by more than this many candidate openers in prose is not found.
MAX_CANDIDATES = 200


@dataclass(frozen=True)
class JsonFinding:
    """The JSON found in a response, how it was found, and the parsed value."""

    present: bool  # something that looks like a JSON object or array is in the text
    strict: bool  # the whole text (trimmed) parses as JSON
    lenient: bool  # JSON parses after stripping a code fence and surrounding prose
    value: Any = None  # the parsed value (strict first, else lenient), None when none parses
    how: str = "none"  # "strict", "fence", "embedded" or "none"


def reject_constant(name: str) -> Any:
    """Refuse ``NaN``, ``Infinity`` and ``-Infinity``, which Python's json accepts but JSON (RFC 8259) does not."""
    raise ValueError(f"{name} is not valid JSON")


# A decoder for standard JSON only; `json.loads` and `json.JSONDecoder()` accept NaN and Infinity.
STRICT_DECODER = json.JSONDecoder(parse_constant=reject_constant)


def loads_standard(text: str) -> Any:
    """Parse ``text`` as standard JSON; raise ValueError (or RecursionError) when it is not."""
    return STRICT_DECODER.decode(text)


def _loads(text: str) -> tuple[bool, Any]:
    try:
        return True, loads_standard(text)
    except (ValueError, RecursionError):
        return False, None


def _embedded(text: str) -> tuple[bool, Any]:
    """Try '{' and '[' openers as the start of a JSON object or array, from the first one on.

    An opener counts only when the next non-space character can follow it in JSON, so
    markdown links ("[text](url)") and code braces are skipped. At most MAX_CANDIDATES
    openers are tried, because each try may scan to the end of the text.
    """
    decoder = STRICT_DECODER
    tries = 0
    for match in CANDIDATE_RE.finditer(text, 0, min(len(text), MAX_SCAN_CHARS)):
        if tries >= MAX_CANDIDATES:
            break
        tries += 1
        try:
            value, _ = decoder.raw_decode(text, match.start())
        except (ValueError, RecursionError):
            continue
        if isinstance(value, (dict, list)):
            return True, value
    return False, None


def find_json(text: str) -> JsonFinding:
    """Return how JSON appears in ``text``; never raises."""
    stripped = text.strip()
    if not stripped:
        return JsonFinding(False, False, False)
    ok, value = _loads(stripped)
    if ok and isinstance(value, (dict, list)):
        return JsonFinding(True, True, True, value, "strict")

    for match in FENCED_RE.finditer(text[:MAX_SCAN_CHARS]):
        ok, value = _loads(match.group(2).strip())
        if ok and isinstance(value, (dict, list)):
            return JsonFinding(True, False, True, value, "fence")

    ok, value = _embedded(text)
    if ok:
        return JsonFinding(True, False, True, value, "embedded")
    looks_like_json = bool(re.search(r"[{\[]\s*\"", text[:MAX_SCAN_CHARS]))
    return JsonFinding(looks_like_json, False, False)
