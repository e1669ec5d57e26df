"""Prefect tasks: one collection task per model, the scoring pass and the signature refresh.

Each task opens its own store connection (the store is WAL-mode SQLite with a busy timeout),
so tasks never share a connection. The executor retries single requests (429, 5xx, timeouts,
malformed bodies); on top of that, a model task whose requests still failed raises
:class:`ModelCollectionError` and Prefect retries the whole task with exponential backoff.
A retry sends only the requests that have no stored response yet.
"""

from __future__ import annotations

from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.logging import get_run_logger
from prefect.runtime import task_run
from prefect.tasks import exponential_backoff

from bsb_core.collect import ModelReport, collect_model
from bsb_core.collect_limits import GateRegistry
from bsb_core.config import Config, split_spec
from bsb_core.store import Store
from bsb_core.suites import load_suite
from flows.limits import ProviderSlots, config_with_concurrency, hold_provider_slots
from flows.progress import report_progress

# Default Prefect retries of a model task, and the first delay in seconds (doubling per retry).
DEFAULT_TASK_RETRIES = 2
DEFAULT_RETRY_DELAY_S = 30.0
# Random spread added to each retry delay, as a fraction of it, so runs do not retry in lockstep.
RETRY_JITTER_FACTOR = 0.5


class ModelConfigError(RuntimeError):
    """A model cannot be collected as configured (unknown spec, missing key or base URL); retrying cannot help."""


class ModelCollectionError(RuntimeError):
    """Some requests of a model failed even after the executor's retries; the report has the counts."""

    def __init__(self, report: ModelReport) -> None:
        super().__init__(describe_failure(report))
        self.report = report


def describe_failure(report: ModelReport) -> str:
    """Return a one-line account of what failed for a model: counts, the cause and the first failure."""
    text = f"{report.model}: {report.failed} of {report.planned} requests failed"
    if report.skipped:
        text += f" and {report.skipped} were not sent"
    if report.error:
        text += f"; {report.error}"
    if report.failures:
        first = report.failures[0]
        text += f"; first failure: prompt {first['prompt_id']} ({first['prompt_key']}) sample {first['sample']}: {first['error']}"
    return text


# Usage of the earlier attempts of a task run that Prefect is retrying, by task run id, so the
# final report counts the tokens and HTTP requests of every attempt.
_EARLIER_ATTEMPTS: dict[str, dict[str, int]] = {}
USAGE_FIELDS = ("tokens_in", "tokens_out", "http_requests", "retries", "structured_requests")


def add_earlier_attempts(report: ModelReport, task_run_id: str | None, config: Config) -> None:
    """Add the usage of the task run's earlier attempts to ``report`` and recompute its cost."""
    earlier = _EARLIER_ATTEMPTS.pop(task_run_id, None) if task_run_id else None
    if earlier:
        for name in USAGE_FIELDS:
            setattr(report, name, getattr(report, name) + earlier[name])
    price = config.price(report.model)
    if price is not None:
        report.cost_usd = round((report.tokens_in * price.input + report.tokens_out * price.output) / 1_000_000, 6)


def keep_for_next_attempt(report: ModelReport, task_run_id: str | None) -> None:
    """Remember the usage of a failed attempt (already including earlier ones) for the retry."""
    if task_run_id:
        _EARLIER_ATTEMPTS[task_run_id] = {name: int(getattr(report, name)) for name in USAGE_FIELDS}


def forget_attempts(task_run_id: str | None) -> None:
    """Drop the remembered usage of a task run that will not be retried again."""
    if task_run_id:
        _EARLIER_ATTEMPTS.pop(task_run_id, None)


def should_retry(task: Any, task_run: Any, state: Any) -> bool:
    """Prefect retry condition: retry every failure except a configuration error."""
    return not isinstance(state.data, ModelConfigError)


@task(
    name="collect-model",
    task_run_name="collect {model_spec}",
    retries=DEFAULT_TASK_RETRIES,
    retry_delay_seconds=exponential_backoff(backoff_factor=DEFAULT_RETRY_DELAY_S),
    retry_jitter_factor=RETRY_JITTER_FACTOR,
    retry_condition_fn=should_retry,
    cache_policy=NO_CACHE,
)
async def collect_model_task(
    model_spec: str,
    suite_name: str,
    *,
    db: str,
    run_id: int,
    config: Config,
    scope_key: str,
    slots: ProviderSlots,
    gates: GateRegistry | None = None,
) -> ModelReport:
    """Collect one model (paraphrase, then both streams); raise when any of its requests failed."""
    logger = get_run_logger()
    provider, _ = split_spec(model_spec)
    attempt = task_run.run_count
    if slots.global_limit:
        # The executor sends at most one request per slot this task occupies.
        config = config_with_concurrency(config, provider, slots.slots)
        gates = GateRegistry(config)
        logger.info("collecting %s (attempt %d, BSB run %d, scope %r), holding %d slots of %s", model_spec, attempt, run_id, scope_key, slots.slots, slots.limit_name)
    else:
        logger.info("collecting %s (attempt %d, BSB run %d, scope %r)", model_spec, attempt, run_id, scope_key)

    def progress(spec: str, done: int, planned: int) -> None:
        report_progress(f"collect {spec}", done, planned)

    suite = load_suite(suite_name)
    with Store(db) as store:
        async with hold_provider_slots(slots):
            report = await collect_model(
                store, model_spec, suite, run_id=run_id, config=config, scope_key=scope_key, progress=progress, gates=gates
            )
    add_earlier_attempts(report, task_run.id, config)

    logger.info(
        "%s: %d planned, %d collected, %d already stored, %d failed, %d not sent, %d transport retries, tokens %d in / %d out",
        model_spec, report.planned, report.succeeded, report.cached, report.failed, report.skipped, report.retries,
        report.tokens_in, report.tokens_out,
    )  # fmt: skip
    if report.model_id is None and report.error:
        logger.error("cannot collect %s: %s", model_spec, report.error)
        raise ModelConfigError(report.error)
    if not report.complete:
        logger.error("collection of %s incomplete (attempt %d): %s", model_spec, attempt, describe_failure(report))
        keep_for_next_attempt(report, task_run.id)
        raise ModelCollectionError(report)
    return report


@task(name="score-responses", cache_policy=NO_CACHE)
def score_task(db: str, workers: int = 1, batch_size: int = 32) -> Any:
    """Score every response in the store that has no values for the current metric set."""
    from bsb_core.metrics.engine import METRIC_SET_VERSION
    from bsb_core.scoring import score_store

    logger = get_run_logger()
    with Store(db) as store:
        pending = store.count_responses_to_score(METRIC_SET_VERSION)
        logger.info("scoring %d responses with metric set %s (%d workers)", pending, METRIC_SET_VERSION, workers)
        done = 0
        report_progress("score", 0, pending)

        def progress(count: int) -> None:
            nonlocal done
            done += count
            report_progress("score", done, pending)

        summary = score_store(store, workers=workers, batch_size=batch_size, progress=progress)
    logger.info("scored %d responses (%d metric values, pipeline %s)", summary.responses, summary.values, summary.pipeline)
    return summary


@task(name="refresh-signatures", cache_policy=NO_CACHE)
def refresh_signatures_task(db: str) -> int | None:
    """Recompute the stored signatures; return how many, or None when the signature module is absent."""
    logger = get_run_logger()
    try:
        from bsb_core.signature import refresh_signatures
    except ModuleNotFoundError as exc:
        if exc.name != "bsb_core.signature":
            raise
        logger.info("bsb_core.signature is not installed; the nightly run ends after scoring")
        return None
    with Store(db) as store:
        count = refresh_signatures(store)
    logger.info("refreshed %d signatures", count)
    return int(count)


__all__ = [
    "DEFAULT_RETRY_DELAY_S",
    "DEFAULT_TASK_RETRIES",
    "ModelCollectionError",
    "ModelConfigError",
    "collect_model_task",
    "describe_failure",
    "forget_attempts",
    "refresh_signatures_task",
    "score_task",
]
