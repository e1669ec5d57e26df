"""Flow helpers without a Prefect server: reports, statuses, scope keys, options, limits, prefect.yaml."""

from __future__ import annotations

import asyncio
import inspect
import logging
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
import yaml

from bsb_core.cli_collect import split_models
from flows.cli import prefect_environment
from bsb_core.collect import ModelReport
from bsb_core.config import Config, ConfigError
from bsb_core.paths import REPO_ROOT
from flows.collect import model_row, open_run, run_status, summarize
from flows.limits import (
    ProviderSlots,
    config_with_concurrency,
    ensure_provider_limit,
    ensure_provider_limits,
    hold_provider_slots,
    limit_name,
)
from flows.report import collection_markdown, nightly_markdown
from flows.run_options import resolve_config, resolve_db, scope_key_for
from flows.tasks import (
    ModelCollectionError,
    ModelConfigError,
    add_earlier_attempts,
    describe_failure,
    keep_for_next_attempt,
    should_retry,
)


def row(model: str, error: str | None = None, cost: float | None = None, **counts: int) -> dict:
    base = {"planned": 9, "collected": 9, "cached": 0, "failed": 0, "not_sent": 0, "scored": 9, "tokens_in": 100, "tokens_out": 50,
            "http_requests": 9, "retries": 0}  # fmt: skip
    base.update(counts)
    return {"model": model, "state": "failed" if error else "completed", "cost_usd": cost, "error": error, **base}


def collection(models: list[dict], status: str = "partial") -> dict:
    return {
        "run_id": 7, "status": status, "db": "/data/bsb.db", "suite": "core", "suite_hash": "abc123",
        "scope_key": "2026-01-02", "prefect_flow_run_id": "flow-run-1", "models": models, "totals": summarize(models),
    }  # fmt: skip


# --- statuses and totals --------------------------------------------------------------------------


def test_run_status_completed():
    assert run_status([row("a"), row("b")]) == "completed"


def test_run_status_partial():
    assert run_status([row("a"), row("b", error="down")]) == "partial"


def test_run_status_failed():
    assert run_status([row("a", error="down"), row("b", error="down")]) == "failed"


def test_summarize_sums_counts():
    totals = summarize([row("a", collected=9), row("b", error="down", collected=0, failed=1, not_sent=8)])
    assert totals["collected"] == 9
    assert totals["failed"] == 1
    assert totals["not_sent"] == 8
    assert totals["models_failed"] == 1


def test_summarize_cost_unknown_without_prices():
    assert summarize([row("a"), row("b")])["cost_usd"] is None


def test_summarize_cost_sums_known_prices():
    assert summarize([row("a", cost=0.25), row("b"), row("c", cost=0.5)])["cost_usd"] == 0.75


def test_model_row_counts_from_store_and_report():
    report = ModelReport("sim/terse", planned=9, cached=2, skipped=0, tokens_in=300, tokens_out=120, retries=3, cost_usd=0.01)
    line = model_row("sim/terse", report, {"collected": 7, "failed": 0, "scored": 0}, None)
    assert line["collected"] == 7
    assert line["cached"] == 2
    assert line["tokens_in"] == 300
    assert line["retries"] == 3
    assert line["state"] == "completed"


# --- artifacts ------------------------------------------------------------------------------------


def test_nightly_markdown_lists_every_model():
    text = nightly_markdown(collection([row("sim/terse"), row("sim/warm")]), None, None)
    assert "| sim/terse | completed | 9 |" in text
    assert "| sim/warm | completed | 9 |" in text


def test_nightly_markdown_names_failures():
    text = nightly_markdown(collection([row("sim/terse"), row("openai/x", error="HTTP 500 | down")]), None, None)
    assert "- `openai/x`: HTTP 500 \\| down" in text


def test_nightly_markdown_links_run_and_store():
    text = nightly_markdown(collection([row("sim/terse")], status="completed"), None, 3)
    assert "BSB run id: 7 (status `completed`)" in text
    assert "Prefect flow run id: `flow-run-1`" in text
    assert "`BSB_DB=/data/bsb.db python -m ui.server`" in text
    assert "Refreshed 3 signatures." in text


def test_nightly_markdown_reports_scoring():
    scoring = {"responses": 18, "values": 1278, "metric_set_version": "1", "pipeline": "en_core_web_sm@3.8.0"}
    text = nightly_markdown(collection([row("sim/terse")]), scoring, None)
    assert "Scored 18 responses (1278 metric values)" in text


def test_collection_markdown_estimates_cost():
    text = collection_markdown(collection([row("openai/x", cost=0.125)]))
    assert "cost 0.1250 USD (estimate from the price table)." in text


def test_collection_markdown_counts_unpriced_models():
    text = collection_markdown(collection([row("openai/x", cost=0.125), row("sim/terse")]))
    assert "cost 0.1250 USD (estimate from the price table; 1 models without a price not included)." in text


# --- task failures and retries --------------------------------------------------------------------


def failed_report() -> ModelReport:
    return ModelReport(
        "openai-compatible/m", model_id=1, planned=17, failed=1, skipped=16,
        error="the paraphrase request failed, so no prompt was sent: HTTP 500",
        failures=[{"prompt_id": "p1", "prompt_key": "paraphrase", "sample": 0, "error": "HTTP 500 (after 2 attempts)"}],
    )  # fmt: skip


def test_describe_failure_counts_and_cause():
    text = describe_failure(failed_report())
    assert text.startswith("openai-compatible/m: 1 of 17 requests failed and 16 were not sent")
    assert "the paraphrase request failed" in text
    assert "first failure: prompt p1 (paraphrase) sample 0: HTTP 500 (after 2 attempts)" in text


def test_should_retry_skips_config_error():
    assert should_retry(None, None, SimpleNamespace(data=ModelConfigError("no key"))) is False


def test_should_retry_collection_error():
    assert should_retry(None, None, SimpleNamespace(data=ModelCollectionError(failed_report()))) is True


def test_should_retry_other_error():
    assert should_retry(None, None, SimpleNamespace(data=TimeoutError("slots"))) is True


def test_earlier_attempts_add_up():
    config = Config.model_validate({"prices": {"openai-compatible/m": {"input": 1.0, "output": 2.0}}})
    first = ModelReport("openai-compatible/m", tokens_in=1000, tokens_out=500, http_requests=4, retries=2)
    keep_for_next_attempt(first, "task-run-1")
    second = ModelReport("openai-compatible/m", tokens_in=2000, tokens_out=1000, http_requests=6, retries=1)
    add_earlier_attempts(second, "task-run-1", config)
    assert (second.tokens_in, second.tokens_out, second.http_requests, second.retries) == (3000, 1500, 10, 3)
    assert second.cost_usd == 0.006


# --- scope keys and options -----------------------------------------------------------------------


def test_scope_key_naive_is_utc():
    assert scope_key_for(datetime(2026, 3, 1, 23, 30)) == "2026-03-01"


def test_scope_key_converts_to_utc():
    assert scope_key_for(datetime(2026, 3, 1, 1, 30, tzinfo=timezone(timedelta(hours=2)))) == "2026-02-28"


def test_resolve_config_keeps_configured_model(tmp_path):
    path = tmp_path / "bsb.toml"
    path.write_text('[[models]]\nspec = "openai-compatible/m"\nbase_url = "http://127.0.0.1:9/v1"\n', encoding="utf-8")
    settings = resolve_config(str(path), ["openai-compatible/m", "sim/terse"], None, 3)
    assert settings.model("openai-compatible/m").base_url == "http://127.0.0.1:9/v1"
    assert settings.model_specs() == ["openai-compatible/m", "sim/terse"]
    assert settings.samples == 3


def test_resolve_config_accepts_tables(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("BSB_CONFIG", raising=False)
    settings = resolve_config(None, [{"spec": "openai-compatible/m", "base_url": "http://127.0.0.1:9/v1"}])
    assert settings.model("openai-compatible/m").base_url == "http://127.0.0.1:9/v1"


def test_resolve_config_invalid_spec(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("BSB_CONFIG", raising=False)
    with pytest.raises(ConfigError, match="unknown provider 'bogus' in model 'bogus/x'"):
        resolve_config(None, ["bogus/x"])


def test_resolve_config_defaults_to_sim(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("BSB_CONFIG", raising=False)
    assert all(spec.startswith("sim/") for spec in resolve_config().model_specs())


@pytest.mark.parametrize(
    ("explicit", "env", "configured", "expected"),
    [
        ("given.db", "env.db", "config.db", "given.db"),
        (None, "env.db", "config.db", "env.db"),
        (None, None, "config.db", "config.db"),
        (None, None, None, "bsb.db"),
    ],
)
def test_resolve_db_precedence(tmp_path, monkeypatch, explicit, env, configured, expected):
    monkeypatch.chdir(tmp_path)
    if env:
        monkeypatch.setenv("BSB_DB", env)
    else:
        monkeypatch.delenv("BSB_DB", raising=False)
    assert resolve_db(explicit, Config(database=configured)) == str(tmp_path / expected)


def test_split_models_commas_and_repeats():
    assert split_models(("sim/terse, sim/warm", "sim/hedger")) == ["sim/terse", "sim/warm", "sim/hedger"]


def test_split_models_empty():
    assert split_models(()) == []


def test_prefect_environment_local_and_private(tmp_path):
    env = prefect_environment(tmp_path, verbose=0)
    assert env["PREFECT_HOME"] == str(tmp_path / ".prefect")
    assert env["PREFECT_SERVER_ANALYTICS_ENABLED"] == "false"
    assert env["DO_NOT_TRACK"] == "1"
    assert env["PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL"] == "WARNING"


# --- BSB run rows ---------------------------------------------------------------------------------


def test_open_run_new_row_records_flow_run(store):
    suite = SimpleNamespace(name="core", hash="h1")
    run_id, scope = open_run(store, Config(), ["sim/terse"], suite, "night-1", "flow-run-1")
    found = store.find_run_for_flow_run("flow-run-1")
    assert scope == "night-1"
    assert found["id"] == run_id
    assert found["config"]["scope_key"] == "night-1"


def test_open_run_reuses_row_of_rerun(store):
    suite = SimpleNamespace(name="core", hash="h1")
    first_id, _ = open_run(store, Config(), ["sim/terse"], suite, "night-1", "flow-run-1")
    store.finish_run(first_id, "partial")
    again_id, scope = open_run(store, Config(), ["sim/terse"], suite, None, "flow-run-1")
    assert again_id == first_id
    assert scope == "night-1"
    assert store.find_run_for_flow_run("flow-run-1")["status"] == "running"


def test_run_model_counts_only_this_run(store):
    model_id = store.get_or_create_model("sim/terse", "sim", simulated=True)
    prompt_a = store.upsert_prompt("core", "baseline", "A?")
    prompt_b = store.upsert_prompt("core", "baseline", "B?")
    prompt_c = store.upsert_prompt("core", "baseline", "C?")
    old_run = store.create_run("collect")
    new_run = store.create_run("collect")
    store.insert_response(model_id, prompt_a, "old answer", run_id=old_run)
    collected = store.insert_response(model_id, prompt_b, "new answer", run_id=new_run)
    store.insert_response(model_id, prompt_c, None, run_id=new_run, error="HTTP 500")
    store.insert_metric_values([(collected.response_id, "words", 2.0, None, "v1", "test")])
    assert store.run_model_counts(new_run, "v1") == {"sim/terse": {"collected": 1, "failed": 1, "scored": 1}}


# --- concurrency limits ---------------------------------------------------------------------------


def test_limit_name_per_provider():
    assert limit_name("openai") == "provider-openai"


def test_config_with_concurrency_keeps_rates():
    config = Config.model_validate({"providers": {"openai": {"concurrency": 8, "rpm": 500}}})
    changed = config_with_concurrency(config, "openai", 3)
    assert changed.limits("openai").concurrency == 3
    assert changed.limits("openai").rpm == 500


def test_config_with_concurrency_unchanged():
    config = Config()
    assert config_with_concurrency(config, "sim", config.limits("sim").concurrency) is config


def test_sim_needs_no_global_limit(monkeypatch):
    def no_api(*args, **kwargs):
        raise AssertionError("the simulator must not need the Prefect API")

    monkeypatch.setattr("prefect.client.orchestration.get_client", no_api)
    slots = asyncio.run(ensure_provider_limits(["sim", "sim"], Config(), logging.getLogger("test")))
    assert slots == {"sim": ProviderSlots("sim", Config().limits("sim").concurrency)}


class FakeLimitsClient:
    """The two Prefect client calls ``ensure_provider_limit`` makes, over a dict of limits."""

    def __init__(self, limits: dict[str, int] | None = None, broken: bool = False) -> None:
        self.limits = dict(limits or {})
        self.created: list[str] = []
        self.broken = broken

    async def read_global_concurrency_limit_by_name(self, name: str) -> SimpleNamespace:
        from prefect.exceptions import ObjectNotFound

        if self.broken:
            raise httpx.ConnectError("connection refused")
        if name not in self.limits:
            raise ObjectNotFound(http_exc=Exception("404"))
        return SimpleNamespace(name=name, limit=self.limits[name], active=True)

    async def create_global_concurrency_limit(self, limit) -> None:
        self.limits[limit.name] = limit.limit
        self.created.append(limit.name)


def ensure(client: FakeLimitsClient, configured: int) -> ProviderSlots:
    return asyncio.run(ensure_provider_limit(client, "openai", configured, logging.getLogger("test")))


def test_limit_created_when_missing():
    client = FakeLimitsClient()
    slots = ensure(client, 8)
    assert client.created == ["provider-openai"]
    assert client.limits["provider-openai"] == 8
    assert slots == ProviderSlots("openai", 8, "provider-openai")


def test_limit_existing_kept():
    client = FakeLimitsClient({"provider-openai": 48})
    slots = ensure(client, 16)
    assert client.created == []
    assert client.limits["provider-openai"] == 48
    assert slots.slots == 16


def test_limit_smaller_caps_task_slots():
    assert ensure(FakeLimitsClient({"provider-openai": 4}), 16).slots == 4


def test_limit_api_failure_falls_back():
    slots = ensure(FakeLimitsClient(broken=True), 16)
    assert slots == ProviderSlots("openai", 16)
    assert slots.global_limit is False


def test_hold_slots_without_global_limit():
    async def hold() -> bool:
        async with hold_provider_slots(ProviderSlots("sim", 4)):
            return True

    assert asyncio.run(hold()) is True


# --- prefect.yaml ---------------------------------------------------------------------------------


def deployments() -> dict[str, dict]:
    data = yaml.safe_load((REPO_ROOT / "prefect.yaml").read_text(encoding="utf-8"))
    return {deployment["name"]: deployment for deployment in data["deployments"]}


def load_entrypoint(entrypoint: str):
    path, _, name = entrypoint.partition(":")
    module = ".".join(Path(path).with_suffix("").parts)
    return getattr(__import__(module, fromlist=[name]), name)


def test_prefect_yaml_nightly_schedule():
    nightly = deployments()["bsb-nightly"]
    assert nightly["entrypoint"] == "flows/nightly.py:nightly"
    assert nightly["schedules"] == [{"cron": "0 2 * * *", "timezone": "UTC", "active": True}]
    assert nightly["work_pool"]["name"] == "bsb-pool"


def test_prefect_yaml_deployments_present():
    assert sorted(deployments()) == ["bsb-collect", "bsb-nightly", "bsb-score"]


def test_prefect_yaml_parameters_match_flows():
    mismatched = []
    for name, deployment in deployments().items():
        flow = load_entrypoint(deployment["entrypoint"])
        accepted = set(inspect.signature(flow.fn).parameters)
        mismatched += [f"{name}.{key}" for key in deployment.get("parameters", {}) if key not in accepted]
    assert mismatched == []


def test_prefect_yaml_pull_returns_to_repo():
    data = yaml.safe_load((REPO_ROOT / "prefect.yaml").read_text(encoding="utf-8"))
    step = data["pull"][0]["prefect.deployments.steps.set_working_directory"]
    assert step["directory"] == "{{ repo-root.stdout }}"
