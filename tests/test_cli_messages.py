"""CLI messages: output folders, user text in Rich tables, the diff title, scope errors, store errors."""

from __future__ import annotations

import json
import os

import pytest
from click.testing import CliRunner
from fixtures_signature import fill_synthetic_store

from bsb_core import cards as card_files
from bsb_core.cli import main
from bsb_core.scope import MAX_LISTED_RUNS, parse_scope, resolve_scope
from bsb_core.store import Store

# A model name that Rich would read as markup: "[bold]" is a style tag.
MARKUP_MODEL = "acme/[bold]x"


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    path = tmp_path_factory.mktemp("messages") / "bsb.db"
    with Store(path) as store:
        fill_synthetic_store(store)
        # The store has no method to rename a model, so the test renames one scored model with SQL.
        with store.db.conn:
            store.db.execute("UPDATE models SET name = ? WHERE name = 'sim/drifter'", [MARKUP_MODEL])
        store.get_or_create_model("sim/silent", "sim", simulated=True)
        run_id = store.create_run("import", source="empty.jsonl")
        store.finish_run(run_id, "completed")
    return str(path)


def run(*args: str, input: str | None = None):
    return CliRunner().invoke(main, list(args), input=input)


# --- output files -----------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["json", "pdf"])
def test_card_missing_folder(db, tmp_path, fmt):
    output = tmp_path / "missing" / f"card.{fmt}"
    result = run("card", "sim/alpha", "--format", fmt, "-o", str(output), "--db", db)
    assert result.exit_code == 1
    assert f"the folder {output.parent} does not exist; create it first" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_card_replaces_file(db, tmp_path):
    output = tmp_path / "card.json"
    output.write_text("old", encoding="utf-8")
    result = run("card", "sim/alpha", "-o", str(output), "--db", db)
    assert result.exit_code == 0, result.output
    assert json.loads(output.read_text(encoding="utf-8"))["model"] == "sim/alpha"
    assert os.listdir(tmp_path) == ["card.json"]


def test_write_card_invalid_keeps_file(tmp_path):
    output = tmp_path / "card.json"
    output.write_text("old", encoding="utf-8")
    with pytest.raises(card_files.CardValidationError):
        card_files.write_card({"model": "sim/a"}, output, "json")
    assert output.read_text(encoding="utf-8") == "old"
    assert os.listdir(tmp_path) == ["card.json"]


def test_write_card_failed_rename_keeps_file(tmp_path, monkeypatch):
    from card_factory import make_card

    def fail_replace(source, target):
        raise OSError(28, "No space left on device")

    output = tmp_path / "card.pdf"
    output.write_bytes(b"old")
    monkeypatch.setattr(os, "replace", fail_replace)
    with pytest.raises(OSError):
        card_files.write_card(make_card("sim/a"), output, "pdf")
    assert output.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["card.pdf"]


def test_write_atomically_error_keeps_file(tmp_path):
    from bsb_core.atomic_write import write_atomically

    def write_half(stream):
        stream.write("new, half written")
        raise RuntimeError("stopped")

    output = tmp_path / "rows.jsonl"
    output.write_text("old", encoding="utf-8")
    with pytest.raises(RuntimeError):
        write_atomically(output, write_half)
    assert output.read_text(encoding="utf-8") == "old"
    assert os.listdir(tmp_path) == ["rows.jsonl"]


def test_card_write_error_message(db, tmp_path, monkeypatch):
    def fail_replace(source, target):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", fail_replace)
    output = tmp_path / "card.json"
    result = run("card", "sim/alpha", "-o", str(output), "--db", db)
    assert result.exit_code == 1
    assert f"cannot write {output}: No space left on device" in result.output


def test_write_card_file_mode(tmp_path):
    from card_factory import make_card

    umask = os.umask(0o022)
    try:
        path = card_files.write_card(make_card("sim/a"), tmp_path / "card.json", "json")
    finally:
        os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o644


def test_write_card_missing_folder(tmp_path):
    from card_factory import make_card

    with pytest.raises(FileNotFoundError):
        card_files.write_card(make_card("sim/a"), tmp_path / "missing" / "card.json", "json")


def test_export_missing_folder(db, tmp_path):
    output = tmp_path / "missing" / "x.csv"
    result = run("export", "--format", "csv", "-o", str(output), "--db", db)
    assert result.exit_code == 1
    assert f"cannot write {output}: the folder {output.parent} does not exist; create it first" in result.output


# --- user text in Rich tables and titles ------------------------------------------------------


def test_models_table_keeps_brackets(db):
    result = run("models", "--db", db)
    assert MARKUP_MODEL in result.output


def test_signatures_table_keeps_brackets(db):
    result = run("signatures", "--refresh", "--db", db)
    assert MARKUP_MODEL in result.output


def test_diff_title_keeps_scopes(db):
    result = run("diff", "sim/alpha", "--scope", "all", "--scope", "run:1", "--db", db)
    assert "[all]" in result.output
    assert "[run:1]" in result.output


def test_diff_title_keeps_model(db):
    result = run("diff", MARKUP_MODEL, "sim/alpha", "--db", db)
    assert f"A = {MARKUP_MODEL} [all]" in result.output


def test_progress_description_not_markup():
    from bsb_core.cli_core import progress_bar

    assert progress_bar().columns[0].markup is False


# --- diff title order -------------------------------------------------------------------------


def test_diff_title_names_a_first(db):
    result = run("diff", "sim/alpha", "sim/beta", "--db", db)
    title = " ".join(result.output.split("┏")[0].split())
    assert title.startswith("A = sim/alpha [all], B = sim/beta [all]:")
    assert "effect is B - A" in title


def test_diff_columns_match_title(db):
    table = run("diff", "sim/alpha", "sim/beta", "--db", db).output
    diffs = json.loads(run("diff", "sim/alpha", "sim/beta", "--db", db, "--json").output)["diffs"]
    first = diffs[0]
    row = next(line for line in table.splitlines() if line.startswith(f"│ {first['metric']} "))
    cells = [cell.strip() for cell in row.strip("│").split("│")]
    assert cells[2] == f"{first['mean_a']:.3g}"
    assert cells[3] == f"{first['mean_b']:.3g}"


# --- scopes -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "scope, expected",
    [
        ("2026-13-01..2026-12-31", "2026-13-01 is not a calendar date"),
        ("2026-02-30..", "2026-02-30 is not a calendar date"),
        ("..2026-00-10", "2026-00-10 is not a calendar date"),
        ("2027-01-01..2026-01-01", "the range starts on 2027-01-01, after its end 2026-01-01"),
    ],
)
def test_parse_scope_invalid_dates(scope, expected):
    with pytest.raises(ValueError) as caught:
        parse_scope(scope)
    assert expected in str(caught.value)
    assert "YYYY-MM-DD" in str(caught.value) or "earlier date first" in str(caught.value)


@pytest.mark.parametrize("scope", ["2024-02-29..2024-02-29", "2024-01-01..", "..2024-12-31", "2024-01-01..2024-12-31"])
def test_parse_scope_valid_dates(scope):
    assert parse_scope(scope).text == scope


def test_card_invalid_date_scope(db):
    result = run("card", "sim/alpha", "--scope", "2026-13-01..2026-12-31", "--db", db)
    assert result.exit_code == 2
    assert "run `bsb score`" not in result.output
    assert "'2026-13-01..2026-12-31'" in result.output


def test_card_reversed_scope(db):
    result = run("card", "sim/alpha", "--scope", "2027-01-01..2026-01-01", "--db", db)
    assert result.exit_code == 2
    assert "write the earlier date first" in result.output


UNKNOWN_RUN_COMMANDS = [
    ["card", "sim/alpha"],
    ["signatures"],
    ["signatures", "--refresh"],
    ["diff", "sim/alpha", "sim/beta"],
    ["recommend", "--preset", "coding-help"],
    ["validate", "identify", "--group-size", "5"],
]


@pytest.mark.parametrize("command", UNKNOWN_RUN_COMMANDS, ids=" ".join)
def test_unknown_run_lists_runs(db, command):
    result = run(*command, "--scope", "run:999", "--db", db)
    assert result.exit_code == 2
    assert "run 999 not found; runs in the store: 1, 2" in result.output
    assert "no signature cards" not in result.output


def test_attribute_unknown_run(db):
    result = run("attribute", "-", "--scope", "run:999", "--db", db, input="A short answer.")
    assert result.exit_code == 2
    assert "run 999 not found; runs in the store: 1, 2" in result.output


def test_diff_second_scope_unknown_run(db):
    result = run("diff", "sim/alpha", "--scope", "all", "--scope", "run:7", "--db", db)
    assert result.exit_code == 2
    assert "run 7 not found" in result.output


def test_resolve_scope_lists_newest_runs(tmp_path):
    with Store(tmp_path / "bsb.db") as store:
        for _ in range(MAX_LISTED_RUNS + 2):
            store.finish_run(store.create_run("import"), "completed")
        with pytest.raises(ValueError) as caught:
            resolve_scope(store, "run:99")
    message = str(caught.value)
    assert "runs in the store: 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 (the newest 10 of 12)" in message


def test_resolve_scope_no_runs(tmp_path):
    with Store(tmp_path / "bsb.db") as store, pytest.raises(ValueError, match="run 1 not found; the store has no runs yet"):
        resolve_scope(store, "run:1")


def test_resolve_scope_known_run(db):
    with Store(db) as store:
        assert resolve_scope(store, "run:2").run_id == 2


# --- store and model errors -------------------------------------------------------------------


def test_not_sqlite_said_once(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("model,prompt,response\n" * 20, encoding="utf-8")
    result = run("models", "--db", str(path))
    assert result.exit_code == 1
    assert result.output.count("not a database") + result.output.count("not a SQLite database") == 1


def test_missing_store_absolute_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("BSB_DB", raising=False)
    monkeypatch.delenv("BSB_CONFIG", raising=False)
    result = run("models")
    assert f"no store at {tmp_path / 'bsb.db'}:" in result.output


def test_card_suggests_provider_name(db):
    result = run("card", "alpha", "--db", db)
    assert result.exit_code == 1
    assert "did you mean sim/alpha?" in result.output


def test_card_suggests_close_name(db):
    result = run("card", "sim/alhpa", "--db", db)
    assert "did you mean sim/alpha" in result.output


def test_card_no_close_name(db):
    result = run("card", "zzzzzz", "--db", db)
    assert "did you mean" not in result.output


def test_card_model_without_responses(db):
    result = run("card", "sim/silent", "--db", db)
    assert result.exit_code == 1
    assert "model 'sim/silent' has no scored responses in scope all" in result.output
    assert "did you mean" not in result.output
