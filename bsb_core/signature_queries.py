"""Store queries the signature code needs, kept apart until they move into store.py.

NOTE: store.py is meant to be the only module with SQL. These functions are written so each
can move there unchanged as a ``Store`` method (the first argument becomes ``self``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from bsb_core.store import Store, utc_now

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

    def where(self, alias: str = "r") -> tuple[str, list[Any]]:
        """Return an SQL condition on the responses table ``alias`` and its parameters."""
        if self.run_id is not None:
            return f"{alias}.run_id = ?", [self.run_id]
        clauses: list[str] = []
        params: list[Any] = []
        if self.date_from:
            clauses.append(f"substr({alias}.created_at, 1, 10) >= ?")
            params.append(self.date_from)
        if self.date_to:
            clauses.append(f"substr({alias}.created_at, 1, 10) <= ?")
            params.append(self.date_to)
        return (" AND ".join(clauses) or "1 = 1"), params


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


def metric_frame(store: Store, metric_set_version: str, scope: Scope, model_ids: Iterable[int] | None = None) -> pd.DataFrame:
    """Return one row per (response, metric) in scope, with the response's prompt fields and time."""
    where, params = scope.where("r")
    sql = f"""
        SELECT r.model_id, r.id AS response_id, r.prompt_id, r.run_id, r.sample, r.created_at,
               p.stream, p.topic, p.variant, mv.metric, mv.value, mv.pipeline
        FROM metric_values mv
        JOIN responses r ON r.id = mv.response_id
        JOIN prompts p ON p.id = r.prompt_id
        WHERE mv.metric_set_version = ? AND r.error IS NULL AND {where}
    """
    params = [metric_set_version, *params]
    if model_ids is not None:
        ids = list(model_ids)
        sql += f" AND r.model_id IN ({', '.join('?' for _ in ids)})"
        params.extend(ids)
    return pd.read_sql_query(sql, store.db.conn, params=params)


def model_table(store: Store) -> pd.DataFrame:
    """Return every model row (id, name, provider, params, simulated), indexed by id."""
    frame = pd.read_sql_query("SELECT id, name, provider, params, simulated FROM models", store.db.conn)
    frame["params"] = frame["params"].map(lambda text: json.loads(text or "{}"))
    frame["simulated"] = frame["simulated"].astype(bool)
    return frame.set_index("id")


def run_table(store: Store, run_ids: Iterable[int]) -> list[dict[str, Any]]:
    """Return the runs with the given ids, oldest first."""
    ids = sorted({int(run_id) for run_id in run_ids})
    if not ids:
        return []
    sql = f"""
        SELECT id, kind, status, suite, suite_hash, source, started_at, finished_at
        FROM runs WHERE id IN ({', '.join('?' for _ in ids)}) ORDER BY id
    """
    cursor = store.db.execute(sql, ids)
    columns = [column[0] for column in cursor.description]
    return [dict(zip(columns, row)) for row in cursor.fetchall()]


def response_texts(store: Store, response_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """Return {response id: {text, prompt, stream, variant}} for the given ids."""
    ids = sorted({int(response_id) for response_id in response_ids})
    found: dict[int, dict[str, Any]] = {}
    # SQLite limits bound parameters per statement (999 in older builds), so query in chunks.
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        sql = f"""
            SELECT r.id, r.text, p.text AS prompt, p.stream, p.variant
            FROM responses r JOIN prompts p ON p.id = r.prompt_id
            WHERE r.id IN ({', '.join('?' for _ in chunk)})
        """
        for response_id, text, prompt, stream, variant in store.db.execute(sql, chunk).fetchall():
            found[int(response_id)] = {"text": text or "", "prompt": prompt or "", "stream": stream, "variant": variant}
    return found


def save_signature(store: Store, model_id: int, scope: str, card: dict[str, Any]) -> None:
    """Insert or replace the card of (model, scope) in the signatures table."""
    with store.db.conn:
        store.db.execute(
            "INSERT INTO signatures (model_id, scope, computed_at, card) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (model_id, scope) DO UPDATE SET computed_at = excluded.computed_at, card = excluded.card",
            [model_id, scope, card.get("computed_at") or utc_now(), json.dumps(card, ensure_ascii=False)],
        )


def delete_signatures(store: Store, scope: str, keep_model_ids: Iterable[int]) -> int:
    """Delete the cards of ``scope`` whose model is not in ``keep_model_ids``; return how many."""
    keep = list(keep_model_ids)
    sql = "DELETE FROM signatures WHERE scope = ?"
    params: list[Any] = [scope]
    if keep:
        sql += f" AND model_id NOT IN ({', '.join('?' for _ in keep)})"
        params.extend(keep)
    with store.db.conn:
        cursor = store.db.execute(sql, params)
    return int(cursor.rowcount or 0)


def signature_cards(store: Store, scope: str) -> list[dict[str, Any]]:
    """Return the stored cards of ``scope``, ordered by model name."""
    sql = """
        SELECT s.card FROM signatures s JOIN models m ON m.id = s.model_id
        WHERE s.scope = ? ORDER BY m.name, m.id
    """
    return [json.loads(row[0]) for row in store.db.execute(sql, [scope]).fetchall()]


def signature_scopes(store: Store) -> list[dict[str, Any]]:
    """Return (scope, models, computed_at) for each scope with stored cards."""
    sql = "SELECT scope, COUNT(*), MAX(computed_at) FROM signatures GROUP BY scope ORDER BY scope"
    return [{"scope": scope, "models": count, "computed_at": at} for scope, count, at in store.db.execute(sql).fetchall()]
