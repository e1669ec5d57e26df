"""``bsb collect`` and ``bsb sim-server``: the simulated personas over the full suite, dry runs and errors."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import openai
import pytest
from click.testing import CliRunner

from bsb_core.cli import main
from bsb_core.store import Store
from bsb_core.suites import load_suite

COLLECTED = sum(1 for prompt in load_suite("core").prompts if prompt.stream in ("baseline", "contrast"))


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("BSB_CONFIG", raising=False)
    monkeypatch.delenv("BSB_DB", raising=False)
    return tmp_path


def test_sim_full_suite(isolated):
    db = isolated / "sim.db"
    result = CliRunner().invoke(main, ["collect", "--models", "sim/terse,sim/json-strict", "--db", str(db)])

    assert result.exit_code == 0, result.output
    assert "Run 1 completed" in result.output
    with Store(db) as store:
        per_model = dict(store.db.execute(
            "SELECT m.name, COUNT(*) FROM responses r JOIN models m ON m.id = r.model_id WHERE r.error IS NULL GROUP BY m.name"
        ).fetchall())  # fmt: skip
        simulated = {row[0] for row in store.db.execute("SELECT simulated FROM models").fetchall()}
    assert per_model == {"sim/terse": 1 + COLLECTED, "sim/json-strict": 1 + COLLECTED}
    assert simulated == {1}


def test_sim_rerun_stored(isolated):
    db = isolated / "sim.db"
    runner = CliRunner()
    runner.invoke(main, ["collect", "--models", "sim/hedger", "--db", str(db), "--no-structured"])

    result = runner.invoke(main, ["collect", "--models", "sim/hedger", "--db", str(db), "--no-structured"])

    assert result.exit_code == 0, result.output
    assert f"0 new responses, {1 + COLLECTED} already stored" in result.output


def test_dry_run_plan(isolated):
    (isolated / "bsb.toml").write_text('[prices."sim/warm"]\ninput = 1.0\noutput = 2.0\n', encoding="utf-8")
    result = CliRunner().invoke(main, ["collect", "--models", "sim/warm", "--samples", "2", "--dry-run"])

    assert result.exit_code == 0, result.output
    assert f"{1 + 2 * COLLECTED} requests ({COLLECTED} prompts x 2 + paraphrase)" in result.output
    assert re.search(r"~\d+\.\d{4} USD", result.output)
    assert "Dry run: nothing was sent." in result.output
    assert not (isolated / "bsb.db").exists()


def test_dry_run_counts_stored(isolated):
    db = isolated / "sim.db"
    runner = CliRunner()
    runner.invoke(main, ["collect", "--models", "sim/terse", "--db", str(db), "--no-structured"])

    result = runner.invoke(main, ["collect", "--models", "sim/terse", "--db", str(db), "--dry-run"])

    assert f"{1 + COLLECTED} stored, 0 to send" in result.output


def test_default_models_from_config(isolated):
    (isolated / "bsb.toml").write_text('models = ["sim/warm", "sim/bulleteer"]\n', encoding="utf-8")
    result = CliRunner().invoke(main, ["collect", "--dry-run"])

    assert "sim/warm" in result.output
    assert "sim/bulleteer" in result.output
    assert "sim/terse" not in result.output


def test_missing_key_error(isolated, monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    result = CliRunner().invoke(main, ["collect", "--models", "anthropic/claude-3-5-haiku-latest", "--dry-run"])

    assert result.exit_code == 1
    assert "ANTHROPIC_API_KEY" in result.output


def test_bad_config_error(isolated):
    (isolated / "bsb.toml").write_text("samples = 0\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["collect", "--dry-run"])

    assert result.exit_code == 1
    assert "bsb.toml: samples:" in result.output


def test_base_url_option(isolated):
    result = CliRunner().invoke(main, ["collect", "--models", "openai-compatible/x", "--dry-run"])
    fixed = CliRunner().invoke(
        main, ["collect", "--models", "openai-compatible/x", "--base-url", "http://127.0.0.1:9/v1", "--dry-run"]
    )

    assert result.exit_code == 1
    assert "--base-url" in result.output
    assert fixed.exit_code == 0, fixed.output


@pytest.mark.parametrize("command", [["collect"], ["keys"], ["keys", "set"], ["keys", "list"], ["keys", "delete"], ["sim-server"]])
def test_commands_have_help(command):
    result = CliRunner().invoke(main, [*command, "--help"])

    assert result.exit_code == 0
    assert len(result.output.splitlines()) > 3


def test_sim_server_serves_personas():
    script = Path(sys.executable).with_name("bsb")
    command = [str(script)] if script.exists() else [sys.executable, "-c", "from bsb_core.cli import main; main()"]
    server = subprocess.Popen([*command, "sim-server", "--port", "0"], stdout=subprocess.PIPE, text=True)
    try:
        url = re.search(r"http://127\.0\.0\.1:\d+/v1", server.stdout.readline()).group(0)
        client = openai.OpenAI(api_key="unused", base_url=url, max_retries=0, timeout=30)
        completion = client.chat.completions.create(
            model="terse", messages=[{"role": "user", "content": "Explain how vaccines train the immune system."}]
        )
        models = [model.id for model in client.models.list()]
    finally:
        server.terminate()
        server.wait(timeout=10)

    assert completion.model == "sim-terse-1"
    assert completion.choices[0].message.content
    assert "json-strict" in models
