"""Every provider adapter against a local server, then the OpenAI-compatible adapter's own checks and the provider factory.

The fault tests run once per wire format (OpenAI-compatible, Anthropic, Google); the
format-specific request shapes are in this file and in test_providers_anthropic.py and
test_providers_google.py.
"""

from __future__ import annotations

import asyncio
import json
import traceback

import pytest
from servers.fixtures import mini_suite, serve  # noqa: F401
from servers.wire_cases import ANTHROPIC, GOOGLE, OPENAI, WIRE_CASES, wire_id

from bsb_core.collect import collect
from bsb_core.config import Config
from bsb_core.providers.base import ChatResult
from bsb_core.providers.chat_server import Fault, FaultPlan, FaultRule, fingerprint
from bsb_core.providers.errors import parse_retry_after
from bsb_core.providers.registry import OLLAMA_BASE_URL, ProviderConfigError, get_provider, is_local_url
from bsb_core.secrets import env_vars_for

KEY = OPENAI.key

HTML_BODY = "<html>502 Bad Gateway</html>"


# --- every wire format: results -----------------------------------------------------------------


@pytest.mark.parametrize("wire", WIRE_CASES, ids=wire_id)
def test_chat_result(serve, wire):
    def responder(model, messages, params):
        return ChatResult(text="short answer", model_version="version-2025", tokens_in=11, tokens_out=2)

    result = wire.chat(wire.start(serve, responder=responder))

    assert result.text == "short answer"
    assert result.model_version == "version-2025"
    assert result.tokens_in == 11
    assert result.tokens_out == 2
    assert result.finish_reason == "stop"


@pytest.mark.parametrize("wire", WIRE_CASES, ids=wire_id)
def test_finish_reason_length(serve, wire):
    def responder(model, messages, params):
        return ChatResult(text="cut", finish_reason="length")

    assert wire.chat(wire.start(serve, responder=responder)).finish_reason == "length"


# --- every wire format: faults ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("wire", "label"),
    [
        pytest.param(OPENAI, "HTTP 429", id="openai-compatible"),
        pytest.param(ANTHROPIC, "rate_limit_error", id="anthropic"),
        pytest.param(GOOGLE, "RESOURCE_EXHAUSTED", id="google"),
    ],
)
def test_rate_limit_retry_after(serve, wire, label):
    # The Google format carries the wait in the body's RetryInfo detail, the others in Retry-After.
    error = wire.chat_error(wire.start(serve, Fault.rate_limited("3")))

    assert error.retryable is True
    assert error.status == 429
    assert error.retry_after_s == 3.0
    assert label in str(error)


@pytest.mark.parametrize(
    ("wire", "status", "label"),
    [
        pytest.param(OPENAI, 502, "HTTP 502", id="openai-compatible"),
        pytest.param(ANTHROPIC, 529, "overloaded_error", id="anthropic"),
        pytest.param(GOOGLE, 503, "UNAVAILABLE", id="google"),
    ],
)
def test_server_error_retryable(serve, wire, status, label):
    error = wire.chat_error(wire.start(serve, Fault.server_error(status)))

    assert error.retryable is True
    assert error.status == status
    assert label in str(error)


@pytest.mark.parametrize(
    ("wire", "label"),
    [
        pytest.param(OPENAI, "HTTP 400", id="openai-compatible"),
        pytest.param(ANTHROPIC, "invalid_request_error", id="anthropic"),
        pytest.param(GOOGLE, "INVALID_ARGUMENT", id="google"),
    ],
)
def test_bad_request_final(serve, wire, label):
    error = wire.chat_error(wire.start(serve, Fault.server_error(400, "unknown parameter")))

    assert error.retryable is False
    assert error.status == 400
    assert label in str(error)
    assert "unknown parameter" in str(error)


@pytest.mark.parametrize("wire", WIRE_CASES, ids=wire_id)
def test_truncated_body(serve, wire):
    error = wire.chat_error(wire.start(serve, Fault.malformed(wire.truncated_body)))

    assert error.retryable is True
    assert "malformed" in str(error)


@pytest.mark.parametrize("wire", WIRE_CASES, ids=wire_id)
def test_html_body(serve, wire):
    error = wire.chat_error(wire.start(serve, Fault.malformed(HTML_BODY)))

    assert error.retryable is True
    assert "malformed" in str(error)


@pytest.mark.parametrize("wire", WIRE_CASES, ids=wire_id)
def test_timeout(serve, wire):
    error = wire.chat_error(wire.start(serve, Fault.hang(2.0)), timeout_s=0.3)

    assert error.retryable is True
    assert "timed out" in str(error)


@pytest.mark.parametrize("wire", WIRE_CASES, ids=wire_id)
def test_disconnect(serve, wire):
    error = wire.chat_error(wire.start(serve, Fault.disconnect()), timeout_s=1.0)

    # The aiohttp transport of the openai SDK reports a dropped connection as a timeout, httpx as
    # a connection error.
    assert error.retryable is True
    assert "connection failed" in str(error) or "timed out" in str(error)


@pytest.mark.parametrize("wire", WIRE_CASES, ids=wire_id)
def test_error_scrubs_key(serve, wire):
    server = wire.start(serve, Fault.server_error(401, f"Incorrect API key provided: {wire.key}"))
    error = wire.chat_error(server)

    assert wire.key not in str(error)
    assert error.__cause__ is None
    # A traceback must show no chained exception. The SDK adapters suppress it, and the Google
    # adapter raises outside any exception handler, so it has none.
    assert error.__suppress_context__ is True or error.__context__ is None
    assert wire.key not in "".join(traceback.format_exception(error))


@pytest.mark.parametrize(
    ("wire", "status"),
    [
        pytest.param(OPENAI, 503, id="openai-compatible"),
        pytest.param(ANTHROPIC, 529, id="anthropic"),
        pytest.param(GOOGLE, 500, id="google"),
    ],
)
def test_collect_with_faults(serve, store, monkeypatch, wire, status):
    for variable in env_vars_for(wire.provider):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv(wire.key_variable, wire.key)
    faults = FaultPlan(
        rules=[
            FaultRule(Fault.rate_limited("0"), at={1}),
            FaultRule(Fault.server_error(status), at={2}),
            FaultRule(Fault.malformed(wire.truncated_body), at={3}),
        ]
    )
    server = serve(faults=faults, wire=wire.make_wire())
    config = Config.model_validate(
        {"models": [{"spec": wire.spec, "base_url": server.url}], "retry_backoff_s": 0.01, "timeout_s": 5}
    )

    report = asyncio.run(collect(store, [wire.spec], mini_suite(topics=2), config=config))

    injected = sum(1 for record in server.chat_requests() if record.fault is not None)
    assert report.status == "completed"
    assert injected == 3
    assert report.totals()["retries"] == injected
    # Every request after the first carries the model's paraphrase as its system prompt.
    for record in server.chat_requests()[1:]:
        assert wire.read_system_prompt(record.body).startswith(f"I am {wire.model}.")
    version = store.db.execute("SELECT DISTINCT model_version FROM responses").fetchall()
    assert version == [(f"{wire.model}-2025-01-01",)]
    run_config = json.loads(store.db.execute("SELECT config FROM runs").fetchone()[0])
    expected_entry = {"spec": wire.spec, "base_url": server.url, "api_key_env": None, "key_name": None, "params": {}}
    assert run_config["models"] == [expected_entry]


# --- the OpenAI-compatible adapter --------------------------------------------------------------


def test_openai_request_body(serve):
    server = OPENAI.start(serve)
    OPENAI.chat(server, params={"temperature": 0.3, "max_tokens": 50, "seed": 4, "top_k": 20})

    body = server.chat_requests()[0].body
    assert body["messages"][0] == {"role": "system", "content": "Be brief."}
    assert body["temperature"] == 0.3
    assert body["max_tokens"] == 50
    assert body["seed"] == 4
    assert body["top_k"] == 20


def test_openai_key_sent_as_bearer(serve):
    server = OPENAI.start(serve)
    OPENAI.chat(server)

    assert server.chat_requests()[0].headers["authorization"] == fingerprint(f"Bearer {KEY}")


def test_openai_body_without_choices(serve):
    error = OPENAI.chat_error(OPENAI.start(serve, Fault.malformed('{"id": "x", "object": "chat.completion"}')))

    assert error.retryable is True
    assert "no choices" in str(error)


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
