"""``python -m ui.server``: a background server is reused for the same store instead of started twice."""

from __future__ import annotations

import json
import os
import signal

import pytest

from bsb_core.store import Store
from ui import server as app_server


@pytest.fixture()
def state(tmp_path, monkeypatch):
    """A private state file; every server it lists is stopped at the end."""
    path = tmp_path / "servers.json"
    monkeypatch.setenv("BSB_APP_STATE", str(path))
    yield path
    for entry in app_server.running_servers():
        os.killpg(entry["group"], signal.SIGTERM)


def test_second_start_reuses_server(state, tmp_path, capsys):
    db = tmp_path / "bsb.db"
    Store(db).close()

    first = app_server.main(["--db", str(db), "--port", "8611"])
    first_output = capsys.readouterr().out
    second = app_server.main(["--db", str(db), "--port", "8611"])
    second_output = capsys.readouterr().out
    entries = json.loads(state.read_text(encoding="utf-8"))

    assert first == 0
    assert second == 0
    assert "BSB app serving at http://127.0.0.1:" in first_output
    assert "BSB app already serving at http://127.0.0.1:" in second_output
    assert first_output.split()[4] == second_output.split()[5]
    assert len(entries) == 1
    assert entries[0]["store"] == str(db.resolve())


def test_other_store_gets_own_server(state, tmp_path, capsys):
    first_db, second_db = tmp_path / "a.db", tmp_path / "b.db"
    Store(first_db).close()
    Store(second_db).close()

    app_server.main(["--db", str(first_db), "--port", "8621"])
    app_server.main(["--db", str(second_db), "--port", "8621"])
    output = capsys.readouterr().out

    assert output.count("BSB app serving at") == 2
    assert len(app_server.running_servers()) == 2


def test_unreadable_state_counts_as_empty(state):
    state.write_text("not json", encoding="utf-8")

    assert app_server.running_servers() == []
