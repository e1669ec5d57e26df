"""Store.export_rows: the same rows as one metric query per response, from a fixed number of queries."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bsb_core.store import Store


def fill(store: Store, responses: int) -> None:
    """Store ``responses`` responses of two models; metric values go in out of id order, in two versions.

    Every third response has no metric values, and metric names are inserted in an order
    that is not alphabetical, so a merge that sorts or drops values shows up.
    """
    models = [store.get_or_create_model("sim/a", "sim", simulated=True), store.get_or_create_model("b", "import")]
    ids = []
    for index in range(responses):
        prompt = store.upsert_prompt("core", "baseline", f"Question {index}?", topic=f"t{index % 4}", constraints=[{"type": "max_words", "value": 50}])
        result = store.insert_response(models[index % 2], prompt, f"Answer {index}.", meta={"grader": f"g{index}"})
        ids.append(result.response_id)
    rows = []
    for position, response_id in enumerate(reversed(ids)):
        if response_id % 3 == 0:
            continue
        for version, offset in (("2", 100.0), ("1", 0.0)):
            rows.append((response_id, "words", offset + response_id, None, version, "p"))
            rows.append((response_id, "bullets", None, "no list", version, "p"))
            rows.append((response_id, "commas", offset + position, None, version, "p"))
    store.insert_metric_values(rows)


def rows_one_query_each(store: Store, metric_set_version: str | None) -> list[dict[str, Any]]:
    """Return the rows as export_rows built them before it streamed: one metric query per response."""
    sql = """
        SELECT r.id, m.name AS model, m.provider, m.simulated, p.text AS prompt, p.source_id AS prompt_id,
               p.stream, p.topic, p.variant, p.constraints, r.sample, r.text AS response, r.is_empty,
               r.model_version, r.tokens_in, r.tokens_out, r.latency_ms, r.error, r.meta, r.run_id
        FROM responses r JOIN models m ON m.id = r.model_id JOIN prompts p ON p.id = r.prompt_id
        ORDER BY r.id
    """
    cursor = store.db.execute(sql)
    columns = [column[0] for column in cursor.description]
    rows = []
    for values in cursor.fetchall():
        item = dict(zip(columns, values))
        item["constraints"] = json.loads(item["constraints"] or "[]")
        item["meta"] = json.loads(item["meta"] or "{}")
        metric_sql = "SELECT metric, value FROM metric_values WHERE response_id = ?"
        params: list[Any] = [item["id"]]
        if metric_set_version:
            metric_sql += " AND metric_set_version = ?"
            params.append(metric_set_version)
        item["metrics"] = dict(store.db.execute(metric_sql, params).fetchall())
        rows.append(item)
    return rows


def count_queries(store: Store, metric_set_version: str) -> int:
    statements: list[str] = []
    store.db.conn.set_trace_callback(statements.append)
    try:
        for _ in store.export_rows(metric_set_version):
            pass
    finally:
        store.db.conn.set_trace_callback(None)
    return sum(1 for statement in statements if statement.lstrip().upper().startswith("SELECT"))


@pytest.mark.parametrize("version", ["1", "2", None])
def test_export_matches_per_response_queries(store, version):
    fill(store, 12)
    assert list(store.export_rows(version)) == rows_one_query_each(store, version)


def test_export_keeps_metric_order(store):
    fill(store, 3)
    first = next(row for row in store.export_rows("1") if row["metrics"])
    assert list(first["metrics"]) == ["words", "bullets", "commas"]


def test_export_filters_version(store):
    fill(store, 3)
    first = next(row for row in store.export_rows("1") if row["metrics"])
    assert first["metrics"]["words"] == first["id"]


def test_export_query_count_fixed(tmp_path):
    with Store(tmp_path / "small.db") as small, Store(tmp_path / "large.db") as large:
        fill(small, 2)
        fill(large, 40)
        assert count_queries(large, "1") == count_queries(small, "1")


def test_export_empty_store(store):
    assert list(store.export_rows("1")) == []


def test_export_stopped_early_releases_store(store):
    # A consumer that stops reading must not keep a read transaction open.
    fill(store, 5)
    rows = store.export_rows("1")
    next(rows)
    rows.close()
    assert not store.db.conn.in_transaction
    store.get_or_create_model("after", "import")
    assert store.count("models") == 3


def test_csv_header_has_every_row_columns(store):
    import csv
    import io

    from bsb_core.exporting import write_csv

    model = store.get_or_create_model("m", "import")
    for index, meta in enumerate([{"grader": "g"}, {"judge": 1}, {}]):
        prompt = store.upsert_prompt("core", "baseline", f"Question {index}?")
        store.insert_response(model, prompt, f"Answer {index}.", meta=meta)
    calls = []

    def rows():
        calls.append(1)
        return store.export_rows()

    handle = io.StringIO()
    count = write_csv(rows, handle)
    records = list(csv.DictReader(io.StringIO(handle.getvalue())))

    assert count == 3
    assert len(calls) == 2
    assert {"grader", "judge"} <= set(records[0])
    assert [record["judge"] for record in records] == ["", "1", ""]


def test_snapshot_hides_later_writes(tmp_path):
    path = tmp_path / "bsb.db"
    with Store(path) as reader, Store(path) as writer:
        model = writer.get_or_create_model("m", "import")
        writer.insert_response(model, writer.upsert_prompt("core", "baseline", "First?"), "One.")
        with reader.read_snapshot():
            before = len(list(reader.export_rows()))
            writer.insert_response(model, writer.upsert_prompt("core", "baseline", "Second?"), "Two.")
            during = len(list(reader.export_rows()))
        after = len(list(reader.export_rows()))

    assert before == 1
    assert during == 1
    assert after == 2


def test_snapshot_ended_inside_block_keeps_error(store):
    with pytest.raises(KeyError):
        with store.read_snapshot():
            store.db.execute("ROLLBACK")
            raise KeyError("original")


def test_export_skips_text_response_ids(store):
    model = store.get_or_create_model("m", "import")
    response = store.insert_response(model, store.upsert_prompt("core", "baseline", "Q?"), "A.").response_id
    store.insert_metric_values([(response, "words", 1.0, None, "3", "p")])
    store.db.execute("PRAGMA foreign_keys = OFF")
    store.db.execute("INSERT INTO metric_values (response_id, metric, value, metric_set_version, pipeline) VALUES ('x', 'words', 2.0, '3', 'p')")
    rows = list(store.export_rows())
    assert [row["metrics"] for row in rows] == [{"words": 1.0}]
