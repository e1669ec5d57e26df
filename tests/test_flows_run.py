"""``bsb run`` in a subprocess: a fresh checkout's first command, with no keys and no Prefect server."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from bsb_core.config import DEFAULT_SIM_PERSONAS
from bsb_core.metrics.engine import METRIC_SET_VERSION
from bsb_core.store import Store
from flows_support import kill_marked, processes_with_marker, reduced_prompts

pytestmark = pytest.mark.slow

BSB = Path(sys.executable).parent / "bsb"
RUN_TIMEOUT_S = 900
# Requests per model in the one-topic suite: the paraphrase, 1 baseline and 7 contrast prompts.
REQUESTS_PER_MODEL = 9


def run_bsb(cwd: Path, *args: str, prompts: Path) -> tuple[subprocess.CompletedProcess[str], list[int]]:
    """Run ``bsb run`` in ``cwd`` with no keys, no Prefect settings and no config; return it and leftover processes."""
    marker = f"bsb-run-{uuid.uuid4().hex}"
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PREFECT_", "BSB_")) and not key.endswith("_API_KEY")
    }
    env.update({"BSB_PROMPTS": str(prompts), "BSB_FLOWS_TEST_MARKER": marker, "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"})
    try:
        result = subprocess.run(
            [str(BSB), "run", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT_S,
            start_new_session=True,
        )  # fmt: skip
    finally:
        leftover = kill_marked(marker)
    assert processes_with_marker(marker) == []
    return result, leftover


def collected_and_unscored(db: Path) -> tuple[dict[str, int], int]:
    """Return responses with text per model, and how many of them have no metric values."""
    with Store(db) as store:
        collected = dict(
            store.db.execute(
                "SELECT m.name, COUNT(*) FROM responses r JOIN models m ON m.id = r.model_id WHERE r.text IS NOT NULL GROUP BY m.name"
            ).fetchall()
        )
        unscored = store.count_responses_to_score(METRIC_SET_VERSION)
    return collected, unscored


def test_run_fresh_store_sim_personas(tmp_path):
    prompts = reduced_prompts(tmp_path / "prompts", topics=1)
    workdir = tmp_path / "checkout"
    workdir.mkdir()

    result, leftover = run_bsb(workdir, "--samples", "1", prompts=prompts)
    collected, unscored = collected_and_unscored(workdir / "bsb.db")

    assert result.returncode == 0, result.stderr
    assert collected == {f"sim/{persona}": REQUESTS_PER_MODEL for persona in DEFAULT_SIM_PERSONAS}
    assert unscored == 0
    assert f"results: {workdir / 'bsb.db'}" in result.stdout
    assert re.search(r"^open the app: \S*python\S* -m ui\.server$", result.stdout, re.MULTILINE), result.stdout
    assert (workdir / ".prefect" / "prefect.db").is_file()
    assert leftover == []


def test_run_partial_exit_status(tmp_path):
    prompts = reduced_prompts(tmp_path / "prompts", topics=1)
    db = tmp_path / "store" / "bsb.db"

    # openai-compatible without a base URL cannot be collected: a configuration error, never retried.
    result, leftover = run_bsb(tmp_path, "--models", "sim/terse,openai-compatible/nowhere", "--db", str(db), prompts=prompts)
    collected, unscored = collected_and_unscored(db)

    assert result.returncode == 3, result.stderr
    assert "failed openai-compatible/nowhere: model 'openai-compatible/nowhere' needs a base URL" in result.stdout
    assert collected == {"sim/terse": REQUESTS_PER_MODEL}
    assert unscored == 0
    assert re.search(rf"^open the app: BSB_DB={re.escape(str(db))} \S*python\S* -m ui\.server$", result.stdout, re.MULTILINE), result.stdout
    assert leftover == []
