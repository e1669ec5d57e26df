"""Anthropic's Messages API wire format for the local chat server (``POST /v1/messages``).

Shapes as Anthropic documents them: a response is ``{"id", "type": "message", "role",
"model", "content": [{"type": "text", "text"}], "stop_reason", "stop_sequence", "usage":
{"input_tokens", "output_tokens"}}``; an error is ``{"type": "error", "error": {"type",
"message"}}`` with types such as ``rate_limit_error`` (429), ``api_error`` (500) and
``overloaded_error`` (529).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from bsb_core.providers.base import ChatResult
from bsb_core.providers.chat_server import WireFormat

ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}

STOP_REASONS = {"stop": "end_turn", "length": "max_tokens"}


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(block.get("text", "") for block in content if isinstance(block, dict) and block.get("type") == "text")
    return ""


class AnthropicWire(WireFormat):
    """Anthropic Messages API: clients take the server's root URL as their base URL."""

    name = "anthropic"
    api_prefix = ""

    def route(self, method: str, path: str) -> str | None:
        path = path.split("?", 1)[0].rstrip("/")
        if method == "POST" and path == "/v1/messages":
            return "chat"
        if method == "GET" and path == "/v1/models":
            return "models"
        return None

    def parse_chat(self, path: str, body: dict[str, Any]) -> tuple[str, list[dict[str, Any]], dict[str, Any]]:
        model = body.get("model")
        messages = body.get("messages")
        if not isinstance(model, str) or not isinstance(messages, list) or "max_tokens" not in body:
            raise ValueError("request needs 'model', 'messages' and 'max_tokens'")
        converted = []
        system = _text(body.get("system"))
        if system:
            converted.append({"role": "system", "content": system})
        converted.extend({"role": m.get("role"), "content": _text(m.get("content"))} for m in messages)
        params = {key: value for key, value in body.items() if key not in ("model", "messages", "system")}
        return model, converted, params

    def render_chat(self, model: str, result: ChatResult) -> dict[str, Any]:
        return {
            "id": f"msg_{uuid.uuid4().hex[:24]}",
            "type": "message",
            "role": "assistant",
            "model": result.model_version or model,
            "content": [{"type": "text", "text": result.text}],
            "stop_reason": STOP_REASONS.get(result.finish_reason or "stop", "end_turn"),
            "stop_sequence": None,
            "usage": {"input_tokens": result.tokens_in or 0, "output_tokens": result.tokens_out or 0},
        }

    def render_error(self, status: int, message: str, retry_after: str | None = None) -> dict[str, Any]:
        kind = ERROR_TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")
        return {"type": "error", "error": {"type": kind, "message": message}}

    def render_models(self, models: Iterable[str]) -> dict[str, Any]:
        data = [{"type": "model", "id": name, "display_name": name, "created_at": "2025-01-01T00:00:00Z"} for name in models]
        return {"data": data, "has_more": False, "first_id": None, "last_id": None}
