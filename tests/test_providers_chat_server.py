"""The local chat server: routes, fault schedules and rates, the request log and its file."""

from __future__ import annotations

import json

import httpx
import pytest
from servers.fixtures import serve  # noqa: F401
from servers.wire_cases import ANTHROPIC, GOOGLE, MESSAGES, OPENAI

from bsb_core.providers.chat_server import Fault, FaultPlan, FaultRule, echo_responder, fingerprint


def post(server, model="m", content="hi", headers=None):
    body = {"model": model, "messages": [{"role": "user", "content": content}]}
    return httpx.post(f"{server.url}/chat/completions", json=body, headers=headers or {}, timeout=10)


def test_binds_loopback(serve):
    assert serve().host == "127.0.0.1"


def test_echo_completion(serve):
    response = post(serve(echo_responder), content="ping")

    assert response.status_code == 200
    assert response.json()["choices"][0]["message"]["content"] == "Echo from m: ping"


def test_models_listed(serve):
    response = httpx.get(f"{serve(models=['a', 'b']).url}/models", timeout=10)

    assert [item["id"] for item in response.json()["data"]] == ["a", "b"]


def test_unknown_path_404(serve):
    response = httpx.post(f"{serve().root_url}/v2/other", json={}, timeout=10)

    assert response.status_code == 404


def test_invalid_body_400(serve):
    response = httpx.post(f"{serve().url}/chat/completions", json={"model": 3}, timeout=10)

    assert response.status_code == 400


def test_schedule_per_model(serve):
    server = serve(faults=FaultPlan(rules=[FaultRule(Fault.server_error(503), model="a", at={1})]))
    statuses = [post(server, model).status_code for model in ("a", "b", "a", "b", "a")]

    assert statuses == [200, 200, 503, 200, 200]


def test_rate_seeded(serve):
    def statuses(seed):
        server = serve(faults=FaultPlan(rules=[FaultRule(Fault.server_error(500), rate=0.5)], seed=seed))
        return [post(server).status_code for _ in range(12)]

    first = statuses(3)

    assert first == statuses(3)
    assert 500 in first
    assert 200 in first


def test_contains_filter(serve):
    server = serve(faults=FaultPlan(rules=[FaultRule(Fault.server_error(500), rate=1.0, contains="fail me")]))

    assert post(server, content="fine").status_code == 200
    assert post(server, content="please fail me").status_code == 500


def test_rate_limit_header(serve):
    server = serve(faults=FaultPlan(rules=[FaultRule(Fault.rate_limited("4"), rate=1.0)]))
    response = post(server)

    assert response.status_code == 429
    assert response.headers["retry-after"] == "4"
    assert response.json()["error"]["type"] == "rate_limit_exceeded"


def test_malformed_body(serve):
    server = serve(faults=FaultPlan(rules=[FaultRule(Fault.malformed("{oops"), rate=1.0)]))

    assert post(server).text == "{oops"


def test_disconnect(serve):
    server = serve(faults=FaultPlan(rules=[FaultRule(Fault.disconnect(), rate=1.0)]))

    with pytest.raises(httpx.TransportError):
        post(server)


def test_log_records_request(serve):
    server = serve(faults=FaultPlan(rules=[FaultRule(Fault.server_error(500), at={1})]))
    post(server, content="first")
    post(server, content="second")

    records = server.chat_requests("m")
    assert [record.messages[-1]["content"] for record in records] == ["first", "second"]
    assert [record.fault for record in records] == [None, "status"]
    assert [record.status for record in records] == [200, 500]


@pytest.mark.parametrize(
    "wire",
    [
        pytest.param(OPENAI, id="openai-compatible"),
        pytest.param(ANTHROPIC, id="anthropic"),
        pytest.param(GOOGLE, id="google"),
    ],
)
def test_log_messages_openai_form(serve, wire):
    server = wire.start(serve)
    wire.chat(server)

    assert server.chat_requests()[0].messages == MESSAGES


def test_log_fingerprints_credentials(serve):
    server = serve()
    post(server, headers={"Authorization": "Bearer secret-value-123"})

    assert server.chat_requests()[0].headers["authorization"] == fingerprint("Bearer secret-value-123")


def test_log_file_lines(serve, tmp_path):
    path = tmp_path / "requests.jsonl"
    server = serve(log_path=path)
    post(server, headers={"Authorization": "Bearer secret-value-123"})
    post(server)

    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert len(lines) == 2
    assert "secret-value-123" not in path.read_text(encoding="utf-8")


def test_unknown_fault_kind():
    with pytest.raises(ValueError, match="unknown fault kind"):
        Fault("explode")


def test_fault_rate_range():
    with pytest.raises(ValueError, match="between 0 and 1"):
        FaultRule(Fault.disconnect(), rate=2.0)
