"""Ad-hoc collection for the Runs page: a subprocess that runs the Prefect flow and reports progress in a file.

The app starts ``python -m ui.collect_job --db DB --models SPEC,... --progress FILE`` in its
own process group, so a long collection does not block the page and the app can stop it. With
scoring (the default) the subprocess runs the ``bsb-nightly`` flow for the chosen models
(collect, score, refresh the signatures); with ``--no-score`` only the ``bsb-collect`` flow.
Prefect runs as for ``bsb run``: a temporary local server on 127.0.0.1, data in ./.prefect.

The progress file is JSON, rewritten atomically: ``{"state": "starting" | "running" |
"completed" | "partial" | "failed", "steps": {label: [done, total]}, "run_id", "message"}``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parent.parent
# Seconds between two progress-file writes; the page polls once a second.
WRITE_INTERVAL_S = 0.25
FINISHED_STATES = ("completed", "partial", "failed")


class FileProgressSink:
    """A ``flows.progress`` sink that writes every step's progress to a JSON file, at most every WRITE_INTERVAL_S."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.state: dict[str, Any] = {"state": "starting", "steps": {}, "run_id": None, "message": ""}
        self._lock = threading.Lock()
        self._last_write = 0.0
        self.write(force=True)

    def update(self, label: str, done: int, total: int | None) -> None:
        with self._lock:
            self.state["state"] = "running"
            self.state["steps"][label] = [int(done), None if total is None else int(total)]
        self.write(force=done == total)

    def finish(self, state: str, run_id: int | None, message: str) -> None:
        """Record the final state, the BSB run id and a one-line message."""
        with self._lock:
            self.state.update(state=state, run_id=run_id, message=message)
        self.write(force=True)

    def write(self, force: bool = False) -> None:
        """Rewrite the progress file atomically (write a temporary file, then rename it)."""
        now = time.monotonic()
        with self._lock:
            if not force and now - self._last_write < WRITE_INTERVAL_S:
                return
            self._last_write = now
            text = json.dumps(self.state)
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, self.path)


def run_job(db: str, models: list[str], samples: int, score: bool, sink: FileProgressSink) -> int:
    """Run the collection flow in this process and report through ``sink``; return the exit status."""
    from flows.cli import prefect_environment
    from bsb_core.secrets import scrub

    for key, value in prefect_environment(REPO_ROOT, verbose=0).items():
        os.environ.setdefault(key, value)

    from flows.collect import CollectionFailedError, collect
    from flows.nightly import nightly
    from flows.progress import set_progress_sink

    set_progress_sink(sink)
    flow = nightly if score else collect
    log.info("starting %s for %s (%d samples) into %s", flow.name, ", ".join(models), samples, db)
    try:
        summary = asyncio.run(flow(models=models, samples=samples, db=db))
    except CollectionFailedError as exc:
        sink.finish("failed", exc.summary.get("run_id"), scrub(str(exc)))
        return 1
    except Exception as exc:  # the page shows the cause; the traceback goes to the job's log file
        log.exception("ad-hoc collection failed")
        sink.finish("failed", None, scrub(f"{type(exc).__name__}: {exc}"))
        return 1
    finally:
        set_progress_sink(None)
    from ui.tables import answered_count

    status = summary["status"]
    failed = [row["model"] for row in summary["models"] if row["error"]]
    message = f"BSB run {summary['run_id']} {status}: {answered_count(summary['totals']) or 0} responses collected"
    if failed:
        message += f"; failed: {', '.join(failed)}"
    sink.finish(status, summary["run_id"], message)
    return 0 if status == "completed" else 2


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run one ad-hoc collection."""
    parser = argparse.ArgumentParser(prog="python -m ui.collect_job", description="Run one ad-hoc BSB collection and write its progress to a file.")
    parser.add_argument("--db", required=True, help="Store file to collect into.")
    parser.add_argument("--models", required=True, help="Comma-separated provider/model specs, e.g. sim/terse,sim/warm.")
    parser.add_argument("--samples", type=int, default=1, help="Samples per prompt and model (default 1).")
    parser.add_argument("--progress", required=True, help="JSON file the progress is written to.")
    parser.add_argument("--no-score", action="store_true", help="Collect only; skip scoring and the signature refresh.")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    models = [spec.strip() for spec in args.models.split(",") if spec.strip()]
    sink = FileProgressSink(Path(args.progress))
    if not models:
        sink.finish("failed", None, "no model given: pass --models provider/model[,provider/model...]")
        return 1
    return run_job(args.db, models, args.samples, not args.no_score, sink)


# --- the app's side ---------------------------------------------------------------------------


@dataclass
class CollectionJob:
    """A running or finished ad-hoc collection subprocess and the files it writes."""

    process: subprocess.Popen
    models: list[str]
    db: str
    progress_file: Path
    log_file: Path
    started: float = field(default_factory=time.time)

    @property
    def running(self) -> bool:
        """True while the subprocess has not exited."""
        return self.process.poll() is None

    def progress(self) -> dict[str, Any]:
        """Return the last progress the job wrote; a job that exited without finishing counts as failed."""
        try:
            state = json.loads(self.progress_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            state = {"state": "starting", "steps": {}, "run_id": None, "message": ""}
        if not self.running and state.get("state") not in FINISHED_STATES:
            state.update(state="failed", message=f"the collection process exited with status {self.process.returncode}; see {self.log_file}")
        return state

    def stop(self) -> None:
        """Stop the subprocess and everything it started (its process group)."""
        if self.running:
            log.info("stopping ad-hoc collection process %d", self.process.pid)
            os.killpg(self.process.pid, signal.SIGTERM)


# The app's current job: one collection at a time per app process, shared by every session.
_current: dict[str, CollectionJob] = {}
_current_lock = threading.Lock()


class JobRunningError(RuntimeError):
    """A collection is already running; the message names its models."""


def current_job() -> CollectionJob | None:
    """Return the job started last in this process (running or finished), or None."""
    with _current_lock:
        return _current.get("job")


def start_job(db: str, models: list[str], samples: int = 1, score: bool = True) -> CollectionJob:
    """Start ``python -m ui.collect_job`` for ``models`` in a new process group and make it the current job.

    Raises :class:`JobRunningError` while the current job is still running.
    """
    with _current_lock:
        running = _current.get("job")
        if running is not None and running.running:
            raise JobRunningError(f"a collection of {', '.join(running.models)} is still running: wait for it or stop it")
        job = _launch(db, models, samples, score)
        _current["job"] = job
    return job


def _launch(db: str, models: list[str], samples: int, score: bool) -> CollectionJob:
    folder = Path(tempfile.mkdtemp(prefix="bsb-collect-"))
    progress_file = folder / "progress.json"
    log_file = folder / "collect.log"
    command = [sys.executable, "-m", "ui.collect_job", "--db", db, "--models", ",".join(models), "--samples", str(samples), "--progress", str(progress_file)]
    if not score:
        command.append("--no-score")
    with log_file.open("wb") as output:
        process = subprocess.Popen(command, cwd=REPO_ROOT, stdout=output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    log.info("started ad-hoc collection process %d for %s into %s (log %s)", process.pid, ", ".join(models), db, log_file)
    return CollectionJob(process, list(models), db, progress_file, log_file)


if __name__ == "__main__":
    sys.exit(main())
