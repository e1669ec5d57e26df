"""The Anthropic adapter's request shape and message mapping, against a local server speaking the Messages API.

The fault tests that every wire format shares are in test_providers.py.
"""

from __future__ import annotations

from servers.fixtures import serve  # noqa: F401
from servers.wire_cases import ANTHROPIC

from bsb_core.providers.anthropic_chat import message_params, split_system
from bsb_core.providers.chat_server import fingerprint


def test_anthropic_request_shape(serve):
    server = ANTHROPIC.start(serve)
    ANTHROPIC.chat(server, params={"temperature": 0.2, "max_tokens": 64, "seed": 3, "stop": "END"})

    record = server.chat_requests()[0]
    assert record.path == "/v1/messages"
    assert record.body["system"] == "Be brief."
    assert record.body["messages"] == [{"role": "user", "content": "hello"}]
    assert record.body["max_tokens"] == 64
    assert record.body["stop_sequences"] == ["END"]
    assert "seed" not in record.body


def test_anthropic_headers(serve):
    server = ANTHROPIC.start(serve)
    ANTHROPIC.chat(server)

    headers = server.chat_requests()[0].headers
    # anthropic 2.x sends the key as a bearer token; earlier releases sent x-api-key.
    sent = {headers.get("x-api-key"), headers.get("authorization")}
    assert sent & {fingerprint(ANTHROPIC.key), fingerprint(f"Bearer {ANTHROPIC.key}")}
    assert "anthropic-version" in headers


def test_split_system_order():
    system, rest = split_system(
        [{"role": "system", "content": "A"}, {"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]
    )

    assert system == "A"
    assert rest == [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]


def test_message_params_default_max_tokens():
    assert message_params({"temperature": 0.1})["max_tokens"] == 1024
