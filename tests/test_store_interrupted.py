"""Runs whose owner process was killed become ``interrupted``, and other runs stay as they are."""

from __future__ import annotations

import json
import os
import sqlite3
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bsb_core import run_owner
from bsb_core import store as store_module
from bsb_core.run_owner import RunOwner, current_owner, owner_has_ended
from bsb_core.store import Store

ROOT = Path(__file__).resolve().parent.parent
HAS_PROC = Path("/proc/self/stat").exists()

# Starts a run in a store and then waits, as a collection would, until the test kills it.
OWNER_SCRIPT = """
import sys, time
from bsb_core.store import Store

store = Store(sys.argv[1])
print(store.create_run("collect", suite="core"), flush=True)
time.sleep(600)
"""


class OwnerProcess:
    """A child process that started run ``run_id`` in the store and keeps running until killed."""

    def __init__(self, path: Path) -> None:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
        self.process = subprocess.Popen(
            [sys.executable, "-c", OWNER_SCRIPT, str(path)], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True
        )
        line = self.process.stdout.readline()
        if not line.strip():
            self.process.kill()
            self.process.wait()
            raise AssertionError(f"the owner process exited with status {self.process.returncode} before it started a run")
        self.run_id = int(line)

    @property
    def pid(self) -> int:
        return self.process.pid

    def kill(self, reap: bool = True) -> None:
        """Send SIGKILL; with ``reap`` also collect the exit status, else leave a zombie."""
        self.process.send_signal(signal.SIGKILL)
        if reap:
            self.process.wait(timeout=30)
        else:
            # Wait until the process has exited, but leave it a zombie: WNOWAIT keeps it unreaped.
            os.waitid(os.P_PID, self.pid, os.WEXITED | os.WNOWAIT)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=30)
        self.process.stdout.close()


@pytest.fixture()
def db(tmp_path) -> Path:
    path = tmp_path / "bsb.db"
    Store(path).close()
    return path


@pytest.fixture()
def owner(db) -> Iterator[OwnerProcess]:
    process = OwnerProcess(db)
    yield process
    process.stop()


def stored_status(path: Path, run_id: int) -> str:
    """Return the status column as stored, without the marking that :meth:`Store.runs` does."""
    with Store(path, read_only=True) as store:
        return store.db.execute("SELECT status FROM runs WHERE id = ?", [run_id]).fetchone()[0]


def listed_status(store: Store, run_id: int) -> str:
    return next(run["status"] for run in store.runs() if run["id"] == run_id)


# --- a real owner process ------------------------------------------------------------------------


def test_live_owner_stays_running(db, owner):
    with Store(db) as store:
        status = listed_status(store, owner.run_id)
    assert status == "running"


def test_killed_owner_listed_interrupted(db, owner):
    owner.kill()
    with Store(db) as store:
        status = listed_status(store, owner.run_id)
    assert status == "interrupted"
    # Listing writes nothing: the status is stored when the next run starts.
    assert stored_status(db, owner.run_id) == "running"


def test_killed_owner_marked_on_new_run(db, owner):
    owner.kill()
    with Store(db) as store:
        new_run = store.create_run("import", source="x.jsonl")
    assert stored_status(db, owner.run_id) == "interrupted"
    assert stored_status(db, new_run) == "running"


def test_zombie_owner_counts_as_ended(db, owner):
    owner.kill(reap=False)
    with Store(db) as store:
        status = listed_status(store, owner.run_id)
    assert status == "interrupted"


def test_interrupted_run_states_cause(db, owner):
    owner.kill()
    with Store(db) as store:
        run = next(run for run in store.runs() if run["id"] == owner.run_id)
    error = json.loads(run["stats"])["error"]
    assert f"pid {owner.pid} on {run_owner.host_name()}" in error
    assert run["finished_at"] is None


def test_read_only_store_shows_interrupted(db, owner):
    owner.kill()
    with Store(db, read_only=True) as store:
        status = listed_status(store, owner.run_id)
    assert status == "interrupted"
    assert stored_status(db, owner.run_id) == "running"


def test_reopened_run_gets_new_owner(db, owner):
    owner.kill()
    with Store(db) as store:
        store.reopen_run(owner.run_id)
        run = next(run for run in store.runs() if run["id"] == owner.run_id)
    assert run["status"] == "running"
    assert run["owner_pid"] == os.getpid()


def test_finish_after_interrupted_wins(db, owner):
    # A process wrongly taken for ended (for example in another container with the same host
    # name) still records its final status when it finishes.
    owner.kill()
    with Store(db) as store:
        store.mark_interrupted_runs()
        store.finish_run(owner.run_id, "completed")
    assert stored_status(db, owner.run_id) == "completed"


# --- recorded owners -----------------------------------------------------------------------------


def set_owner(store: Store, run_id: int, owner: RunOwner) -> None:
    store.update_run(run_id, owner_host=owner.host, owner_pid=owner.pid, owner_start=owner.start)


def test_create_run_records_owner(store):
    run_id = store.create_run("collect")
    run = next(run for run in store.runs() if run["id"] == run_id)
    me = current_owner()
    assert (run["owner_host"], run["owner_pid"], run["owner_start"]) == (me.host, me.pid, me.start)


def test_other_host_left_running(store):
    run_id = store.create_run("collect")
    set_owner(store, run_id, RunOwner("another-host.example", 2**22 + 1, None))
    assert listed_status(store, run_id) == "running"


def test_unknown_owner_left_running(store):
    # Runs started before migration 002 have no owner and stay as they are.
    run_id = store.create_run("collect")
    store.update_run(run_id, owner_host=None, owner_pid=None, owner_start=None)
    assert listed_status(store, run_id) == "running"


@pytest.mark.skipif(not HAS_PROC, reason="start stamps need Linux /proc")
def test_reused_pid_counts_as_ended(store):
    run_id = store.create_run("collect")
    me = current_owner()
    boot_id, namespace, ticks = me.start.split(":")
    set_owner(store, run_id, RunOwner(me.host, me.pid, f"{boot_id}:{namespace}:{int(ticks) - 1}"))
    assert listed_status(store, run_id) == "interrupted"


@pytest.mark.skipif(not HAS_PROC, reason="start stamps need Linux /proc")
def test_owner_before_reboot_ended():
    me = current_owner()
    _, namespace, ticks = me.start.split(":")
    assert owner_has_ended(RunOwner(me.host, me.pid, f"00000000-0000-0000-0000-000000000000:{namespace}:{ticks}"))


@pytest.mark.skipif(not HAS_PROC, reason="start stamps need Linux /proc")
def test_other_pid_namespace_left_alone():
    me = current_owner()
    boot_id, _, ticks = me.start.split(":")
    assert not owner_has_ended(RunOwner(me.host, 2**22 + 1, f"{boot_id}:1:{ticks}"))


def test_missing_pid_without_stamp_ended():
    assert owner_has_ended(RunOwner(run_owner.host_name(), 2**22 + 1, None))


def test_malformed_stamp_falls_back():
    # An unreadable stamp is not trusted, so the live pid is checked with signal 0 instead.
    assert not owner_has_ended(RunOwner(run_owner.host_name(), os.getpid(), "not-a-stamp"))


def test_stat_with_parenthesis_in_name(tmp_path, monkeypatch):
    stat = tmp_path / "4242"
    stat.mkdir()
    fields = ["S", *["0"] * 18, "777", *["0"] * 30]
    (stat / "stat").write_text(f"4242 (evil) name) {' '.join(fields)}\n", encoding="utf-8")
    monkeypatch.setattr(run_owner, "PROC", tmp_path)
    assert run_owner._stat_fields(4242) == ("S", "777")


# --- migration -----------------------------------------------------------------------------------


def test_migration_keeps_old_runs(tmp_path, monkeypatch):
    path = tmp_path / "old.db"
    monkeypatch.setattr(store_module, "MIGRATIONS", store_module.MIGRATIONS[:1])
    with Store(path) as old:
        with old.db.conn:
            old.db.execute("INSERT INTO runs (kind, status, started_at) VALUES ('collect', 'running', '2025-01-01T00:00:00+00:00')")
    monkeypatch.undo()
    with Store(path) as store:
        runs = store.runs()
    assert [(run["status"], run["owner_pid"]) for run in runs] == [("running", None)]


def test_listing_busy_store_does_not_wait(db, owner):
    owner.kill()
    with Store(db) as writer, Store(db) as reader:
        writer.db.execute("BEGIN IMMEDIATE")
        try:
            status = listed_status(reader, owner.run_id)
        finally:
            writer.db.execute("ROLLBACK")
    assert status == "interrupted"


def test_new_run_survives_failed_marking(db, owner, monkeypatch, caplog):
    owner.kill()

    def fail() -> list[int]:
        raise sqlite3.OperationalError("database is locked")

    with Store(db) as store:
        monkeypatch.setattr(store, "mark_interrupted_runs", fail)
        new_run = store.create_run("import", source="x.jsonl")
    assert stored_status(db, new_run) == "running"
    assert "could not mark interrupted runs" in caplog.text


def test_huge_owner_pid_left_alone(store):
    run_id = store.create_run("collect")
    set_owner(store, run_id, RunOwner(run_owner.host_name(), 2**40, None))
    assert listed_status(store, run_id) == "running"
