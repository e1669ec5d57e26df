"""Finding JSON in a response: strict (the whole text) and lenient (inside fences or prose)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

FENCED_RE = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[ \t]*\n(.*?)(?:\n[ \t]*```|\Z)", re.DOTALL)
# Responses longer than this are not searched for embedded JSON objects (quadratic worst case).
MAX_SCAN_CHARS = 200_000


@dataclass(frozen=True)
class JsonFinding:
    """The JSON found in a response, how it was found, and the parsed value."""

    present: bool  # something that looks like a JSON object or array is in the text
    strict: bool  # the whole text (trimmed) parses as JSON
    lenient: bool  # JSON parses after stripping a code fence and surrounding prose
    value: Any = None  # the parsed value (strict first, else lenient), None when none parses
    how: str = "none"  # "strict", "fence", "embedded" or "none"


def _loads(text: str) -> tuple[bool, Any]:
    try:
        return True, json.loads(text)
    except (ValueError, RecursionError):
        return False, None


def _embedded(text: str) -> tuple[bool, Any]:
    """Try each '{' or '[' as the start of a JSON value, longest-first from the first opener."""
    decoder = json.JSONDecoder()
    limit = min(len(text), MAX_SCAN_CHARS)
    for index in range(limit):
        if text[index] not in "{[":
            continue
        try:
            value, _ = decoder.raw_decode(text, index)
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
