"""`bsb signatures`, `bsb diff`, `bsb validate identify` and `bsb attribute` on a synthetic store."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from fixtures_signature import MODELS, fill_synthetic_store

from bsb_core.cli import main


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    from bsb_core.store import Store

    path = tmp_path_factory.mktemp("cli") / "bsb.db"
    with Store(path) as store:
        fill_synthetic_store(store)
    return str(path)


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def test_signatures_refresh_lists_models(db):
    result = run("signatures", "--refresh", "--db", db)
    assert "sim/beta" in result.output


def test_signatures_json_cards(db):
    run("signatures", "--refresh", "--db", db)
    cards = json.loads(run("signatures", "--json", "--db", db).output)
    assert len(cards) == len(MODELS)


def test_signatures_empty_scope_hint(db):
    result = run("signatures", "--scope", "2000-01-01..2000-01-31", "--db", db)
    assert "--refresh" in result.output


def test_signatures_refresh_empty_scope(db):
    result = run("signatures", "--refresh", "--scope", "2000-01-01..2000-01-31", "--db", db)
    assert "run `bsb score` first" in result.output
    assert "--refresh" not in result.output


def test_signatures_unknown_run_fails(db):
    result = run("signatures", "--scope", "run:99", "--db", db)
    assert result.exit_code == 2
    assert "run 99 not found; runs in the store: 1" in result.output


def test_signatures_bad_scope_fails(db):
    result = run("signatures", "--scope", "last week", "--db", db)
    assert result.exit_code == 2


def test_diff_two_models(db):
    result = run("diff", "sim/alpha", "sim/beta", "--db", db, "--json")
    assert json.loads(result.output)["diffs"]


def test_diff_two_scopes_same_data_unchanged(db):
    result = run("diff", "sim/alpha", "--scope", "all", "--scope", "run:1", "--db", db, "--json")
    assert json.loads(result.output)["diffs"] == []


def test_diff_unknown_model_names_known(db):
    result = run("diff", "sim/alpha", "sim/nobody", "--db", db)
    assert "sim/beta" in result.output


def test_diff_needs_two_sides(db):
    result = run("diff", "sim/alpha", "--db", db)
    assert result.exit_code == 2


def test_diff_table_output(db):
    result = run("diff", "sim/alpha", "sim/gamma", "--db", db)
    assert "metrics changed" in result.output


def test_validate_identify_prints_accuracy(db):
    result = run("validate", "identify", "--group-size", "5", "--db", db)
    assert "top-1 accuracy" in result.output


def test_validate_identify_json(db):
    result = run("validate", "identify", "--group-size", "5", "--db", db, "--json")
    assert json.loads(result.output)["n_test"] > 0


def test_attribute_stdin(db):
    result = CliRunner().invoke(main, ["attribute", "-", "--db", db, "--json"], input="A short answer. It has two sentences.")
    assert json.loads(result.output)[0]["nearest"]


def test_attribute_empty_input_fails(db):
    result = CliRunner().invoke(main, ["attribute", "-", "--db", db], input="   ")
    assert result.exit_code == 2


@pytest.mark.parametrize("command", [["signatures"], ["diff"], ["validate", "identify"], ["attribute"]])
def test_commands_have_help(command):
    result = run(*command, "--help")
    assert "Usage" in result.output
