"""Store access for the app: which store to open, its version, and loaders cached on that version.

Every loader takes the store path and the store's *version* (see :func:`store_version`) as
arguments, so ``st.cache_data`` keys on both. After a nightly run, a ``bsb score`` or a
``bsb signatures --refresh`` the version changes and the next page load reads the store again;
every other load is served from the cache.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from pathlib import Path
from typing import Any

import streamlit as st

from bsb_core.store import NotABsbStoreError, ReadOnlyStoreError, Store
from ui.location import StoreLocation, resolve_location

log = logging.getLogger(__name__)

# Session-state key of a store path entered on the Settings page; it wins over BSB_DB and the config.
DB_OVERRIDE_KEY = "bsb_db_override"

# Cached results kept per loader: enough for a few scopes and stores without unbounded growth.
CACHE_ENTRIES = 32


class StoreUnreadableError(RuntimeError):
    """The store file exists but is not a readable BSB store; the message names the file."""


def current_location() -> StoreLocation:
    """Return the store location of this browser session (the Settings page may override it)."""
    return resolve_location(st.session_state.get(DB_OVERRIDE_KEY))


def store_version(path: str | Path) -> tuple[Any, ...]:
    """Return a value that changes whenever runs, scores or signature cards change in the store.

    It combines the newest run (id, status, finish time), the run count, the number of metric
    values, the number and newest computation time of the signature cards, and the ids of the
    runs still running.
    """
    try:
        with Store.for_reading(path) as store:
            runs = store.runs()
            latest = runs[0] if runs else {}
            scopes = store.signature_scopes()
            return (
                latest.get("id"),
                latest.get("status"),
                latest.get("finished_at"),
                len(runs),
                store.count("metric_values"),
                sum(scope["models"] for scope in scopes),
                max((scope["computed_at"] or "" for scope in scopes), default=""),
                # A run whose owner process ended is listed as interrupted without any write, so
                # the running runs enter the key themselves. Last: the Settings page reads the
                # counts above by position.
                tuple(run["id"] for run in runs if run["status"] == "running"),
            )
    except NotABsbStoreError as exc:
        raise StoreUnreadableError(f"{exc}, or pick another file on the Settings page") from None
    except ReadOnlyStoreError as exc:
        raise StoreUnreadableError(str(exc)) from None
    except sqlite3.DatabaseError as exc:
        raise StoreUnreadableError(f"{path} is not a readable BSB store ({exc}); pick another file on the Settings page") from None


# --- cached loaders ----------------------------------------------------------------------------


@st.cache_data(show_spinner="Loading signature cards…", max_entries=CACHE_ENTRIES)
def cards(db: str, version: tuple[Any, ...], scope: str = "all") -> list[dict[str, Any]]:
    """Return the signature cards of ``scope``: the stored ones, else computed from the metric values now."""
    from bsb_core.cards import store_cards

    with Store.for_reading(db) as store:
        found = store_cards(store, scope)
    log.info("loaded %d cards of scope %s from %s (version %s)", len(found), scope, db, version)
    return found


@st.cache_data(show_spinner=False, max_entries=CACHE_ENTRIES)
def models(db: str, version: tuple[Any, ...]) -> list[dict[str, Any]]:
    """Return every model row with its response and failure counts."""
    with Store.for_reading(db) as store:
        rows = store.models()
    for row in rows:
        row["params"] = json.loads(row.get("params") or "{}")
        row["simulated"] = bool(row.get("simulated"))
    return rows


@st.cache_data(show_spinner=False, max_entries=CACHE_ENTRIES)
def runs(db: str, version: tuple[Any, ...]) -> list[dict[str, Any]]:
    """Return every run, newest first, with ``config`` and ``stats`` parsed from JSON."""
    with Store.for_reading(db) as store:
        rows = store.runs()
    for row in rows:
        row["config"] = json.loads(row.get("config") or "{}")
        row["stats"] = json.loads(row.get("stats") or "{}")
    return rows


@st.cache_data(show_spinner="Comparing per-response metric values…", max_entries=CACHE_ENTRIES)
def diffs(
    db: str, version: tuple[Any, ...], model_a: str, scope_a: str, model_b: str, scope_b: str, alpha: float = 0.05
) -> list[dict[str, Any]]:
    """Return the version diff of (model_b, scope_b) against (model_a, scope_a), significant metrics first.

    Raises ValueError naming the model or scope when one side has no scored responses.
    """
    from bsb_core.signature import diff_signatures, response_signature

    with Store.for_reading(db) as store:
        first = response_signature(store, model_a, scope_a)
        second = response_signature(store, model_b, scope_b)
    return [diff.to_dict() for diff in diff_signatures(first, second, alpha=alpha)]


@st.cache_data(show_spinner=False, max_entries=CACHE_ENTRIES)
def card_pdf(db: str, version: tuple[Any, ...], model: str, scope: str = "all") -> bytes:
    """Return the PDF card of ``model`` in ``scope`` (rendering takes seconds, so it is cached)."""
    from bsb_core.cards import find_card, render_pdf

    card = find_card(cards(db, version, scope), model)
    log.info("rendering the PDF card of %s (scope %s)", model, scope)
    return render_pdf(card)


@st.cache_data(show_spinner=False, max_entries=CACHE_ENTRIES)
def card_json(db: str, version: tuple[Any, ...], model: str, scope: str = "all") -> str:
    """Return the JSON card of ``model`` in ``scope``, validated against card.schema.json."""
    from bsb_core.cards import card_json as validated_json
    from bsb_core.cards import find_card

    return validated_json(find_card(cards(db, version, scope), model))


__all__ = [
    "DB_OVERRIDE_KEY",
    "StoreLocation",
    "StoreUnreadableError",
    "card_json",
    "card_pdf",
    "cards",
    "current_location",
    "diffs",
    "models",
    "resolve_location",
    "runs",
    "store_version",
]
