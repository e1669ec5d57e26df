"""Anthropic's Messages API through the official ``anthropic`` SDK: ``anthropic/<model>``."""

from __future__ import annotations

import json
import logging
from typing import Any

import anthropic

from bsb_core.providers.base import ChatRequest, ChatResult
from bsb_core.providers.errors import malformed_error, sdk_error
from bsb_core.providers.transport import aiohttp_client

log = logging.getLogger(__name__)

# Messages API parameters taken from the request; OpenAI names are mapped to Anthropic's.
PARAM_NAMES = {
    "temperature": "temperature",
    "top_p": "top_p",
    "top_k": "top_k",
    "max_tokens": "max_tokens",
    "max_completion_tokens": "max_tokens",
    "stop": "stop_sequences",
    "stop_sequences": "stop_sequences",
    "metadata": "metadata",
}

# Arguments the SDK's ``messages.create`` takes by name (anthropic 2.x). The sampling
# parameters (temperature, top_p, top_k) are no longer among them, though the API still takes
# them for the models that support them, so they go in ``extra_body``.
SDK_ARGUMENTS = frozenset({"max_tokens", "stop_sequences", "metadata"})

# Request parameters with no Messages API counterpart; they are left out rather than rejected.
DROPPED_PARAMS = frozenset({"seed", "response_format", "presence_penalty", "frequency_penalty"})

# The Messages API requires max_tokens; this applies when the request has none.
DEFAULT_MAX_TOKENS = 1024

# Anthropic stop reasons in OpenAI's finish_reason terms, so "length" means the same everywhere.
FINISH_REASONS = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length", "refusal": "content_filter"}


class AnthropicChatProvider:
    """A provider for Anthropic's Messages API (or a server speaking its wire format)."""

    name = "anthropic"
    simulated = False

    def __init__(self, *, api_key: str, base_url: str | None = None, timeout_s: float = 60.0) -> None:
        self.base_url = base_url
        # max_retries=0: the executor retries, so attempts, waits and logs stay in one place.
        self._client = anthropic.AsyncAnthropic(
            api_key=api_key, base_url=base_url, max_retries=0, timeout=timeout_s, http_client=aiohttp_client(anthropic)
        )

    async def chat(self, request: ChatRequest) -> ChatResult:
        """Send one Messages API request and return its text and usage."""
        system, messages = split_system(request.messages)
        kwargs = message_params(request.params)
        if system:
            kwargs["system"] = system

        try:
            message = await self._client.messages.create(
                model=request.model, messages=messages, timeout=request.timeout_s, **kwargs
            )
        except (anthropic.AnthropicError, json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise sdk_error(
                anthropic, self.name, exc, base_url=str(self._client.base_url), timeout_s=request.timeout_s,
                status_message=_error_message,
            ) from None

        return _result(self.name, message)

    async def aclose(self) -> None:
        """Close the SDK's connection pool."""
        await self._client.close()


def split_system(messages: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """Move system messages into Anthropic's top-level ``system`` text; keep the rest in order."""
    system_parts = [str(m.get("content") or "") for m in messages if m.get("role") == "system"]
    rest = [{"role": m["role"], "content": m.get("content") or ""} for m in messages if m.get("role") != "system"]
    return "\n\n".join(part for part in system_parts if part), rest


def message_params(params: dict[str, Any]) -> dict[str, Any]:
    """Map request parameters to Messages API arguments, with max_tokens always set."""
    kwargs: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for key, value in params.items():
        if key in DROPPED_PARAMS:
            continue
        name = PARAM_NAMES.get(key, key)
        (kwargs if name in SDK_ARGUMENTS else extra)[name] = value
    if isinstance(kwargs.get("stop_sequences"), str):
        kwargs["stop_sequences"] = [kwargs["stop_sequences"]]
    kwargs.setdefault("max_tokens", DEFAULT_MAX_TOKENS)
    if extra:
        kwargs["extra_body"] = extra
    return kwargs


def _error_message(exc: anthropic.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            kind = inner.get("type")
            return f"{kind}: {inner['message']}" if kind else str(inner["message"])
        # Not shortened here: clean_message shortens after scrubbing, so no key is cut in half first.
        return json.dumps(body)
    return str(body or exc.message)


def _result(provider: str, message: Any) -> ChatResult:
    content = getattr(message, "content", None)
    if not isinstance(content, list):
        raise malformed_error(provider, "the message has no content list")
    texts = [getattr(block, "text", None) for block in content if getattr(block, "type", None) == "text"]
    if any(not isinstance(text, str) for text in texts):
        raise malformed_error(provider, "a text block has no text")

    usage = getattr(message, "usage", None)
    stop_reason = getattr(message, "stop_reason", None)
    model_version = getattr(message, "model", None)
    return ChatResult(
        text="".join(texts),
        model_version=model_version if isinstance(model_version, str) else None,
        tokens_in=getattr(usage, "input_tokens", None),
        tokens_out=getattr(usage, "output_tokens", None),
        finish_reason=FINISH_REASONS.get(stop_reason, stop_reason) if isinstance(stop_reason, str) else None,
    )


__all__ = ["AnthropicChatProvider", "message_params", "split_system"]
