"""Writing exported responses: one flat record per response, metadata fields restored."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterable
from typing import Any, TextIO

# Fields of an exported record, in order; `meta` fields follow, then metrics.
BASE_FIELDS = ["model", "prompt_id", "prompt", "response", "stream", "topic", "constraints", "sample"]
EXTRA_FIELDS = ["simulated", "is_empty", "model_version", "tokens_in", "tokens_out", "latency_ms", "error", "run_id"]
METRIC_PREFIX = "metric:"
# Top-level names of an exported record that a metadata field must not overwrite.
RESERVED_NAMES = {*BASE_FIELDS, *EXTRA_FIELDS, "meta", "metrics"}


def flat_record(row: dict[str, Any]) -> dict[str, Any]:
    """Turn a store export row into the record a user imported, plus BSB's fields and metrics.

    Metadata fields come back at the top level under their original names, except names
    that BSB's own record uses (a base or extra field, ``meta``, ``metrics`` or a name
    starting with ``metric:``): those come back inside a ``meta`` object.
    """
    record = {name: row.get(name) for name in BASE_FIELDS}
    collisions = {}
    for key, value in (row.get("meta") or {}).items():
        if key in RESERVED_NAMES or key.startswith(METRIC_PREFIX):
            collisions[key] = value
        else:
            record[key] = value
    if collisions:
        record["meta"] = collisions
    for name in EXTRA_FIELDS:
        record[name] = row.get(name)
    record["simulated"] = bool(record["simulated"])
    record["is_empty"] = bool(record["is_empty"])
    record["metrics"] = row.get("metrics", {})
    return record


def write_jsonl(rows: Iterable[dict[str, Any]], handle: TextIO) -> int:
    """Write one JSON object per response; return the count."""
    count = 0
    for row in rows:
        handle.write(json.dumps(flat_record(row), ensure_ascii=False) + "\n")
        count += 1
    return count


def _csv_record(row: dict[str, Any]) -> dict[str, Any]:
    """Return the CSV record of a store export row: JSON-valued fields as JSON text, metrics as ``metric:NAME``."""
    record = flat_record(row)
    metrics = record.pop("metrics")
    flat = {key: json.dumps(value, ensure_ascii=False) if isinstance(value, (dict, list)) else value for key, value in record.items()}
    flat.update({f"{METRIC_PREFIX}{name}": value for name, value in metrics.items()})
    return flat


def write_csv(rows: Callable[[], Iterable[dict[str, Any]]], handle: TextIO) -> int:
    """Write responses as CSV: JSON-valued fields as JSON text, one ``metric:NAME`` column per metric.

    ``rows`` returns a fresh iterable of the same export rows on each call. The header needs
    every column, which is known only after the last row, so the rows are read twice (once
    for the columns, once to write) instead of being held in memory. Both reads must see the
    same rows: read them inside :meth:`bsb_core.store.Store.read_snapshot`.
    """
    columns: dict[str, None] = {}  # an ordered set: columns in order of first appearance
    for row in rows():
        columns.update(dict.fromkeys(_csv_record(row)))
    # An empty store still gets a header, so the file reads as CSV with BSB's columns.
    writer = csv.DictWriter(handle, fieldnames=list(columns) or [*BASE_FIELDS, *EXTRA_FIELDS])
    writer.writeheader()
    count = 0
    for row in rows():
        writer.writerow(_csv_record(row))
        count += 1
    return count
