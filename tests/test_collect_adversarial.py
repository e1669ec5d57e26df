"""Hostile input to the collection path: bad config, bad keys, hostile servers, concurrent runs.

Every server here is started by the test on 127.0.0.1; port 1 on 127.0.0.1 stands for a refused
connection.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import keyring
import openai
import pytest
from click.testing import CliRunner
from keyring.backend import KeyringBackend
from servers.fixtures import config_for, mini_suite, serve  # noqa: F401

from bsb_core import secrets
from bsb_core.cli import main
from bsb_core.collect import collect
from bsb_core.collect_limits import ProviderGate
from bsb_core.config import Config, ConfigError, ProviderLimits, load_config
from bsb_core.providers.base import ChatRequest, ProviderError
from bsb_core.providers.chat_server import ChatServer, Fault, FaultPlan, FaultRule
from bsb_core.providers.errors import parse_retry_after, status_error
from bsb_core.providers.openai_chat import OpenAIChatProvider, _error_message
from bsb_core.providers.registry import ProviderConfigError, get_provider
from bsb_core.store import Store
from bsb_core.suites import load_suite

PASSWORD = "s3cret-pass-4711"
KEY = "sk-adversarial-0123456789abcdef"


# --- helpers ------------------------------------------------------------------------------------


def write_config(tmp_path: Path, text: str, name: str = "bsb.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def config_error(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as caught:
        load_config(write_config(tmp_path, text))
    return str(caught.value)


def completion(text: str | None, usage: Any = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-adv",
        "object": "chat.completion",
        "created": 0,
        "model": "adv-1",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": usage if usage is not None else {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
    }


# A canned reply: (status, content type, body bytes, extra headers), built from the request's headers.
Reply = Callable[[dict[str, str]], tuple[int, str, bytes, dict[str, str]]]


class CannedServer:
    """An HTTP server on 127.0.0.1 that sends ``reply(headers)`` to every POST and counts them."""

    def __init__(self, reply: Reply) -> None:
        self.reply = reply
        self.count = 0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                owner.count += 1
                status, content_type, body, extra = owner.reply({k.lower(): v for k, v in self.headers.items()})
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                for key, value in extra.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def canned() -> Iterator[Callable[[Reply], CannedServer]]:
    started: list[CannedServer] = []

    def start(reply: Reply) -> CannedServer:
        server = CannedServer(reply)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def json_reply(status: int, payload: Any, headers: dict[str, str] | None = None) -> Reply:
    return lambda _: (status, "application/json", json.dumps(payload).encode(), headers or {})


def chat_once(provider: OpenAIChatProvider, timeout_s: float = 5.0) -> Any:
    request = ChatRequest(model="m", messages=[{"role": "user", "content": "hello"}], timeout_s=timeout_s)

    async def call() -> Any:
        try:
            return await provider.chat(request)
        finally:
            await provider.aclose()

    return asyncio.run(call())


def chat_error(provider: OpenAIChatProvider) -> ProviderError:
    with pytest.raises(ProviderError) as caught:
        chat_once(provider)
    return caught.value


def run_collect(store: Store, config: Config, topics: int = 1) -> Any:
    specs = [model.spec for model in config.models]
    return asyncio.run(collect(store, specs, mini_suite(topics), config=config))


class MemoryKeyring(KeyringBackend):
    priority = 1

    def __init__(self) -> None:
        super().__init__()
        self.passwords: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.passwords.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.passwords[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.passwords.pop((service, username), None)


@pytest.fixture
def memory_keyring(monkeypatch) -> Iterator[MemoryKeyring]:
    for names in secrets.ENV_VARS.values():
        for name in names:
            monkeypatch.delenv(name, raising=False)
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


@pytest.fixture
def isolated(tmp_path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("BSB_CONFIG", raising=False)
    monkeypatch.delenv("BSB_DB", raising=False)
    return tmp_path


# --- bsb.toml -----------------------------------------------------------------------------------


def test_base_url_credentials_rejected(tmp_path):
    message = config_error(
        tmp_path, f'[[models]]\nspec = "openai-compatible/x"\nbase_url = "http://user:{PASSWORD}@127.0.0.1:1/v1"\n'
    )

    assert "models[0].base_url" in message
    assert PASSWORD not in message
    assert "bsb keys set" in message


def test_bad_scheme_hides_password(tmp_path):
    message = config_error(
        tmp_path, f'[[models]]\nspec = "openai-compatible/x"\nbase_url = "ftp://user:{PASSWORD}@127.0.0.1:1/v1"\n'
    )

    assert "http://" in message
    assert PASSWORD not in message


@pytest.mark.parametrize("url", ["http://", "https:///v1", "http://127.0.0.1:99999/v1", "http://127.0.0.1:port/v1"])
def test_base_url_host_port_checked(tmp_path, url):
    message = config_error(tmp_path, f'[[models]]\nspec = "openai-compatible/x"\nbase_url = "{url}"\n')

    assert "models[0].base_url" in message


def test_key_name_validated(tmp_path):
    message = config_error(tmp_path, '[[models]]\nspec = "openai/x"\nkey_name = "Open AI"\n')

    assert "models[0].key_name" in message
    assert "lowercase" in message


def test_api_key_env_validated(tmp_path):
    message = config_error(tmp_path, '[[models]]\nspec = "openai/x"\napi_key_env = "my key"\n')

    assert "models[0].api_key_env" in message


@pytest.mark.parametrize("param", ["model", "messages", "stream", "n"])
def test_reserved_params_rejected(tmp_path, param):
    message = config_error(tmp_path, f'[[models]]\nspec = "sim/terse"\nparams = {{ {param} = 1 }}\n')

    assert "models[0].params" in message
    assert repr(param) in message


@pytest.mark.parametrize("text", ["timeout_s = inf\n", "max_retry_wait_s = nan\n", "retry_backoff_s = inf\n"])
def test_non_finite_numbers_rejected(tmp_path, text):
    message = config_error(tmp_path, text)

    assert text.split(" ")[0] in message


def test_byte_order_mark_read(tmp_path):
    path = tmp_path / "bsb.toml"
    path.write_bytes(b"\xef\xbb\xbfsamples = 2\n")

    assert load_config(path).samples == 2


def test_latin1_file_named(tmp_path):
    path = tmp_path / "bsb.toml"
    path.write_bytes(b'suite = "caf\xe9"\n')
    with pytest.raises(ConfigError) as caught:
        load_config(path)

    assert str(path) in str(caught.value)
    assert "UTF-8" in str(caught.value)


def test_error_shows_given_value(tmp_path):
    message = config_error(tmp_path, "timeout_s = 0\n")

    assert "(got 0)" in message


@pytest.mark.parametrize("spec", ["sim/terse\n", "openai/gpt 4o", "openai/\tx"])
def test_spec_whitespace_rejected(tmp_path, spec):
    message = config_error(tmp_path, f"models = [{json.dumps(spec)}]\n")

    assert "models[0].spec" in message


# --- bsb collect options ------------------------------------------------------------------------


def test_cli_unknown_provider_clean(isolated):
    result = CliRunner().invoke(main, ["collect", "--models", "foo/bar", "--dry-run"])

    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)
    assert "unknown provider 'foo'" in result.output


def test_cli_bad_port_clean(isolated):
    result = CliRunner().invoke(
        main, ["collect", "--models", "openai-compatible/x", "--base-url", "http://127.0.0.1:99999/v1", "--dry-run"]
    )

    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)
    assert "port" in result.output


def test_cli_base_url_password_hidden(isolated):
    url = f"http://user:{PASSWORD}@127.0.0.1:1/v1"
    result = CliRunner().invoke(main, ["collect", "--models", "openai-compatible/x", "--base-url", url, "--dry-run"])

    assert result.exit_code == 1
    assert PASSWORD not in result.output


def test_missing_base_url_names_file(isolated):
    path = write_config(isolated, 'models = ["openai-compatible/x"]\n', name="team.toml")
    result = CliRunner().invoke(main, ["collect", "--config", str(path), "--dry-run"])

    assert result.exit_code == 1
    assert "team.toml" in result.output


def test_cli_not_a_database(isolated):
    (isolated / "notes.db").write_text("not sqlite", encoding="utf-8")
    result = CliRunner().invoke(main, ["collect", "--models", "sim/terse", "--db", "notes.db"])

    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)
    assert "cannot open the store" in result.output


def test_dry_run_partial_prices(isolated):
    write_config(isolated, '[prices."sim/warm"]\ninput = 1.0\noutput = 2.0\n')
    result = CliRunner().invoke(main, ["collect", "--models", "sim/warm,sim/terse", "--dry-run"])

    assert result.exit_code == 0, result.output
    assert "no price for sim/terse" in result.output


def test_dry_run_cost_of_stored(isolated):
    write_config(isolated, '[prices."sim/warm"]\ninput = 1.0\noutput = 2.0\n')
    runner = CliRunner()
    runner.invoke(main, ["collect", "--models", "sim/warm", "--db", "s.db", "--no-structured"])

    result = runner.invoke(main, ["collect", "--models", "sim/warm", "--db", "s.db", "--no-structured", "--dry-run"])

    assert "~0.0000 USD" in result.output


# --- keys ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value", ["sk-abc\x00defghijk", "sk-ключ-12345678", "sk-abc defghijk", "sk-abc\tdefghijk", "k" * 20_000]
)
def test_set_key_rejects_bad_value(memory_keyring, value):
    with pytest.raises(ValueError) as caught:
        secrets.set_key("openai", value)

    assert value not in str(caught.value)
    assert memory_keyring.passwords == {}


def test_cli_set_bad_key_clean(memory_keyring):
    result = CliRunner().invoke(main, ["keys", "set", "openai", "--stdin"], input="sk-ключ-12345678\n")

    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)
    assert "ключ" not in result.output


def test_env_key_non_ascii_named(memory_keyring, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-ключ-12345678")
    with pytest.raises(ProviderConfigError) as caught:
        get_provider("openai/gpt-4o-mini", Config())

    assert "OPENAI_API_KEY" in str(caught.value)
    assert "ключ" not in str(caught.value)


def test_keyring_key_invalid_named(memory_keyring):
    memory_keyring.passwords[("bsb", "anthropic")] = "sk-ant-abc\ndef-0123456789"
    with pytest.raises(ProviderConfigError) as caught:
        get_provider("anthropic/claude-x", Config())

    assert "keyring" in str(caught.value)
    assert "bsb keys set anthropic" in str(caught.value)


def test_keys_list_marks_invalid(memory_keyring, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-ключ-12345678")
    result = CliRunner().invoke(main, ["keys", "list"])

    assert result.exit_code == 0, result.output
    assert "invalid" in result.output
    assert "ключ" not in result.output


class BrokenKeyring(MemoryKeyring):
    """A backend whose transport error escapes unwrapped, as D-Bus errors can."""

    def get_password(self, service: str, username: str) -> str | None:
        raise RuntimeError("org.freedesktop.DBus.Error.ServiceUnknown")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise RuntimeError("org.freedesktop.DBus.Error.ServiceUnknown")


def test_broken_keyring_clean(memory_keyring):
    keyring.set_keyring(BrokenKeyring())
    with pytest.raises(ProviderConfigError) as caught:
        get_provider("openai/gpt-4o-mini", Config())
    result = CliRunner().invoke(main, ["keys", "set", "openai", "--stdin"], input=KEY + "\n")

    assert "OPENAI_API_KEY" in str(caught.value)
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)


def test_env_key_whitespace_stripped(memory_keyring, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", KEY + "\r\n")

    assert secrets.resolve_key("openai").value == KEY


# --- provider errors ----------------------------------------------------------------------------


def test_error_body_cut_after_scrub():
    key = "localtoken-ABCDEFGHIJKLMNOP"  # no known key shape, so only the registered value hides it
    secrets.register_secret(key)
    body = {"detail": " " * 476 + key}
    request = httpx.Request("POST", "http://127.0.0.1:1/v1/chat/completions")
    response = httpx.Response(400, request=request, json=body)
    message = _error_message(openai.BadRequestError("bad", response=response, body=body))
    error = status_error("openai-compatible", 400, message)

    assert "localtoken-A" not in str(error)


@pytest.mark.parametrize("value", ["nan", "inf", "-nan"])
def test_retry_after_non_finite(value):
    assert parse_retry_after({"retry-after": value}) is None


def test_html_body_named(canned):
    server = canned(lambda _: (200, "text/html", b"<html><body>502 Bad Gateway</body></html>", {}))
    error = chat_error(OpenAIChatProvider("openai-compatible", api_key=KEY, base_url=server.url))

    assert "the body is not JSON" in str(error)
    assert "502 Bad Gateway" in str(error)
    assert error.retryable is True


@pytest.mark.parametrize(
    ("status", "hint"), [(401, "check the API key"), (403, "check the API key"), (404, "check the model name")]
)
def test_status_hint(serve, status, hint):
    server = serve(faults=FaultPlan(rules=[FaultRule(Fault.server_error(status, "denied"), rate=1.0)]))
    error = chat_error(OpenAIChatProvider("openai-compatible", api_key=KEY, base_url=server.url))

    assert hint in str(error)
    assert error.retryable is False


def test_refused_names_url():
    error = chat_error(OpenAIChatProvider("openai-compatible", api_key=KEY, base_url="http://127.0.0.1:1/v1"))

    assert "http://127.0.0.1:1/v1" in str(error)
    assert error.retryable is True


# --- the collector ------------------------------------------------------------------------------


def test_odd_usage_completes(canned, store):
    usage = {"prompt_tokens": "many", "completion_tokens": None, "total_tokens": -1}
    payload = completion("an answer", usage)
    payload["choices"][0]["finish_reason"] = {"reason": "stop"}
    server = canned(json_reply(200, payload))
    config = Config.model_validate(
        {"models": [{"spec": "openai-compatible/odd", "base_url": server.url}], "structured": False, "timeout_s": 5}
    )

    report = run_collect(store, config)
    metas = [json.loads(row[0]) for row in store.db.execute("SELECT meta FROM responses").fetchall()]

    assert report.status == "completed"
    assert report.models[0].tokens_in == 0
    assert {meta["finish_reason"] for meta in metas} == {None}


def test_auth_failure_stops_model(serve, store):
    # The paraphrase succeeds; every later request gets 401, as after a revoked key.
    server = serve(faults=FaultPlan(rules=[FaultRule(Fault.server_error(401, "invalid key"), at=frozenset(range(1, 100)))]))
    config = config_for(server, ["revoked"], providers={"openai-compatible": {"concurrency": 1}}, structured=False)

    report = run_collect(store, config, topics=3)
    model = report.models[0]

    assert len(server.chat_requests()) == 2
    assert model.failed == 1
    assert model.skipped == 8
    assert "check the API key" in (model.error or "")
    assert report.status == "partial"


def test_retry_after_over_cap_fails_fast(serve, store):
    server = serve(faults=FaultPlan(rules=[FaultRule(Fault.rate_limited("99999"), rate=1.0)]))
    config = config_for(server, ["throttled"], max_attempts=3, max_retry_wait_s=2.0)

    report = run_collect(store, config)
    model = report.models[0]

    assert len(server.chat_requests()) == 1
    assert "max_retry_wait_s" in (model.error or "")
    assert report.status == "failed"


def test_structured_outage_sent_again(serve, store):
    outage = FaultPlan(rules=[FaultRule(Fault.server_error(503, "overloaded"), contains="response_format", rate=1.0)])
    down = serve(faults=outage)
    suite = mini_suite(2)
    first = asyncio.run(collect(store, ["openai-compatible/m"], suite, config=config_for(down, ["m"], max_attempts=2)))

    up = serve()
    second = asyncio.run(collect(store, ["openai-compatible/m"], suite, config=config_for(up, ["m"])))

    assert first.status == "partial"
    assert first.models[0].structured_invalid == 0
    assert first.models[0].structured_failed == 2
    assert len(up.chat_requests()) == 2
    assert second.models[0].structured_valid == 2
    assert second.status == "completed"


@pytest.mark.parametrize("limits", [{"rpm": 0.5}, {"tpm": 0.25}])
def test_rate_under_one_per_minute(limits):
    gate = ProviderGate(ProviderLimits(**limits))

    async def first_slot() -> bool:
        async with gate.slot(tokens=500):
            return True

    assert asyncio.run(first_slot()) is True


def test_echoed_key_not_stored(canned, store, monkeypatch):
    monkeypatch.setenv("OPENAI_COMPATIBLE_API_KEY", KEY)
    server = canned(lambda headers: (200, "application/json", json.dumps(completion(f"I saw {headers.get('authorization')}")).encode(), {}))
    config = Config.model_validate(
        {"models": [{"spec": "openai-compatible/echo", "base_url": server.url}], "structured": False, "timeout_s": 5}
    )

    report = run_collect(store, config)
    dump = "\n".join(line for line in store.db.iterdump())

    assert report.status == "completed"
    assert KEY not in dump


def test_echoed_key_not_in_error_rows(canned, store, monkeypatch):
    monkeypatch.setenv("OPENAI_COMPATIBLE_API_KEY", KEY)
    server = canned(lambda headers: (500, "text/plain", f"upstream rejected {headers.get('authorization')}".encode(), {}))
    config = Config.model_validate(
        {"models": [{"spec": "openai-compatible/echo", "base_url": server.url}], "max_attempts": 2, "retry_backoff_s": 0.01}
    )

    run_collect(store, config)
    dump = "\n".join(line for line in store.db.iterdump())

    assert KEY not in dump


def test_same_model_twice_at_once(serve, tmp_path):
    server = serve(faults=FaultPlan(latency_s=0.01))
    config = config_for(server, ["twice"], structured=False)
    db = tmp_path / "twice.db"
    Store(db).close()

    async def both() -> list[Any]:
        with Store(db) as first, Store(db) as second:
            return await asyncio.gather(
                collect(first, ["openai-compatible/twice"], mini_suite(2), config=config),
                collect(second, ["openai-compatible/twice"], mini_suite(2), config=config),
            )

    reports = asyncio.run(both())

    assert len(server.chat_requests()) == 7
    assert sum(report.models[0].succeeded for report in reports) == 7
    assert sum(report.models[0].cached for report in reports) == 7


def bsb_command() -> list[str]:
    script = Path(sys.executable).with_name("bsb")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from bsb_core.cli import main; main()"]


def new_responses(output: str) -> int:
    """Return the "N new responses" count of a ``bsb collect`` report."""
    counts = [int(line.split(" new responses")[0].split()[-1]) for line in output.splitlines() if " new responses" in line]
    return sum(counts)


def test_two_processes_send_once(serve, tmp_path):
    server = serve(faults=FaultPlan(latency_s=0.002))
    db = tmp_path / "shared.db"
    # Created first, because two processes opening a fresh file race on the store's migrations.
    Store(db).close()
    command = [
        *bsb_command(), "collect", "--models", "openai-compatible/shared", "--base-url", server.url, "--db", str(db),
        "--no-structured", "--concurrency", "4",
    ]  # fmt: skip
    env = {key: value for key, value in os.environ.items() if key not in ("BSB_CONFIG", "BSB_DB")}

    first = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    second = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    outputs = [first.communicate(timeout=300)[0], second.communicate(timeout=300)[0]]
    planned = 1 + sum(1 for prompt in load_suite("core").prompts if prompt.stream != "paraphrase")

    assert first.returncode == 0, outputs[0]
    assert second.returncode == 0, outputs[1]
    assert len(server.chat_requests()) == planned
    assert sum(new_responses(output) for output in outputs) == planned


# --- the chat server ----------------------------------------------------------------------------


def raw_post(server: ChatServer, content_length: str, body: bytes = b"{}") -> bytes:
    with socket.create_connection((server.host, server.port), timeout=5) as connection:
        connection.sendall(
            f"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {content_length}\r\n\r\n".encode()
            + body
        )
        try:
            return connection.recv(200)
        except TimeoutError:
            return b"(no response)"


@pytest.mark.parametrize(("length", "status"), [("abc", b" 400 "), ("-1", b" 400 "), ("999999999999", b" 413 ")])
def test_chat_server_bad_length(serve, length, status):
    server = serve()

    assert status in raw_post(server, length)


def test_chat_server_unknown_model_404(serve):
    server = serve(models=["terse"])
    provider = OpenAIChatProvider("openai-compatible", api_key=KEY, base_url=server.url)
    error = chat_error(provider)

    assert error.status == 404
    assert "terse" in str(error)


def test_chat_server_bad_messages_400(serve):
    def strict(model, messages, params):
        raise ValueError("messages contain no user message; add one with role 'user'")

    server = serve(strict)
    error = chat_error(OpenAIChatProvider("openai-compatible", api_key=KEY, base_url=server.url))

    assert error.status == 400
    assert "no user message" in str(error)


def test_sim_server_bad_log_file(tmp_path):
    command = [*bsb_command(), "sim-server", "--port", "0", "--log-file", str(tmp_path / "missing" / "dir" / "log.jsonl")]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=30)
    except subprocess.TimeoutExpired:
        pytest.fail("bsb sim-server started serving with a log file it cannot write")

    assert result.returncode == 1
    assert "--log-file" in result.stderr
