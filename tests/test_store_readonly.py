"""A store in a folder this process cannot write: read-only commands work, others fail clearly.

Each check runs in a child process started from this file. Permission bits do not bind root,
and CI runs as root. So as root the child imports what it needs and then drops to the
unprivileged user ``nobody`` (uid 65534), and the kernel really refuses to let SQLite create
files in the root-owned folder. As any other user the folder is made 0o555 for the call.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

# The child imports every module it needs before it drops to the user nobody, who may not be
# able to read the standard library or the virtualenv. The commands import these lazily.
import bsb_core.config  # noqa: F401
import bsb_core.exporting  # noqa: F401
import bsb_core.metrics.engine  # noqa: F401
import bsb_core.scoring  # noqa: F401
from bsb_core import store as store_module
from bsb_core.cli import main
from bsb_core.store import Store

ROOT = Path(__file__).resolve().parent.parent
NOBODY = 65534
# Seconds a child process may take before the test fails.
CHILD_TIMEOUT_S = 120


@pytest.fixture()
def folder(tmp_path) -> Iterator[Path]:
    """An empty folder that the user nobody can traverse (pytest's own temporary folders are 0o700 for root)."""
    if os.geteuid() != 0:
        path = tmp_path / "stores"
        path.mkdir()
        yield path
        path.chmod(0o755)
        return
    path = Path(tempfile.mkdtemp(prefix="bsb-readonly-"))
    path.chmod(0o755)
    yield path
    path.chmod(0o755)
    shutil.rmtree(path)


# --- the child process ---------------------------------------------------------------------------


def read_models(path: str) -> list[str]:
    with Store(path, read_only=True) as store:
        return [row["name"] for row in store.models()]


def count_runs(path: str) -> int:
    with Store(path, read_only=True) as store:
        return len(store.runs())


def write_model(path: str) -> int:
    with Store(path, read_only=True) as store:
        return store.get_or_create_model("sim/other", "sim")


def open_store(path: str) -> str:
    with Store(path, read_only=True):
        return "opened"


def invoke(*args: str) -> dict[str, Any]:
    result = CliRunner().invoke(main, list(args))
    return {"exit_code": result.exit_code, "output": result.output}


CHILD_ACTIONS: dict[str, Callable[..., Any]] = {
    "read_models": read_models,
    "count_runs": count_runs,
    "write_model": write_model,
    "open_store": open_store,
    "invoke": invoke,
}


def child_main(arguments: list[str]) -> None:
    """Run one of CHILD_ACTIONS (as the user nobody when started as root) and print its outcome as JSON."""
    action, *values = arguments
    if os.geteuid() == 0:
        os.setgroups([])
        os.setgid(NOBODY)
        os.setuid(NOBODY)
    # Loading the `bsb run` plugin would import Prefect, whose files the user nobody may not be able to read.
    main.plugins_loaded = True
    try:
        outcome = {"value": CHILD_ACTIONS[action](*values)}
    except Exception as error:  # the test inspects the error, whatever its type
        outcome = {"error": f"{type(error).__name__}: {error}"}
    print(json.dumps(outcome, default=str))


def without_write_access(folder: Path, action: str, *values: str) -> dict[str, Any]:
    """Run CHILD_ACTIONS[action] in a child that cannot write ``folder``; return ``{"value": ...}`` or ``{"error": "Type: message"}``."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    folder.chmod(0o555)
    try:
        child = subprocess.run(
            [sys.executable, __file__, action, *values], cwd=ROOT, env=env, capture_output=True, text=True, timeout=CHILD_TIMEOUT_S
        )
    finally:
        folder.chmod(0o755)
    lines = child.stdout.strip().splitlines()
    if child.returncode != 0 or not lines:
        raise AssertionError(f"the child process exited with status {child.returncode}: {child.stderr[-2000:]}")
    return json.loads(lines[-1])


# --- stores --------------------------------------------------------------------------------------


def make_store(path: Path) -> None:
    """Create a WAL store with one scored response and close it, which removes the -wal and -shm files."""
    with Store(path) as store:
        model = store.get_or_create_model("sim/steady", "sim", simulated=True)
        prompt = store.upsert_prompt("core", "baseline", "Explain tides.", topic="tides")
        run_id = store.create_run("collect")
        response = store.insert_response(model, prompt, "Tides follow the moon.", run_id=run_id).response_id
        store.insert_metric_values([(response, "word_count", 4.0, None, bsb_core.metrics.engine.METRIC_SET_VERSION, "test")])
        store.finish_run(run_id, "completed")
    path.chmod(0o644)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- the Store class -----------------------------------------------------------------------------


def test_read_only_store_lists_models(folder):
    path = folder / "bsb.db"
    make_store(path)
    outcome = without_write_access(folder, "read_models", str(path))
    assert outcome == {"value": ["sim/steady"]}


def test_read_only_store_leaves_files_unchanged(folder):
    path = folder / "bsb.db"
    make_store(path)
    before = digest(path)
    outcome = without_write_access(folder, "count_runs", str(path))
    assert outcome == {"value": 1}
    assert digest(path) == before
    assert sorted(item.name for item in folder.iterdir()) == ["bsb.db"]


def test_read_only_store_rejects_writes(folder):
    path = folder / "bsb.db"
    make_store(path)
    outcome = without_write_access(folder, "write_model", str(path))
    assert outcome["error"].startswith("OperationalError: attempt to write a readonly database")


def test_read_only_in_writable_folder(tmp_path):
    # The read-only path opened on purpose where the folder is writable, as root too: SQLite
    # then reads with mode=ro and may create -wal and -shm files, but never writes the store file.
    path = tmp_path / "bsb.db"
    make_store(path)
    before = digest(path)
    with Store(path, read_only=True) as store:
        names = [row["name"] for row in store.models()]
        journal = store.db.execute("PRAGMA journal_mode").fetchone()[0]
    assert names == ["sim/steady"]
    assert journal == "wal"
    assert digest(path) == before


def test_read_only_needs_migration(folder, monkeypatch):
    path = folder / "bsb.db"
    monkeypatch.setattr(store_module, "MIGRATIONS", store_module.MIGRATIONS[:1])
    Store(path).close()
    monkeypatch.undo()
    path.chmod(0o644)
    outcome = without_write_access(folder, "open_store", str(path))
    assert outcome["error"].startswith(f"ReadOnlyStoreError: {path} needs schema migration 002")
    assert "bsb models --db" in outcome["error"]


def test_read_only_wal_without_shm(folder):
    # A writer that left committed changes in the -wal file and lost its -shm file (a crash,
    # or a copy of the two files): immutable=1 would silently miss those changes.
    path = folder / "bsb.db"
    make_store(path)
    writer = sqlite3.connect(path)
    writer.execute("PRAGMA wal_autocheckpoint = 0")
    writer.execute("UPDATE models SET name = 'sim/renamed'")
    writer.commit()
    copy = folder / "copy"
    copy.mkdir()
    copy.chmod(0o755)
    shutil.copyfile(path, copy / "bsb.db")
    shutil.copyfile(path.with_name("bsb.db-wal"), copy / "bsb.db-wal")
    writer.close()
    outcome = without_write_access(copy, "read_models", str(copy / "bsb.db"))
    assert outcome["error"].startswith(f"ReadOnlyStoreError: cannot read {copy / 'bsb.db'} without write access")


def test_read_only_symlink_checks_real_folder(folder):
    # SQLite reads the -wal file beside the real file, so the check must look there, not
    # beside the link (which is in a folder the reader may write).
    real = folder / "real"
    real.mkdir()
    real.chmod(0o755)
    path = real / "bsb.db"
    make_store(path)
    writer = sqlite3.connect(path)
    writer.execute("PRAGMA wal_autocheckpoint = 0")
    writer.execute("UPDATE models SET name = 'sim/renamed'")
    writer.commit()
    path.with_name("bsb.db-shm").unlink()
    links = folder / "links"
    links.mkdir()
    links.chmod(0o777)
    (links / "bsb.db").symlink_to(path)
    real.chmod(0o555)
    try:
        outcome = without_write_access(folder, "read_models", str(links / "bsb.db"))
    finally:
        real.chmod(0o755)
        writer.close()
    assert outcome["error"].startswith(f"ReadOnlyStoreError: cannot read {path} without write access")


def test_read_only_rejects_memory():
    with pytest.raises(ValueError, match="needs a file path"):
        Store(":memory:", read_only=True)


# --- commands ------------------------------------------------------------------------------------


def test_models_command_read_only_folder(folder):
    path = folder / "bsb.db"
    make_store(path)
    outcome = without_write_access(folder, "invoke", "models", "--json", "--db", str(path))
    result = outcome["value"]
    assert result["exit_code"] == 0, result["output"]
    assert [row["name"] for row in json.loads(result["output"])] == ["sim/steady"]


def test_export_command_read_only_folder(folder):
    path = folder / "bsb.db"
    make_store(path)
    outcome = without_write_access(folder, "invoke", "export", "--db", str(path))
    result = outcome["value"]
    assert result["exit_code"] == 0, result["output"]
    record = json.loads(result["output"].splitlines()[0])
    assert record["metrics"] == {"word_count": 4.0}


@pytest.mark.parametrize("command", [["signatures", "--json"], ["export", "--format", "csv"]], ids=["signatures", "export-csv"])
def test_read_command_read_only_folder(folder, command):
    path = folder / "bsb.db"
    make_store(path)
    outcome = without_write_access(folder, "invoke", *command, "--db", str(path))
    result = outcome["value"]
    assert result["exit_code"] == 0, result["output"]


def test_models_command_needs_migration(folder, monkeypatch):
    path = folder / "bsb.db"
    monkeypatch.setattr(store_module, "MIGRATIONS", store_module.MIGRATIONS[:1])
    Store(path).close()
    monkeypatch.undo()
    path.chmod(0o644)
    outcome = without_write_access(folder, "invoke", "models", "--db", str(path))
    result = outcome["value"]
    assert result["exit_code"] == 1
    assert f"Error: {path} needs schema migration 002" in result["output"]
    assert "Traceback" not in result["output"]


def test_score_command_read_only_folder(folder):
    path = folder / "bsb.db"
    make_store(path)
    outcome = without_write_access(folder, "invoke", "score", "--db", str(path))
    result = outcome["value"]
    assert result["exit_code"] == 1
    assert f"cannot open the store {path}" in result["output"]
    assert "SQLite must be able to write the store" in result["output"]


def test_writable_store_still_migrates(tmp_path, monkeypatch):
    # Read-only commands on a store they can write keep migrating it, as before.
    path = tmp_path / "bsb.db"
    monkeypatch.setattr(store_module, "MIGRATIONS", store_module.MIGRATIONS[:1])
    Store(path).close()
    monkeypatch.undo()
    result = CliRunner().invoke(main, ["models", "--db", str(path)])
    with Store(path, read_only=True) as store:
        pending = store_module.pending_migrations(store.db)
    assert result.exit_code == 0, result.output
    assert pending == []


if __name__ == "__main__":
    child_main(sys.argv[1:])
