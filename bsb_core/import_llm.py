"""Reading the ``logs.db`` of Simon Willison's ``llm`` CLI: legacy ``responses`` rows and ``turns``.

llm before 0.36 logged each call as one row of ``responses``. From llm 0.36 on (migration
``m023_message_store``) it writes only ``turns``. A turn's prompt and response live in a
content-addressed tree of ``messages`` and ``parts``, and older rows stay in ``responses``.
A database can hold both, so both are read, legacy rows first.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bsb_core.import_text import ImportFormatError, SourceRow

# BSB field names that an llm column would shadow; such columns are kept in `meta` as llm_NAME.
SHADOWED = {"model", "prompt", "response", "prompt_id", "stream", "topic", "constraints", "sample"}
JSON_COLUMNS = ("prompt_json", "response_json", "options_json", "token_details")


def llm_log_rows(path: Path) -> Iterator[SourceRow]:
    """Yield one row per logged call in an llm ``logs.db``.

    Calls with the same model, prompt and system prompt are numbered as samples 0, 1, ...
    in log order, so a question asked twice keeps both answers and a re-import of a log
    that has grown since maps each call to the same sample again.
    """
    conn = _connect(path)
    try:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "responses" not in tables and "turns" not in tables:
            raise ImportFormatError(
                f"{path}: no `responses` table and no `turns` table; is this an llm logs.db (`llm logs path` prints its location)?"
            )
        samples: dict[tuple[Any, ...], int] = {}
        if "responses" in tables:
            yield from _numbered(_legacy_rows(conn, path, tables), samples)
        if {"turns", "messages", "parts"} <= tables:
            yield from _numbered(TurnReader(conn, path, tables).rows(), samples)
    except sqlite3.DatabaseError as error:
        raise ImportFormatError(f"{path}: not a readable SQLite database ({error}); pass --format if it is not an llm logs.db") from None
    finally:
        conn.close()


def _connect(path: Path) -> sqlite3.Connection:
    # A file: URI opens read-only; as_uri() percent-encodes names with '?' or '#'.
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    # Text that is not valid UTF-8 makes sqlite3 raise on fetch, which would stop the whole
    # import. Decoded with surrogateescape, only that row is rejected.
    conn.text_factory = lambda data: data.decode("utf-8", "surrogateescape")
    return conn


def _numbered(rows: Iterator[SourceRow], samples: dict[tuple[Any, ...], int]) -> Iterator[SourceRow]:
    for row in rows:
        if row.data is not None:
            key = (row.data.get("model"), row.data.get("prompt"), row.internal.get("system"))
            row.data["sample"] = samples.get(key, 0)
            samples[key] = row.data["sample"] + 1
        yield row


def _number(value: Any) -> int | float | None:
    """Return ``value`` when it is a number SQLite can store, else None (the raw value stays in meta)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, int) and not -(2**63) <= value < 2**63:
        return None
    return value


def _usage(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "latency_ms": _number(data.get("duration_ms")),
        "tokens_in": _number(data.get("input_tokens")),
        "tokens_out": _number(data.get("output_tokens")),
    }


def _meta(data: dict[str, Any]) -> dict[str, Any]:
    for key in JSON_COLUMNS:
        if isinstance(data.get(key), str):
            try:
                data[key] = json.loads(data[key])
            except (json.JSONDecodeError, RecursionError):
                pass
    return {f"llm_{key}" if key in SHADOWED else key: value for key, value in data.items()}


def _legacy_rows(conn: sqlite3.Connection, path: Path, tables: set[str]) -> Iterator[SourceRow]:
    has_fragments = {"fragments", "prompt_fragments", "system_fragments"} <= tables
    for row in conn.execute("SELECT rowid AS _rowid, * FROM responses ORDER BY rowid"):
        data = dict(row)
        location = f"{path}:responses row {data.pop('_rowid')}"
        prompt = data.pop("prompt", None)
        system = data.pop("system", None)
        if has_fragments and data.get("id") is not None:
            # llm sends prompt fragments joined by newlines before the typed prompt, and
            # system fragments joined by blank lines before the system prompt.
            prompt_parts = _fragments(conn, "prompt_fragments", data["id"]) + ([prompt] if prompt else [])
            prompt = "\n".join(prompt_parts) if prompt_parts else prompt
            system_parts = [bit.strip() for bit in _fragments(conn, "system_fragments", data["id"]) + [system or ""] if bit.strip()]
            system = "\n\n".join(system_parts) if system_parts else system
        mapped: dict[str, Any] = {
            "model": data.pop("resolved_model", None) or data.get("model"),
            "prompt": prompt,
            "response": data.pop("response", None),
            "prompt_id": None,
        }
        internal = {"system": system, **_usage(data)}
        data.pop("model", None)
        mapped.update(_meta(data))
        yield SourceRow(location, mapped, internal=internal)


def _fragments(conn: sqlite3.Connection, table: str, response_id: Any) -> list[str]:
    sql = f'SELECT f.content FROM {table} t JOIN fragments f ON f.id = t.fragment_id WHERE t.response_id = ? ORDER BY t."order"'
    return [content for (content,) in conn.execute(sql, [response_id]) if isinstance(content, str)]


class TurnReader:
    """Rebuild each turn's prompt, system prompt and response from llm's message tree.

    As ``llm logs`` does: the prompt is the text of the turn's last input message (its
    ``parent_message_hash``), and the response is the text of the assistant messages
    between that message and ``tip_message_hash``.
    """

    def __init__(self, conn: sqlite3.Connection, path: Path, tables: set[str]) -> None:
        self.conn = conn
        self.path = path
        self.has_fragments = "fragments" in tables
        self.messages: dict[str, tuple[str | None, str | None]] = {}
        self.texts: dict[str, dict[str, str]] = {}

    def rows(self) -> Iterator[SourceRow]:
        """Yield one row per turn, in log order."""
        for row in self.conn.execute("SELECT rowid AS _rowid, * FROM turns ORDER BY rowid"):
            data = dict(row)
            location = f"{self.path}:turns row {data.pop('_rowid')}"
            parent = data.pop("parent_message_hash", None)
            tip = data.pop("tip_message_hash", None)
            try:
                inputs = self.chain(parent)
                outputs = self.chain(tip)[len(inputs):]
            except LookupError as error:
                yield SourceRow(location, None, f"broken message tree: {error}")
                continue
            if not inputs or inputs[-1][1] != "user":
                role = inputs[-1][1] if inputs else "none"
                yield SourceRow(location, None, f"the turn's last input message has role `{role}`, not `user`; only text prompts are imported")
                continue
            history = [{"role": role, "content": self.text(hash_, "text")} for hash_, role in inputs]
            system = "\n\n".join(item["content"] for item in history if item["role"] == "system" and item["content"]) or None
            # NOTE: only text parts form the response; tool calls and tool results are not imported.
            answers = [hash_ for hash_, role in outputs if role == "assistant"]
            reasoning = "".join(self.text(hash_, "reasoning") for hash_ in answers)
            mapped: dict[str, Any] = {
                "model": data.pop("resolved_model", None) or data.get("model"),
                "prompt": history[-1]["content"],
                "response": "".join(self.text(hash_, "text") for hash_ in answers) if answers else None,
                "prompt_id": None,
            }
            messages = [item for item in history if item["role"] != "system" or item["content"]]
            internal = {"system": system, "messages": messages, **_usage(data)}
            data.pop("model", None)
            if reasoning:
                data["reasoning"] = reasoning
            mapped.update(_meta(data))
            yield SourceRow(location, mapped, internal=internal)

    def chain(self, tip: str | None) -> list[tuple[str, str | None]]:
        """Return (hash, role) of every message from the root to ``tip``; raise LookupError on a missing one."""
        chain = []
        seen = set()
        current = tip
        while current is not None:
            if current in seen:
                raise LookupError(f"message {current} is its own ancestor")
            seen.add(current)
            if current not in self.messages:
                row = self.conn.execute("SELECT parent_hash, role FROM messages WHERE hash = ?", [current]).fetchone()
                if row is None:
                    raise LookupError(f"message {current} not found")
                self.messages[current] = (row[0], row[1])
            parent, role = self.messages[current]
            chain.append((current, role))
            current = parent
        chain.reverse()
        return chain

    def text(self, message_hash: str, part_type: str) -> str:
        """Return the joined text of a message's parts of ``part_type`` (text or reasoning)."""
        if message_hash not in self.texts:
            texts: dict[str, str] = {}
            sql = "SELECT type, text, payload FROM parts WHERE message_hash = ? ORDER BY position"
            for kind, text, payload in self.conn.execute(sql, [message_hash]):
                texts[kind] = texts.get(kind, "") + self._part_text(text, payload)
            self.texts[message_hash] = texts
        return self.texts[message_hash].get(part_type, "")

    def _part_text(self, text: Any, payload: Any) -> str:
        if isinstance(text, str):
            return text
        try:
            data = json.loads(payload) if isinstance(payload, str) else {}
        except (json.JSONDecodeError, RecursionError):
            return ""
        if not isinstance(data, dict):
            return ""
        if isinstance(data.get("text"), str):
            return data["text"]
        # Text that borrows fragments is stored as pieces: {"literal": str} or {"fragment": id}.
        pieces = []
        for piece in data.get("text_ref") or []:
            if isinstance(piece, dict) and isinstance(piece.get("literal"), str):
                pieces.append(piece["literal"])
            elif isinstance(piece, dict) and self.has_fragments:
                found = self.conn.execute("SELECT content FROM fragments WHERE id = ?", [piece.get("fragment")]).fetchone()
                pieces.append(found[0] if found and isinstance(found[0], str) else "")
        return "".join(pieces)
