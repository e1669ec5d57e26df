"""Google's Gemini API ``generateContent`` REST call over httpx: ``google/<model>``.

Request and response follow the documented v1beta wire format: ``contents`` with ``user`` and
``model`` roles, ``systemInstruction`` and ``generationConfig``. The response text is in
``candidates[0].content.parts[*].text`` and the usage in ``usageMetadata``. Errors carry
``{"error": {"code", "message", "status", "details"}}``, and a 429's wait is in the
``google.rpc.RetryInfo`` detail's ``retryDelay`` (e.g. ``"22s"``).
"""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import quote

import httpx

from bsb_core.providers.base import ChatRequest, ChatResult
from bsb_core.providers.errors import connection_error, malformed_error, parse_duration, status_error, timeout_error

log = logging.getLogger(__name__)

# The Gemini API's own host; used only when a user configures a google/ model without base_url.
OFFICIAL_BASE_URL = "https://generativelanguage.googleapis.com"
API_VERSION = "v1beta"

# Request parameters in generationConfig's names.
GENERATION_PARAMS = {
    "temperature": "temperature",
    "top_p": "topP",
    "top_k": "topK",
    "max_tokens": "maxOutputTokens",
    "max_completion_tokens": "maxOutputTokens",
    "max_output_tokens": "maxOutputTokens",
    "seed": "seed",
    "stop": "stopSequences",
    "presence_penalty": "presencePenalty",
    "frequency_penalty": "frequencyPenalty",
}

# Gemini finish reasons in OpenAI's finish_reason terms.
FINISH_REASONS = {"STOP": "stop", "MAX_TOKENS": "length", "SAFETY": "content_filter", "RECITATION": "content_filter"}

RETRY_INFO_TYPE = "type.googleapis.com/google.rpc.RetryInfo"


class GoogleChatProvider:
    """A provider for the Gemini API's ``models/{model}:generateContent`` method."""

    name = "google"
    simulated = False

    def __init__(self, *, api_key: str, base_url: str | None = None, timeout_s: float = 60.0) -> None:
        self.base_url = (base_url or OFFICIAL_BASE_URL).rstrip("/")
        # The key goes in a header, never in the URL, so no request log or error shows it.
        self._client = httpx.AsyncClient(
            headers={"x-goog-api-key": api_key, "content-type": "application/json"},
            timeout=timeout_s,
        )

    def endpoint(self, model: str) -> str:
        """Return the generateContent URL for ``model``."""
        name = model.removeprefix("models/")
        return f"{self.base_url}/{API_VERSION}/models/{quote(name, safe='.-_')}:generateContent"

    async def chat(self, request: ChatRequest) -> ChatResult:
        """Send one generateContent request and return its text and usage."""
        body = request_body(request.messages, request.params)
        try:
            response = await self._client.post(self.endpoint(request.model), json=body, timeout=request.timeout_s)
        except httpx.TimeoutException:
            raise timeout_error(self.name, request.timeout_s) from None
        except httpx.TransportError as exc:
            raise connection_error(self.name, exc, self.base_url) from None

        if response.status_code != 200:
            raise _status_error(self.name, response)
        try:
            payload = response.json()
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise malformed_error(self.name, f"{type(exc).__name__}: {exc}") from None
        return parse_response(self.name, payload)

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._client.aclose()


def request_body(messages: list[dict[str, Any]], params: dict[str, Any]) -> dict[str, Any]:
    """Build a generateContent body from OpenAI-style messages and parameters."""
    system = "\n\n".join(str(m.get("content") or "") for m in messages if m.get("role") == "system")
    contents = [
        {"role": "model" if m.get("role") == "assistant" else "user", "parts": [{"text": str(m.get("content") or "")}]}
        for m in messages
        if m.get("role") != "system"
    ]
    body: dict[str, Any] = {"contents": contents}
    if system:
        body["systemInstruction"] = {"parts": [{"text": system}]}

    config: dict[str, Any] = {}
    for key, value in params.items():
        if key in GENERATION_PARAMS:
            config[GENERATION_PARAMS[key]] = value
        elif key == "response_format" and isinstance(value, dict) and value.get("type") in ("json_object", "json_schema"):
            config["responseMimeType"] = "application/json"
        elif key not in ("response_format",):
            config[key] = value
    if isinstance(config.get("stopSequences"), str):
        config["stopSequences"] = [config["stopSequences"]]
    if config:
        body["generationConfig"] = config
    return body


def parse_response(provider: str, payload: Any) -> ChatResult:
    """Read text, usage and model version from a generateContent response body."""
    if not isinstance(payload, dict):
        raise malformed_error(provider, "the body is not a JSON object")
    usage = payload.get("usageMetadata") if isinstance(payload.get("usageMetadata"), dict) else {}
    model_version = payload.get("modelVersion") if isinstance(payload.get("modelVersion"), str) else None
    candidates = payload.get("candidates")

    if not candidates:
        feedback = payload.get("promptFeedback")
        if isinstance(feedback, dict) and feedback.get("blockReason"):
            # A blocked prompt is the model's behaviour (a refusal), so it is an empty answer.
            return ChatResult(
                text="",
                model_version=model_version,
                tokens_in=usage.get("promptTokenCount"),
                tokens_out=0,
                finish_reason=f"blocked:{feedback['blockReason']}",
            )
        raise malformed_error(provider, "no candidates and no promptFeedback.blockReason")

    first = candidates[0] if isinstance(candidates, list) else None
    if not isinstance(first, dict):
        raise malformed_error(provider, "candidates is not a list of objects")
    parts = (first.get("content") or {}).get("parts") or []
    if not isinstance(parts, list):
        raise malformed_error(provider, "candidates[0].content.parts is not a list")
    # Parts flagged "thought" are a thinking model's reasoning, not its response.
    texts = [part.get("text") for part in parts if isinstance(part, dict) and "text" in part and not part.get("thought")]
    if any(not isinstance(text, str) for text in texts):
        raise malformed_error(provider, "a part's text is not a string")

    reason = first.get("finishReason")
    return ChatResult(
        text="".join(texts),
        model_version=model_version,
        tokens_in=usage.get("promptTokenCount"),
        tokens_out=usage.get("candidatesTokenCount"),
        finish_reason=FINISH_REASONS.get(reason, reason) if isinstance(reason, str) else None,
    )


def _status_error(provider: str, response: httpx.Response) -> Exception:
    message: Any = response.text
    retry_after = None
    try:
        payload = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        payload = None
    if isinstance(payload, dict) and isinstance(payload.get("error"), dict):
        error = payload["error"]
        message = f"{error.get('status', '')}: {error.get('message', '')}".strip(": ")
        for detail in error.get("details") or []:
            if isinstance(detail, dict) and detail.get("@type") == RETRY_INFO_TYPE:
                retry_after = parse_duration(detail.get("retryDelay"))

    exc = status_error(provider, response.status_code, message, response.headers)
    if exc.retry_after_s is None and retry_after is not None:
        exc.retry_after_s = retry_after
    return exc


__all__ = ["GoogleChatProvider", "parse_response", "request_body", "OFFICIAL_BASE_URL"]
