"""Importing transcripts: formats, bad rows, metadata round trip, idempotence."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import sqlite_utils

from bsb_core.exporting import flat_record
from bsb_core.importers import ImportFormatError, detect_format, import_file


def write_jsonl(path: Path, rows: list) -> Path:
    path.write_text("\n".join(row if isinstance(row, str) else json.dumps(row) for row in rows) + "\n", encoding="utf-8")
    return path


def test_jsonl_rows_and_meta(store, tmp_path):
    path = write_jsonl(
        tmp_path / "a.jsonl",
        [{"model": "m1", "prompt": "Why?", "response": "Because.", "prompt_id": "p1", "topic": "t", "judge": 7, "tags": ["x"]}],
    )
    summary = import_file(store, path)
    exported = [flat_record(row) for row in store.export_rows()]
    assert summary.imported == 1
    assert exported[0]["judge"] == 7
    assert exported[0]["tags"] == ["x"]
    assert exported[0]["prompt_id"] == "p1"
    assert exported[0]["topic"] == "t"


def test_malformed_rows_reported_with_line(store, tmp_path):
    path = write_jsonl(
        tmp_path / "bad.jsonl",
        [
            {"model": "m", "prompt": "a", "response": "ok"},
            "{not json",
            {"model": "m", "prompt": "b"},
            ["a", "list"],
            {"model": "m", "prompt": "c", "response": 5},
            {"model": "m", "prompt": "d", "response": "fine", "sample": "two"},
            {"model": "m", "prompt": "e", "response": "fine", "stream": "weird"},
            {"model": "m", "prompt": "f", "response": "fine", "constraints": "[oops"},
            {"model": "m", "prompt": "g", "response": "good too"},
        ],
    )
    summary = import_file(store, path)
    assert summary.imported == 2
    assert len(summary.rejected) == 7
    assert summary.rejected[0].startswith(f"{path}:2: invalid JSON")
    assert summary.rejected[1] == f"{path}:3: missing field `response`"
    assert f"{path}:5: field `response` must be a string" in summary.rejected[3]
    assert "`sample` must be an integer" in summary.rejected[4]
    assert "`stream` is 'weird'" in summary.rejected[5]
    assert "`constraints` is not valid JSON" in summary.rejected[6]


def test_empty_response_kept_and_flagged(store, tmp_path):
    path = write_jsonl(tmp_path / "e.jsonl", [{"model": "m", "prompt": "a", "response": "  "}])
    summary = import_file(store, path)
    row = store.db.execute("SELECT is_empty, text FROM responses").fetchone()
    assert summary.empty == 1
    assert row == (1, "  ")


def test_reimport_adds_nothing(store, tmp_path):
    path = write_jsonl(tmp_path / "a.jsonl", [{"model": "m", "prompt": "a", "response": "x"}, {"model": "m", "prompt": "b", "response": "y"}])
    import_file(store, path)
    again = import_file(store, path)
    assert again.imported == 0
    assert again.duplicates == 2
    assert store.count("responses") == 2


def test_csv_with_constraints(store, tmp_path):
    path = tmp_path / "a.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["model", "prompt", "response", "constraints", "sample", "rater"])
        writer.writerow(["m", "List 3 things", "- a\n- b\n- c", json.dumps([{"id": "detectable_format:number_bullet_lists", "kwargs": {"num_bullets": 3}}]), "1", "ann"])
        writer.writerow(["m", "Only two fields"])
    summary = import_file(store, path)
    constraints = json.loads(store.db.execute("SELECT constraints FROM prompts").fetchone()[0])
    assert summary.imported == 1
    # The first record's response spans lines 2-4, so the short record starts on line 5.
    assert summary.rejected == [f"{path}:5: expected 6 fields as in the header, found 2"]
    assert constraints[0]["kwargs"] == {"num_bullets": 3}


def test_alpaca_eval_array(store, tmp_path):
    path = tmp_path / "model_outputs.json"
    items = [
        {"dataset": "helpful_base", "instruction": "Hi?", "output": "Hello!", "generator": "gen-a"},
        {"dataset": "oasst", "instruction": "Bye?", "generator": "gen-a"},
        {"dataset": "oasst", "instruction": "Why?", "output": "", "generator": "gen-a"},
    ]
    path.write_text(json.dumps(items, indent=2), encoding="utf-8")
    summary = import_file(store, path)
    exported = [flat_record(row) for row in store.export_rows()]
    assert detect_format(path) == "alpaca-eval"
    assert summary.imported == 2
    assert summary.empty == 1
    assert summary.rejected[0].endswith("missing AlpacaEval field(s) output")
    assert exported[0]["dataset"] == "helpful_base"
    assert exported[0]["model"] == "gen-a"


def test_alpaca_truncated_array_keeps_good_rows(store, tmp_path):
    path = tmp_path / "model_outputs.json"
    path.write_text('[{"instruction": "a", "output": "b", "generator": "g"},\n {"instruction": "c", "outp', encoding="utf-8")
    summary = import_file(store, path, "alpaca-eval")
    assert summary.imported == 1
    assert summary.rejected[0].startswith(f"{path}:2: invalid JSON")


def test_llm_logs_db(store, tmp_path):
    from llm.migrations import migrate

    path = tmp_path / "logs.db"
    db = sqlite_utils.Database(path)
    migrate(db)
    db["responses"].insert_all(
        [
            {"id": "01a", "model": "gpt-4o-mini", "prompt": "Say hi", "system": "Be brief.", "response": "Hi.",
             "duration_ms": 420, "datetime_utc": "2025-01-01T00:00:00", "input_tokens": 5, "output_tokens": 2,
             "options_json": "{}", "prompt_json": "{}", "response_json": "{}"},
            {"id": "01b", "model": "claude-3-haiku", "prompt": "Say bye", "response": "Bye.", "duration_ms": 300,
             "datetime_utc": "2025-01-02T00:00:00"},
        ]
    )
    db.close()
    summary = import_file(store, path)
    rows = store.db.execute("SELECT r.latency_ms, r.tokens_in, r.messages FROM responses r ORDER BY r.id").fetchall()
    assert detect_format(path) == "llm-logs"
    assert summary.imported == 2
    assert rows[0][0] == 420
    assert rows[0][1] == 5
    assert json.loads(rows[0][2])[0] == {"role": "system", "content": "Be brief."}


def test_sqlite_without_responses_table(store, tmp_path):
    path = tmp_path / "other.db"
    sqlite_utils.Database(path)["things"].insert({"a": 1})
    with pytest.raises(ImportFormatError, match="no `responses` table"):
        import_file(store, path, "llm-logs")


def test_ifeval_constraints_mapped(store, tmp_path):
    path = write_jsonl(
        tmp_path / "ifeval.jsonl",
        [{"model": "m", "prompt": "Write 2 bullets", "response": "* a\n* b",
          "instruction_id_list": ["detectable_format:number_bullet_lists", "punctuation:no_comma"],
          "kwargs": [{"num_bullets": 2, "relation": None}, {}]}],
    )
    import_file(store, path)
    constraints = json.loads(store.db.execute("SELECT constraints FROM prompts").fetchone()[0])
    assert constraints == [
        {"id": "detectable_format:number_bullet_lists", "kwargs": {"num_bullets": 2}},
        {"id": "punctuation:no_comma", "kwargs": {}},
    ]


def test_prompt_only_rows(store, tmp_path):
    path = write_jsonl(tmp_path / "prompts.jsonl", [{"prompt_id": "x-1", "prompt": "Hello?", "label": "safe"}])
    summary = import_file(store, path)
    assert summary.prompts_only == 1
    assert store.count("responses") == 0
    assert store.count("prompts") == 1


def test_unknown_extension_needs_format(store, tmp_path):
    path = tmp_path / "data.txt"
    path.write_text("hello", encoding="utf-8")
    with pytest.raises(ImportFormatError, match="pass --format"):
        import_file(store, path)


@pytest.mark.slow
def test_shared_data_imports_cleanly(store, shared_data):
    files = sorted(
        path for folder in ("alpaca_eval", "arena_hard", "ifeval", "xstest") for path in (shared_data / folder).glob("*.jsonl")
    )
    summaries = {path.name: import_file(store, path) for path in files}
    rejected = {name: summary.rejected[:3] for name, summary in summaries.items() if summary.rejected}
    assert len(files) == 21
    assert rejected == {}
    assert store.count("responses") == 12831
