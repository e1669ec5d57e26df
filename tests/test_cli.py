"""The command line: every command has help text; core commands work end to end."""

from __future__ import annotations

import json

import click
from click.testing import CliRunner

from bsb_core.cli import main


def iter_commands(group: click.Group, prefix: str = ""):
    if hasattr(group, "load_plugins"):
        group.load_plugins()
    for name, command in group.commands.items():
        yield f"{prefix}{name}", command
        if isinstance(command, click.Group):
            yield from iter_commands(command, f"{prefix}{name} ")


def test_run_command_comes_from_flows():
    main.load_plugins()
    assert main.commands["run"].callback.__module__ == "flows.cli"


def test_core_never_imports_flows_or_ui():
    import ast
    from pathlib import Path

    offenders = []
    for path in Path(main.callback.__code__.co_filename).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.name}: {name}" for name in names if name.split(".")[0] in ("flows", "ui", "streamlit", "prefect")]
    assert offenders == []


def test_every_command_has_help():
    missing = [name for name, command in iter_commands(main) if not (command.help or "").strip()]
    assert missing == []


def test_every_option_has_help():
    missing = [
        f"{name} {param.name}"
        for name, command in iter_commands(main)
        for param in command.params
        if isinstance(param, click.Option) and not param.hidden and not (param.help or "").strip()
    ]
    assert missing == []


def test_help_runs_for_every_command():
    runner = CliRunner()
    failures = []
    for name, _ in iter_commands(main):
        result = runner.invoke(main, [*name.split(), "--help"])
        if result.exit_code != 0:
            failures.append((name, result.output))
    assert failures == []


def test_import_score_export_roundtrip(tmp_path):
    db = str(tmp_path / "bsb.db")
    source = tmp_path / "rows.jsonl"
    source.write_text(
        json.dumps({"model": "m", "prompt": "Name two fruits.", "response": "- Apples\n- Pears", "grader": "ann"}) + "\n"
        + '{"model": "m", "prompt": "broken"\n',
        encoding="utf-8",
    )
    runner = CliRunner()
    imported = runner.invoke(main, ["import", "--db", db, str(source)])
    scored = runner.invoke(main, ["score", "--db", db])
    rescored = runner.invoke(main, ["score", "--db", db])
    exported = runner.invoke(main, ["export", "--db", db, "--format", "jsonl"])
    record = json.loads(exported.output.splitlines()[0])
    assert imported.exit_code == 1
    assert "imported 1 responses, skipped 0 duplicates, rejected 1 rows" in imported.output
    assert f"{source}:2: invalid JSON" in imported.output
    assert scored.exit_code == 0
    assert "scored 1 responses" in scored.output
    assert "scored 0 responses" in rescored.output
    assert record["grader"] == "ann"
    assert record["metrics"]["word_count"] == 2


def test_missing_file_is_clear_error(tmp_path):
    result = CliRunner().invoke(main, ["import", "--db", str(tmp_path / "x.db"), str(tmp_path / "nope.jsonl")])
    assert result.exit_code == 1
    assert "file not found" in result.output


def test_only_store_runs_sql():
    from pathlib import Path

    root = Path(main.callback.__code__.co_filename).parent.parent
    # import_llm.py reads the `llm` CLI's own logs.db, not BSB's store.
    allowed = {"store.py", "import_llm.py"}
    offenders = [
        str(path.relative_to(root))
        for folder in ("bsb_core", "flows", "ui")
        for path in (root / folder).rglob("*.py")
        if path.name not in allowed
        and any(call in path.read_text(encoding="utf-8") for call in (".execute(", "read_sql", "executemany(", "executescript("))
    ]
    assert offenders == []


def test_read_only_command_needs_existing_store(tmp_path):
    missing = tmp_path / "typo.db"
    result = CliRunner().invoke(main, ["models", "--db", str(missing)])
    assert result.exit_code == 1
    assert "no store at" in result.output
    assert not missing.exists()
