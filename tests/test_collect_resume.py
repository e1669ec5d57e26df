"""A ``bsb collect`` process killed with SIGKILL resumes with no duplicate and no lost response."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from servers.fixtures import scripted_responder, serve  # noqa: F401

from bsb_core.providers.chat_server import FaultPlan
from bsb_core.suites import load_suite

MODEL = "openai-compatible/resumable"

# Responses stored before the kill: enough to be mid-run, far from the end.
KILL_AFTER = 60


def bsb_command() -> list[str]:
    script = Path(sys.executable).with_name("bsb")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from bsb_core.cli import main; main()"]


def stored_count(db: Path) -> int:
    if not db.exists():
        return 0
    with sqlite3.connect(db, timeout=30) as conn:
        try:
            return conn.execute("SELECT COUNT(*) FROM responses WHERE error IS NULL").fetchone()[0]
        except sqlite3.OperationalError:
            return 0  # the schema is not created yet


def stored_rows(db: Path) -> dict[tuple, tuple]:
    """Map each response identity to (id, text, error, user message)."""
    with sqlite3.connect(db, timeout=30) as conn:
        rows = conn.execute(
            "SELECT model_id, prompt_id, sample, system_hash, scope_key, id, text, error, messages FROM responses"
        ).fetchall()
    return {row[:5]: (*row[5:8], json.loads(row[8])[-1]["content"]) for row in rows}


def raw_request_key(record) -> tuple | None:
    """Identify a raw (not structured) request by its user message and seed."""
    body = record.body
    if "response_format" in body:
        return None
    return (body["messages"][-1]["content"], body.get("seed"))


def setup_run(serve, tmp_path, latency_s: float, concurrency: int):
    server = serve(scripted_responder, faults=FaultPlan(latency_s=latency_s))
    config = tmp_path / "bsb.toml"
    config.write_text(
        f'[[models]]\nspec = "{MODEL}"\nbase_url = "{server.url}"\n\n'
        f"[providers.openai-compatible]\nconcurrency = {concurrency}\n",
        encoding="utf-8",
    )
    db = tmp_path / "resume.db"
    command = [*bsb_command(), "collect", "--config", str(config), "--db", str(db)]
    return server, db, command, {**os.environ, "BSB_CONFIG": str(config)}


@pytest.fixture
def resumable(serve, tmp_path):
    # 20 ms per request at concurrency 2 keeps the first run going for seconds after the kill point.
    return setup_run(serve, tmp_path, latency_s=0.02, concurrency=2)


@pytest.fixture
def repeatable(serve, tmp_path):
    return setup_run(serve, tmp_path, latency_s=0.0, concurrency=8)


def test_killed_run_resumes(resumable, tmp_path):
    server, db, command, env = resumable
    log = (tmp_path / "first.log").open("w")
    first = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while stored_count(db) < KILL_AFTER and first.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=30)
    log.close()
    assert first.returncode == -signal.SIGKILL, "the first run ended before it could be killed"
    before_kill = stored_rows(db)
    requests_before = len(server.chat_requests())

    second = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)

    assert second.returncode == 0, second.stdout + second.stderr
    after = stored_rows(db)
    planned = 1 + sum(1 for prompt in load_suite("core").prompts if prompt.stream in ("baseline", "contrast"))
    assert len(after) == planned
    assert all(value[2] is None for value in after.values())
    # No lost response: every row stored before the kill is still there, unchanged.
    lost = [key for key, value in before_kill.items() if value[2] is None and after.get(key) != value]
    assert lost == []
    # No duplicate: the second run sent nothing that was stored before the kill.
    stored_before = {(value[3], 0) for value in before_kill.values() if value[2] is None}
    resent = {raw_request_key(record) for record in server.chat_requests()[requests_before:]} & stored_before
    assert resent == set()
    # A request went out twice only when its response was lost with the killed process, unstored.
    sent = Counter(key for record in server.chat_requests() if (key := raw_request_key(record)) is not None)
    assert {key for key, count in sent.items() if count > 1} & stored_before == set()
    # Every JSON-schema response has its structured outcome, including any cut off by the kill.
    metas = [json.loads(meta) for (meta,) in sqlite3.connect(db).execute(
        "SELECT r.meta FROM responses r JOIN prompts p ON p.id = r.prompt_id WHERE p.variant = 'json_schema'"
    )]  # fmt: skip
    assert metas
    assert all("structured" in meta for meta in metas)


def test_identical_run_sends_nothing(repeatable):
    server, db, command, env = repeatable
    first = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stdout + first.stderr
    sent = len(server.chat_requests())

    second = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)

    assert second.returncode == 0, second.stdout + second.stderr
    assert len(server.chat_requests()) == sent
    assert "0 new responses" in second.stdout
    run_stats = json.loads(sqlite3.connect(db).execute("SELECT stats FROM runs ORDER BY id DESC LIMIT 1").fetchone()[0])
    assert run_stats["totals"]["http_requests"] == 0
