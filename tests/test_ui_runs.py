"""Ad-hoc collection from the Runs page: the progress file, the job handle and a real flow run."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest
from fixtures_ui import open_page, page_text

from bsb_core.store import Store
from ui import collect_job

# Seconds a one-persona collection, scoring and signature refresh may take on a loaded two-core
# machine. The temporary Prefect server alone can take half a minute to start.
JOB_TIMEOUT_S = 600


def test_sink_writes_steps(tmp_path):
    sink = collect_job.FileProgressSink(tmp_path / "progress.json")
    sink.update("collect sim/terse", 3, 10)
    sink.update("collect sim/terse", 10, 10)
    state = json.loads((tmp_path / "progress.json").read_text())
    assert state["steps"] == {"collect sim/terse": [10, 10]}
    assert state["state"] == "running"


def test_sink_finish(tmp_path):
    sink = collect_job.FileProgressSink(tmp_path / "progress.json")
    sink.finish("partial", 4, "BSB run 4 partial")
    state = json.loads((tmp_path / "progress.json").read_text())
    assert (state["state"], state["run_id"], state["message"]) == ("partial", 4, "BSB run 4 partial")


def test_job_main_without_models(tmp_path):
    status = collect_job.main(["--db", str(tmp_path / "bsb.db"), "--models", " , ", "--progress", str(tmp_path / "progress.json")])
    state = json.loads((tmp_path / "progress.json").read_text())
    assert status == 1
    assert state["state"] == "failed"
    assert "no model given" in state["message"]


def test_job_exit_without_progress(tmp_path):
    process = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    process.wait(timeout=60)
    job = collect_job.CollectionJob(process, ["sim/terse"], str(tmp_path / "bsb.db"), tmp_path / "progress.json", tmp_path / "collect.log")
    state = job.progress()
    assert state["state"] == "failed"
    assert "status 3" in state["message"]


@pytest.mark.slow
def test_runs_page_collects(tmp_path, monkeypatch):
    db = tmp_path / "bsb.db"
    app = open_page(db, "views/runs.py", monkeypatch)
    app.multiselect(key="collect_models").set_value(["sim/terse"])
    next(button for button in app.button if button.label == "Start collection").click().run()
    job = collect_job.current_job()
    try:
        assert job is not None
        assert job.db == str(db)
        deadline = time.monotonic() + JOB_TIMEOUT_S
        while job.running and time.monotonic() < deadline:
            time.sleep(2)
        assert not job.running
    finally:
        if job is not None:
            job.stop()
    app.run()
    assert "BSB run 1 completed" in page_text(app)
    assert list(app.dataframe[0].value["status"]) == ["completed"]
    with Store(db) as store:
        assert store.count("signatures") == 1


def test_second_job_refused(tmp_path):
    job = collect_job.current_job()
    if job is not None and job.running:
        pytest.skip("a collection from another test is running")
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"], start_new_session=True)
    collect_job._current["job"] = collect_job.CollectionJob(sleeper, ["sim/warm"], str(tmp_path / "bsb.db"), tmp_path / "p.json", tmp_path / "l.log")
    try:
        with pytest.raises(collect_job.JobRunningError, match="sim/warm"):
            collect_job.start_job(str(tmp_path / "bsb.db"), ["sim/terse"])
    finally:
        collect_job.current_job().stop()
        sleeper.wait(timeout=60)
        collect_job._current.clear()
