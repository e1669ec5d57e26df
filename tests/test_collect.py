"""The collector against a local OpenAI-compatible server: protocol, coverage, faults, cache and failures."""

from __future__ import annotations

import asyncio
import json
import logging
import re

import pytest
from servers.fixtures import RULE_MARKERS, config_for, mini_suite, paraphrase_text, serve  # noqa: F401

from bsb_core.collect import collect, collect_model
from bsb_core.store import Store
from bsb_core.providers.chat_server import Fault, FaultPlan, FaultRule

MODELS = ["alpha", "beta"]


def run(store, config, suite, **kwargs):
    specs = [model.spec for model in config.models]
    return asyncio.run(collect(store, specs, suite, config=config, **kwargs))


def stored_rows(store, model_name):
    sql = """
        SELECT p.stream, p.topic, p.variant, r.sample, r.text, r.error, r.messages, r.meta, r.system_hash
        FROM responses r JOIN prompts p ON p.id = r.prompt_id JOIN models m ON m.id = r.model_id
        WHERE m.name = ?
    """
    return [dict(zip(("stream", "topic", "variant", "sample", "text", "error", "messages", "meta", "system_hash"), row))
            for row in store.db.execute(sql, [model_name]).fetchall()]


def test_paraphrase_first_request(serve, store):
    server = serve()
    suite = mini_suite()
    run(store, config_for(server, MODELS), suite)

    for model in MODELS:
        first = server.chat_requests(model)[0]
        assert first.messages == [{"role": "user", "content": suite.paraphrase_request}]


def test_paraphrase_is_system_prompt(serve, store):
    server = serve()
    run(store, config_for(server, MODELS), mini_suite())

    for model in MODELS:
        later = server.chat_requests(model)[1:]
        assert later, f"no requests after the paraphrase for {model}"
        for record in later:
            assert record.messages[0]["role"] == "system"
            assert record.messages[0]["content"].startswith(paraphrase_text(model))


def test_rules_absent_after_paraphrase(serve, store):
    server = serve()
    run(store, config_for(server, MODELS), mini_suite())

    for model in MODELS:
        for record in server.chat_requests(model)[1:]:
            sent = json.dumps(record.body)
            for marker in RULE_MARKERS:
                assert marker not in sent


def test_contrast_variants_per_topic(serve, store):
    server = serve()
    suite = mini_suite(topics=4)
    run(store, config_for(server, MODELS, samples=2), suite)

    for model in MODELS:
        rows = stored_rows(store, f"openai-compatible/{model}")
        baseline_topics = {row["topic"] for row in rows if row["stream"] == "baseline"}
        assert len(baseline_topics) == 4
        for topic in baseline_topics:
            variants = {(row["variant"], row["sample"]) for row in rows if row["topic"] == topic and row["stream"] == "contrast"}
            assert variants == {("json_schema", 0), ("json_schema", 1), ("bullets", 0), ("bullets", 1)}


def test_stored_messages_exact(serve, store):
    server = serve()
    run(store, config_for(server, ["alpha"]), mini_suite(topics=1))

    rows = stored_rows(store, "openai-compatible/alpha")
    sent = [record.body["messages"] for record in server.chat_requests("alpha") if "response_format" not in record.body]
    stored = [json.loads(row["messages"]) for row in rows]
    assert sorted(json.dumps(m, sort_keys=True) for m in stored) == sorted(json.dumps(m, sort_keys=True) for m in sent)


def test_report_counts(serve, store):
    server = serve()
    report = run(store, config_for(server, MODELS), mini_suite(topics=2))

    assert report.status == "completed"
    totals = report.totals()
    assert totals["planned"] == 2 * (1 + 6)
    assert totals["succeeded"] == totals["planned"]
    assert totals["failed"] == 0


def test_run_row_finished(serve, store):
    server = serve()
    report = run(store, config_for(server, ["alpha"]), mini_suite(topics=1))

    row = store.db.execute("SELECT kind, status, suite, suite_hash, stats, config FROM runs WHERE id = ?", [report.run_id]).fetchone()
    assert row[0] == "collect"
    assert row[1] == "completed"
    assert row[2] == "mini"
    assert row[3] == mini_suite(topics=1).hash
    assert json.loads(row[4])["totals"]["succeeded"] == 4
    assert [model["spec"] for model in json.loads(row[5])["models"]] == ["openai-compatible/alpha"]


def test_second_run_sends_nothing(serve, store):
    server = serve()
    config = config_for(server, MODELS)
    suite = mini_suite()
    run(store, config, suite)
    sent_before = len(server.requests)

    report = run(store, config, suite)

    assert len(server.requests) == sent_before
    assert report.totals()["cached"] == report.totals()["planned"]


def test_rerun_reuses_paraphrase(serve, store):
    server = serve()
    config = config_for(server, ["alpha"])
    suite = mini_suite(topics=1)
    run(store, config, suite)
    hashes_before = {row["system_hash"] for row in stored_rows(store, "openai-compatible/alpha") if row["stream"] != "paraphrase"}

    store.db.execute("DELETE FROM responses WHERE prompt_id != (SELECT id FROM prompts WHERE stream = 'paraphrase')")
    store.db.conn.commit()
    run(store, config, suite)
    hashes_after = {row["system_hash"] for row in stored_rows(store, "openai-compatible/alpha") if row["stream"] != "paraphrase"}

    assert hashes_after == hashes_before


def test_scope_key_collects_again(serve, store):
    server = serve()
    config = config_for(server, ["alpha"])
    suite = mini_suite(topics=1)
    run(store, config, suite)
    sent_before = len(server.chat_requests())

    report = run(store, config, suite, scope_key="2025-01-02")

    assert report.totals()["succeeded"] == 4
    assert len(server.chat_requests()) > sent_before


def test_faults_end_complete(serve, store, caplog):
    caplog.set_level(logging.WARNING, logger="bsb_core.collect")
    # Request numbers count per model: 0 is the paraphrase.
    faults = FaultPlan(
        rules=[
            FaultRule(Fault.rate_limited("1"), model="alpha", at={1}),
            FaultRule(Fault.server_error(500), model="alpha", at={2}),
            FaultRule(Fault.hang(3.0), model="alpha", at={3}),
            FaultRule(Fault.malformed(), model="alpha", at={4}),
            FaultRule(Fault.malformed("<html>bad gateway</html>"), model="alpha", at={5}),
            FaultRule(Fault.server_error(503), model="beta", rate=0.2),
        ],
        seed=7,
    )
    server = serve(faults=faults)
    config = config_for(server, MODELS, timeout_s=0.5, max_attempts=8)

    report = run(store, config, mini_suite(topics=3))

    injected = sum(1 for record in server.chat_requests() if record.fault is not None)
    assert report.status == "completed"
    assert report.totals()["retries"] == injected
    assert report.totals()["failed"] == 0


def test_fault_retries_logged(serve, store, caplog):
    caplog.set_level(logging.WARNING, logger="bsb_core.collect")
    faults = FaultPlan(
        rules=[
            FaultRule(Fault.rate_limited("1"), model="alpha", at={1}),
            FaultRule(Fault.server_error(500), model="alpha", at={2}),
            FaultRule(Fault.hang(3.0), model="alpha", at={3}),
            FaultRule(Fault.malformed(), model="alpha", at={4}),
        ]
    )
    server = serve(faults=faults)
    run(store, config_for(server, ["alpha"], timeout_s=0.5, max_attempts=6), mini_suite(topics=2))

    retries = [record.getMessage() for record in caplog.records if record.getMessage().startswith("retrying")]
    injected = [record for record in server.chat_requests() if record.fault is not None]
    assert len(injected) == 4
    assert len(retries) == 4
    assert any("(status 429)" in line for line in retries)
    assert any("(status 500)" in line for line in retries)
    assert any("timed out" in line for line in retries)
    assert any("malformed" in line for line in retries)


def test_retry_after_honoured(serve, store, caplog):
    caplog.set_level(logging.WARNING, logger="bsb_core.collect")
    server = serve(faults=FaultPlan(rules=[FaultRule(Fault.rate_limited("1"), model="alpha", at={1})]))
    run(store, config_for(server, ["alpha"], providers={"openai-compatible": {"concurrency": 1}}), mini_suite(topics=1))

    line = next(record.getMessage() for record in caplog.records if "(status 429)" in record.getMessage())
    waited = float(re.search(r"waiting ([0-9.]+) s", line).group(1))
    assert waited == 1.0


BULLETS_PROMPT = "Use exactly 3 bullet points."


def test_final_failure_stored(serve, store, caplog):
    caplog.set_level(logging.ERROR, logger="bsb_core.collect")
    server = serve(faults=FaultPlan(rules=[FaultRule(Fault.server_error(500), model="alpha", rate=1.0, contains=BULLETS_PROMPT)]))
    config = config_for(server, ["alpha"], max_attempts=2)

    report = run(store, config, mini_suite(topics=1))

    failed = [row for row in stored_rows(store, "openai-compatible/alpha") if row["error"] is not None]
    assert report.status == "partial"
    assert report.totals()["failed"] == 1
    assert len(failed) == 1
    assert failed[0]["text"] is None
    assert "HTTP 500" in failed[0]["error"]
    assert any("request failed for openai-compatible/alpha prompt" in r.getMessage() for r in caplog.records)


def test_failure_replaced_on_rerun(serve, store):
    server = serve(faults=FaultPlan(rules=[FaultRule(Fault.server_error(500), model="alpha", rate=1.0, contains=BULLETS_PROMPT)]))
    config = config_for(server, ["alpha"], max_attempts=2)
    suite = mini_suite(topics=1)
    run(store, config, suite)
    server.faults = FaultPlan()

    report = run(store, config, suite)

    rows = stored_rows(store, "openai-compatible/alpha")
    assert report.status == "completed"
    assert report.totals()["succeeded"] == 1
    assert len(rows) == 4
    assert all(row["error"] is None for row in rows)


def test_paraphrase_failure_skips_model(serve, store):
    server = serve(faults=FaultPlan(rules=[FaultRule(Fault.server_error(500), model="alpha", rate=1.0)]))
    config = config_for(server, ["alpha"], max_attempts=2)

    report = run(store, config, mini_suite(topics=2))

    model = report.models[0]
    assert model.failed == 1
    assert model.skipped == 6
    assert "paraphrase request failed" in model.error
    assert len(server.chat_requests("alpha")) == 2


def test_structured_meta_recorded(serve, store):
    server = serve()
    run(store, config_for(server, ["alpha"]), mini_suite(topics=1))

    rows = stored_rows(store, "openai-compatible/alpha")
    json_row = next(row for row in rows if row["variant"] == "json_schema")
    structured = json.loads(json_row["meta"])["structured"]
    assert structured["valid"] is True
    assert structured["attempts"] == 1
    assert structured["value"]["points"] == ["one", "two"]


def test_structured_absent_elsewhere(serve, store):
    server = serve()
    run(store, config_for(server, ["alpha"]), mini_suite(topics=1))

    rows = stored_rows(store, "openai-compatible/alpha")
    others = [row for row in rows if row["variant"] != "json_schema"]
    assert all("structured" not in json.loads(row["meta"]) for row in others)


def test_structured_repair_counted(serve, store):
    answers = iter(['{"summary": "x"}', '{"summary": "x", "points": ["a", "b"]}'])

    def responder(model, messages, params):
        last = messages[-1]["content"]
        if last.startswith("Restate"):
            return "I answer plainly."
        if "response_format" in params:
            return next(answers)
        return "plain answer"

    server = serve(responder)
    suite = mini_suite(topics=1)
    suite.prompts = [p for p in suite.prompts if p.variant in (None, "json_schema")]
    run(store, config_for(server, ["alpha"]), suite)

    row = next(row for row in stored_rows(store, "openai-compatible/alpha") if row["variant"] == "json_schema")
    structured = json.loads(row["meta"])["structured"]
    assert row["text"] == "plain answer"
    assert structured["attempts"] == 2
    assert structured["valid"] is True
    assert "points" in structured["validation_errors"][0]


def test_structured_disabled(serve, store):
    server = serve()
    run(store, config_for(server, ["alpha"], structured=False), mini_suite(topics=1))

    assert all("response_format" not in record.body for record in server.chat_requests())


def test_collect_model_reports_missing_key(store, monkeypatch):
    from bsb_core.config import Config

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    report = asyncio.run(collect_model(store, "openai/gpt-4o-mini", mini_suite(), run_id=store.create_run("collect"), config=Config()))

    assert report.error is not None
    assert "OPENAI_API_KEY" in report.error


def test_prompt_id_matches_store(store):
    constraints = [{"id": "bsb:no_markdown", "kwargs": {}}]
    stored = store.upsert_prompt("mini", "contrast", "text", topic="t", variant="no_markdown", constraints=constraints)

    assert Store.prompt_id("mini", "contrast", "text", "t", "no_markdown", constraints) == stored


def test_progress_reaches_total(serve, store):
    server = serve()
    seen = {}

    def progress(spec, done, total):
        seen[spec] = (done, total)

    run(store, config_for(server, MODELS), mini_suite(topics=2), progress=progress)

    assert seen == {f"openai-compatible/{m}": (7, 7) for m in MODELS}


@pytest.mark.parametrize("samples", [1, 3])
def test_sample_seeds_distinct(serve, store, samples):
    server = serve()
    run(store, config_for(server, ["alpha"], samples=samples, structured=False), mini_suite(topics=1))

    seeds = {record.body.get("seed") for record in server.chat_requests("alpha")[1:]}
    assert seeds == set(range(samples))


def test_structured_resumed_later(serve, store):
    server = serve()
    suite = mini_suite(topics=2)
    run(store, config_for(server, ["alpha"], structured=False), suite)
    sent_before = len(server.chat_requests())

    run(store, config_for(server, ["alpha"]), suite)

    later = server.chat_requests()[sent_before:]
    metas = [json.loads(row["meta"]) for row in stored_rows(store, "openai-compatible/alpha") if row["variant"] == "json_schema"]
    assert len(later) == 2
    assert all("response_format" in record.body for record in later)
    assert all(meta["structured"]["valid"] for meta in metas)
