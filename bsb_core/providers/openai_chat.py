"""OpenAI chat completions through the official ``openai`` SDK: ``openai/``, ``ollama/``, ``openai-compatible/``.

Request parameters go into the body as they are, so server-specific options (vLLM's
``top_k``, Ollama's ``num_ctx``) arrive too.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import openai
from openai.types.chat import ChatCompletion

from bsb_core.providers.base import ChatRequest, ChatResult, ProviderError
from bsb_core.providers.errors import malformed_error, sdk_error
from bsb_core.providers.transport import aiohttp_client

log = logging.getLogger(__name__)



class OpenAIChatProvider:
    """A provider for any endpoint that speaks OpenAI's chat completions API."""

    simulated = False

    def __init__(self, name: str, *, api_key: str, base_url: str | None = None, timeout_s: float = 60.0) -> None:
        self.name = name
        self.base_url = base_url
        # max_retries=0: the executor retries, so attempts, waits and logs stay in one place.
        self._client = openai.AsyncOpenAI(
            api_key=api_key, base_url=base_url, max_retries=0, timeout=timeout_s, http_client=aiohttp_client(openai)
        )

    async def chat(self, request: ChatRequest) -> ChatResult:
        """Send one chat completion request and return its text and usage."""
        body: dict[str, Any] = {"model": request.model, "messages": request.messages, **request.params}

        try:
            # The SDK's generic ``post`` sends the same request as ``chat.completions.create``, with
            # the same auth, errors and response model. It skips the typed-parameter transform of
            # every message, which cost about 0.5 ms CPU per request with openai 3.3 (measured over
            # 1,000 local requests, a third of the client's CPU time). The body is plain JSON already.
            completion = await self._client.post(
                "/chat/completions", body=body, cast_to=ChatCompletion, options={"timeout": request.timeout_s}
            )
        except (openai.OpenAIError, json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise sdk_error(
                openai, self.name, exc, base_url=str(self._client.base_url), timeout_s=request.timeout_s,
                status_message=_error_message,
            ) from None

        return _result(self.name, completion)

    async def aclose(self) -> None:
        """Close the SDK's connection pool."""
        await self._client.close()


def _error_message(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])
        # Not shortened here: clean_message shortens after scrubbing, so no key is cut in half first.
        return json.dumps(body)
    return str(body or exc.message)


def _result(provider: str, completion: Any) -> ChatResult:
    if isinstance(completion, str):
        # The SDK returns the raw text when the content type is not JSON, e.g. a proxy's HTML error page.
        raise malformed_error(provider, f"the body is not JSON, it starts with: {completion[:200]}")
    choices = getattr(completion, "choices", None)
    if not isinstance(choices, list) or not choices:
        raise malformed_error(provider, "no choices in the completion")
    message = getattr(choices[0], "message", None)
    content = getattr(message, "content", None)
    if content is None and getattr(message, "refusal", None):
        content = message.refusal  # OpenAI's structured refusal is the model's response text
    if not isinstance(content, str):
        if content is None and getattr(choices[0], "finish_reason", None):
            content = ""  # e.g. a content filter stop: an empty response, not a broken body
        else:
            raise malformed_error(provider, "the first choice has no message content")

    usage = getattr(completion, "usage", None)
    model_version = getattr(completion, "model", None)
    fingerprint = getattr(completion, "system_fingerprint", None)
    if model_version and fingerprint:
        model_version = f"{model_version} ({fingerprint})"
    return ChatResult(
        text=content,
        model_version=model_version if isinstance(model_version, str) else None,
        tokens_in=getattr(usage, "prompt_tokens", None),
        tokens_out=getattr(usage, "completion_tokens", None),
        finish_reason=getattr(choices[0], "finish_reason", None),
    )


__all__ = ["OpenAIChatProvider", "ProviderError"]
