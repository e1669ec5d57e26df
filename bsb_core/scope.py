"""Signature scopes: every response, one run, or a date range."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bsb_core.store import Store

SCOPE_ALL = "all"
_RUN_SCOPE = re.compile(r"^run:(\d+)$")
_DATE = r"\d{4}-\d{2}-\d{2}"
_DATE_SCOPE = re.compile(rf"^({_DATE})?\.\.({_DATE})?$")

# Maximum run ids listed in the error for an unknown run, because a store may hold hundreds of runs.
MAX_LISTED_RUNS = 10


@dataclass(frozen=True)
class Scope:
    """A parsed signature scope: every response, one run, or a date range (inclusive)."""

    text: str
    run_id: int | None = None
    date_from: str | None = None
    date_to: str | None = None


def parse_scope(scope: str | int | None) -> Scope:
    """Parse ``all``, ``run:<id>`` (or a bare run id) or ``<from>..<to>`` (ISO dates; either end may be empty).

    Raises ValueError naming the value when it has none of these forms, when a date is not a
    calendar date (2026-13-01) and when the range starts after it ends.
    """
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
        date_from, date_to = match.group(1), match.group(2)
        _check_date_range(text, date_from, date_to)
        return Scope(text, date_from=date_from, date_to=date_to)
    raise ValueError(
        f"invalid scope {scope!r}: use 'all', 'run:<id>' (e.g. run:3) or a date range '<from>..<to>'"
        " such as 2024-05-01..2024-05-31 (either end may be left empty)"
    )


def _check_date_range(text: str, date_from: str | None, date_to: str | None) -> None:
    for value in (date_from, date_to):
        if value is None:
            continue
        try:
            date.fromisoformat(value)
        except ValueError as error:
            raise ValueError(
                f"invalid scope {text!r}: {value} is not a calendar date ({error}); write dates as YYYY-MM-DD,"
                " e.g. 2024-05-01..2024-05-31"
            ) from None
    if date_from and date_to and date_from > date_to:
        raise ValueError(
            f"invalid scope {text!r}: the range starts on {date_from}, after its end {date_to};"
            f" write the earlier date first, e.g. {date_to}..{date_from}"
        )


def resolve_scope(store: Store, scope: str | int | None) -> Scope:
    """Parse ``scope`` and check that a run scope names a run in ``store``.

    Raises ValueError for an invalid scope (see :func:`parse_scope`). It also raises ValueError
    for a run not in the store, and that message lists the newest run ids (at most ``MAX_LISTED_RUNS``).
    """
    parsed = parse_scope(scope)
    if parsed.run_id is None or store.run_table([parsed.run_id]):
        return parsed

    run_ids = sorted(int(run["id"]) for run in store.runs())
    if not run_ids:
        raise ValueError(f"run {parsed.run_id} not found; the store has no runs yet")
    listed = ", ".join(str(run_id) for run_id in run_ids[-MAX_LISTED_RUNS:])
    if len(run_ids) > MAX_LISTED_RUNS:
        listed += f" (the newest {MAX_LISTED_RUNS} of {len(run_ids)})"
    raise ValueError(f"run {parsed.run_id} not found; runs in the store: {listed}")
