"""Decoding source files for import: encodings, strict JSON values and invalid Unicode.

Readers open files with :func:`open_source` and parse JSON with :class:`StrictJSON`, then
reject a row whose text :func:`find_invalid_text` flags, instead of letting invalid
Unicode reach SQLite (which cannot store a lone surrogate and raises).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

# Byte-order marks, longest first: the UTF-32-LE mark starts with the UTF-16-LE one.
BOMS = (
    (b"\x00\x00\xfe\xff", "utf-32"),
    (b"\xff\xfe\x00\x00", "utf-32"),
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\xfe\xff", "utf-16"),
    (b"\xff\xfe", "utf-16"),
)
# Nesting levels allowed in one JSON value. Deeper values are rejected at import because
# Python's json module recurses once per level and raises RecursionError near 1,000 levels,
# which would break `bsb export` on a value that imported.
MAX_JSON_DEPTH = 100
# surrogateescape decodes each invalid UTF-8 byte to one code point in this range.
ESCAPED_BYTES = range(0xDC80, 0xDD00)


class ImportFormatError(ValueError):
    """A whole file cannot be read in the requested format."""


@dataclass
class SourceRow:
    """One row read from a source file, before validation."""

    location: str  # "file:line" (or "file:responses row N" where lines do not apply)
    data: dict[str, Any] | None
    error: str | None = None  # a parse error found while reading
    # Values a reader derives that no source field carries: system, messages, latency_ms,
    # tokens_in, tokens_out. Kept apart from `data` so a source field can never set them.
    internal: dict[str, Any] = field(default_factory=dict)


def sniff_encoding(path: Path) -> str:
    """Return the codec for ``path``: from its byte-order mark, else UTF-16 by its zero bytes, else UTF-8.

    Windows tools (PowerShell's `>`, Excel's "Unicode text") write UTF-16; a BOM-less
    UTF-16 file is recognised when its first ASCII characters alternate with zero bytes.
    """
    with path.open("rb") as handle:
        head = handle.read(4)
    for mark, codec in BOMS:
        if head.startswith(mark):
            return codec
    if len(head) >= 4 and head[0] and not head[1] and head[2] and not head[3]:
        return "utf-16-le"
    if len(head) >= 4 and not head[0] and head[1] and not head[2] and head[3]:
        return "utf-16-be"
    return "utf-8"


def open_source(path: Path, codec: str, newline: str | None = None) -> TextIO:
    """Open ``path`` as text; invalid UTF-8 bytes become escaped code points that rows report."""
    # surrogateescape only applies to UTF-8: other codecs raise UnicodeDecodeError, which
    # the importer reports as the file being unreadable from that point on.
    errors = "surrogateescape" if codec.startswith("utf-8") else "strict"
    return path.open(encoding=codec, errors=errors, newline=newline)


def invalid_byte_reason(text: str) -> str | None:
    """Describe the first byte that was not valid UTF-8 in ``text``, or return None."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        code = ord(text[error.start])
        if code in ESCAPED_BYTES:
            return f"invalid UTF-8 byte 0x{code - 0xDC00:02x} at column {error.start + 1}; save the file as UTF-8"
    return None


def find_invalid_text(value: Any, name: str = "") -> str | None:
    """Return a reason when a string in ``value`` (keys included) is not valid Unicode, else None.

    Flags bytes that were not valid UTF-8 and lone surrogates from JSON escapes such as
    ``"\\ud800"``: SQLite stores UTF-8 only, so neither can be written.
    """
    stack: list[tuple[Any, str]] = [(value, name)]
    while stack:
        item, where = stack.pop()
        if isinstance(item, str):
            reason = _surrogate_reason(item, where)
            if reason:
                return reason
        elif isinstance(item, dict):
            for key, child in item.items():
                child_where = f"{where}.{key}" if where else str(key)
                reason = _surrogate_reason(key, child_where) if isinstance(key, str) else None
                if reason:
                    return f"a field name: {reason}"
                stack.append((child, child_where))
        elif isinstance(item, list):
            stack.extend((child, f"{where}[{index}]") for index, child in enumerate(item))
    return None


def _surrogate_reason(text: str, where: str) -> str | None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        code = ord(text[error.start])
        label = f"field `{where}`" if where else "the value"
        if code in ESCAPED_BYTES:
            return f"{label} has invalid UTF-8 byte 0x{code - 0xDC00:02x} at character {error.start + 1}; save the file as UTF-8"
        return (
            f"{label} has a lone surrogate \\u{code:04x} at character {error.start + 1}, which is not valid Unicode;"
            " fix the escape in the source (a character outside the BMP is a pair such as \\ud83d\\ude00)"
        )
    return None


def describe_value(value: Any) -> str:
    """Return the JSON type and a short JSON rendering of ``value``, for error messages."""
    names = {dict: "object", list: "array", str: "string", bool: "boolean", int: "number", float: "number"}
    if value is None:
        return "null"
    kind = names.get(type(value), type(value).__name__)
    try:
        shown = json.dumps(value)
    except (TypeError, ValueError, RecursionError):
        shown = repr(value)
    if len(shown) > 40:
        shown = shown[:37] + "..."
    return f"{kind} {shown}"


def json_depth(value: Any) -> int:
    """Return how many arrays and objects are nested in ``value`` (0 for a scalar)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            stack.extend((child, depth + 1) for child in item.values())
            deepest = max(deepest, depth + 1)
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)
            deepest = max(deepest, depth + 1)
    return deepest


class StrictJSON:
    """A JSON parser that reports duplicate object keys and too-deep nesting as errors.

    Python's json keeps the last of two equal keys and silently drops the first. This
    parser rejects the row instead, so no value is lost unseen.
    """

    def __init__(self) -> None:
        self.duplicates: list[str] = []
        self.decoder = json.JSONDecoder(object_pairs_hook=self._pairs)

    def _pairs(self, pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key, value in pairs:
            if key in result:
                self.duplicates.append(key)
            result[key] = value
        return result

    def loads(self, text: str) -> Any:
        """Parse one JSON document; raise ValueError with the reason when it is invalid."""
        try:
            value, end = self.raw_decode(text, _skip_whitespace(text, 0))
        except json.JSONDecodeError as error:
            raise ValueError(f"invalid JSON ({error.msg} at column {error.colno})") from None
        if _skip_whitespace(text, end) != len(text):
            raise ValueError(f"invalid JSON (extra data at column {end + 1})")
        return value

    def raw_decode(self, text: str, index: int) -> tuple[Any, int]:
        """Parse the JSON value at ``index``; return it and the index after it.

        Raises ``json.JSONDecodeError`` for invalid JSON, :class:`RejectedJSONError` for a
        duplicate key or nesting deeper than :data:`MAX_JSON_DEPTH`, and ValueError when
        the nesting is too deep to parse at all.
        """
        self.duplicates = []
        try:
            value, end = self.decoder.raw_decode(text, index)
        except RecursionError:
            raise ValueError(f"JSON nested too deeply to parse (the maximum is {MAX_JSON_DEPTH} levels)") from None
        if self.duplicates:
            names = ", ".join(f"`{key}`" for key in dict.fromkeys(self.duplicates))
            raise RejectedJSONError(f"duplicate key {names} in one object; keep one value per key", end)
        depth = json_depth(value)
        if depth > MAX_JSON_DEPTH:
            raise RejectedJSONError(f"JSON nested {depth} levels deep; the maximum is {MAX_JSON_DEPTH}", end)
        return value, end


class RejectedJSONError(ValueError):
    """Valid JSON that the importer rejects; ``end`` is the index after the value, so reading goes on."""

    def __init__(self, message: str, end: int) -> None:
        super().__init__(message)
        self.end = end


def _skip_whitespace(text: str, index: int) -> int:
    while index < len(text) and text[index] in " \t\r\n":
        index += 1
    return index
