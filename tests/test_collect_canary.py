"""A canary API key never reaches a table, a log line, an exception, CLI output or an export.

The keys come from the environment and from a keyring (an in-memory backend), and the local
servers echo each key back in their error messages, as real APIs do for invalid keys.
"""

from __future__ import annotations

import asyncio
import json
import logging
import traceback
import uuid

import keyring
import pytest
from click.testing import CliRunner
from servers.anthropic_wire import AnthropicWire
from servers.fixtures import mini_suite, serve  # noqa: F401
from servers.google_wire import GoogleWire
from test_secrets import MemoryKeyring

from bsb_core.cli import main
from bsb_core.collect import collect
from bsb_core.config import Config
from bsb_core.providers.base import ChatRequest, ProviderError
from bsb_core.providers.chat_server import Fault, FaultPlan, FaultRule
from bsb_core.providers.registry import get_provider

# Plain hex, not shaped like any provider's key, so only the registry of loaded keys can catch them.
CANARY_ENV = f"canary-env-{uuid.uuid4().hex}"
CANARY_KEYRING = f"canary-keyring-{uuid.uuid4().hex}"
CANARY_GOOGLE = f"canary-google-{uuid.uuid4().hex}"
CANARIES = (CANARY_ENV, CANARY_KEYRING, CANARY_GOOGLE)


def leaking_faults(canary: str) -> FaultPlan:
    """Faults whose error bodies repeat the key: some retried to success, one final per model."""
    return FaultPlan(
        rules=[
            FaultRule(Fault.server_error(400, f"Incorrect API key provided: {canary}"), rate=1.0, contains="bullet"),
            FaultRule(Fault.server_error(500, f"upstream rejected key {canary}"), at={1, 3}),
            FaultRule(Fault.rate_limited("0"), at={2}),
            FaultRule(Fault.malformed(f'{{"error": "{canary}"'), at={4}),
        ]
    )


@pytest.fixture
def canary_setup(serve, monkeypatch, tmp_path):
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    backend.set_password("bsb", "anthropic", CANARY_KEYRING)
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    monkeypatch.setenv("BSB_CANARY_KEY", CANARY_ENV)
    monkeypatch.setenv("GOOGLE_API_KEY", CANARY_GOOGLE)

    openai_server = serve(faults=leaking_faults(CANARY_ENV))
    anthropic_server = serve(faults=leaking_faults(CANARY_KEYRING), wire=AnthropicWire())
    google_server = serve(faults=leaking_faults(CANARY_GOOGLE), wire=GoogleWire())
    models = [
        {"spec": "openai-compatible/alpha", "base_url": openai_server.url, "api_key_env": "BSB_CANARY_KEY"},
        {"spec": "anthropic/claude-canary", "base_url": anthropic_server.url},
        {"spec": "google/gemini-canary", "base_url": google_server.url},
    ]
    # Six attempts outlast the four scheduled faults, so only the 400s end as failures.
    settings = {"models": models, "max_attempts": 6, "retry_backoff_s": 0.01, "timeout_s": 5}
    yield Config.model_validate(settings), settings
    keyring.set_keyring(previous)


def assert_clean(text: str, where: str) -> None:
    for canary in CANARIES:
        assert canary not in text, f"a canary key appears in {where}"


def dump_tables(store) -> str:
    tables = [row[0] for row in store.db.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()]
    return "\n".join(str(store.db.execute(f"SELECT * FROM {table}").fetchall()) for table in tables)


def test_canary_absent_everywhere(canary_setup, store, caplog, capfd):
    config, _ = canary_setup
    caplog.set_level(logging.DEBUG)

    report = asyncio.run(collect(store, [m.spec for m in config.models], mini_suite(topics=2), config=config))

    assert report.totals()["failed"] == 6
    assert report.totals()["retries"] > 0
    assert_clean(dump_tables(store), "the store")
    assert_clean(caplog.text, "the log")
    assert_clean(json.dumps(report.stats()), "the run report")
    captured = capfd.readouterr()
    assert_clean(captured.out + captured.err, "stdout or stderr")
    assert_clean(json.dumps(list(store.export_rows()), default=str), "the export")


def test_canary_errors_reach_store(canary_setup, store):
    config, _ = canary_setup
    asyncio.run(collect(store, [m.spec for m in config.models], mini_suite(topics=1), config=config))

    errors = [row[0] for row in store.db.execute("SELECT error FROM responses WHERE error IS NOT NULL").fetchall()]
    assert len(errors) == 3
    assert all("[redacted]" in error for error in errors)


@pytest.mark.parametrize("spec", ["openai-compatible/alpha", "anthropic/claude-canary", "google/gemini-canary"])
def test_canary_absent_from_exception(canary_setup, spec):
    config, _ = canary_setup
    provider, model = get_provider(spec, config)
    request = ChatRequest(model=model, messages=[{"role": "user", "content": "Use exactly 3 bullet points."}], timeout_s=5)

    async def call():
        try:
            return await provider.chat(request)
        finally:
            await provider.aclose()

    with pytest.raises(ProviderError) as caught:
        asyncio.run(call())
    error = caught.value

    assert_clean(str(error), "the exception message")
    assert_clean(repr(error), "the exception repr")
    assert_clean("".join(traceback.format_exception(error)), "the traceback")


def test_canary_absent_from_cli(canary_setup, tmp_path, caplog):
    _, settings = canary_setup
    caplog.set_level(logging.INFO)
    lines = ["max_attempts = 6", "retry_backoff_s = 0.01"]
    # The environment key and the keyring key; the library test above covers the Google key too.
    for model in settings["models"][:2]:
        lines.append("[[models]]")
        lines.extend(f"{key} = {json.dumps(value)}" for key, value in model.items())
    config_file = tmp_path / "bsb.toml"
    config_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    db = tmp_path / "cli.db"
    runner = CliRunner()

    collected = runner.invoke(main, ["-v", "collect", "--config", str(config_file), "--db", str(db), "--suite", "core"])
    exported = runner.invoke(main, ["export", "--db", str(db)])

    assert collected.exit_code == 1, collected.output
    assert "requests failed" in collected.output
    assert_clean(collected.output, "the collect output")
    assert_clean(caplog.text, "the CLI log")
    assert exported.exit_code == 0, exported.output
    assert_clean(exported.output, "the CLI export")
