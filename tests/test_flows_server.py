"""The nightly deployment on a real Prefect server with a process worker, against local chat servers.

One Prefect server (own PREFECT_HOME in a temporary folder, 127.0.0.1, a free port, no UI,
no scheduler, analytics off) serves every test of this module. Each test triggers a run of the
``bsb-nightly`` deployment from ``prefect.yaml`` and runs a process worker with ``--run-once``
until the flow run has finished. Every process the module starts runs in its own process
group and carries a marker in its environment. The teardown stops them all and checks that
none is left.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from bsb_core.metrics.engine import METRIC_SET_VERSION
from bsb_core.paths import REPO_ROOT
from bsb_core.providers.chat_server import ChatServer, Fault, FaultPlan, FaultRule, sim_responder
from bsb_core.store import Store
from flows_support import free_port, kill_marked, processes_with_marker, reduced_prompts, stop_process_group

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent
MARKER_VARIABLE = "BSB_FLOWS_TEST_MARKER"
SERVER_START_TIMEOUT_S = 180
WORKER_TIMEOUT_S = 600
# Prompts per model in the reduced suite: 2 topics x (1 baseline + 7 contrast variants).
REDUCED_PROMPTS = 16
LOCK_ERROR = "database is locked"


@dataclass
class PrefectServer:
    """A Prefect server started by this module, with the environment its clients need."""

    api_url: str
    env: dict[str, str]
    home: Path
    logs: Path
    process: subprocess.Popen[bytes]
    started: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def cli(self, *args: str, timeout_s: float = 180) -> subprocess.CompletedProcess[str]:
        """Run a ``prefect`` command against this server from the repository root; fail on a non-zero exit."""
        result = subprocess.run(
            [str(BIN / "prefect"), *args], cwd=REPO_ROOT, env=self.env, capture_output=True, text=True,
            timeout=timeout_s, start_new_session=True,
        )  # fmt: skip
        assert result.returncode == 0, f"prefect {' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
        return result

    def api(self, method: str, path: str, payload: Any = None) -> Any:
        """Call the server's REST API and return the decoded JSON body."""
        response = httpx.request(method, f"{self.api_url}{path}", json=payload, timeout=30)
        response.raise_for_status()
        return response.json()

    def run_worker(self, name: str) -> str:
        """Run a process worker with ``--run-once`` until it exits; return its output."""
        log_path = self.logs / f"worker-{name}.log"
        with log_path.open("wb") as log_file:
            worker = subprocess.Popen(
                [str(BIN / "prefect"), "worker", "start", "--pool", "bsb-pool", "--type", "process", "--run-once"],
                cwd=REPO_ROOT, env=self.env, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
            self.started.append(worker)
            try:
                worker.wait(timeout=WORKER_TIMEOUT_S)
            finally:
                stop_process_group(worker)
        return log_path.read_text(encoding="utf-8", errors="replace")

    def run_nightly(self, name: str, parameters: dict[str, Any]) -> tuple[str, dict[str, Any], str]:
        """Trigger the nightly deployment, run a worker until it exits; return (flow run id, flow run, worker output)."""
        result = self.cli("deployment", "run", "bsb-nightly/bsb-nightly", "--params", json.dumps(parameters))
        match = re.search(r"UUID:\s*([0-9a-f-]{36})", result.stdout)
        assert match, f"no flow run id in the output of prefect deployment run:\n{result.stdout}"
        flow_run_id = match.group(1)
        worker_output = self.run_worker(name)
        return flow_run_id, self.api("GET", f"/flow_runs/{flow_run_id}"), worker_output

    def task_runs(self, name: str, flow_run_ids: list[str]) -> list[dict[str, Any]]:
        """Return the task runs called ``name`` of the given flow runs."""
        payload = {"task_runs": {"name": {"any_": [name]}}, "flow_runs": {"id": {"any_": flow_run_ids}}}
        return self.api("POST", "/task_runs/filter", payload)

    def flow_run_logs(self, flow_run_ids: list[str]) -> list[str]:
        """Return the messages of every log record of the given flow runs."""
        messages: list[str] = []
        while True:
            page = self.api(
                "POST", "/logs/filter", {"logs": {"flow_run_id": {"any_": flow_run_ids}}, "limit": 200, "offset": len(messages)}
            )
            messages.extend(record["message"] for record in page)
            if len(page) < 200:
                return messages

    def subflow_ids(self, flow_run_id: str) -> list[str]:
        """Return the ids of the flow run and of its subflow runs."""
        runs = self.api("POST", "/flow_runs/filter", {"flow_runs": {"parent_flow_run_id": {"any_": [flow_run_id]}}})
        return [flow_run_id, *(run["id"] for run in runs)]


def prefect_env(home: Path, api_url: str, marker: str, prompts: Path) -> dict[str, str]:
    """Return the environment of every Prefect process of this module: local only, no telemetry."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PREFECT_", "BSB_"))}
    env.update(
        {
            "PREFECT_HOME": str(home),
            "PREFECT_API_URL": api_url,
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "DO_NOT_TRACK": "1",
            "PREFECT_SERVER_UI_ENABLED": "false",
            "PREFECT_CLI_PROMPT": "false",
            "PREFECT_SERVER_DATABASE_TIMEOUT": "60",
            "PREFECT_LOGGING_EXTRA_LOGGERS": "bsb_core",
            "BSB_PROMPTS": str(prompts),
            MARKER_VARIABLE: marker,
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


@pytest.fixture(scope="module")
def prefect_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrefectServer]:
    """Start a Prefect server, create the work pool and deploy every deployment of prefect.yaml."""
    root = tmp_path_factory.mktemp("prefect-server")
    marker = f"bsb-flows-{uuid.uuid4().hex}"
    port = free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    home = root / "prefect-home"
    logs = root / "logs"
    logs.mkdir()
    env = prefect_env(home, api_url, marker, reduced_prompts(root / "prompts"))

    server_log = (logs / "server.log").open("wb")
    process = subprocess.Popen(
        [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port), "--no-ui", "--no-scheduler", "--analytics-off"],
        cwd=root, env=env, stdout=server_log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    server = PrefectServer(api_url, env, home, logs, process, [process])
    try:
        wait_for_health(server)
        server.cli("work-pool", "create", "bsb-pool", "--type", "process")
        # Three models of this provider may run at once, 16 requests in flight each.
        server.cli("global-concurrency-limit", "create", "provider-openai-compatible", "--limit", "48")
        server.cli("deploy", "--all", "--no-prompt", timeout_s=300)
        yield server
    finally:
        for started in server.started:
            stop_process_group(started)
        server_log.close()
        leftover = kill_marked(marker)
        assert leftover == [], f"processes left running after the tests: {leftover}"
        assert processes_with_marker(marker) == []


def wait_for_health(server: PrefectServer) -> None:
    """Wait until ``/api/health`` returns 200; fail with its log when it exits or times out."""
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(f"prefect server exited {server.process.returncode}:\n{(server.logs / 'server.log').read_text()}")
        try:
            if httpx.get(f"{server.api_url}/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    pytest.fail(f"prefect server did not return 200 on /api/health within {SERVER_START_TIMEOUT_S} s")


def write_config(path: Path, **settings: Any) -> Path:
    """Write a bsb.toml with top-level ``settings`` and 16 requests in flight for openai-compatible."""
    lines = [f"{key} = {json.dumps(value)}" for key, value in settings.items()]
    lines += ["", "[providers.openai-compatible]", "concurrency = 16", ""]
    lines += ['[prices."openai-compatible/terse"]', "input = 0.15", "output = 0.6", ""]
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def model_params(server: ChatServer, personas: list[str]) -> list[dict[str, str]]:
    """Return the ``models`` flow parameter for ``openai-compatible/<persona>`` models on ``server``."""
    return [{"spec": f"openai-compatible/{persona}", "base_url": server.url} for persona in personas]


def store_counts(db: Path) -> dict[str, dict[str, int]]:
    """Return per model: responses with text, error rows, and collected responses without metric values."""
    with Store(db) as store:
        rows = store.db.execute(
            """
            SELECT m.name,
                   SUM(r.text IS NOT NULL),
                   SUM(r.error IS NOT NULL),
                   SUM(r.text IS NOT NULL AND NOT EXISTS (
                       SELECT 1 FROM metric_values mv WHERE mv.response_id = r.id AND mv.metric_set_version = ?))
            FROM responses r JOIN models m ON m.id = r.model_id GROUP BY m.name
            """,
            [METRIC_SET_VERSION],
        ).fetchall()
    return {name: {"collected": collected, "errors": errors, "unscored": unscored} for name, collected, errors, unscored in rows}


def collect_runs(db: Path) -> list[dict[str, Any]]:
    """Return the store's collection runs, oldest first."""
    with Store(db) as store:
        return [run for run in reversed(store.runs()) if run["kind"] == "collect"]


def user_messages(server: ChatServer, model: str) -> list[str]:
    """Return the user message of every chat request the server received for ``model``."""
    return [next(m["content"] for m in reversed(r.messages) if m.get("role") == "user") for r in server.chat_requests(model)]


def test_nightly_three_models_concurrency_16(prefect_server, tmp_path):
    personas = ["terse", "bulleteer", "hedger"]
    db = tmp_path / "bsb.db"
    config = write_config(tmp_path / "bsb.toml", samples=2, max_attempts=3, retry_backoff_s=0.05, timeout_s=30)
    with ChatServer(sim_responder, faults=FaultPlan(latency_s=0.05)) as chat:
        parameters = {"models": model_params(chat, personas), "db": str(db), "config": str(config), "retry_delay_s": 1}
        flow_run_id, flow_run, worker_output = prefect_server.run_nightly("concurrency", parameters)

    counts = store_counts(db)
    runs = collect_runs(db)
    logs = prefect_server.flow_run_logs(prefect_server.subflow_ids(flow_run_id))
    artifacts = prefect_server.api("POST", "/artifacts/filter", {"artifacts": {"key": {"any_": ["bsb-nightly"]}}})
    limit = prefect_server.api("GET", "/v2/concurrency_limits/provider-openai-compatible")
    deployment = prefect_server.api("GET", "/deployments/name/bsb-nightly/bsb-nightly")
    server_log = (prefect_server.logs / "server.log").read_text(encoding="utf-8", errors="replace")

    assert flow_run["state"]["type"] == "COMPLETED", worker_output
    for persona in personas:
        assert counts[f"openai-compatible/{persona}"] == {"collected": 1 + REDUCED_PROMPTS * 2, "errors": 0, "unscored": 0}
    assert runs[-1]["status"] == "completed"
    assert runs[-1]["prefect_flow_run_id"] == flow_run_id
    assert LOCK_ERROR not in worker_output
    assert LOCK_ERROR not in server_log
    assert not any(LOCK_ERROR in message for message in logs)
    assert any(f"BSB run {runs[-1]['id']}:" in message for message in logs)
    assert any(f"BSB nightly run {runs[-1]['id']}: completed" in (artifact.get("data") or "") for artifact in artifacts)
    assert limit["limit"] == 48
    assert [(s["schedule"]["cron"], s["schedule"]["timezone"]) for s in deployment["schedules"]] == [("0 2 * * *", "UTC")]


def test_nightly_outage_then_retry_resumes(prefect_server, tmp_path):
    db = tmp_path / "bsb.db"
    config = write_config(tmp_path / "bsb.toml", max_attempts=2, retry_backoff_s=0.01, structured=False, timeout_s=30)
    outage = FaultPlan(rules=[FaultRule(Fault.server_error(500), model="hedger", rate=1.0)])
    with ChatServer(sim_responder, faults=outage) as chat:
        parameters = {
            "models": model_params(chat, ["warm", "hedger"]), "db": str(db), "config": str(config),
            "retries": 1, "retry_delay_s": 0,
        }  # fmt: skip
        flow_run_id, first_run, first_output = prefect_server.run_nightly("outage", parameters)
        first_counts = store_counts(db)
        first_runs = collect_runs(db)
        failed_tasks = prefect_server.task_runs("collect openai-compatible/hedger", prefect_server.subflow_ids(flow_run_id))
        outage_requests = len(chat.chat_requests("hedger"))

        # The provider recovers; retrying the same flow run sends only what has no stored response yet.
        chat.faults = FaultPlan()
        chat.clear_log()
        prefect_server.cli("flow-run", "retry", flow_run_id)
        retry_output = prefect_server.run_worker("retry")
        retried_run = prefect_server.api("GET", f"/flow_runs/{flow_run_id}")
        second_counts = store_counts(db)
        resent = user_messages(chat, "hedger")
        healthy_resent = chat.chat_requests("warm")

    runs = collect_runs(db)
    assert first_run["state"]["type"] == "COMPLETED", first_output
    assert first_run["state"]["message"].startswith("partial: 1 of 2 models failed")
    assert first_counts["openai-compatible/warm"] == {"collected": 1 + REDUCED_PROMPTS, "errors": 0, "unscored": 0}
    assert first_counts["openai-compatible/hedger"] == {"collected": 0, "errors": 1, "unscored": 0}
    assert [run["status"] for run in first_runs] == ["partial"]
    assert [task["state"]["type"] for task in failed_tasks] == ["FAILED"]
    assert "HTTP 500" in failed_tasks[0]["state"]["message"]
    assert "the paraphrase request failed" in failed_tasks[0]["state"]["message"]
    assert outage_requests == 4  # 2 executor attempts in each of 2 task attempts
    assert retried_run["state"]["type"] == "COMPLETED", retry_output
    assert retried_run["run_count"] == 2
    assert healthy_resent == []
    assert len(resent) == 1 + REDUCED_PROMPTS
    assert max(Counter(resent).values()) == 1
    assert second_counts["openai-compatible/hedger"] == {"collected": 1 + REDUCED_PROMPTS, "errors": 0, "unscored": 0}
    assert second_counts["openai-compatible/warm"] == first_counts["openai-compatible/warm"]
    assert [(run["id"], run["status"]) for run in runs] == [(first_runs[0]["id"], "completed")]
    assert runs[0]["prefect_flow_run_id"] == flow_run_id
