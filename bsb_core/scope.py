"""Signature scopes: every response, one run, or a date range."""

from __future__ import annotations

import re
from dataclasses import dataclass

SCOPE_ALL = "all"
_RUN_SCOPE = re.compile(r"^run:(\d+)$")
_DATE = r"\d{4}-\d{2}-\d{2}"
_DATE_SCOPE = re.compile(rf"^({_DATE})?\.\.({_DATE})?$")


@dataclass(frozen=True)
class Scope:
    """A parsed signature scope: every response, one run, or a date range (inclusive)."""

    text: str
    run_id: int | None = None
    date_from: str | None = None
    date_to: str | None = None


def parse_scope(scope: str | int | None) -> Scope:
    """Parse ``all``, ``run:<id>`` (or a bare run id) or ``<from>..<to>`` (ISO dates; either end may be empty)."""
    if scope is None or scope == SCOPE_ALL:
        return Scope(SCOPE_ALL)
    if isinstance(scope, int) or (isinstance(scope, str) and scope.isdigit()):
        return Scope(f"run:{int(scope)}", run_id=int(scope))
    text = str(scope).strip()
    match = _RUN_SCOPE.match(text)
    if match:
        return Scope(text, run_id=int(match.group(1)))
    match = _DATE_SCOPE.match(text)
    if match and (match.group(1) or match.group(2)):
        return Scope(text, date_from=match.group(1), date_to=match.group(2))
    raise ValueError(
        f"invalid scope {scope!r}: use 'all', 'run:<id>' (e.g. run:3) or a date range '<from>..<to>'"
        " such as 2024-05-01..2024-05-31 (either end may be left empty)"
    )
