"""The ``bsb-collect`` flow: one Prefect task per model, the BSB run row and the collection artifact.

Models run concurrently, so one provider's outage fails only its own model's task. The flow
ends ``Completed`` when at least one model task completed; the BSB run row then says
``completed`` (every model complete) or ``partial`` (some model failed), and the flow run's
state message lists the failed models. When every model task failed, the run row says
``failed`` and the flow raises :class:`CollectionFailedError`, so the flow run is ``Failed``.

Re-running a flow run (Prefect's retry of the same flow run id) reuses its BSB run row and
scope key, so the store-backed cache sends only the requests that have no stored response yet.
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict
from typing import Any

from prefect import flow
from prefect.artifacts import acreate_markdown_artifact
from prefect.logging import get_run_logger
from prefect.states import Completed
from prefect.tasks import exponential_backoff
from prefect.utilities.annotations import quote

from bsb_core.collect import ModelReport
from bsb_core.collect_limits import GateRegistry
from bsb_core.config import Config, split_spec
from bsb_core.metrics.engine import METRIC_SET_VERSION
from bsb_core.store import Store
from bsb_core.suites import load_suite
from flows.limits import ensure_provider_limits
from flows.report import collection_markdown
from flows.run_options import default_scope_key, is_root_flow_run, resolve_config, resolve_db, root_flow_run_id
from flows.tasks import DEFAULT_RETRY_DELAY_S, DEFAULT_TASK_RETRIES, ModelCollectionError, collect_model_task, forget_attempts

COLLECT_ARTIFACT_KEY = "bsb-collect"


class CollectionFailedError(RuntimeError):
    """Every model's collection task failed; the message lists each model's cause."""

    def __init__(self, message: str, summary: dict[str, Any]) -> None:
        super().__init__(message)
        self.summary = summary


def open_run(store: Store, settings: Config, specs: list[str], suite: Any, scope_key: str | None, flow_run_id: str | None) -> tuple[int, str]:
    """Return (BSB run id, scope key): the run row of this flow run when it is re-run, else a new one."""
    existing = store.find_run_for_flow_run(flow_run_id) if flow_run_id else None
    if existing is not None and existing.get("suite_hash") == suite.hash:
        scope = scope_key or existing["config"].get("scope_key") or default_scope_key()
        store.reopen_run(existing["id"])
        return int(existing["id"]), scope

    scope = scope_key or default_scope_key()
    run_config = {**settings.public_dict(), "models": specs, "scope_key": scope}
    run_id = store.create_run(
        "collect", suite=suite.name, suite_hash=suite.hash, config=run_config, prefect_flow_run_id=flow_run_id
    )
    return run_id, scope


def model_row(spec: str, report: ModelReport, counts: dict[str, int], error: str | None) -> dict[str, Any]:
    """Return one model's line of the summary: task outcome, response counts from the store, usage from the report.

    The store counts the rows this run wrote, including those of a retried task's earlier
    attempts. Tokens, HTTP requests and cost are summed over every attempt of the task, and
    they include the structured requests.
    """
    return {
        "model": spec,
        "state": "failed" if error else "completed",
        "planned": report.planned,
        "collected": counts.get("collected", 0),
        "cached": report.cached,
        "failed": counts.get("failed", 0),
        "not_sent": report.skipped,
        "scored": counts.get("scored", 0),
        "tokens_in": report.tokens_in,
        "tokens_out": report.tokens_out,
        "cost_usd": report.cost_usd,
        "http_requests": report.http_requests,
        "retries": report.retries,
        "simulated": report.simulated,
        "error": error,
    }


def summarize(models: list[dict[str, Any]]) -> dict[str, Any]:
    """Return the totals over the model rows."""
    keys = ("planned", "collected", "cached", "failed", "not_sent", "scored", "tokens_in", "tokens_out", "http_requests", "retries")
    totals: dict[str, Any] = {key: sum(int(model[key] or 0) for model in models) for key in keys}
    costs = [model["cost_usd"] for model in models if model["cost_usd"] is not None]
    totals["cost_usd"] = round(sum(costs), 6) if costs else None
    totals["models_failed"] = sum(1 for model in models if model["error"])
    return totals


def run_status(models: list[dict[str, Any]]) -> str:
    """Return the BSB run status: completed, partial (some model failed) or failed (every model failed)."""
    failed = sum(1 for model in models if model["error"])
    if failed == 0:
        return "completed"
    if failed == len(models):
        return "failed"
    return "partial"


async def run_model_tasks(
    specs: list[str],
    settings: Config,
    db_file: str,
    run_id: int,
    scope: str,
    retries: int,
    retry_delay_s: float,
    logger: Any,
) -> dict[str, tuple[ModelReport, str | None]]:
    """Run one collection task per model concurrently; return each model's report and failure message."""
    slots = await ensure_provider_limits((split_spec(spec)[0] for spec in specs), settings, logger)
    gates = GateRegistry(settings)
    delay: Any = exponential_backoff(backoff_factor=retry_delay_s) if retry_delay_s > 0 else 0
    model_task = collect_model_task.with_options(retries=retries, retry_delay_seconds=delay)
    states = await asyncio.gather(
        *(
            model_task(
                spec, settings.suite, db=db_file, run_id=run_id, config=quote(settings), scope_key=scope,
                slots=quote(slots[split_spec(spec)[0]]), gates=quote(gates), return_state=True,
            )  # fmt: skip
            for spec in specs
        )
    )

    reports: dict[str, tuple[ModelReport, str | None]] = {}
    for spec, state in zip(specs, states):
        forget_attempts(str(state.state_details.task_run_id) if state.state_details.task_run_id else None)
        if state.is_completed():
            reports[spec] = (await state.aresult(), None)
            continue
        error = await state.aresult(raise_on_failure=False)
        report = error.report if isinstance(error, ModelCollectionError) else ModelReport(spec, error=str(error))
        message = str(error) if isinstance(error, Exception) else (state.message or "task failed")
        logger.error("model task for %s ended %s: %s", spec, state.name, message)
        # The summary lists failures by model already; drop the model name the message starts with.
        reports[spec] = (report, message.removeprefix(f"{spec}: "))
    return reports


@flow(name="bsb-collect")
async def collect(
    models: list[str | dict[str, Any]] | None = None,
    suite: str | None = None,
    samples: int | None = None,
    db: str | None = None,
    config: str | None = None,
    scope_key: str | None = None,
    retries: int = DEFAULT_TASK_RETRIES,
    retry_delay_s: float = DEFAULT_RETRY_DELAY_S,
) -> Any:
    """Collect every model (double-instruction step, then both streams) into the BSB store.

    Parameters left empty come from ``config`` (a ``bsb.toml``; default ``$BSB_CONFIG`` or
    ``./bsb.toml``); with no models configured, the simulated personas run. ``scope_key``
    defaults to the UTC date of the flow run's scheduled start. ``retries`` and
    ``retry_delay_s`` set the Prefect retries of each model task (delay doubles per retry).
    Returns the collection summary.
    """
    logger = get_run_logger()
    settings = resolve_config(config, models, suite, samples)
    db_file = resolve_db(db, settings)
    suite_obj = load_suite(settings.suite)
    specs = settings.model_specs()
    flow_run_id = root_flow_run_id()

    with Store(db_file) as store:
        run_id, scope = open_run(store, settings, specs, suite_obj, scope_key, flow_run_id)
    logger.info(
        "BSB run %d: collecting %d models (%s) with suite %s (%s), %d samples, scope %r, store %s",
        run_id, len(specs), ", ".join(specs), suite_obj.name, suite_obj.hash, settings.samples, scope, db_file,
    )  # fmt: skip

    try:
        reports = await run_model_tasks(specs, settings, db_file, run_id, scope, retries, retry_delay_s, logger)
    except BaseException:
        with Store(db_file) as store:
            store.finish_run(run_id, "failed", {"error": "the collection flow stopped before every model task finished"})
        logger.error("BSB run %d stopped before every model task finished", run_id)
        raise

    with Store(db_file) as store:
        counts = store.run_model_counts(run_id, METRIC_SET_VERSION)
        rows = [model_row(spec, report, counts.get(spec, {}), error) for spec, (report, error) in reports.items()]
        status = run_status(rows)
        totals = summarize(rows)
        stats = {"totals": totals, "models": rows, "reports": [asdict(report) for report, _ in reports.values()]}
        store.finish_run(run_id, status, stats)

    summary = {
        "run_id": run_id,
        "status": status,
        "db": db_file,
        "suite": suite_obj.name,
        "suite_hash": suite_obj.hash,
        "scope_key": scope,
        "prefect_flow_run_id": flow_run_id,
        "models": rows,
        "totals": totals,
    }
    logger.info(
        "BSB run %d %s: %d collected, %d already stored, %d failed, %d not sent, %d of %d models failed",
        run_id, status, totals["collected"], totals["cached"], totals["failed"], totals["not_sent"],
        totals["models_failed"], len(rows),
    )  # fmt: skip
    if is_root_flow_run():
        await acreate_markdown_artifact(
            markdown=collection_markdown(summary), key=COLLECT_ARTIFACT_KEY, description=f"BSB collection run {run_id}"
        )

    failed_models = [row for row in rows if row["error"]]
    if status == "failed":
        causes = "; ".join(f"{row['model']}: {row['error']}" for row in failed_models)
        raise CollectionFailedError(f"every model failed in BSB run {run_id}: {causes}", summary)
    if failed_models:
        names = ", ".join(row["model"] for row in failed_models)
        return Completed(message=f"partial: {len(failed_models)} of {len(rows)} models failed ({names}); BSB run {run_id}", data=summary)
    return summary


__all__ = ["COLLECT_ARTIFACT_KEY", "CollectionFailedError", "collect", "model_row", "run_model_tasks", "run_status", "summarize"]
