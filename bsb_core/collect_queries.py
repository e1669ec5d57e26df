"""Store queries the collector needs and :class:`bsb_core.store.Store` does not offer yet.

NOTE: the store module is meant to own every SQL statement; these belong in ``Store`` as
methods (``find_model_id``, ``find_response``, ``set_response_meta``) and live here until
they move there.
"""

from __future__ import annotations

import json
from typing import Any

from bsb_core.store import Store, canonical_json, content_hash


def find_model_id(store: Store, name: str, params: dict[str, Any]) -> int | None:
    """Return the id of the model row for ``name`` and ``params`` without creating one."""
    row = store.db.execute(
        "SELECT id FROM models WHERE name = ? AND params_hash = ?", [name, content_hash(params or {})]
    ).fetchone()
    return int(row[0]) if row else None


def find_response(
    store: Store, model_id: int, prompt_id: str, sample: int, system_hash: str, scope_key: str = ""
) -> dict[str, Any] | None:
    """Return the stored response with this identity (id, text, error, messages, params, meta), or None."""
    row = store.db.execute(
        "SELECT id, text, error, messages, params, meta FROM responses WHERE model_id = ? AND prompt_id = ?"
        " AND sample = ? AND system_hash = ? AND scope_key = ?",
        [model_id, prompt_id, sample, system_hash, scope_key],
    ).fetchone()
    if row is None:
        return None
    response_id, text, error, messages, params, meta = row
    return {
        "id": int(response_id),
        "text": text,
        "error": error,
        "messages": json.loads(messages or "[]"),
        "params": json.loads(params or "{}"),
        "meta": json.loads(meta or "{}"),
    }


def set_response_meta(store: Store, response_id: int, meta: dict[str, Any]) -> None:
    """Replace the ``meta`` JSON of one response (the structured outcome arrives after the raw text)."""
    with store.db.conn:
        store.db.execute("UPDATE responses SET meta = ? WHERE id = ?", [canonical_json(meta), response_id])


def prompt_id_for(
    suite: str,
    stream: str,
    text: str,
    topic: str | None = None,
    variant: str | None = None,
    constraints: list[dict[str, Any]] | None = None,
) -> str:
    """Return the id :meth:`Store.upsert_prompt` gives this prompt, without writing it.

    NOTE: this repeats the hash in ``Store.upsert_prompt``; a test checks that both agree.
    """
    return content_hash(suite, stream, topic, variant, text, constraints or [])


__all__ = ["find_model_id", "find_response", "prompt_id_for", "set_response_meta"]
