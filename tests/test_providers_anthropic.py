"""The Anthropic adapter against a local server speaking the Messages API wire format."""

from __future__ import annotations

import asyncio
import json

import pytest
from servers.anthropic_wire import AnthropicWire
from servers.fixtures import mini_suite, scripted_responder, serve  # noqa: F401

from bsb_core.collect import collect
from bsb_core.config import Config
from bsb_core.providers.anthropic_chat import AnthropicChatProvider, message_params, split_system
from bsb_core.providers.base import ChatRequest, ChatResult, ProviderError
from bsb_core.providers.chat_server import Fault, FaultPlan, FaultRule, fingerprint

KEY = "sk-ant-test-0123456789abcdef"


def chat(provider, params=None, timeout_s=5.0):
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hello"}]
    request = ChatRequest(model="claude-test", messages=messages, params=params or {}, timeout_s=timeout_s)

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


def anthropic_server(serve, fault=None, responder=scripted_responder):
    faults = FaultPlan(rules=[FaultRule(fault, rate=1.0)]) if fault else None
    return serve(responder, faults=faults, wire=AnthropicWire())


def provider_for(server):
    return AnthropicChatProvider(api_key=KEY, base_url=server.url)


def test_anthropic_result(serve):
    def responder(model, messages, params):
        return ChatResult(text="short answer", model_version="claude-test-20250101", tokens_in=12, tokens_out=2)

    result = chat(provider_for(anthropic_server(serve, responder=responder)))

    assert result.text == "short answer"
    assert result.model_version == "claude-test-20250101"
    assert result.tokens_in == 12
    assert result.tokens_out == 2
    assert result.finish_reason == "stop"


def test_anthropic_max_tokens_reason(serve):
    def responder(model, messages, params):
        return ChatResult(text="cut", finish_reason="length")

    assert chat(provider_for(anthropic_server(serve, responder=responder))).finish_reason == "length"


def test_anthropic_request_shape(serve):
    server = anthropic_server(serve)
    chat(provider_for(server), params={"temperature": 0.2, "max_tokens": 64, "seed": 3, "stop": "END"})

    record = server.chat_requests()[0]
    assert record.path == "/v1/messages"
    assert record.body["system"] == "Be brief."
    assert record.body["messages"] == [{"role": "user", "content": "hello"}]
    assert record.body["max_tokens"] == 64
    assert record.body["stop_sequences"] == ["END"]
    assert "seed" not in record.body


def test_anthropic_headers(serve):
    server = anthropic_server(serve)
    chat(provider_for(server))

    headers = server.chat_requests()[0].headers
    # anthropic 2.x sends the key as a bearer token; earlier releases sent x-api-key.
    sent = {headers.get("x-api-key"), headers.get("authorization")}
    assert sent & {fingerprint(KEY), fingerprint(f"Bearer {KEY}")}
    assert "anthropic-version" in headers


def test_anthropic_rate_limited(serve):
    error = chat_error(provider_for(anthropic_server(serve, Fault.rate_limited("3"))))

    assert error.retryable is True
    assert error.status == 429
    assert error.retry_after_s == 3.0
    assert "rate_limit_error" in str(error)


def test_anthropic_overloaded(serve):
    error = chat_error(provider_for(anthropic_server(serve, Fault.server_error(529))))

    assert error.retryable is True
    assert "overloaded_error" in str(error)


def test_anthropic_invalid_request(serve):
    error = chat_error(provider_for(anthropic_server(serve, Fault.server_error(400, "max_tokens: field required"))))

    assert error.retryable is False
    assert "invalid_request_error" in str(error)


def test_anthropic_malformed(serve):
    error = chat_error(provider_for(anthropic_server(serve, Fault.malformed('{"type": "message", "content": '))))

    assert error.retryable is True
    assert "malformed" in str(error)


def test_anthropic_timeout(serve):
    error = chat_error(provider_for(anthropic_server(serve, Fault.hang(2.0))), timeout_s=0.3)

    assert error.retryable is True
    assert "timed out" in str(error)


def test_split_system_order():
    system, rest = split_system(
        [{"role": "system", "content": "A"}, {"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]
    )

    assert system == "A"
    assert rest == [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]


def test_message_params_default_max_tokens():
    assert message_params({"temperature": 0.1})["max_tokens"] == 1024


def test_anthropic_collect_with_faults(serve, store, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    faults = FaultPlan(
        rules=[
            FaultRule(Fault.rate_limited("0"), at={1}),
            FaultRule(Fault.server_error(529), at={2}),
            FaultRule(Fault.malformed(), at={3}),
        ]
    )
    server = serve(scripted_responder, faults=faults, wire=AnthropicWire())
    config = Config.model_validate(
        {"models": [{"spec": "anthropic/claude-test", "base_url": server.url}], "retry_backoff_s": 0.01, "timeout_s": 5}
    )

    report = asyncio.run(collect(store, ["anthropic/claude-test"], mini_suite(topics=2), config=config))

    injected = sum(1 for record in server.chat_requests() if record.fault is not None)
    assert report.status == "completed"
    assert injected == 3
    assert report.totals()["retries"] == injected
    system_prompts = {record.body.get("system") for record in server.chat_requests()[1:]}
    assert all(prompt.startswith("I am claude-test.") for prompt in system_prompts)
    version = store.db.execute("SELECT DISTINCT model_version FROM responses").fetchall()
    assert version == [("claude-test-2025-01-01",)]
    run_config = json.loads(store.db.execute("SELECT config FROM runs").fetchone()[0])
    assert run_config["models"] == [{"spec": "anthropic/claude-test", "base_url": server.url, "api_key_env": None, "key_name": None, "params": {}}]
