"""The Google adapter against a local server speaking the Gemini API generateContent wire format."""

from __future__ import annotations

import asyncio

import pytest
from servers.fixtures import mini_suite, scripted_responder, serve  # noqa: F401
from servers.google_wire import GoogleWire

from bsb_core.collect import collect
from bsb_core.config import Config
from bsb_core.providers.base import ChatRequest, ChatResult, ProviderError
from bsb_core.providers.chat_server import Fault, FaultPlan, FaultRule, fingerprint
from bsb_core.providers.google_chat import GoogleChatProvider, parse_response, request_body

KEY = "AIzaTest0123456789abcdefghijklmnop"


def chat(provider, params=None, timeout_s=5.0):
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hello"}]
    request = ChatRequest(model="gemini-test", messages=messages, params=params or {}, timeout_s=timeout_s)

    async def call():
        try:
            return await provider.chat(request)
        finally:
            await provider.aclose()

    return asyncio.run(call())


def chat_error(provider, **kwargs) -> ProviderError:
    with pytest.raises(ProviderError) as caught:
        chat(provider, **kwargs)
    return caught.value


def google_server(serve, fault=None, responder=scripted_responder):
    faults = FaultPlan(rules=[FaultRule(fault, rate=1.0)]) if fault else None
    return serve(responder, faults=faults, wire=GoogleWire())


def provider_for(server):
    return GoogleChatProvider(api_key=KEY, base_url=server.url)


def test_google_result(serve):
    def responder(model, messages, params):
        return ChatResult(text="short answer", model_version="gemini-test-001", tokens_in=9, tokens_out=2)

    result = chat(provider_for(google_server(serve, responder=responder)))

    assert result.text == "short answer"
    assert result.model_version == "gemini-test-001"
    assert result.tokens_in == 9
    assert result.tokens_out == 2
    assert result.finish_reason == "stop"


def test_google_request_shape(serve):
    server = google_server(serve)
    chat(provider_for(server), params={"temperature": 0.2, "max_tokens": 64, "seed": 3})

    record = server.chat_requests()[0]
    assert record.path == "/v1beta/models/gemini-test:generateContent"
    assert record.body["systemInstruction"] == {"parts": [{"text": "Be brief."}]}
    assert record.body["contents"] == [{"role": "user", "parts": [{"text": "hello"}]}]
    assert record.body["generationConfig"] == {"temperature": 0.2, "maxOutputTokens": 64, "seed": 3}


def test_google_key_in_header(serve):
    server = google_server(serve)
    chat(provider_for(server))

    record = server.chat_requests()[0]
    assert record.headers["x-goog-api-key"] == fingerprint(KEY)
    assert "key=" not in record.path


def test_google_rate_limited_retry_info(serve):
    error = chat_error(provider_for(google_server(serve, Fault.rate_limited("2"))))

    assert error.retryable is True
    assert error.status == 429
    assert error.retry_after_s == 2.0
    assert "RESOURCE_EXHAUSTED" in str(error)


def test_google_unavailable(serve):
    error = chat_error(provider_for(google_server(serve, Fault.server_error(503))))

    assert error.retryable is True
    assert "UNAVAILABLE" in str(error)


def test_google_invalid_argument(serve):
    error = chat_error(provider_for(google_server(serve, Fault.server_error(400, "Invalid JSON payload"))))

    assert error.retryable is False
    assert "INVALID_ARGUMENT" in str(error)


def test_google_malformed(serve):
    error = chat_error(provider_for(google_server(serve, Fault.malformed('{"candidates": [{"content": '))))

    assert error.retryable is True
    assert "malformed" in str(error)


def test_google_timeout(serve):
    error = chat_error(provider_for(google_server(serve, Fault.hang(2.0))), timeout_s=0.3)

    assert error.retryable is True
    assert "timed out" in str(error)


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


def test_google_collect_with_faults(serve, store, monkeypatch):
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    monkeypatch.setenv("GEMINI_API_KEY", KEY)
    faults = FaultPlan(rules=[FaultRule(Fault.rate_limited("0"), at={1}), FaultRule(Fault.server_error(500), at={2})])
    server = serve(scripted_responder, faults=faults, wire=GoogleWire())
    config = Config.model_validate(
        {"models": [{"spec": "google/gemini-test", "base_url": server.url}], "retry_backoff_s": 0.01, "timeout_s": 5}
    )

    report = asyncio.run(collect(store, ["google/gemini-test"], mini_suite(topics=2), config=config))

    injected = sum(1 for record in server.chat_requests() if record.fault is not None)
    assert report.status == "completed"
    assert injected == 2
    assert report.totals()["retries"] == injected
    for record in server.chat_requests()[1:]:
        assert record.body["systemInstruction"]["parts"][0]["text"].startswith("I am gemini-test.")
