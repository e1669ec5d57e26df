"""The store: migrations, WAL, idempotent keys."""

from __future__ import annotations

import sqlite3

from bsb_core.store import MIGRATIONS, Store


def test_migrations_recorded(tmp_path):
    with Store(tmp_path / "a.db") as store:
        recorded = [row[0] for row in store.db.execute("SELECT id FROM migrations ORDER BY id")]
    assert recorded == sorted(number for number, _, _ in MIGRATIONS)


def test_migrations_applied_once(tmp_path):
    path = tmp_path / "a.db"
    Store(path).close()
    with Store(path) as store:
        count = store.db.execute("SELECT COUNT(*) FROM migrations").fetchone()[0]
    assert count == len(MIGRATIONS)


def test_wal_and_busy_timeout(tmp_path):
    with Store(tmp_path / "a.db") as store:
        mode = store.db.execute("PRAGMA journal_mode").fetchone()[0]
        timeout = store.db.execute("PRAGMA busy_timeout").fetchone()[0]
    assert mode == "wal"
    assert timeout >= 5000


def test_response_identity_is_unique(store):
    model = store.get_or_create_model("m", "import")
    prompt = store.upsert_prompt("s", "baseline", "hello?")
    first = store.insert_response(model, prompt, "hi", scope_key="import")
    second = store.insert_response(model, prompt, "hi again", scope_key="import")
    assert first.inserted
    assert not second.inserted
    assert store.count("responses") == 1


def test_failed_response_replaced(store):
    model = store.get_or_create_model("m", "openai")
    prompt = store.upsert_prompt("s", "baseline", "hello?")
    failed = store.insert_response(model, prompt, None, error="HTTP 500")
    retried = store.insert_response(model, prompt, "hi")
    assert retried.inserted
    assert retried.response_id == failed.response_id
    assert store.db.execute("SELECT text, error FROM responses").fetchone() == ("hi", None)


def test_metric_values_idempotent(store):
    model = store.get_or_create_model("m", "import")
    prompt = store.upsert_prompt("s", "baseline", "hello?")
    response = store.insert_response(model, prompt, "hi").response_id
    rows = [(response, "words", 1.0, None, "1", "p"), (response, "sentences", None, "no words", "1", "p")]
    assert store.insert_metric_values(rows) == 2
    assert store.insert_metric_values(rows) == 0


def test_unique_index_rejects_raw_duplicate(store):
    model = store.get_or_create_model("m", "import")
    prompt = store.upsert_prompt("s", "baseline", "hello?")
    store.insert_response(model, prompt, "hi")
    try:
        store.db.execute(
            "INSERT INTO responses (model_id, prompt_id, sample, system_hash, scope_key, created_at) VALUES (?, ?, 0, '', '', 'now')",
            [model, prompt],
        )
    except sqlite3.IntegrityError:
        return
    raise AssertionError("duplicate response identity was accepted")


def test_model_params_distinguish_rows(store):
    cold = store.get_or_create_model("openai/gpt-x", "openai", {"temperature": 0})
    warm = store.get_or_create_model("openai/gpt-x", "openai", {"temperature": 1})
    again = store.get_or_create_model("openai/gpt-x", "openai", {"temperature": 0})
    assert cold != warm
    assert cold == again


def test_foreign_database_left_untouched(tmp_path):
    import pytest
    import sqlite_utils

    from bsb_core.store import NotABsbStoreError

    path = tmp_path / "other.db"
    sqlite_utils.Database(path)["things"].insert({"a": 1})
    with pytest.raises(NotABsbStoreError, match="not a BSB store"):
        Store(path)
    other = sqlite_utils.Database(path)
    assert other.table_names() == ["things"]
    assert other.execute("PRAGMA journal_mode").fetchone()[0] == "delete"


def test_failed_migration_rolls_back(tmp_path, monkeypatch):
    import pytest

    from bsb_core import store as store_module

    def broken(db):
        db.execute("CREATE TABLE half_built (id INTEGER)")
        raise RuntimeError("boom")

    monkeypatch.setattr(store_module, "MIGRATIONS", [*store_module.MIGRATIONS, (999, "broken", broken)])
    with pytest.raises(RuntimeError, match="boom"):
        Store(tmp_path / "a.db")
    conn = sqlite3.connect(tmp_path / "a.db")
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    recorded = [row[0] for row in conn.execute("SELECT id FROM migrations")]
    conn.close()
    assert "half_built" not in tables
    assert 999 not in recorded
