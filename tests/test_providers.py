"""The OpenAI-compatible adapter, error mapping and the provider factory, against a local server."""

from __future__ import annotations

import asyncio

import pytest
from servers.fixtures import serve  # noqa: F401

from bsb_core.config import Config
from bsb_core.providers.base import ChatRequest, ChatResult, ProviderError
from bsb_core.providers.chat_server import Fault, FaultPlan, FaultRule, fingerprint
from bsb_core.providers.errors import parse_retry_after
from bsb_core.providers.openai_chat import OpenAIChatProvider
from bsb_core.providers.registry import OLLAMA_BASE_URL, ProviderConfigError, get_provider, is_local_url

KEY = "sk-test-0123456789abcdef"


def chat(provider, model="m", params=None, timeout_s=5.0, messages=None):
    messages = messages or [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hello"}]
    request = ChatRequest(model=model, messages=messages, params=params or {}, timeout_s=timeout_s)

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


def provider_for(server):
    return OpenAIChatProvider("openai-compatible", api_key=KEY, base_url=server.url)


def fault_server(serve, fault):
    return serve(faults=FaultPlan(rules=[FaultRule(fault, rate=1.0)]))


# --- the adapter --------------------------------------------------------------------------------


def test_openai_chat_result(serve):
    def responder(model, messages, params):
        return ChatResult(text="hi there", model_version="m-2025", tokens_in=11, tokens_out=2)

    server = serve(responder)
    result = chat(provider_for(server))

    assert result.text == "hi there"
    assert result.model_version == "m-2025"
    assert result.tokens_in == 11
    assert result.tokens_out == 2
    assert result.finish_reason == "stop"


def test_openai_request_body(serve):
    server = serve()
    chat(provider_for(server), params={"temperature": 0.3, "max_tokens": 50, "seed": 4, "top_k": 20})

    body = server.chat_requests()[0].body
    assert body["messages"][0] == {"role": "system", "content": "Be brief."}
    assert body["temperature"] == 0.3
    assert body["max_tokens"] == 50
    assert body["seed"] == 4
    assert body["top_k"] == 20


def test_openai_key_sent_as_bearer(serve):
    server = serve()
    chat(provider_for(server))

    assert server.chat_requests()[0].headers["authorization"] == fingerprint(f"Bearer {KEY}")


def test_openai_rate_limit_retry_after(serve):
    error = chat_error(provider_for(fault_server(serve, Fault.rate_limited("7"))))

    assert error.retryable is True
    assert error.status == 429
    assert error.retry_after_s == 7.0


def test_openai_server_error_retryable(serve):
    error = chat_error(provider_for(fault_server(serve, Fault.server_error(502))))

    assert error.retryable is True
    assert error.status == 502
    assert "HTTP 502" in str(error)


def test_openai_bad_request_final(serve):
    error = chat_error(provider_for(fault_server(serve, Fault.server_error(400, "unknown parameter"))))

    assert error.retryable is False
    assert "unknown parameter" in str(error)


def test_openai_truncated_body(serve):
    error = chat_error(provider_for(fault_server(serve, Fault.malformed())))

    assert error.retryable is True
    assert "malformed" in str(error)


def test_openai_html_body(serve):
    error = chat_error(provider_for(fault_server(serve, Fault.malformed("<html>502 Bad Gateway</html>"))))

    assert error.retryable is True
    assert "malformed" in str(error)


def test_openai_body_without_choices(serve):
    error = chat_error(provider_for(fault_server(serve, Fault.malformed('{"id": "x", "object": "chat.completion"}'))))

    assert error.retryable is True
    assert "no choices" in str(error)


def test_openai_timeout(serve):
    error = chat_error(provider_for(fault_server(serve, Fault.hang(2.0))), timeout_s=0.3)

    assert error.retryable is True
    assert "timed out" in str(error)


def test_openai_disconnect(serve):
    error = chat_error(provider_for(fault_server(serve, Fault.disconnect())), timeout_s=1.0)

    # The aiohttp transport reports a dropped connection as a timeout, httpx as a connection error.
    assert error.retryable is True
    assert "connection failed" in str(error) or "timed out" in str(error)


def test_openai_error_scrubs_key(serve):
    server = fault_server(serve, Fault.server_error(401, f"Incorrect API key provided: {KEY}"))
    error = chat_error(provider_for(server))

    assert KEY not in str(error)
    assert error.__cause__ is None
    assert error.__suppress_context__ is True


# --- Retry-After parsing ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after": "3"}, 3.0),
        ({"Retry-After": "1.5"}, 1.5),
        ({"retry-after-ms": "250", "retry-after": "9"}, 0.25),
        ({"retry-after": "soon"}, None),
        ({}, None),
    ],
)
def test_parse_retry_after(headers, expected):
    assert parse_retry_after(headers) == expected


def test_parse_retry_after_http_date():
    import email.utils
    import time

    later = email.utils.formatdate(time.time() + 30, usegmt=True)
    seconds = parse_retry_after({"retry-after": later})

    assert 25 <= seconds <= 31


# --- the factory --------------------------------------------------------------------------------


def test_factory_openai_compatible(monkeypatch):
    monkeypatch.setenv("OPENROUTER_API_KEY", KEY)
    config = Config.model_validate(
        {"models": [{"spec": "openai-compatible/meta/llama-3", "base_url": "https://openrouter.example/api/v1", "key_name": "openrouter"}]}
    )
    provider, model = get_provider("openai-compatible/meta/llama-3", config)

    assert model == "meta/llama-3"
    assert provider.name == "openai-compatible"
    assert provider.base_url == "https://openrouter.example/api/v1"


def test_factory_api_key_env(monkeypatch):
    monkeypatch.setenv("MY_GATEWAY_KEY", KEY)
    config = Config.model_validate(
        {"models": [{"spec": "openai-compatible/x", "base_url": "https://gateway.example/v1", "api_key_env": "MY_GATEWAY_KEY"}]}
    )
    provider, _ = get_provider("openai-compatible/x", config)

    assert provider.name == "openai-compatible"


def test_factory_remote_without_key(monkeypatch):
    monkeypatch.delenv("OPENAI_COMPATIBLE_API_KEY", raising=False)
    config = Config.model_validate({"models": [{"spec": "openai-compatible/x", "base_url": "https://gateway.example/v1"}]})

    with pytest.raises(ProviderConfigError, match="OPENAI_COMPATIBLE_API_KEY"):
        get_provider("openai-compatible/x", config)


def test_factory_local_without_key(monkeypatch):
    monkeypatch.delenv("OPENAI_COMPATIBLE_API_KEY", raising=False)
    config = Config.model_validate({"models": [{"spec": "openai-compatible/x", "base_url": "http://127.0.0.1:8000/v1"}]})
    provider, _ = get_provider("openai-compatible/x", config)

    assert provider.base_url == "http://127.0.0.1:8000/v1"


def test_factory_needs_base_url():
    with pytest.raises(ProviderConfigError, match="--base-url"):
        get_provider("openai-compatible/x", Config())


def test_factory_ollama_default_local():
    provider, model = get_provider("ollama/llama3.2", Config())

    assert model == "llama3.2"
    assert provider.base_url == OLLAMA_BASE_URL
    assert is_local_url(provider.base_url)


@pytest.mark.parametrize("spec", ["openai/gpt-4o-mini", "anthropic/claude-3-5-haiku-latest", "google/gemini-2.0-flash"])
def test_factory_missing_key(monkeypatch, spec):
    for variable in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GOOGLE_API_KEY", "GEMINI_API_KEY"):
        monkeypatch.delenv(variable, raising=False)

    with pytest.raises(ProviderConfigError, match="bsb keys set"):
        get_provider(spec, Config())


@pytest.mark.parametrize(
    ("spec", "variable", "name"),
    [("openai/gpt-4o-mini", "OPENAI_API_KEY", "openai"), ("anthropic/claude", "ANTHROPIC_API_KEY", "anthropic"), ("google/gemini", "GEMINI_API_KEY", "google")],
)
def test_factory_key_from_env(monkeypatch, spec, variable, name):
    monkeypatch.setenv(variable, KEY)
    provider, _ = get_provider(spec, Config())

    assert provider.name == name


def test_factory_sim_persona():
    provider, model = get_provider("sim/terse", Config())

    assert provider.simulated is True
    assert model == "terse"


def test_factory_unknown_persona():
    with pytest.raises(ProviderConfigError, match="unknown simulated persona"):
        get_provider("sim/nobody", Config())


@pytest.mark.parametrize("spec", ["gpt-4o", "azure/gpt-4o", "openai/"])
def test_factory_invalid_spec(spec):
    with pytest.raises(ProviderConfigError, match="provider"):
        get_provider(spec, Config())


@pytest.mark.parametrize(
    ("url", "local"),
    [("http://127.0.0.1:8000/v1", True), ("http://localhost:1234/v1", True), ("http://[::1]:8000", True), ("https://api.example.com/v1", False), ("http://10.0.0.5:8000", False)],
)
def test_is_local_url(url, local):
    assert is_local_url(url) is local
