"""Importing existing transcripts: JSONL, CSV, AlpacaEval's model_outputs.json and llm's logs.db.

Every format is read into :class:`SourceRow` objects with the location they came from; one
bad row is reported as ``file:line: reason`` and every good row is still imported.
"""

from __future__ import annotations

import csv
import json
import logging
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bsb_core.store import Store, content_hash

log = logging.getLogger(__name__)

FORMATS = ("auto", "jsonl", "csv", "alpaca-eval", "llm-logs")
STREAMS = ("paraphrase", "baseline", "contrast")
# Fields BSB reads from a row; every other field is kept in the response's `meta`.
KNOWN_FIELDS = {"model", "prompt", "response", "prompt_id", "stream", "topic", "constraints", "sample"}
IMPORT_SUITE = "import"
# Imported responses share one scope, so importing the same row from any file twice is a no-op.
IMPORT_SCOPE = "import"
# csv's default field limit is 128 KiB; long model responses exceed it.
csv.field_size_limit(64 * 1024 * 1024)


class ImportFormatError(ValueError):
    """A whole file cannot be read in the requested format."""


@dataclass
class SourceRow:
    """One row read from a source file, before validation."""

    location: str  # "file:line" (or "file:item N" where lines do not apply)
    data: dict[str, Any] | None
    error: str | None = None  # a parse error found while reading


@dataclass
class ImportSummary:
    """Counts of one import, with every rejected row's location and reason."""

    imported: int = 0
    duplicates: int = 0
    prompts_only: int = 0
    empty: int = 0
    rejected: list[str] = field(default_factory=list)
    run_ids: list[int] = field(default_factory=list)

    def add(self, other: ImportSummary) -> None:
        """Add another summary's counts to this one."""
        self.imported += other.imported
        self.duplicates += other.duplicates
        self.prompts_only += other.prompts_only
        self.empty += other.empty
        self.rejected.extend(other.rejected)
        self.run_ids.extend(other.run_ids)


# --- readers ----------------------------------------------------------------------------------


def read_jsonl(path: Path) -> Iterator[SourceRow]:
    """Yield one row per non-blank line of a JSONL file."""
    with path.open(encoding="utf-8", errors="surrogateescape") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            location = f"{path}:{number}"
            try:
                data = json.loads(line)
            except json.JSONDecodeError as error:
                yield SourceRow(location, None, f"invalid JSON ({error.msg} at column {error.colno})")
                continue
            if not isinstance(data, dict):
                yield SourceRow(location, None, f"expected a JSON object, found {type(data).__name__}")
                continue
            yield SourceRow(location, data)


def read_csv(path: Path) -> Iterator[SourceRow]:
    """Yield one row per CSV record; the header names the fields."""
    with path.open(encoding="utf-8-sig", errors="surrogateescape", newline="") as handle:
        reader = csv.reader(handle)
        try:
            header = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            raise ImportFormatError(f"{path}:1: cannot read the CSV header ({error})") from None
        start = reader.line_num + 1
        while True:
            try:
                record = next(reader)
            except StopIteration:
                return
            except csv.Error as error:
                yield SourceRow(f"{path}:{start}", None, f"invalid CSV ({error})")
                start = reader.line_num + 1
                continue
            location = f"{path}:{start}"
            start = reader.line_num + 1
            if not any(cell.strip() for cell in record):
                continue
            if len(record) != len(header):
                yield SourceRow(location, None, f"expected {len(header)} fields as in the header, found {len(record)}")
                continue
            data = {key: (value if value != "" else None) for key, value in zip(header, record)}
            yield SourceRow(location, data)


def read_json_array(path: Path) -> Iterator[SourceRow]:
    """Yield the elements of a JSON array file, each located by the line it starts on."""
    text = path.read_text(encoding="utf-8", errors="surrogateescape")
    decoder = json.JSONDecoder()
    index = _skip_ws(text, 0)
    if index >= len(text) or text[index] != "[":
        raise ImportFormatError(f"{path}:1: expected a JSON array (AlpacaEval model_outputs.json), found {text[index:index + 20]!r}")
    index = _skip_ws(text, index + 1)
    item = 0
    while index < len(text) and text[index] != "]":
        item += 1
        line = text.count("\n", 0, index) + 1
        location = f"{path}:{line}"
        try:
            data, index = decoder.raw_decode(text, index)
        except json.JSONDecodeError as error:
            yield SourceRow(location, None, f"invalid JSON in array item {item} ({error.msg}); the rest of the file cannot be read")
            return
        if isinstance(data, dict):
            yield SourceRow(location, data)
        else:
            yield SourceRow(location, None, f"array item {item}: expected a JSON object, found {type(data).__name__}")
        index = _skip_ws(text, index)
        if index < len(text) and text[index] == ",":
            index = _skip_ws(text, index + 1)


def _skip_ws(text: str, index: int) -> int:
    while index < len(text) and text[index] in " \t\r\n":
        index += 1
    return index


def alpaca_rows(path: Path) -> Iterator[SourceRow]:
    """Yield AlpacaEval rows (``instruction``, ``output``, ``generator``) as BSB fields."""
    for row in read_json_array(path):
        if row.data is None:
            yield row
            continue
        data = dict(row.data)
        missing = [name for name in ("instruction", "output", "generator") if name not in data]
        if missing:
            yield SourceRow(row.location, None, f"missing AlpacaEval field(s) {', '.join(missing)}")
            continue
        mapped = {"model": data.pop("generator"), "prompt": data.pop("instruction"), "response": data.pop("output")}
        mapped.update(data)
        yield SourceRow(row.location, mapped)


def llm_log_rows(path: Path) -> Iterator[SourceRow]:
    """Yield the ``responses`` table of a ``logs.db`` written by Simon Willison's ``llm`` CLI."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        conn.row_factory = sqlite3.Row
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.DatabaseError as error:
        raise ImportFormatError(f"{path}: not a readable SQLite database ({error})") from None
    if "responses" not in tables:
        conn.close()
        raise ImportFormatError(f"{path}: no `responses` table; is this an llm logs.db (`llm logs path` prints its location)?")
    try:
        for row in conn.execute("SELECT rowid AS _rowid, * FROM responses ORDER BY rowid"):
            data = dict(row)
            location = f"{path}:responses row {data.pop('_rowid')}"
            system = data.pop("system", None)
            mapped: dict[str, Any] = {
                "model": data.pop("resolved_model", None) or data.get("model"),
                "prompt": data.pop("prompt", None),
                "response": data.pop("response", None),
                "prompt_id": None,
                "_system": system,
                "_latency_ms": data.get("duration_ms"),
                "_tokens_in": data.get("input_tokens"),
                "_tokens_out": data.get("output_tokens"),
            }
            data.pop("model", None)
            for key in ("prompt_json", "response_json", "options_json", "token_details"):
                if isinstance(data.get(key), str):
                    try:
                        data[key] = json.loads(data[key])
                    except json.JSONDecodeError:
                        pass
            mapped.update({f"llm_{key}" if key in KNOWN_FIELDS else key: value for key, value in data.items()})
            yield SourceRow(location, mapped)
    finally:
        conn.close()


READERS: dict[str, Callable[[Path], Iterator[SourceRow]]] = {
    "jsonl": read_jsonl,
    "csv": read_csv,
    "alpaca-eval": alpaca_rows,
    "llm-logs": llm_log_rows,
}


def detect_format(path: Path) -> str:
    """Guess the format of ``path`` from its name and first bytes."""
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        return "jsonl"
    if suffix in (".csv", ".tsv"):
        return "csv"
    if suffix in (".db", ".sqlite", ".sqlite3"):
        return "llm-logs"
    with path.open("rb") as handle:
        head = handle.read(64)
    if head.startswith(b"SQLite format 3"):
        return "llm-logs"
    if head.lstrip()[:1] == b"[":
        return "alpaca-eval"
    if head.lstrip()[:1] == b"{":
        return "jsonl"
    raise ImportFormatError(
        f"{path}: cannot tell the format from the name or content; pass --format with one of {', '.join(FORMATS[1:])}"
    )


# --- validation -------------------------------------------------------------------------------


@dataclass
class ValidRow:
    """A validated row, ready to store."""

    model: str | None
    prompt: str
    response: str | None
    prompt_id: str | None
    stream: str
    topic: str | None
    constraints: list[dict[str, Any]]
    sample: int
    system: str | None
    latency_ms: float | None
    tokens_in: int | None
    tokens_out: int | None
    meta: dict[str, Any]


def ifeval_constraints(instruction_ids: Any, kwargs: Any) -> list[dict[str, Any]]:
    """Map IFEval's ``instruction_id_list`` and ``kwargs`` to BSB constraints.

    IFEval pads kwargs with nulls for parameters an instruction does not take; those are dropped.
    """
    if not isinstance(instruction_ids, list) or not all(isinstance(item, str) for item in instruction_ids):
        raise ValueError("instruction_id_list must be a list of strings")
    if kwargs is None:
        kwargs = [{} for _ in instruction_ids]
    if not isinstance(kwargs, list) or len(kwargs) != len(instruction_ids):
        raise ValueError("kwargs must be a list with one object per instruction id")
    constraints = []
    for instruction_id, arguments in zip(instruction_ids, kwargs):
        if arguments is not None and not isinstance(arguments, dict):
            raise ValueError(f"kwargs for {instruction_id} must be an object")
        cleaned = {key: value for key, value in (arguments or {}).items() if value is not None}
        constraints.append({"id": instruction_id, "kwargs": cleaned})
    return constraints


def validate_row(data: dict[str, Any]) -> ValidRow:
    """Check one source row and return it typed; raise ValueError with the reason when invalid."""
    data = dict(data)
    system = data.pop("_system", None)
    latency = data.pop("_latency_ms", None)
    tokens_in = data.pop("_tokens_in", None)
    tokens_out = data.pop("_tokens_out", None)

    prompt = data.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise ValueError("missing field `prompt` (a non-empty string)")
    has_model, has_response = data.get("model") is not None, "response" in data
    prompt_only = not has_model and data.get("response") is None
    if not prompt_only:
        if not has_model:
            raise ValueError("missing field `model`")
        if not isinstance(data["model"], str) or not data["model"].strip():
            raise ValueError(f"field `model` must be a non-empty string, found {data['model']!r}")
        if not has_response or data["response"] is None:
            # CSV writes an empty cell as None: an empty response is kept and flagged, not rejected.
            if not has_response:
                raise ValueError("missing field `response`")
            data["response"] = ""
        if not isinstance(data["response"], str):
            raise ValueError(f"field `response` must be a string, found {type(data['response']).__name__}")

    stream = data.get("stream") or "baseline"
    if stream not in STREAMS:
        raise ValueError(f"field `stream` is {stream!r}; expected one of {', '.join(STREAMS)}")

    sample = data.get("sample")
    if sample is None or sample == "":
        sample = 0
    try:
        sample = int(sample)
    except (TypeError, ValueError):
        raise ValueError(f"field `sample` must be an integer, found {sample!r}") from None
    if sample < 0:
        raise ValueError(f"field `sample` must be 0 or more, found {sample}")

    constraints = data.get("constraints")
    if isinstance(constraints, str):
        try:
            constraints = json.loads(constraints) if constraints.strip() else []
        except json.JSONDecodeError as error:
            raise ValueError(f"field `constraints` is not valid JSON ({error.msg})") from None
    if constraints is None and "instruction_id_list" in data:
        constraints = ifeval_constraints(data.get("instruction_id_list"), data.get("kwargs"))
    constraints = constraints or []
    if not isinstance(constraints, list) or not all(isinstance(item, dict) and isinstance(item.get("id"), str) for item in constraints):
        raise ValueError('field `constraints` must be a list of objects like {"id": "...", "kwargs": {...}}')

    prompt_id = data.get("prompt_id")
    topic = data.get("topic")
    meta = {key: value for key, value in data.items() if key not in KNOWN_FIELDS}
    return ValidRow(
        model=None if prompt_only else data["model"].strip(),
        prompt=prompt,
        response=None if prompt_only else data["response"],
        prompt_id=None if prompt_id is None else str(prompt_id),
        stream=stream,
        topic=None if topic is None else str(topic),
        constraints=constraints,
        sample=sample,
        system=system if isinstance(system, str) and system else None,
        latency_ms=latency,
        tokens_in=tokens_in,
        tokens_out=tokens_out,
        meta=meta,
    )


# --- import -----------------------------------------------------------------------------------


def import_file(store: Store, path: str | Path, fmt: str = "auto", progress: Callable[[int], None] | None = None) -> ImportSummary:
    """Import one file into ``store`` and return its summary.

    Raises :class:`ImportFormatError` when the file as a whole cannot be read; bad rows are
    listed in the summary instead.
    """
    path = Path(path)
    if fmt not in FORMATS:
        raise ImportFormatError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    if not path.exists():
        raise ImportFormatError(f"{path}: file not found")
    if path.is_dir():
        raise ImportFormatError(f"{path}: is a folder; pass the files in it (e.g. {path}/*.jsonl)")
    fmt = detect_format(path) if fmt == "auto" else fmt
    reader = READERS[fmt]

    summary = ImportSummary()
    run_id = store.create_run("import", source=str(path), config={"format": fmt})
    summary.run_ids.append(run_id)
    model_ids: dict[str, int] = {}
    log.info("import %s started as run %d (format %s)", path, run_id, fmt)
    try:
        for row in reader(path):
            if progress:
                progress(1)
            if row.data is None:
                summary.rejected.append(f"{row.location}: {row.error}")
                continue
            try:
                valid = validate_row(row.data)
            except ValueError as error:
                summary.rejected.append(f"{row.location}: {error}")
                continue
            _store_row(store, valid, run_id, model_ids, summary)
    except (UnicodeDecodeError, OSError) as error:
        summary.rejected.append(f"{path}: reading stopped ({error})")
    except ImportFormatError:
        store.finish_run(run_id, "failed", {"error": "unreadable file"})
        raise
    status = "completed" if not summary.rejected else "partial"
    store.finish_run(
        run_id,
        status,
        {"imported": summary.imported, "duplicates": summary.duplicates, "rejected": len(summary.rejected),
         "prompts_only": summary.prompts_only, "empty": summary.empty},
    )
    log.info("import %s finished: %d imported, %d duplicates, %d rejected", path, summary.imported, summary.duplicates, len(summary.rejected))
    return summary


def _store_row(store: Store, row: ValidRow, run_id: int, model_ids: dict[str, int], summary: ImportSummary) -> None:
    prompt_id = store.upsert_prompt(
        IMPORT_SUITE, row.stream, row.prompt, topic=row.topic, constraints=row.constraints, source_id=row.prompt_id
    )
    if row.model is None:
        summary.prompts_only += 1
        return
    if row.model not in model_ids:
        model_ids[row.model] = store.get_or_create_model(row.model, "import")
    messages = [{"role": "user", "content": row.prompt}]
    if row.system:
        messages.insert(0, {"role": "system", "content": row.system})
    result = store.insert_response(
        model_ids[row.model],
        prompt_id,
        row.response,
        run_id=run_id,
        sample=row.sample,
        system_hash=content_hash(row.system) if row.system else "",
        scope_key=IMPORT_SCOPE,
        messages=messages,
        latency_ms=row.latency_ms,
        tokens_in=row.tokens_in,
        tokens_out=row.tokens_out,
        meta=row.meta,
    )
    if not result.inserted:
        summary.duplicates += 1
        return
    summary.imported += 1
    if row.response is not None and not row.response.strip():
        summary.empty += 1
