"""Importing existing transcripts: JSONL, CSV, AlpacaEval's model_outputs.json and llm's logs.db.

Every format is read into :class:`SourceRow` objects with the location they came from, by
the readers in ``import_readers`` and ``import_llm``. One bad row is reported as
``file:line: reason`` and every good row is still imported.
"""

from __future__ import annotations

import logging
import math
import re
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bsb_core.import_llm import llm_log_rows
from bsb_core.import_readers import alpaca_rows, detect_format, read_csv, read_jsonl
from bsb_core.import_text import (
    MAX_JSON_DEPTH,
    ImportFormatError,
    SourceRow,
    StrictJSON,
    describe_value,
    find_invalid_text,
    json_depth,
)
from bsb_core.store import Store, content_hash

log = logging.getLogger(__name__)

FORMATS = ("auto", "jsonl", "csv", "alpaca-eval", "llm-logs")
STREAMS = ("paraphrase", "baseline", "contrast")
# Fields BSB reads from a row; every other field is kept in the response's `meta`.
KNOWN_FIELDS = {"model", "prompt", "response", "prompt_id", "stream", "topic", "constraints", "sample"}
IMPORT_SUITE = "import"
# Imported responses share one scope, so importing the same row from any file twice is a no-op.
IMPORT_SCOPE = "import"
# SQLite stores integers as signed 64-bit values.
MAX_SAMPLE = 2**63 - 1
# An integer written as text; spreadsheets and pandas write whole numbers as "3.0".
INTEGER_TEXT = re.compile(r"[+-]?[0-9]+(\.0*)?")


@dataclass
class ImportSummary:
    """Counts of one import, with every rejected row's location and reason."""

    imported: int = 0
    duplicates: int = 0
    prompts_only: int = 0
    empty: int = 0
    rejected: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    run_ids: list[int] = field(default_factory=list)

    def add(self, other: ImportSummary) -> None:
        """Add another summary's counts to this one."""
        self.imported += other.imported
        self.duplicates += other.duplicates
        self.prompts_only += other.prompts_only
        self.empty += other.empty
        self.rejected.extend(other.rejected)
        self.warnings.extend(other.warnings)
        self.run_ids.extend(other.run_ids)

    def stats(self) -> dict[str, int]:
        """Return the counts stored in the import run's ``stats``."""
        return {"imported": self.imported, "duplicates": self.duplicates, "rejected": len(self.rejected),
                "prompts_only": self.prompts_only, "empty": self.empty}


READERS: dict[str, Callable[[Path], Iterator[SourceRow]]] = {
    "jsonl": read_jsonl,
    "csv": read_csv,
    "alpaca-eval": alpaca_rows,
    "llm-logs": llm_log_rows,
}


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
    messages: list[dict[str, Any]] | None = None


def ifeval_constraints(instruction_ids: Any, kwargs: Any) -> list[dict[str, Any]]:
    """Map IFEval's ``instruction_id_list`` and ``kwargs`` to BSB constraints.

    IFEval pads kwargs with nulls for parameters an instruction does not take; those are dropped.
    """
    if not isinstance(instruction_ids, list) or not all(isinstance(item, str) for item in instruction_ids):
        raise ValueError(f"field `instruction_id_list` must be a list of strings, found {describe_value(instruction_ids)}")
    if kwargs is None:
        kwargs = [{} for _ in instruction_ids]
    if not isinstance(kwargs, list) or len(kwargs) != len(instruction_ids):
        raise ValueError("field `kwargs` must be a list with one object per instruction id")
    constraints = []
    for instruction_id, arguments in zip(instruction_ids, kwargs):
        if arguments is not None and not isinstance(arguments, dict):
            raise ValueError(f"kwargs for {instruction_id} must be an object, found {describe_value(arguments)}")
        cleaned = {key: value for key, value in (arguments or {}).items() if value is not None}
        constraints.append({"id": instruction_id, "kwargs": cleaned})
    return constraints


def validate_row(data: dict[str, Any], internal: dict[str, Any] | None = None) -> ValidRow:
    """Check one source row and return it typed; raise ValueError with the reason when invalid.

    ``internal`` contains the values a reader derived (see :class:`SourceRow`).
    """
    internal = internal or {}
    reason = find_invalid_text(data) or find_invalid_text(internal)
    if reason:
        raise ValueError(reason)
    data = dict(data)
    system = internal.get("system")

    prompt = data.get("prompt")
    if prompt is None and "instruction" in data and "generator" in data:
        raise ValueError("missing field `prompt`; this looks like an AlpacaEval row: pass a JSON array with --format alpaca-eval")
    if prompt is None:
        raise ValueError("missing field `prompt` (a non-empty string)")
    if not isinstance(prompt, str) or not prompt.strip():
        raise ValueError(f"field `prompt` must be a non-empty string, found {describe_value(prompt)}")
    model, response = _model_and_response(data)
    stream = data.get("stream") or "baseline"
    if stream not in STREAMS:
        raise ValueError(f"field `stream` is {stream!r}; expected one of {', '.join(STREAMS)}")

    meta = {key: value for key, value in data.items() if key not in KNOWN_FIELDS}
    depth = json_depth(meta)
    if depth > MAX_JSON_DEPTH:
        raise ValueError(f"the extra fields are nested {depth} levels deep; the maximum is {MAX_JSON_DEPTH}")
    return ValidRow(
        model=model,
        prompt=prompt,
        response=response,
        prompt_id=_scalar_text(data, "prompt_id"),
        stream=stream,
        topic=_scalar_text(data, "topic"),
        constraints=_constraints(data),
        sample=_sample(data.get("sample")),
        system=system if isinstance(system, str) and system else None,
        latency_ms=internal.get("latency_ms"),
        tokens_in=internal.get("tokens_in"),
        tokens_out=internal.get("tokens_out"),
        meta=meta,
        messages=internal.get("messages"),
    )


def _model_and_response(data: dict[str, Any]) -> tuple[str | None, str | None]:
    """Return (model, response); both are None for a prompt-only row."""
    if data.get("model") is None and data.get("response") is None:
        return None, None
    if data.get("model") is None:
        raise ValueError("missing field `model`")
    if not isinstance(data["model"], str) or not data["model"].strip():
        raise ValueError(f"field `model` must be a non-empty string, found {describe_value(data['model'])}")
    if "response" not in data:
        raise ValueError("missing field `response`")
    # CSV writes an empty cell as None: an empty response is kept and flagged, not rejected.
    response = "" if data["response"] is None else data["response"]
    if not isinstance(response, str):
        raise ValueError(f"field `response` must be a string, found {describe_value(response)}")
    return data["model"].strip(), response


def _sample(value: Any) -> int:
    if value is None or (isinstance(value, str) and not value.strip()):
        return 0
    sample: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        sample = value
    elif isinstance(value, float) and math.isfinite(value) and value.is_integer():
        sample = int(value)
    elif isinstance(value, str) and INTEGER_TEXT.fullmatch(value.strip()):
        sample = int(float(value)) if "." in value else int(value)
    if sample is None:
        raise ValueError(f"field `sample` must be an integer, found {describe_value(value)}")
    if not 0 <= sample <= MAX_SAMPLE:
        raise ValueError(f"field `sample` must be between 0 and {MAX_SAMPLE}, found {sample}")
    return sample


def _scalar_text(data: dict[str, Any], name: str) -> str | None:
    value = data.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ValueError(f"field `{name}` must be a string or a number, found {describe_value(value)}")
    return str(value)


def _constraints(data: dict[str, Any]) -> list[dict[str, Any]]:
    constraints = data.get("constraints")
    if isinstance(constraints, str):
        try:
            constraints = StrictJSON().loads(constraints) if constraints.strip() else []
        except ValueError as error:
            raise ValueError(f"field `constraints` is not valid JSON ({str(error).removeprefix('invalid JSON ')})") from None
    if constraints is None and data.get("instruction_id_list") is not None:
        constraints = ifeval_constraints(data.get("instruction_id_list"), data.get("kwargs"))
    constraints = constraints or []
    example = 'a list of objects like {"id": "...", "kwargs": {...}}'
    if not isinstance(constraints, list) or not all(isinstance(item, dict) and isinstance(item.get("id"), str) for item in constraints):
        raise ValueError(f"field `constraints` must be {example}, found {describe_value(constraints)}")
    for item in constraints:
        if item.get("kwargs") is not None and not isinstance(item["kwargs"], dict):
            raise ValueError(f"field `constraints`: kwargs of {item['id']!r} must be an object, found {describe_value(item['kwargs'])}")
    return constraints


# --- import -----------------------------------------------------------------------------------


def import_file(
    store: Store,
    path: str | Path,
    fmt: str = "auto",
    progress: Callable[[int], None] | None = None,
    summary: ImportSummary | None = None,
) -> ImportSummary:
    """Import one file into ``store`` and return its summary.

    Raises :class:`ImportFormatError` when the file as a whole cannot be read; bad rows are
    listed in the summary instead. Counts go into ``summary`` as rows are stored, so a caller
    that passes one still has them when the import stops on Ctrl-C or a store error. The
    run is then marked failed and the error re-raised. A pipe such as ``/dev/stdin`` is
    copied to a temporary file first, because format detection reads the start twice.
    """
    path = Path(path)
    summary = summary if summary is not None else ImportSummary()
    if fmt not in FORMATS:
        raise ImportFormatError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    with _regular_file(path) as source:
        try:
            _import_rows(store, path, source, fmt, progress, summary)
        except ImportFormatError as error:
            raise ImportFormatError(str(error).replace(str(source), str(path))) from None
    return summary


def _import_rows(
    store: Store, path: Path, source: Path, fmt: str, progress: Callable[[int], None] | None, summary: ImportSummary
) -> None:
    if source.stat().st_size == 0:
        summary.warnings.append(f"{path}: the file is empty; nothing to import")
        return
    fmt = detect_format(source) if fmt == "auto" else fmt
    reader = READERS[fmt]

    run_id = store.create_run("import", source=str(path), config={"format": fmt})
    summary.run_ids.append(run_id)
    model_ids: dict[str, int] = {}
    rows_read = 0
    log.info("import %s started as run %d (format %s)", path, run_id, fmt)
    try:
        for row in reader(source):
            rows_read += 1
            if progress:
                progress(1)
            location = row.location if source == path else row.location.replace(str(source), str(path), 1)
            if row.data is None:
                summary.rejected.append(f"{location}: {row.error}")
                continue
            try:
                valid = validate_row(row.data, row.internal)
            except ValueError as error:
                summary.rejected.append(f"{location}: {error}")
                continue
            _store_row(store, valid, location, run_id, model_ids, summary)
    except (UnicodeDecodeError, OSError) as error:
        summary.rejected.append(f"{path}: reading stopped ({error})")
    except BaseException as error:
        # Ctrl-C, a store that cannot be written, or an unreadable file: rows stored so far
        # stay, and re-running the same import skips them as duplicates.
        _finish_failed(store, run_id, summary, error)
        raise
    if rows_read == 0:
        summary.warnings.append(f"{path}: no rows found")
    status = "completed" if not summary.rejected else "partial"
    store.finish_run(run_id, status, summary.stats())
    log.info("import %s finished: %d imported, %d duplicates, %d rejected", path, summary.imported, summary.duplicates, len(summary.rejected))


@contextmanager
def _regular_file(path: Path) -> Iterator[Path]:
    """Yield ``path`` when it is a readable regular file, or a temporary copy of a pipe."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise ImportFormatError(f"{path}: file not found") from None
    except OSError as error:
        raise ImportFormatError(f"{path}: cannot be read ({error.strerror})") from None
    if stat.S_ISDIR(mode):
        raise ImportFormatError(f"{path}: is a folder; pass the files in it (e.g. {path}/*.jsonl)")
    if not stat.S_ISREG(mode) and not stat.S_ISFIFO(mode):
        raise ImportFormatError(f"{path}: is not a regular file or a pipe; save the data to a file and import that")
    try:
        with path.open("rb") as handle:
            if stat.S_ISREG(mode):
                yield path
                return
            with tempfile.TemporaryDirectory(prefix="bsb-import-") as folder:
                copy = Path(folder) / f"stdin{path.suffix}"
                with copy.open("wb") as target:
                    shutil.copyfileobj(handle, target)
                handle.close()
                yield copy
    except PermissionError as error:
        if error.filename not in (str(path), path):
            raise
        raise ImportFormatError(f"{path}: permission denied; make the file readable (e.g. chmod u+r {path})") from None


def _finish_failed(store: Store, run_id: int, summary: ImportSummary, error: BaseException) -> None:
    # Not "interrupted": that run status means the process that owned the run ended without finishing it.
    reason = "stopped by Ctrl-C" if isinstance(error, KeyboardInterrupt) else type(error).__name__
    # The caller reports a file it cannot read; a warning here would print the same failure twice.
    level = logging.INFO if isinstance(error, ImportFormatError) else logging.WARNING
    log.log(level, "import run %d stopped (%s) after %d imported rows", run_id, reason, summary.imported)
    try:
        store.finish_run(run_id, "failed", {**summary.stats(), "error": reason})
    except Exception:  # noqa: BLE001 - the store may be the thing that failed; the original error matters
        log.exception("could not mark import run %d as failed", run_id)


def _store_row(store: Store, row: ValidRow, location: str, run_id: int, model_ids: dict[str, int], summary: ImportSummary) -> None:
    prompt_id = store.upsert_prompt(
        IMPORT_SUITE, row.stream, row.prompt, topic=row.topic, constraints=row.constraints, source_id=row.prompt_id
    )
    if row.model is None:
        summary.prompts_only += 1
        return
    if row.model not in model_ids:
        model_ids[row.model] = store.get_or_create_model(row.model, "import")
    messages = row.messages or [{"role": "user", "content": row.prompt}]
    if row.system and not row.messages:
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
        if store.response_text(result.response_id) != row.response:
            # Same identity, other text: skipping it as a duplicate would drop a real response unseen.
            summary.rejected.append(
                f"{location}: model {row.model!r} already has a different response to this prompt as sample {row.sample};"
                " give this row another `sample` number to keep both"
            )
            return
        summary.duplicates += 1
        return
    summary.imported += 1
    if row.response is not None and not row.response.strip():
        summary.empty += 1


__all__ = [
    "FORMATS",
    "ImportFormatError",
    "ImportSummary",
    "SourceRow",
    "ValidRow",
    "alpaca_rows",
    "detect_format",
    "ifeval_constraints",
    "import_file",
    "llm_log_rows",
    "read_csv",
    "read_jsonl",
    "validate_row",
]
