"""Structured mode: request a JSON-schema prompt again through instructor and record its repairability.

The raw response stays the scored behaviour. This second request measures something else: whether
the model reaches a schema-valid response when instructor's JSON mode states the schema and feeds
validation errors back (a small retry budget). Every provider goes through the same path,
because instructor wraps a ``create`` function that sends through the executor's own
rate limits and transport retries; the attempts, validation errors and final validity are kept.
"""

from __future__ import annotations

import copy
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import instructor
import jsonschema
from instructor.core.exceptions import IncompleteOutputException, InstructorRetryException
from instructor.core.hooks import Hooks
from openai.types.chat import ChatCompletion
from pydantic import RootModel, ValidationError, model_validator

from bsb_core.providers.base import ChatRequest, ChatResult, ProviderError

log = logging.getLogger(__name__)
# instructor logs every exhausted re-ask at ERROR ("Max retries exceeded"). For BSB that is
# an expected outcome, recorded as the response's repairability, so only its critical
# messages are shown.
for instructor_logger in ("instructor", "instructor.v2.retry"):
    logging.getLogger(instructor_logger).setLevel(logging.CRITICAL)

JSON_SCHEMA_CONSTRAINT = "bsb:json_schema"

# Maximum characters of one validation message kept per attempt.
MAX_ERROR_CHARS = 300

Send = Callable[[ChatRequest], Awaitable[ChatResult]]


def json_schema_of(constraints: list[dict[str, Any]] | None) -> tuple[str, dict[str, Any]] | None:
    """Return (schema name, schema) of a prompt's ``bsb:json_schema`` constraint, or None."""
    for constraint in constraints or []:
        if constraint.get("id") != JSON_SCHEMA_CONSTRAINT:
            continue
        kwargs = constraint.get("kwargs") or {}
        schema = kwargs.get("schema")
        if isinstance(schema, dict):
            return str(kwargs.get("schema_name") or "schema"), schema
    return None


def schema_model(schema: dict[str, Any], name: str = "SchemaInstance") -> type[RootModel[Any]]:
    """Build a pydantic model whose JSON Schema is ``schema`` and whose validation is ``jsonschema``'s.

    Converting a JSON Schema into pydantic fields loses keywords (``minItems``, ``pattern``,
    ``if``/``then``), so the model keeps the schema as it is: instructor shows the model exactly
    this schema, and a response is valid exactly when ``jsonschema`` accepts it.
    """
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    validator = validator_class(schema)
    schema_copy = copy.deepcopy(schema)

    class SchemaInstance(RootModel[Any]):
        @model_validator(mode="after")
        def _validate_against_schema(self) -> SchemaInstance:
            errors = sorted(validator.iter_errors(self.root), key=lambda error: list(error.absolute_path))
            if errors:
                raise ValueError("; ".join(_describe(error) for error in errors[:5]))
            return self

        @classmethod
        def model_json_schema(cls, *args: Any, **kwargs: Any) -> dict[str, Any]:
            return copy.deepcopy(schema_copy)

    SchemaInstance.__name__ = SchemaInstance.__qualname__ = _class_name(name)
    return SchemaInstance


def _describe(error: jsonschema.ValidationError) -> str:
    location = "/".join(str(part) for part in error.absolute_path) or "(root)"
    return f"{location}: {error.message}"[:MAX_ERROR_CHARS]


def _class_name(name: str) -> str:
    words = [word for word in "".join(c if c.isalnum() else " " for c in name).split() if word]
    return "".join(word[:1].upper() + word[1:] for word in words) or "SchemaInstance"


@dataclass
class StructuredOutcome:
    """Outcome of a structured request, stored in the raw response's ``meta["structured"]``."""

    schema_name: str
    mode: str = "instructor-json"
    valid: bool = False
    attempts: int = 0  # requests that reached the model (instructor attempts)
    validation_errors: list[str] = field(default_factory=list)  # one entry per failed attempt
    text: str | None = None  # text of the last response
    value: Any = None  # the validated JSON value, when valid
    error: str | None = None  # why the request ended without a valid response, other than validation
    messages: list[dict[str, Any]] = field(default_factory=list)  # the last request's messages
    params: dict[str, Any] = field(default_factory=dict)
    tokens_in: int = 0
    tokens_out: int = 0
    latency_ms: float = 0.0

    def to_meta(self) -> dict[str, Any]:
        """Return the outcome as a JSON-ready dict."""
        return asdict(self)


async def request_structured(
    send: Send,
    *,
    model: str,
    messages: list[dict[str, Any]],
    params: dict[str, Any],
    schema: dict[str, Any],
    schema_name: str,
    retries: int = 2,
    timeout_s: float = 60.0,
) -> StructuredOutcome:
    """Ask for ``schema`` through instructor's JSON mode with ``retries`` re-asks on validation errors.

    ``send`` delivers one request (with the executor's limits and transport retries) and raises
    :class:`ProviderError` when it finally fails. Nothing is raised here: failures are in the outcome.
    """
    outcome = StructuredOutcome(schema_name=schema_name, params=dict(params))
    started = time.perf_counter()

    async def create(**kwargs: Any) -> ChatCompletion:
        sent = copy.deepcopy(kwargs.pop("messages"))
        kwargs.pop("model", None)
        outcome.messages = sent
        outcome.params = dict(kwargs)
        result = await send(ChatRequest(model=model, messages=sent, params=kwargs, timeout_s=timeout_s))
        outcome.attempts += 1
        outcome.text = result.text
        outcome.tokens_in += result.tokens_in or 0
        outcome.tokens_out += result.tokens_out or 0
        return _completion(model, result)

    def on_parse_error(error: Exception, **_: Any) -> None:
        outcome.validation_errors.append(_validation_message(error))

    hooks = Hooks()
    hooks.on("parse:error", on_parse_error)
    patched = instructor.patch(create=create, mode=instructor.Mode.JSON)
    try:
        value = await patched(
            response_model=schema_model(schema, schema_name),
            messages=copy.deepcopy(messages),
            model=model,
            max_retries=retries,
            hooks=hooks,
            **params,
        )
    except IncompleteOutputException:
        outcome.error = "incomplete output: the answer stopped at max_tokens"
    except InstructorRetryException as exc:
        cause = exc.__cause__
        if isinstance(cause, ProviderError):
            outcome.error = str(cause)
    except ProviderError as exc:
        outcome.error = str(exc)
    else:
        outcome.valid = True
        outcome.value = value.root
    outcome.latency_ms = round((time.perf_counter() - started) * 1000, 1)
    return outcome


def _validation_message(error: Exception) -> str:
    if isinstance(error, ValidationError):
        parts = [str(item.get("msg", "")).removeprefix("Value error, ") for item in error.errors()]
        return "; ".join(parts)[:MAX_ERROR_CHARS]
    if isinstance(error, json.JSONDecodeError):
        return f"invalid JSON: {error.msg} at line {error.lineno} column {error.colno}"
    return f"{type(error).__name__}: {error}"[:MAX_ERROR_CHARS]


def _completion(model: str, result: ChatResult) -> ChatCompletion:
    # instructor's JSON mode reads an OpenAI ChatCompletion, whatever the provider was.
    return ChatCompletion.model_validate(
        {
            "id": "bsb-structured",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": result.model_version or model,
            "choices": [
                {
                    "index": 0,
                    "finish_reason": result.finish_reason if result.finish_reason in ("stop", "length", "content_filter") else "stop",
                    "message": {"role": "assistant", "content": result.text},
                }
            ],
            "usage": {
                "prompt_tokens": result.tokens_in or 0,
                "completion_tokens": result.tokens_out or 0,
                "total_tokens": (result.tokens_in or 0) + (result.tokens_out or 0),
            },
        }
    )


__all__ = ["StructuredOutcome", "json_schema_of", "request_structured", "schema_model"]
