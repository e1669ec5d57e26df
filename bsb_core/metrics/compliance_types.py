"""Shared types of the constraint checkers: the result, the context and argument readers."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bsb_core.metrics.document import Parsed
from bsb_core.metrics.jsontext import JsonFinding, find_json
from bsb_core.metrics.markdown import Layout, parse_layout

# The two comparison relations IFEval uses for counts ("less than" is strict, "at least" inclusive).
RELATIONS = ("less than", "at least")


@dataclass(frozen=True)
class CheckResult:
    """The verdict of one constraint on one response.

    ``followed`` is None when the constraint cannot be checked (unknown id, invalid kwargs,
    unusable schema), and ``reason`` then gives the cause. ``lenient`` is the verdict under the lenient
    reading (JSON after stripping a code fence and surrounding prose), set only by
    ``bsb:json_schema``.
    """

    followed: bool | None
    reason: str
    lenient: bool | None = None


class ConstraintArgumentError(ValueError):
    """A constraint's kwargs are missing or invalid; the message names the value and the fix."""


class CheckContext:
    """The response under check with its prompt; its layout and JSON are found on first use."""

    def __init__(self, text: str, prompt: str | None, parsed: Parsed | None) -> None:
        self.text = text
        self.prompt = prompt
        self.parsed = parsed

    @functools.cached_property
    def layout(self) -> Layout:
        """The markdown layout, reused from ``parsed`` when it was given for the same text."""
        if self.parsed is not None and self.parsed.text == self.text:
            return self.parsed.layout
        return parse_layout(self.text)

    @functools.cached_property
    def json_finding(self) -> JsonFinding:
        """The JSON in the response, reused from ``parsed`` when it was given for the same text."""
        if self.parsed is not None and self.parsed.text == self.text:
            return self.parsed.json_finding
        return find_json(self.text)


# A checker factory reads and validates a constraint's kwargs (raising ConstraintArgumentError)
# and returns the function that checks one non-empty response.
Check = Callable[[CheckContext], CheckResult]
CheckerFactory = Callable[[dict[str, Any]], Check]


def read_int(kwargs: dict[str, Any], name: str, *, minimum: int = 0) -> int:
    """Return the integer kwarg ``name``; raise ConstraintArgumentError when missing or invalid."""
    value = kwargs.get(name)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConstraintArgumentError(f"kwarg {name!r} must be an integer >= {minimum}, got {value!r}")
    return value


def read_str(kwargs: dict[str, Any], name: str) -> str:
    """Return the non-empty string kwarg ``name``; raise ConstraintArgumentError otherwise."""
    value = kwargs.get(name)
    if not isinstance(value, str) or not value.strip():
        raise ConstraintArgumentError(f"kwarg {name!r} must be a non-empty string, got {value!r}")
    return value


def read_str_list(kwargs: dict[str, Any], name: str) -> list[str]:
    """Return the kwarg ``name`` as a non-empty list of non-empty strings."""
    value = kwargs.get(name)
    if not isinstance(value, list) or not value or not all(isinstance(item, str) and item.strip() for item in value):
        raise ConstraintArgumentError(f"kwarg {name!r} must be a non-empty list of non-empty strings, got {value!r}")
    return value


def read_relation(kwargs: dict[str, Any], name: str) -> str:
    """Return the relation kwarg ``name``, one of RELATIONS."""
    value = kwargs.get(name)
    if value not in RELATIONS:
        raise ConstraintArgumentError(f"kwarg {name!r} must be one of {', '.join(map(repr, RELATIONS))}, got {value!r}")
    return value


def compare(count: int, relation: str, threshold: int) -> bool:
    """Return whether ``count`` satisfies ``relation`` ("less than" or "at least") ``threshold``."""
    if relation == "less than":
        return count < threshold
    return count >= threshold


def counted(name: str, count: int, relation: str, threshold: int) -> CheckResult:
    """Return the result of a count constraint with a reason that shows the numbers."""
    followed = compare(count, relation, threshold)
    return CheckResult(followed, f"{count} {name}; required {relation} {threshold}")
