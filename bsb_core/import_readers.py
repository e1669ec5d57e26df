"""Readers for the text formats BSB imports: JSONL, CSV/TSV and AlpacaEval's JSON array.

Each reader yields :class:`SourceRow` objects located as ``file:line``. A row that cannot
be parsed is yielded with its reason, and reading goes on with the next row wherever the
format allows it.
"""

from __future__ import annotations

import csv
import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bsb_core.import_text import (
    ImportFormatError,
    RejectedJSONError,
    SourceRow,
    StrictJSON,
    describe_value,
    invalid_byte_reason,
    open_source,
    sniff_encoding,
)

# csv's default field limit is 128 KiB; long model responses exceed it.
CSV_FIELD_LIMIT = 64 * 1024 * 1024
csv.field_size_limit(CSV_FIELD_LIMIT)
# Delimiters tried on the CSV header, in order, until one yields a `prompt` column.
CSV_DELIMITERS = (",", "\t", ";", "|")
ALPACA_FIELDS = ("instruction", "output", "generator")


def read_jsonl(path: Path) -> Iterator[SourceRow]:
    """Yield one row per non-blank line of a JSONL file (UTF-8, or UTF-16/32 with a BOM)."""
    codec = sniff_encoding(path)
    parser = StrictJSON()
    with open_source(path, codec) as handle:
        number = 0
        while True:
            try:
                line = next(handle)
            except StopIteration:
                return
            except UnicodeDecodeError as error:
                yield SourceRow(f"{path}:{number + 1}", None, _decode_reason(codec, error))
                return
            number += 1
            # A BOM can start any line when files were joined with `cat`.
            line = line.lstrip("\ufeff")
            if not line.strip():
                continue
            location = f"{path}:{number}"
            reason = invalid_byte_reason(line)
            if reason:
                yield SourceRow(location, None, reason)
                continue
            try:
                data = parser.loads(line)
            except ValueError as error:
                yield SourceRow(location, None, str(error))
                continue
            if not isinstance(data, dict):
                yield SourceRow(location, None, f"expected a JSON object, found {_json_type(data)}")
                continue
            yield SourceRow(location, data)


def read_csv(path: Path) -> Iterator[SourceRow]:
    """Yield one row per CSV record; the first non-blank line is the header that names the fields.

    The delimiter is a tab for ``.tsv`` files; otherwise the first of comma, tab,
    semicolon and pipe that splits the header into a ``prompt`` column.
    """
    codec = sniff_encoding(path)
    with open_source(path, codec, newline="") as handle:
        lines = iter(handle)
        blank = 0
        try:
            for header_line in lines:
                if header_line.strip(" \t\r\n\ufeff"):
                    break
                blank += 1
            else:
                return
        except UnicodeDecodeError as error:
            raise ImportFormatError(f"{path}: {_decode_reason(codec, error)}") from None
        header_number = blank + 1
        delimiter = _csv_delimiter(path, header_line)
        # With strict, a quoted field still open at the end of the file is an error. Without
        # it, csv silently ends the field there and swallows every later record into it.
        reader = csv.reader(itertools.chain([header_line], lines), delimiter=delimiter, strict=True)
        try:
            header = _csv_header(path, header_number, next(reader))
        except csv.Error as error:
            raise ImportFormatError(f"{path}:{header_number}: cannot read the CSV header ({error}); check its quotes") from None

        start = blank + reader.line_num + 1
        while True:
            try:
                record = next(reader)
            except StopIteration:
                return
            except csv.Error as error:
                reason = f"invalid CSV ({error})"
                if "unexpected end of data" in str(error):
                    reason += "; a quoted field in this record has no closing quote, so it runs to the end of the file"
                yield SourceRow(f"{path}:{start}", None, reason)
                start = blank + reader.line_num + 1
                continue
            except UnicodeDecodeError as error:
                yield SourceRow(f"{path}:{start}", None, _decode_reason(codec, error))
                return
            location = f"{path}:{start}"
            end = blank + reader.line_num
            start = end + 1
            if not any(cell.strip() for cell in record):
                continue
            if len(record) != len(header):
                yield SourceRow(location, None, _field_count_reason(len(header), len(record), location, end))
                continue
            data = {key: (value if value != "" else None) for key, value in zip(header, record)}
            yield SourceRow(location, data)


def _csv_delimiter(path: Path, header_line: str) -> str:
    candidates = ("\t", *CSV_DELIMITERS) if path.suffix.lower() == ".tsv" else CSV_DELIMITERS
    for delimiter in dict.fromkeys(candidates):
        names = next(csv.reader([header_line], delimiter=delimiter), [])
        if "prompt" in (name.strip().lstrip("\ufeff") for name in names):
            return delimiter
    return candidates[0]


def _csv_header(path: Path, number: int, header: list[str]) -> list[str]:
    names = [name.strip().lstrip("\ufeff") for name in header]
    location = f"{path}:{number}"
    reason = invalid_byte_reason("".join(names))
    if reason:
        raise ImportFormatError(f"{location}: the CSV header has an {reason}")
    duplicates = [name for name in dict.fromkeys(names) if names.count(name) > 1]
    if duplicates:
        listed = ", ".join(f"`{name}`" for name in duplicates)
        raise ImportFormatError(f"{location}: the CSV header names {listed} more than once; rename one of each so no column is lost")
    if "prompt" not in names:
        shown = ",".join(names)[:200]
        raise ImportFormatError(
            f"{location}: the CSV header has no `prompt` column (found {shown!r}); the first line must name the columns,"
            " e.g. model,prompt,response, separated by commas, tabs, semicolons or pipes"
        )
    return names


def _field_count_reason(expected: int, found: int, location: str, end: int) -> str:
    reason = f"expected {expected} fields as in the header, found {found}"
    first = int(location.rsplit(":", 1)[1])
    if end > first and found < expected:
        # An opening quote without its closing quote swallows the following lines into one field.
        reason += f"; the record runs from line {first} to line {end}, so a quoted field may be missing its closing quote"
    return reason


def alpaca_rows(path: Path) -> Iterator[SourceRow]:
    """Yield AlpacaEval rows (``instruction``, ``output``, ``generator``) as BSB fields.

    A null ``output`` is kept as an empty response. Other fields are kept as metadata, and
    ones named ``model``, ``prompt`` or ``response`` as ``alpaca_model`` and so on.
    """
    for item, row in _json_array_rows(path):
        if row.data is None:
            yield row
            continue
        reason = _alpaca_reason(row.data)
        if reason:
            yield SourceRow(row.location, None, f"array item {item}: {reason}")
            continue
        data = dict(row.data)
        mapped = {"model": data.pop("generator"), "prompt": data.pop("instruction"), "response": data.pop("output")}
        # Extra fields named like the mapped ones stay in meta under a prefix instead of replacing them.
        mapped.update({f"alpaca_{key}" if key in mapped else key: value for key, value in data.items()})
        yield SourceRow(row.location, mapped)


def _alpaca_reason(data: dict[str, Any]) -> str | None:
    missing = [name for name in ALPACA_FIELDS if name not in data]
    if len(missing) == len(ALPACA_FIELDS) and "prompt" in data:
        return (
            "missing AlpacaEval fields instruction, output, generator; for rows with model, prompt and response"
            " write JSONL (one object per line) instead of a JSON array"
        )
    if missing:
        return f"missing AlpacaEval field(s) {', '.join(missing)}"
    for name in ("instruction", "generator"):
        if not isinstance(data[name], str) or not data[name].strip():
            return f"field `{name}` must be a non-empty string, found {describe_value(data[name])}"
    if data["output"] is not None and not isinstance(data["output"], str):
        return f"field `output` must be a string, found {describe_value(data['output'])}"
    return None


def _json_array_rows(path: Path) -> Iterator[tuple[int, SourceRow]]:
    """Yield (item number, row) for each element of a JSON array file, located by its first line."""
    codec = sniff_encoding(path)
    try:
        with open_source(path, codec) as handle:
            text = handle.read()
    except UnicodeDecodeError as error:
        raise ImportFormatError(f"{path}: {_decode_reason(codec, error)}") from None
    parser = StrictJSON()
    index = _skip_whitespace(text, 0)
    if index >= len(text) or text[index] != "[":
        raise ImportFormatError(
            f"{path}:1: expected a JSON array (AlpacaEval model_outputs.json), found {text[index:index + 20]!r};"
            " for one JSON object per line use the jsonl format"
        )
    index = _skip_whitespace(text, index + 1)
    item = 0
    while index < len(text) and text[index] != "]":
        item += 1
        location = f"{path}:{text.count(chr(10), 0, index) + 1}"
        try:
            data, index = parser.raw_decode(text, index)
        except RejectedJSONError as error:
            yield item, SourceRow(location, None, f"array item {item}: {error}")
            index = error.end
        except json.JSONDecodeError as error:
            reason = f"invalid JSON in array item {item} ({error.msg} at line {error.lineno}); the rest of the file cannot be read"
            yield item, SourceRow(location, None, reason)
            return
        except ValueError as error:
            yield item, SourceRow(location, None, f"array item {item}: {error}; the rest of the file cannot be read")
            return
        else:
            if isinstance(data, dict):
                yield item, SourceRow(location, data)
            else:
                yield item, SourceRow(location, None, f"array item {item}: expected a JSON object, found {_json_type(data)}")
        index = _skip_whitespace(text, index)
        if index < len(text) and text[index] == ",":
            index = _skip_whitespace(text, index + 1)
    if index >= len(text):
        location = f"{path}:{text.count(chr(10)) + 1}"
        yield item + 1, SourceRow(location, None, "the file ends before the array's closing `]`; it may be truncated")


def detect_format(path: Path) -> str:
    """Guess the format of ``path`` from its name and first bytes; raise ImportFormatError when unsure."""
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        return "jsonl"
    if suffix in (".csv", ".tsv"):
        return "csv"
    if suffix in (".db", ".sqlite", ".sqlite3"):
        return "llm-logs"
    with path.open("rb") as handle:
        head = handle.read(4096)
    if head.startswith(b"SQLite format 3\x00"):
        return "llm-logs"
    start = head.decode(sniff_encoding(path).replace("-sig", ""), errors="ignore").lstrip(" \t\r\n\ufeff")
    if start[:1] == "[":
        return "alpaca-eval"
    if start[:1] == "{":
        _check_one_object_per_line(path)
        return "jsonl"
    raise ImportFormatError(
        f"{path}: cannot tell the format from the name or content; pass --format with one of jsonl, csv, alpaca-eval, llm-logs"
    )


def _check_one_object_per_line(path: Path) -> None:
    # A pretty-printed object fails on every line as JSONL; one clear error is more useful.
    first = next(read_jsonl(path), None)
    if first is None or first.data is not None:
        return
    try:
        with open_source(path, sniff_encoding(path)) as handle:
            StrictJSON().loads(handle.read())
    except (ValueError, UnicodeDecodeError):
        return
    raise ImportFormatError(
        f"{path}: one JSON object spread over several lines; BSB reads JSONL (one object per line,"
        " which `jq -c .` writes) or a JSON array of AlpacaEval rows"
    )


def _decode_reason(codec: str, error: UnicodeDecodeError) -> str:
    return f"invalid {codec} text ({error.reason}); the rest of the file cannot be read; save the file as UTF-8"


def _json_type(value: Any) -> str:
    names = {dict: "object", list: "array", str: "string", bool: "boolean", int: "number", float: "number"}
    return "null" if value is None else names.get(type(value), type(value).__name__)


def _skip_whitespace(text: str, index: int) -> int:
    while index < len(text) and text[index] in " \t\r\n":
        index += 1
    return index
