"""The Google adapter's request shape and response parsing, against a local server speaking the Gemini API.

The fault tests that every wire format shares are in test_providers.py.
"""

from __future__ import annotations

import pytest
from servers.fixtures import serve  # noqa: F401
from servers.wire_cases import GOOGLE

from bsb_core.providers.base import ProviderError
from bsb_core.providers.chat_server import fingerprint
from bsb_core.providers.google_chat import parse_response, request_body


def test_google_request_shape(serve):
    server = GOOGLE.start(serve)
    GOOGLE.chat(server, params={"temperature": 0.2, "max_tokens": 64, "seed": 3})

    record = server.chat_requests()[0]
    assert record.path == "/v1beta/models/gemini-test:generateContent"
    assert record.body["systemInstruction"] == {"parts": [{"text": "Be brief."}]}
    assert record.body["contents"] == [{"role": "user", "parts": [{"text": "hello"}]}]
    assert record.body["generationConfig"] == {"temperature": 0.2, "maxOutputTokens": 64, "seed": 3}


def test_google_key_in_header(serve):
    server = GOOGLE.start(serve)
    GOOGLE.chat(server)

    record = server.chat_requests()[0]
    assert record.headers["x-goog-api-key"] == fingerprint(GOOGLE.key)
    assert "key=" not in record.path


def test_google_blocked_prompt():
    result = parse_response("google", {"promptFeedback": {"blockReason": "SAFETY"}, "usageMetadata": {"promptTokenCount": 5}})

    assert result.text == ""
    assert result.finish_reason == "blocked:SAFETY"


def test_google_thought_parts_skipped():
    payload = {"candidates": [{"content": {"parts": [{"text": "thinking", "thought": True}, {"text": "answer"}]}, "finishReason": "STOP"}]}

    assert parse_response("google", payload).text == "answer"


def test_google_no_candidates_malformed():
    with pytest.raises(ProviderError, match="malformed"):
        parse_response("google", {"usageMetadata": {}})


def test_google_json_mode_mapped():
    body = request_body([{"role": "user", "content": "x"}], {"response_format": {"type": "json_object"}})

    assert body["generationConfig"] == {"responseMimeType": "application/json"}
