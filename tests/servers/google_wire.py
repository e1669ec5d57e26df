"""Google's Gemini API wire format for the local chat server (``POST /v1beta/models/{model}:generateContent``).

Shapes as Google documents them: a response is ``{"candidates": [{"content": {"parts":
[{"text"}], "role": "model"}, "finishReason", "index"}], "usageMetadata": {"promptTokenCount",
"candidatesTokenCount", "totalTokenCount"}, "modelVersion", "responseId"}``; an error is
``{"error": {"code", "message", "status", "details"}}``, and a 429 carries a
``google.rpc.RetryInfo`` detail with ``retryDelay`` such as ``"2s"``.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from typing import Any
from urllib.parse import unquote

from bsb_core.providers.base import ChatResult
from bsb_core.providers.chat_server import WireFormat

STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}

FINISH_REASONS = {"stop": "STOP", "length": "MAX_TOKENS", "content_filter": "SAFETY"}

GENERATE_PATH = re.compile(r"^/v1beta/models/(?P<model>[^/:]+):generateContent$")


class GoogleWire(WireFormat):
    """Gemini API generateContent: clients take the server's root URL as their base URL."""

    name = "google"
    api_prefix = ""
    retry_after_header = False  # the wait is in the body's RetryInfo detail

    def route(self, method: str, path: str) -> str | None:
        path = path.split("?", 1)[0]
        if method == "POST" and GENERATE_PATH.match(path):
            return "chat"
        if method == "GET" and path.rstrip("/") == "/v1beta/models":
            return "models"
        return None

    def parse_chat(self, path: str, body: dict[str, Any]) -> tuple[str, list[dict[str, Any]], dict[str, Any]]:
        match = GENERATE_PATH.match(path.split("?", 1)[0])
        contents = body.get("contents")
        if match is None or not isinstance(contents, list):
            raise ValueError("request needs a models/{model}:generateContent path and a 'contents' list")
        messages = []
        system = body.get("systemInstruction")
        if isinstance(system, dict):
            messages.append({"role": "system", "content": "".join(p.get("text", "") for p in system.get("parts", []))})
        for content in contents:
            role = "assistant" if content.get("role") == "model" else "user"
            messages.append({"role": role, "content": "".join(p.get("text", "") for p in content.get("parts", []))})
        params = dict(body.get("generationConfig") or {})
        return unquote(match.group("model")), messages, params

    def render_chat(self, model: str, result: ChatResult) -> dict[str, Any]:
        tokens_in = result.tokens_in or 0
        tokens_out = result.tokens_out or 0
        return {
            "candidates": [
                {
                    "content": {"parts": [{"text": result.text}], "role": "model"},
                    "finishReason": FINISH_REASONS.get(result.finish_reason or "stop", "STOP"),
                    "index": 0,
                }
            ],
            "usageMetadata": {"promptTokenCount": tokens_in, "candidatesTokenCount": tokens_out, "totalTokenCount": tokens_in + tokens_out},
            "modelVersion": result.model_version or model,
            "responseId": uuid.uuid4().hex[:20],
        }

    def render_error(self, status: int, message: str, retry_after: str | None = None) -> dict[str, Any]:
        error: dict[str, Any] = {"code": status, "message": message, "status": STATUS_NAMES.get(status, "UNKNOWN")}
        if status == 429 and retry_after is not None:
            error["details"] = [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": f"{retry_after}s"}]
        return {"error": error}

    def render_models(self, models: Iterable[str]) -> dict[str, Any]:
        return {"models": [{"name": f"models/{name}", "displayName": name} for name in models]}
