"""JSON Schema validation that never raises and never fetches a remote ``$ref``.

The validator class comes from the schema's ``$schema`` (draft 3 to 2020-12), and Draft
2020-12 when it has none. ``format`` is an annotation only (the JSON Schema default): no
format checker runs.

NOTE: schema patterns run on Python's ``re``, which has no time limit, so a pattern with
catastrophic backtracking can stall validation of a long string.
"""

from __future__ import annotations

import functools
import json
import logging
import re
from dataclasses import dataclass
from typing import Any

import referencing.exceptions
from jsonschema import Draft202012Validator, exceptions, validators
from jsonschema.protocols import Validator
from jsonschema_specifications import REGISTRY as SPECIFICATIONS

log = logging.getLogger(__name__)

# Maximum length of a schema error message kept in a reason, in characters.
MAX_REASON_CHARS = 200


@dataclass(frozen=True)
class SchemaValidator:
    """A ready validator, or the reason the schema cannot be used."""

    validator: Validator | None
    draft: str  # validator class name, e.g. "Draft7Validator"
    problem: str = ""  # why the schema is unusable; empty when usable


@dataclass(frozen=True)
class Validation:
    """The outcome of validating one instance: valid True/False, or None with the reason."""

    valid: bool | None
    reason: str


def _short(message: str) -> str:
    message = " ".join(message.split())
    return message if len(message) <= MAX_REASON_CHARS else message[: MAX_REASON_CHARS - 3] + "..."


def validator_class(schema: Any) -> type[Validator]:
    """Return the validator class named by the schema's ``$schema``, Draft 2020-12 by default.

    An unknown ``$schema`` URI also falls back to Draft 2020-12.
    """
    if not isinstance(schema, dict) or not isinstance(schema.get("$schema"), str):
        return Draft202012Validator
    return validators.validator_for(schema, default=Draft202012Validator)


def build_validator(schema: Any) -> SchemaValidator:
    """Check ``schema`` against its meta-schema and return a validator, or the problem found."""
    if not isinstance(schema, (dict, bool)):
        return SchemaValidator(None, "", f"schema must be a JSON object or boolean, got {type(schema).__name__}")
    try:
        cls = validator_class(schema)
        cls.check_schema(schema)
        # An explicit registry of the meta-schemas only: a remote $ref is unresolvable instead of fetched.
        return SchemaValidator(cls(schema, registry=SPECIFICATIONS), cls.__name__)
    except exceptions.SchemaError as error:
        return SchemaValidator(None, "", f"invalid schema: {_short(error.message)}")
    except RecursionError:
        return SchemaValidator(None, "", "invalid schema: nested too deeply to check")
    except Exception as error:  # noqa: BLE001 - a schema from a suite or a data set must not stop scoring
        log.warning("schema check failed: %s: %s", type(error).__name__, error)
        return SchemaValidator(None, "", f"unusable schema: {type(error).__name__}: {_short(str(error))}")


@functools.lru_cache(maxsize=256)
def _cached_validator(schema_json: str) -> SchemaValidator:
    return build_validator(json.loads(schema_json))


def validator_for_schema(schema: Any) -> SchemaValidator:
    """Return :func:`build_validator` of ``schema``, cached by the schema's canonical JSON."""
    try:
        key = json.dumps(schema, sort_keys=True)
    except (TypeError, ValueError, RecursionError):
        return build_validator(schema)
    return _cached_validator(key)


def validate(checker: SchemaValidator, instance: Any) -> Validation:
    """Validate ``instance``; an error inside the schema gives ``valid=None`` with the reason."""
    if checker.validator is None:
        return Validation(None, checker.problem)
    try:
        error = next(iter(checker.validator.iter_errors(instance)), None)
    except referencing.exceptions.Unresolvable as unresolvable:
        return Validation(None, f"unresolvable $ref in schema: {_short(str(unresolvable))}")
    except re.error as bad_pattern:
        return Validation(None, f"schema pattern is not a valid regular expression: {bad_pattern}")
    except RecursionError:
        return Validation(None, "schema or instance recurses too deeply to validate")
    except Exception as failure:  # noqa: BLE001 - a schema from a suite or a data set must not stop scoring
        log.warning("schema validation failed: %s: %s", type(failure).__name__, failure)
        return Validation(None, f"validation failed: {type(failure).__name__}: {_short(str(failure))}")
    if error is None:
        return Validation(True, "valid")
    path = "/".join(str(part) for part in error.absolute_path) or "(root)"
    return Validation(False, f"at {path}: {_short(error.message)}")
