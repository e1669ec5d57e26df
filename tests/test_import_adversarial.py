"""Bad input for import, score and export: each case is reported clearly and loses no good row."""

from __future__ import annotations

import csv
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlite_utils
from click.testing import CliRunner

from bsb_core.cli import main
from bsb_core.exporting import flat_record, write_csv
from bsb_core.importers import ImportFormatError, ImportSummary, detect_format, import_file
from bsb_core.store import Store

GOOD = {"model": "m", "prompt": "Name a fruit.", "response": "A pear."}


def jsonl_bytes(*rows: dict | str | bytes) -> bytes:
    lines = []
    for row in rows:
        if isinstance(row, bytes):
            lines.append(row)
        else:
            lines.append((row if isinstance(row, str) else json.dumps(row)).encode("utf-8"))
    return b"\n".join(lines) + b"\n"


def write_bytes(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def csv_text(rows: list[list[str]], delimiter: str = ",") -> str:
    lines = []
    for row in rows:
        lines.append(delimiter.join(f'"{cell}"' if delimiter in cell or "\n" in cell else cell for cell in row))
    return "\r\n".join(lines) + "\r\n"


def run_cli(*args: str):
    return CliRunner().invoke(main, list(args))


# --- encodings --------------------------------------------------------------------------------


def test_jsonl_bom_keeps_first_row(store, tmp_path):
    path = write_bytes(tmp_path / "bom.jsonl", b"\xef\xbb\xbf" + jsonl_bytes(GOOD, {**GOOD, "prompt": "Second?"}))
    summary = import_file(store, path)
    assert summary.rejected == []
    assert summary.imported == 2


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-32"])
def test_jsonl_utf16_and_utf32_import(store, tmp_path, codec):
    path = write_bytes(tmp_path / "wide.jsonl", (json.dumps(GOOD) + "\n").encode(codec))
    summary = import_file(store, path)
    assert summary.rejected == []
    assert summary.imported == 1


def test_csv_utf16_tsv_imports(store, tmp_path):
    text = csv_text([["model", "prompt", "response"], ["m", "Hi?", "Hello, you."]], delimiter="\t")
    path = write_bytes(tmp_path / "excel.tsv", text.encode("utf-16"))
    summary = import_file(store, path)
    exported = [flat_record(row) for row in store.export_rows()]
    assert summary.imported == 1
    assert exported[0]["response"] == "Hello, you."


def test_json_array_utf16_detected(store, tmp_path):
    items = [{"instruction": "Hi?", "output": "Hello.", "generator": "g"}]
    path = write_bytes(tmp_path / "model_outputs.json", json.dumps(items).encode("utf-16"))
    assert detect_format(path) == "alpaca-eval"
    assert import_file(store, path).imported == 1


def test_invalid_utf8_line_rejected(store, tmp_path):
    bad = b'{"model": "m", "prompt": "p", "response": "bad \xff byte"}'
    path = write_bytes(tmp_path / "bytes.jsonl", jsonl_bytes(bad, GOOD))
    summary = import_file(store, path)
    assert summary.imported == 1
    assert summary.rejected == [f"{path}:1: invalid UTF-8 byte 0xff at column 48; save the file as UTF-8"]


def test_csv_invalid_utf8_record_rejected(store, tmp_path):
    data = b"model,prompt,response\r\nm,p1,fine\r\nm,p2,bad \xfe\r\nm,p3,fine too\r\n"
    path = write_bytes(tmp_path / "bytes.csv", data)
    summary = import_file(store, path)
    assert summary.imported == 2
    assert len(summary.rejected) == 1
    assert summary.rejected[0].startswith(f"{path}:3: field `response` has invalid UTF-8 byte 0xfe")


@pytest.mark.parametrize(
    ("line", "field"),
    [
        ('{"model": "m", "prompt": "p", "response": "lone \\ud800 high"}', "response"),
        ('{"model": "m", "prompt": "p \\udfff", "response": "r"}', "prompt"),
        ('{"model": "m\\ud800", "prompt": "p", "response": "r"}', "model"),
        ('{"model": "m", "prompt": "p", "response": "r", "note": ["ok", "\\udc00"]}', "note[1]"),
    ],
)
def test_lone_surrogate_rejected(store, tmp_path, line, field):
    path = write_bytes(tmp_path / "surrogate.jsonl", jsonl_bytes(line, GOOD))
    summary = import_file(store, path)
    assert summary.imported == 1
    assert summary.rejected[0].startswith(f"{path}:1: field `{field}` has a lone surrogate")


def test_surrogate_pair_accepted(store, tmp_path):
    path = write_bytes(tmp_path / "emoji.jsonl", jsonl_bytes('{"model": "m", "prompt": "p", "response": "ok \\ud83d\\ude00"}'))
    summary = import_file(store, path)
    assert summary.imported == 1
    assert store.response_text(1) == "ok \U0001f600"


def test_nul_bytes_round_trip(store, tmp_path):
    path = write_bytes(tmp_path / "nul.jsonl", jsonl_bytes({**GOOD, "response": "a\x00b"}, b"\x00\x00\x00"))
    summary = import_file(store, path)
    exported = [flat_record(row) for row in store.export_rows()]
    assert summary.imported == 1
    assert summary.rejected[0].startswith(f"{path}:2: invalid JSON")
    assert exported[0]["response"] == "a\x00b"


def test_crlf_jsonl_imports(store, tmp_path):
    path = write_bytes(tmp_path / "crlf.jsonl", (json.dumps(GOOD) + "\r\n" + json.dumps({**GOOD, "prompt": "Two?"}) + "\r\n").encode())
    assert import_file(store, path).imported == 2


# --- JSON structure ---------------------------------------------------------------------------


def test_deep_nesting_rejected(store, tmp_path):
    too_deep = '{"model": "m", "prompt": "p", "response": "r", "x": ' + "[" * 50_000 + "]" * 50_000 + "}"
    nested = '{"model": "m", "prompt": "q", "response": "r", "x": ' + "[" * 150 + "]" * 150 + "}"
    path = write_bytes(tmp_path / "deep.jsonl", jsonl_bytes(too_deep, nested, GOOD))
    summary = import_file(store, path)
    assert summary.imported == 1
    assert "nested too deeply" in summary.rejected[0]
    assert "nested 151 levels deep; the maximum is 100" in summary.rejected[1]


def test_deep_constraints_text_rejected(store, tmp_path):
    path = tmp_path / "deep.csv"
    path.write_text(csv_text([["model", "prompt", "response", "constraints"], ["m", "p", "r", "[" * 20_000 + "]" * 20_000]]))
    summary = import_file(store, path)
    assert summary.imported == 0
    assert "`constraints` is not valid JSON" in summary.rejected[0]


def test_duplicate_keys_rejected(store, tmp_path):
    path = write_bytes(tmp_path / "dup.jsonl", jsonl_bytes('{"model": "m", "prompt": "p", "response": "one", "response": "two"}', GOOD))
    summary = import_file(store, path)
    assert summary.imported == 1
    assert summary.rejected == [f"{path}:1: duplicate key `response` in one object; keep one value per key"]


def test_pretty_json_object_one_error(store, tmp_path):
    path = tmp_path / "row.json"
    path.write_text(json.dumps(GOOD, indent=2), encoding="utf-8")
    with pytest.raises(ImportFormatError, match="one JSON object spread over several lines"):
        import_file(store, path)


# --- field types ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "reason"),
    [
        ({"sample": 10**30}, "field `sample` must be between 0 and 9223372036854775807"),
        ({"sample": 1.7}, "field `sample` must be an integer, found number 1.7"),
        ({"sample": True}, "field `sample` must be an integer, found boolean true"),
        ({"sample": "--5"}, 'field `sample` must be an integer, found string "--5"'),
        ({"sample": "\u00b2"}, "field `sample` must be an integer"),
        ({"prompt": 10}, "field `prompt` must be a non-empty string, found number 10"),
        ({"topic": {"a": 1}}, "field `topic` must be a string or a number"),
        ({"prompt_id": [1, 2]}, "field `prompt_id` must be a string or a number"),
        ({"constraints": [{"id": "punctuation:no_comma", "kwargs": 5}]}, "kwargs of 'punctuation:no_comma' must be an object"),
    ],
)
def test_wrong_types_rejected(store, tmp_path, extra, reason):
    path = write_bytes(tmp_path / "types.jsonl", jsonl_bytes({**GOOD, **extra}, {**GOOD, "prompt": "Kept?"}))
    summary = import_file(store, path)
    assert summary.imported == 1
    assert reason in summary.rejected[0]


@pytest.mark.parametrize("sample", [3, 3.0, "3", " 3 ", "3.0"])
def test_integer_samples_accepted(store, tmp_path, sample):
    path = write_bytes(tmp_path / "sample.jsonl", jsonl_bytes({**GOOD, "sample": sample}))
    import_file(store, path)
    assert store.db.execute("SELECT sample FROM responses").fetchone()[0] == 3


def test_nulls_everywhere(store, tmp_path):
    rows = [
        {"model": None, "prompt": None, "response": None},
        {**GOOD, "stream": None, "topic": None, "constraints": None, "sample": None, "prompt_id": None},
        {**GOOD, "prompt": "IFEval?", "instruction_id_list": None, "kwargs": None},
        {**GOOD, "prompt": "Empty?", "response": None},
    ]
    path = write_bytes(tmp_path / "nulls.jsonl", jsonl_bytes(*rows))
    summary = import_file(store, path)
    assert summary.imported == 3
    assert summary.empty == 1
    assert summary.rejected == [f"{path}:1: missing field `prompt` (a non-empty string)"]


def test_conflicting_duplicate_reported(store, tmp_path):
    path = write_bytes(tmp_path / "twice.jsonl", jsonl_bytes(GOOD, {**GOOD, "response": "Another answer."}, GOOD))
    summary = import_file(store, path)
    again = import_file(store, path)
    assert summary.imported == 1
    assert summary.duplicates == 1
    assert "already has a different response to this prompt as sample 0" in summary.rejected[0]
    assert again.imported == 0
    assert store.count("responses") == 1


# --- CSV --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "delimiter"), [("semi.csv", ";"), ("tabs.tsv", "\t"), ("tabs.csv", "\t"), ("pipes.csv", "|")])
def test_csv_delimiters_detected(store, tmp_path, name, delimiter):
    path = tmp_path / name
    path.write_text(csv_text([["model", "prompt", "response"], ["m", "p", "one, two; three"]], delimiter), encoding="utf-8")
    summary = import_file(store, path)
    assert summary.imported == 1
    assert store.response_text(1) == "one, two; three"


def test_csv_header_without_prompt(store, tmp_path):
    path = tmp_path / "nohead.csv"
    path.write_text("m,p,r\r\nm2,p2,r2\r\n", encoding="utf-8")
    with pytest.raises(ImportFormatError, match="no `prompt` column"):
        import_file(store, path)


def test_csv_duplicate_header_names(store, tmp_path):
    path = tmp_path / "dup.csv"
    path.write_text("model,prompt,response,response\r\nm,p,one,two\r\n", encoding="utf-8")
    with pytest.raises(ImportFormatError, match="names `response` more than once"):
        import_file(store, path)


def test_csv_blank_lines_before_header(store, tmp_path):
    path = tmp_path / "blank.csv"
    path.write_text("\r\n\r\nmodel,prompt,response\r\nm,p,r\r\nm,q\r\n", encoding="utf-8")
    summary = import_file(store, path)
    assert summary.imported == 1
    assert summary.rejected == [f"{path}:5: expected 3 fields as in the header, found 2"]


def test_csv_unterminated_quote_hint(store, tmp_path):
    path = tmp_path / "quote.csv"
    path.write_text('model,prompt,response\r\nm,p1,fine\r\nm,p2,"never closed\r\nm,p3,lost\r\n', encoding="utf-8")
    summary = import_file(store, path)
    assert summary.imported == 1
    assert summary.rejected[0].startswith(f"{path}:3: invalid CSV (unexpected end of data)")
    assert "has no closing quote" in summary.rejected[0]


def test_csv_stray_quote_rejected(store, tmp_path):
    path = tmp_path / "quote.csv"
    path.write_text('model,prompt,response\r\nm,p1,"closed"early\r\nm,p2,fine\r\nm,p3,"a",b\r\n', encoding="utf-8")
    summary = import_file(store, path)
    assert summary.imported == 1
    assert summary.rejected[0].startswith(f"{path}:2: invalid CSV")
    assert "a quoted field may be missing its closing quote" not in summary.rejected[1]


def test_csv_quoted_newlines_kept(store, tmp_path):
    path = tmp_path / "multi.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([["model", "prompt", "response"], ["m", "p", "line 1\nline 2\r\nline 3"], ["m", "q", "x"]])
    summary = import_file(store, path)
    assert summary.imported == 2
    assert store.response_text(1) == "line 1\nline 2\r\nline 3"


def test_csv_field_over_limit_rejected(store, tmp_path):
    # The real limit is 64 MiB; a small one exercises the same path without a huge file.
    limit = csv.field_size_limit(1000)
    try:
        path = tmp_path / "huge.csv"
        path.write_text(csv_text([["model", "prompt", "response"], ["m", "p", "x" * 2000], ["m", "q", "fine"]]), encoding="utf-8")
        summary = import_file(store, path)
    finally:
        csv.field_size_limit(limit)
    assert summary.imported == 1
    assert "field larger than field limit" in summary.rejected[0]


# --- whole files ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["empty.jsonl", "empty.json", "empty.csv"])
def test_empty_file_warns(store, tmp_path, name):
    path = write_bytes(tmp_path / name, b"")
    summary = import_file(store, path)
    assert summary.warnings == [f"{path}: the file is empty; nothing to import"]
    assert summary.rejected == []


def test_header_only_csv_warns(store, tmp_path):
    path = tmp_path / "head.csv"
    path.write_text("model,prompt,response\r\n", encoding="utf-8")
    assert import_file(store, path).warnings == [f"{path}: no rows found"]


def test_unreadable_file_error(store, tmp_path, monkeypatch):
    # Root reads a chmod 000 file anyway, so the permission error is injected.
    path = write_bytes(tmp_path / "locked.jsonl", jsonl_bytes(GOOD))
    real_open = Path.open

    def deny(self, *args, **kwargs):
        if self == path:
            raise PermissionError(13, "Permission denied", str(self))
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", deny)
    with pytest.raises(ImportFormatError, match="permission denied; make the file readable"):
        import_file(store, path)


def unprivileged_bsb(*args: str) -> subprocess.CompletedProcess:
    """Run the CLI so that file modes apply, also as root (which setpriv strips of DAC overrides)."""
    prefix: list[str] = []
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        caps = "-dac_override,-dac_read_search,-fowner"
        prefix = ["setpriv", "--bounding-set", caps, "--inh-caps", caps]
        probe = subprocess.run([*prefix, "true"], capture_output=True)
        if probe.returncode != 0:
            pytest.skip(f"root and setpriv cannot drop file privileges: {probe.stderr.decode(errors='replace')}")
    code = "import sys; from bsb_core.cli import main; sys.exit(main())"
    return subprocess.run([*prefix, sys.executable, "-c", code, *args], capture_output=True, text=True)


def test_unreadable_file_keeps_others(tmp_path):
    locked = write_bytes(tmp_path / "locked.jsonl", jsonl_bytes(GOOD))
    locked.chmod(0)
    good = write_bytes(tmp_path / "good.jsonl", jsonl_bytes(GOOD))
    result = unprivileged_bsb("import", "--db", str(tmp_path / "bsb.db"), str(locked), str(good))
    assert result.returncode == 1
    assert "permission denied" in result.stderr
    assert "imported 1 responses" in result.stdout


def test_folder_as_path(tmp_path):
    good = write_bytes(tmp_path / "good.jsonl", jsonl_bytes(GOOD))
    result = run_cli("import", "--db", str(tmp_path / "bsb.db"), str(tmp_path), str(good))
    assert result.exit_code == 1
    assert "is a folder" in result.output
    assert "imported 1 responses" in result.output


# --- AlpacaEval -------------------------------------------------------------------------------


def test_alpaca_wrong_types_named(store, tmp_path):
    items = [
        {"instruction": "i1", "output": 5, "generator": "g"},
        {"instruction": "i2", "output": None, "generator": "g"},
        {"instruction": "i3", "output": "ok", "generator": None},
        {"instruction": None, "output": "ok", "generator": "g"},
    ]
    path = tmp_path / "model_outputs.json"
    path.write_text(json.dumps(items), encoding="utf-8")
    summary = import_file(store, path)
    assert summary.imported == 1
    assert summary.empty == 1
    assert summary.rejected == [
        f"{path}:1: array item 1: field `output` must be a string, found number 5",
        f"{path}:1: array item 3: field `generator` must be a non-empty string, found null",
        f"{path}:1: array item 4: field `instruction` must be a non-empty string, found null",
    ]


def test_json_array_of_bsb_rows(store, tmp_path):
    path = tmp_path / "rows.json"
    path.write_text(json.dumps([GOOD]), encoding="utf-8")
    summary = import_file(store, path)
    assert "write JSONL (one object per line) instead of a JSON array" in summary.rejected[0]


def test_alpaca_missing_bracket_reported(store, tmp_path):
    path = tmp_path / "model_outputs.json"
    path.write_text('[{"instruction": "a", "output": "b", "generator": "g"}', encoding="utf-8")
    summary = import_file(store, path)
    assert summary.imported == 1
    assert "ends before the array's closing `]`" in summary.rejected[0]


def test_alpaca_duplicate_key_skips_item(store, tmp_path):
    path = tmp_path / "model_outputs.json"
    path.write_text(
        '[{"instruction": "a", "output": "b", "output": "c", "generator": "g"},\n {"instruction": "d", "output": "e", "generator": "g"}]',
        encoding="utf-8",
    )
    summary = import_file(store, path)
    assert summary.imported == 1
    assert summary.rejected == [f"{path}:1: array item 1: duplicate key `output` in one object; keep one value per key"]


# --- llm logs.db ------------------------------------------------------------------------------


def llm_turns_db(path: Path) -> Path:
    """Build a logs.db the way llm >= 0.36 writes it (turns and a message tree, no `responses` rows)."""
    import llm
    from llm.migrations import migrate

    class EchoModel(llm.Model):
        model_id = "echo-test"
        can_stream = False

        def execute(self, prompt, stream, response, conversation):
            yield f"Answer to: {prompt.prompt}"

    db = sqlite_utils.Database(path)
    migrate(db)
    model = EchoModel()
    for response in (model.prompt("Say hi", system="Be brief."), model.prompt("Say hi", system="Be brief.")):
        response.text()
        response.log_to_db(db)
    conversation = model.conversation()
    for text in ("First turn", "Second turn"):
        response = conversation.prompt(text)
        response.text()
        response.log_to_db(db)
    with_fragment = model.prompt("Summarise.", fragments=["A fragment of text."])
    with_fragment.text()
    with_fragment.log_to_db(db)
    db.close()
    return path


def test_llm_turns_schema_imported(store, tmp_path):
    path = llm_turns_db(tmp_path / "logs.db")
    summary = import_file(store, path)
    exported = [flat_record(row) for row in store.export_rows()]
    messages = [json.loads(row[0]) for row in store.db.execute("SELECT messages FROM responses ORDER BY id")]
    assert summary.imported == 5
    assert [row["prompt"] for row in exported] == ["Say hi", "Say hi", "First turn", "Second turn", "A fragment of text.\nSummarise."]
    assert [row["sample"] for row in exported] == [0, 1, 0, 0, 0]
    assert exported[3]["response"] == "Answer to: Second turn"
    assert messages[0][0] == {"role": "system", "content": "Be brief."}
    assert [message["role"] for message in messages[3]] == ["user", "assistant", "user"]


def test_llm_turns_reimport_adds_nothing(store, tmp_path):
    path = llm_turns_db(tmp_path / "logs.db")
    import_file(store, path)
    again = import_file(store, path)
    assert again.imported == 0
    assert again.duplicates == 5


def test_llm_legacy_null_columns(store, tmp_path):
    from llm.migrations import migrate

    path = tmp_path / "legacy.db"
    db = sqlite_utils.Database(path)
    migrate(db)
    db["responses"].insert_all(
        [
            {"id": "a1", "model": None, "prompt": "p", "response": "r"},
            {"id": "a2", "model": "gpt", "prompt": None, "response": "r"},
            {"id": "a3", "model": "gpt", "prompt": "p3", "response": None},
            {"id": "a4", "model": "gpt", "prompt": "same", "response": "one", "duration_ms": "fast", "input_tokens": "abc"},
            {"id": "a5", "model": "gpt", "prompt": "same", "response": "two", "options_json": "{bad json"},
            {"id": None, "model": "gpt", "prompt": "p6", "response": "r6"},
        ]
    )
    db.execute("INSERT INTO responses (id, model, prompt, response) VALUES ('a7', 'gpt', 'p7', CAST(X'626164ff' AS TEXT))")
    db.conn.commit()
    db.close()
    summary = import_file(store, path)
    rows = store.db.execute("SELECT sample, text, latency_ms, tokens_in FROM responses ORDER BY id").fetchall()
    assert summary.imported == 4
    assert summary.empty == 1
    assert summary.rejected == [
        f"{path}:responses row 1: missing field `model`",
        f"{path}:responses row 2: missing field `prompt` (a non-empty string)",
        f"{path}:responses row 7: field `response` has invalid UTF-8 byte 0xff at character 4; save the file as UTF-8",
    ]
    assert rows[1] == (0, "one", None, None)
    assert rows[2][:2] == (1, "two")


def test_llm_legacy_fragments_in_prompt(store, tmp_path):
    from llm.migrations import migrate

    path = tmp_path / "legacy.db"
    db = sqlite_utils.Database(path)
    migrate(db)
    db["responses"].insert({"id": "a1", "model": "gpt", "prompt": "typed", "system": "sys", "response": "r"})
    db["fragments"].insert({"id": 1, "hash": "h", "content": "FRAGMENT"})
    db["prompt_fragments"].insert({"response_id": "a1", "fragment_id": 1, "order": 0})
    db.close()
    import_file(store, path)
    messages = json.loads(store.db.execute("SELECT messages FROM responses").fetchone()[0])
    assert messages == [{"role": "system", "content": "sys"}, {"role": "user", "content": "FRAGMENT\ntyped"}]


def test_llm_logs_not_sqlite(store, tmp_path):
    path = write_bytes(tmp_path / "logs.db", b"not a database at all\n" * 20)
    with pytest.raises(ImportFormatError, match="not a readable SQLite database"):
        import_file(store, path)


# --- the store --------------------------------------------------------------------------------


@pytest.mark.parametrize("command", [["import", "ROWS"], ["models"], ["score"], ["export"]])
def test_store_not_sqlite(tmp_path, command):
    db = write_bytes(tmp_path / "bsb.db", b"garbage, not SQLite\n" * 10)
    rows = write_bytes(tmp_path / "rows.jsonl", jsonl_bytes(GOOD))
    result = run_cli(*[str(rows) if part == "ROWS" else part for part in command], "--db", str(db))
    assert result.exit_code == 1
    assert "the file is not a SQLite database" in result.output


def test_store_env_is_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("BSB_DB", str(tmp_path))
    result = run_cli("models")
    assert result.exit_code == 1
    assert "it is a folder" in result.output


def test_store_env_selects_store(tmp_path, monkeypatch):
    rows = write_bytes(tmp_path / "rows.jsonl", jsonl_bytes(GOOD))
    monkeypatch.setenv("BSB_DB", str(tmp_path / "env.db"))
    monkeypatch.chdir(tmp_path)
    run_cli("import", str(rows))
    assert (tmp_path / "env.db").exists()
    assert not (tmp_path / "bsb.db").exists()


def test_store_write_error_is_clear(tmp_path, monkeypatch):
    rows = write_bytes(tmp_path / "rows.jsonl", jsonl_bytes(GOOD))

    def readonly(*args, **kwargs):
        raise sqlite3.OperationalError("attempt to write a readonly database")

    monkeypatch.setattr(Store, "upsert_prompt", readonly)
    result = run_cli("import", "--db", str(tmp_path / "bsb.db"), str(rows))
    assert result.exit_code == 1
    assert "cannot write to the store" in result.output
    assert "fix the permissions or copy the store to a writable folder" in result.output


def test_store_in_readonly_folder(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    rows = write_bytes(tmp_path / "rows.jsonl", jsonl_bytes(GOOD))
    with Store(folder / "bsb.db"):
        pass
    folder.chmod(0o555)
    try:
        imported = unprivileged_bsb("import", "--db", str(folder / "bsb.db"), str(rows))
        created = unprivileged_bsb("import", "--db", str(folder / "new.db"), str(rows))
    finally:
        folder.chmod(0o755)
    assert imported.returncode == 1
    assert "cannot open the store" in imported.stderr
    assert "copy the store to a writable folder" in imported.stderr
    assert created.returncode == 1
    assert "cannot open the store" in created.stderr


def test_readonly_store_file(tmp_path):
    db = tmp_path / "bsb.db"
    rows = write_bytes(tmp_path / "rows.jsonl", jsonl_bytes(GOOD))
    with Store(db):
        pass
    db.chmod(0o444)
    result = unprivileged_bsb("import", "--db", str(db), str(rows))
    assert result.returncode == 1
    assert "cannot write to the store" in result.stderr
    assert "Traceback" not in result.stderr


def test_insert_race_counts_duplicate(tmp_path, monkeypatch):
    path = tmp_path / "bsb.db"
    with Store(path) as first, Store(path) as second:
        model = first.get_or_create_model("m", "import")
        prompt = first.upsert_prompt("import", "baseline", "p")
        second.insert_response(model, prompt, "r", scope_key="import")
        real_execute = first.db.execute

        def stale_select(sql, params=None):
            # The SELECT ran before the other process's INSERT, so it found nothing.
            if sql.startswith("SELECT id, error, text FROM responses"):
                return real_execute("SELECT id, error, text FROM responses WHERE 0")
            return real_execute(sql, params) if params is not None else real_execute(sql)

        monkeypatch.setattr(first.db, "execute", stale_select)
        result = first.insert_response(model, prompt, "r", scope_key="import")
    assert result.inserted is False


def test_model_race_returns_existing(tmp_path, monkeypatch):
    path = tmp_path / "bsb.db"
    with Store(path) as first, Store(path) as second:
        existing = second.get_or_create_model("m", "import")
        real_execute = first.db.execute

        def stale_select(sql, params=None):
            if sql.startswith("SELECT id FROM models") and not getattr(stale_select, "done", False):
                stale_select.done = True
                return real_execute("SELECT id FROM models WHERE 0")
            return real_execute(sql, params) if params is not None else real_execute(sql)

        monkeypatch.setattr(first.db, "execute", stale_select)
        assert first.get_or_create_model("m", "import") == existing


def many_rows(path: Path, count: int) -> Path:
    with path.open("w", encoding="utf-8") as handle:
        for index in range(count):
            handle.write(json.dumps({"model": f"m{index % 3}", "prompt": f"prompt {index}", "response": f"answer {index}"}) + "\n")
    return path


def bsb_process(*args: str) -> subprocess.Popen:
    code = "import sys; from bsb_core.cli import main; sys.exit(main())"
    return subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_two_imports_at_once(tmp_path):
    rows = many_rows(tmp_path / "rows.jsonl", 3000)
    db = str(tmp_path / "bsb.db")
    Store(db).close()
    processes = [bsb_process("import", "--db", db, str(rows)) for _ in range(2)]
    outputs = [process.communicate() for process in processes]
    with Store(db) as store:
        count = store.count("responses")
        statuses = [run["status"] for run in store.runs()]
    assert [process.returncode for process in processes] == [0, 0], outputs
    assert count == 3000
    assert statuses == ["completed", "completed"]


def test_sigkill_then_reimport(tmp_path):
    rows = many_rows(tmp_path / "rows.jsonl", 20000)
    db = str(tmp_path / "bsb.db")
    process = bsb_process("import", "--db", db, str(rows))
    while process.poll() is None and not Path(db).exists():
        time.sleep(0.05)
    time.sleep(1)
    process.send_signal(signal.SIGKILL)
    process.communicate()
    with Store(db) as store:
        before = store.count("responses")
        summary = import_file(store, rows)
        after = store.count("responses")
    assert after == 20000
    assert summary.imported == 20000 - before
    assert summary.duplicates == before


def test_interrupt_marks_run_and_resumes(store, tmp_path):
    rows = many_rows(tmp_path / "rows.jsonl", 50)
    seen = 0

    def stop_at_twenty(count: int) -> None:
        nonlocal seen
        seen += count
        if seen == 21:
            raise KeyboardInterrupt

    partial = ImportSummary()
    with pytest.raises(KeyboardInterrupt):
        import_file(store, rows, progress=stop_at_twenty, summary=partial)
    first_run = store.runs()[0]
    resumed = import_file(store, rows)
    assert partial.imported == 20
    assert first_run["status"] == "failed"
    assert json.loads(first_run["stats"])["error"] == "stopped by Ctrl-C"
    assert resumed.imported == 30
    assert resumed.duplicates == 20


def test_ctrl_c_prints_summary(tmp_path, monkeypatch):
    import bsb_core.importers as importers

    rows = many_rows(tmp_path / "rows.jsonl", 10)
    real_store_row = importers._store_row
    calls = 0

    def interrupt_after_three(*args, **kwargs):
        nonlocal calls
        calls += 1
        if calls == 4:
            raise KeyboardInterrupt
        return real_store_row(*args, **kwargs)

    monkeypatch.setattr(importers, "_store_row", interrupt_after_three)
    result = run_cli("import", "--db", str(tmp_path / "bsb.db"), str(rows))
    assert result.exit_code == 130
    assert "imported 3 responses" in result.output
    assert "run the same command again to import the rest" in result.output


# --- export -----------------------------------------------------------------------------------


def test_export_meta_collisions_kept(store, tmp_path):
    row = {**GOOD, "meta": "user meta", "metrics": "user metrics", "run_id": "r-7", "metric:word_count": 99, "judge": 1}
    import_file(store, write_bytes(tmp_path / "rows.jsonl", jsonl_bytes(row)))
    record = flat_record(next(store.export_rows()))
    assert record["meta"] == {"meta": "user meta", "metrics": "user metrics", "run_id": "r-7", "metric:word_count": 99}
    assert record["judge"] == 1
    assert record["run_id"] == 1


def test_csv_export_meta_collisions_kept(store, tmp_path):
    import io

    row = {**GOOD, "meta": "user meta", "metric:word_count": 99}
    import_file(store, write_bytes(tmp_path / "rows.jsonl", jsonl_bytes(row)))
    rows = list(store.export_rows())
    rows[0]["metrics"] = {"word_count": 3.0}
    handle = io.StringIO()
    write_csv(lambda: rows, handle)
    record = next(csv.DictReader(io.StringIO(handle.getvalue())))
    assert json.loads(record["meta"]) == {"meta": "user meta", "metric:word_count": 99}
    assert record["metric:word_count"] == "3.0"


def test_export_without_metric_values(tmp_path):
    db = str(tmp_path / "bsb.db")
    run_cli("import", "--db", db, str(write_bytes(tmp_path / "rows.jsonl", jsonl_bytes({**GOOD, "judge": "x"}))))
    as_jsonl = run_cli("export", "--db", db)
    as_csv = run_cli("export", "--db", db, "--format", "csv")
    header = as_csv.output.splitlines()[0].split(",")
    assert json.loads(as_jsonl.output)["metrics"] == {}
    assert "judge" in header
    assert not [name for name in header if name.startswith("metric:")]


def test_export_empty_store_csv_header(tmp_path):
    Store(tmp_path / "bsb.db").close()
    result = run_cli("export", "--db", str(tmp_path / "bsb.db"), "--format", "csv")
    assert result.output.splitlines()[0].startswith("model,prompt_id,prompt,response")


def test_export_missing_folder(tmp_path):
    result = run_cli("export", "--db", str(tmp_path / "bsb.db"), "-o", str(tmp_path / "nope" / "out.jsonl"))
    assert result.exit_code == 1
    assert "does not exist; create it first" in result.output


def test_export_keeps_file_on_error(tmp_path):
    output = tmp_path / "out.jsonl"
    output.write_text("earlier export\n", encoding="utf-8")
    bad_store = write_bytes(tmp_path / "bad.db", b"not SQLite\n" * 10)
    result = run_cli("export", "--db", str(bad_store), "-o", str(output))
    assert result.exit_code == 1
    assert output.read_text(encoding="utf-8") == "earlier export\n"


def test_export_round_trip_large_response(tmp_path):
    db = str(tmp_path / "bsb.db")
    big = "word " * 1_000_000
    run_cli("import", "--db", db, str(write_bytes(tmp_path / "big.jsonl", jsonl_bytes({**GOOD, "response": big}))))
    output = tmp_path / "out.jsonl"
    run_cli("export", "--db", db, "-o", str(output))
    assert json.loads(output.read_text(encoding="utf-8"))["response"] == big


# --- scoring ----------------------------------------------------------------------------------


def test_score_invalid_utf8_stored_text(tmp_path):
    db = str(tmp_path / "bsb.db")
    run_cli("import", "--db", db, str(write_bytes(tmp_path / "rows.jsonl", jsonl_bytes(GOOD))))
    with sqlite3.connect(db) as conn:
        # Another tool wrote bytes that are not UTF-8; Python's sqlite3 cannot store them.
        conn.execute("UPDATE responses SET text = CAST(X'626164ff20746578742e' AS TEXT)")
    scored = run_cli("score", "--db", db)
    exported = run_cli("export", "--db", db)
    assert scored.exit_code == 0
    assert "scored 1 responses" in scored.output
    assert json.loads(exported.output)["response"] == "bad\ufffd text."


def test_score_survives_parser_error(store, tmp_path, monkeypatch):
    import bsb_core.metrics.engine as engine
    from bsb_core.scoring import score_store

    rows = [{"model": "m", "prompt": f"p{index}", "response": f"Answer number {index}."} for index in range(5)]
    rows[2]["response"] = "POISON"
    import_file(store, write_bytes(tmp_path / "rows.jsonl", jsonl_bytes(*rows)))
    real_prepare = engine.prepare

    def failing_prepare(text):
        if text == "POISON":
            raise RuntimeError("simulated parser failure")
        return real_prepare(text)

    monkeypatch.setattr(engine, "prepare", failing_prepare)
    summary = score_store(store, batch_size=2)
    again = score_store(store)
    reasons = {row[0] for row in store.db.execute("SELECT null_reason FROM metric_values WHERE response_id = 3")}
    assert summary.responses == 5
    assert reasons == {"internal error: RuntimeError"}
    assert again.responses == 0


def test_score_interrupt_saves_whole_responses(store, tmp_path):
    from bsb_core.metrics.registry import REGISTRY
    from bsb_core.scoring import score_store

    import_file(store, many_rows(tmp_path / "rows.jsonl", 10))
    seen = 0

    def stop_after_three(count: int) -> None:
        nonlocal seen
        seen += count
        if seen == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        score_store(store, progress=stop_after_three)
    counts = [row[0] for row in store.db.execute("SELECT COUNT(*) FROM metric_values GROUP BY response_id")]
    resumed = score_store(store)
    assert counts == [len(REGISTRY.names())] * 3
    assert resumed.responses == 7


def test_score_nan_value_gets_reason(store, tmp_path, monkeypatch):
    import bsb_core.metrics.engine as engine
    from bsb_core.scoring import score_store

    real_compute_all = engine.compute_all

    def nan_word_count(parsed):
        values = real_compute_all(parsed)
        values["word_count"] = float("nan")
        return values

    monkeypatch.setattr(engine, "compute_all", nan_word_count)
    import_file(store, write_bytes(tmp_path / "rows.jsonl", jsonl_bytes(GOOD)))
    score_store(store)
    row = store.db.execute("SELECT value, null_reason FROM metric_values WHERE metric = 'word_count'").fetchone()
    assert row == (None, "not a finite number (nan)")


def test_csv_header_open_quote(store, tmp_path):
    path = tmp_path / "quote.csv"
    path.write_text('model,prompt,"response\r\nm,p,r\r\n', encoding="utf-8")
    with pytest.raises(ImportFormatError, match="cannot read the CSV header"):
        import_file(store, path)


def test_alpaca_extra_fields_keep_mapping(store, tmp_path):
    path = tmp_path / "model_outputs.json"
    path.write_text(json.dumps([{"instruction": "i", "output": "o", "generator": "g", "model": "other", "prompt": "x"}]), encoding="utf-8")
    import_file(store, path)
    record = flat_record(next(store.export_rows()))
    assert (record["model"], record["prompt"]) == ("g", "i")
    assert (record["alpaca_model"], record["alpaca_prompt"]) == ("other", "x")


def test_underscore_fields_stay_meta(store, tmp_path):
    row = {**GOOD, "_tokens_in": {"a": 1}, "_system": "injected", "_messages": "x", "_latency_ms": "slow"}
    summary = import_file(store, write_bytes(tmp_path / "rows.jsonl", jsonl_bytes(row)))
    stored = store.db.execute("SELECT tokens_in, latency_ms, system_hash, messages FROM responses").fetchone()
    record = flat_record(next(store.export_rows()))
    assert summary.imported == 1
    assert stored == (None, None, "", json.dumps([{"content": GOOD["prompt"], "role": "user"}], separators=(",", ":")))
    assert record["_system"] == "injected"
    assert record["_tokens_in"] == {"a": 1}


def test_stdin_pipe_imports(tmp_path):
    code = "import sys; from bsb_core.cli import main; sys.exit(main())"
    data = jsonl_bytes(GOOD, '{"model": "m", "prompt": "broken').decode()
    result = subprocess.run(
        [sys.executable, "-c", code, "import", "--db", str(tmp_path / "bsb.db"), "/dev/stdin"],
        input=data, capture_output=True, text=True,
    )
    assert result.returncode == 1
    assert "imported 1 responses" in result.stdout
    assert "/dev/stdin:2: invalid JSON" in result.stderr


def test_device_path_rejected(store):
    with pytest.raises(ImportFormatError, match="is not a regular file or a pipe"):
        import_file(store, "/dev/zero", "jsonl")


def test_default_store_in_working_folder(tmp_path, monkeypatch):
    rows = write_bytes(tmp_path / "rows.jsonl", jsonl_bytes(GOOD))
    monkeypatch.delenv("BSB_DB", raising=False)
    monkeypatch.chdir(tmp_path)
    result = run_cli("import", str(rows))
    assert result.exit_code == 0
    assert (tmp_path / "bsb.db").exists()
