"""The JSON Schema checker on the real-world schemas of JSONSchemaBench.

Every schema must load, and checking responses against it (an empty object, a string, a
generated simple instance, garbage text) must never raise. Writes the section
``jsonschemabench`` of docs/validation.md.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from validation_doc import update_section

from bsb_core.metrics.compliance_schema import validator_for_schema
from bsb_core.metrics.constraints import check_constraint

GARBAGE = "Sorry, here it is: {not json] \x01 ```json\n{\"a\": }\n```"
# Recursion limit of the instance generator: deeper subschemas get null.
MAX_DEPTH = 6
FORMAT_SAMPLES = {
    "date-time": "2024-01-31T12:00:00Z",
    "date": "2024-01-31",
    "time": "12:00:00Z",
    "email": "someone@example.com",
    "uri": "https://example.com/a",
    "uri-reference": "/a",
    "uuid": "123e4567-e89b-12d3-a456-426614174000",
    "ipv4": "192.0.2.1",
    "hostname": "example.com",
}


def resolve_pointer(root: Any, ref: str) -> Any:
    """Return the subschema an internal ``#/...`` reference points to, or None."""
    node = root
    for part in ref[2:].split("/") if ref.startswith("#/") else []:
        part = unquote(part).replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node if ref.startswith("#") else None


def sample_instance(schema: Any, root: Any, depth: int = 0) -> Any:
    """Build a simple instance of ``schema``: required properties, minimum items, first enum value.

    The instance is not always valid, because patterns, formats and combinators are only
    roughly followed. It is realistic input for the checker, which must never raise on it.
    """
    if depth > MAX_DEPTH or not isinstance(schema, dict):
        return None
    if isinstance(schema.get("$ref"), str):
        return sample_instance(resolve_pointer(root, schema["$ref"]), root, depth + 1)
    if "const" in schema:
        return schema["const"]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    for combinator in ("allOf", "anyOf", "oneOf"):
        if isinstance(schema.get(combinator), list) and schema[combinator]:
            merged = {key: value for key, value in schema.items() if key != combinator}
            first = schema[combinator][0]
            if isinstance(first, dict) and not merged.get("type"):
                return sample_instance({**merged, **first}, root, depth + 1)

    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((item for item in kind if item != "null"), "null")
    if kind is None and "properties" in schema:
        kind = "object"
    elif kind is None and "items" in schema:
        kind = "array"
    elif kind is None:
        kind = "string"

    if kind == "object":
        properties = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
        required = [name for name in schema.get("required", []) if isinstance(name, str)]
        return {name: sample_instance(properties.get(name, {"type": "string"}), root, depth + 1) for name in required}
    if kind == "array":
        count = schema.get("minItems", 0) if isinstance(schema.get("minItems"), int) else 0
        return [sample_instance(schema.get("items", {}), root, depth + 1) for _ in range(min(count, 5))]
    if kind in ("integer", "number"):
        minimum = schema.get("minimum", 0)
        return minimum if isinstance(minimum, (int, float)) and not isinstance(minimum, bool) else 0
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    if schema.get("format") in FORMAT_SAMPLES:
        return FORMAT_SAMPLES[schema["format"]]
    length = schema.get("minLength", 1) if isinstance(schema.get("minLength"), int) else 1
    return "a" * max(1, min(length, 50))


@pytest.fixture(scope="module")
def schemas(shared_data: Path) -> list[dict]:
    path = shared_data / "jsonschemabench" / "schemas.jsonl"
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


@pytest.fixture(scope="module")
def outcomes(schemas: list[dict]) -> list[dict]:
    """Per schema: its draft, whether it loads, and the verdict on each probe response."""
    rows = []
    for entry in schemas:
        schema = entry["schema"]
        loaded = validator_for_schema(schema)
        constraint = {"id": "bsb:json_schema", "kwargs": {"schema_name": entry["id"], "schema": schema}}
        probes = {
            "empty object": "{}",
            "string": '"a string"',
            "generated instance": json.dumps(sample_instance(schema, schema)),
            "garbage": GARBAGE,
        }
        verdicts = {name: check_constraint(constraint, text) for name, text in probes.items()}
        declared = schema.get("$schema", "(none)") if isinstance(schema, dict) else "(not an object)"
        rows.append({"id": entry["id"], "declared": declared, "loaded": loaded, "verdicts": verdicts})
    return rows


def render(outcomes: list[dict]) -> str:
    drafts = Counter((row["declared"], row["loaded"].draft or "unusable") for row in outcomes)
    unusable = [row for row in outcomes if row["loaded"].validator is None]
    unchecked = [
        (row["id"], name, result.reason)
        for row in outcomes
        if row["loaded"].validator is not None
        for name, result in row["verdicts"].items()
        if result.followed is None
    ]
    generated_valid = sum(row["verdicts"]["generated instance"].followed is True for row in outcomes)
    empty_valid = sum(row["verdicts"]["empty object"].followed is True for row in outcomes)

    lines = [
        "## JSONSchemaBench: real-world schemas",
        "",
        f"Written by `tests/test_jsonschemabench.py`. {len(outcomes)} schemas; each is checked against its",
        "meta-schema, then four responses are checked against it (an empty object, a string, a generated",
        "simple instance, garbage text). No check raised an exception.",
        "",
        "| declared `$schema` | validator | schemas |",
        "| --- | --- | ---: |",
    ]
    for (declared, draft), count in sorted(drafts.items(), key=lambda item: (-item[1], item[0])):
        lines.append(f"| `{declared}` | {draft} | {count} |")

    lines += [
        "",
        f"Unusable schemas (rejected by their meta-schema): {len(unusable)}.",
    ]
    lines += [f"- `{row['id']}`: {row['loaded'].problem}" for row in unusable]
    lines += [
        f"Responses that could not be checked against a usable schema (e.g. an unresolvable `$ref`): {len(unchecked)}.",
    ]
    lines += [f"- `{schema_id}` ({probe}): {reason}" for schema_id, probe, reason in unchecked[:20]]
    lines += [
        "",
        f"The generated instance validates against {generated_valid} of {len(outcomes)} schemas and the empty",
        f"object against {empty_valid}. The generator follows `required`, `enum`, `minItems` and internal `$ref`s",
        "but not patterns or every combinator, so this is a smoke figure, not a test of the validator.",
    ]
    return "\n".join(lines)


def test_every_schema_loads(outcomes):
    unusable = [(row["id"], row["loaded"].problem) for row in outcomes if row["loaded"].validator is None]
    update_section("jsonschemabench", render(outcomes))
    assert unusable == []


def test_probes_give_verdicts(outcomes):
    for row in outcomes:
        for name, result in row["verdicts"].items():
            assert result.followed in (True, False, None), (row["id"], name)


def test_garbage_never_valid(outcomes):
    valid = [row["id"] for row in outcomes if row["verdicts"]["garbage"].followed is True]
    assert valid == []


def test_string_probe_strict_parse(outcomes):
    # A JSON string is a whole-text JSON value, so a usable schema always gives a verdict on it.
    missing = [row["id"] for row in outcomes if row["loaded"].validator is not None and row["verdicts"]["string"].followed is None]
    assert missing == []


def test_schema_count(schemas):
    assert len(schemas) == 328
