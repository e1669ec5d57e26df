"""The asynchronous collector: the double-instruction protocol, limits, retries, resume and accounting.

Per model, a run first sends the suite's paraphrase request. The model's paraphrase of the rules
becomes the system prompt of every later request to that model, so the original rules are in
none of them. Then every baseline and contrast prompt is sent ``samples`` times.

A request with a response already stored under the same identity (model, prompt, sample,
system-prompt hash, scope key) is not sent again. The paraphrase of a model in a scope is
reused from the store too, so a re-run sends only what is missing. Each response is written as
soon as it arrives. A request that finally fails is stored as a row with ``error`` set, which
the next successful attempt replaces.

An error that every later request would repeat (HTTP 401, 403 or 404, or a Retry-After longer
than ``max_retry_wait_s``) stops the model: its remaining requests are counted as skipped and
left for the next run. One run at a time collects a given model and scope on a store
(:mod:`bsb_core.collect_lock`), so two runs started together send each request once.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt, wait_exponential_jitter

from bsb_core.collect_limits import GateRegistry, ProviderGate, estimate_tokens
from bsb_core.collect_lock import model_lock
from bsb_core.collect_plan import (
    PARAPHRASE_STREAM,
    PromptLike,
    SuiteLike,
    collected_prompts,
    model_params,
    paraphrase_key,
    plan_collection,
    request_params,
)
from bsb_core.config import Config
from bsb_core.providers.base import ChatRequest, ChatResult, Provider, ProviderError
from bsb_core.providers.errors import STATUS_HINTS, clean_message, timeout_error
from bsb_core.providers.registry import ProviderConfigError, get_provider
from bsb_core.providers.structured import json_schema_of, request_structured
from bsb_core.secrets import scrub_known
from bsb_core.store import InsertResult, Store, content_hash

log = logging.getLogger(__name__)

# Seconds a provider call may overrun its own timeout before the collector abandons it.
TIMEOUT_GRACE_S = 5.0

# Failures listed per model in a report; the count covers all of them.
MAX_LISTED_FAILURES = 50

# progress(model spec, requests finished, requests planned)
ProgressCallback = Callable[[str, int, int], None]


@dataclass
class ModelReport:
    """Outcome of collecting one model. Counts are planned requests unless a field comment names another unit."""

    model: str
    model_id: int | None = None
    provider: str | None = None
    simulated: bool = False
    planned: int = 0  # the paraphrase plus prompts x samples
    cached: int = 0  # stored before this run, so not sent
    succeeded: int = 0  # responses stored in this run
    failed: int = 0  # finally failed in this run, stored as error rows
    skipped: int = 0  # not sent because the paraphrase failed or a request stopped the model (see ``error``)
    http_requests: int = 0  # provider calls, retries and structured requests included
    retries: int = 0  # transport retries after 429, 5xx, timeouts and malformed bodies
    structured_requests: int = 0  # structured requests that reached the model, re-asks included
    structured_valid: int = 0
    structured_invalid: int = 0
    structured_failed: int = 0  # structured requests ended by a provider error, which the next run sends again
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float | None = None  # None when the price table has no entry for the model
    system_hash: str | None = None
    paraphrase_response_id: int | None = None
    error: str | None = None  # why the model could not be collected at all, or why it stopped early
    failures: list[dict[str, Any]] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return self.error is None and self.failed == 0 and self.skipped == 0 and self.structured_failed == 0


@dataclass
class CollectReport:
    """Outcome of one collection run, per model and in total."""

    run_id: int
    status: str
    suite: str
    suite_hash: str
    scope_key: str
    models: list[ModelReport] = field(default_factory=list)

    def totals(self) -> dict[str, Any]:
        """Return the counts summed over models, plus the cost where prices are known."""
        keys = (
            "planned", "cached", "succeeded", "failed", "skipped", "http_requests", "retries",
            "structured_requests", "structured_valid", "structured_invalid", "structured_failed", "tokens_in", "tokens_out",
        )  # fmt: skip
        totals: dict[str, Any] = {key: sum(getattr(model, key) for model in self.models) for key in keys}
        costs = [model.cost_usd for model in self.models if model.cost_usd is not None]
        totals["cost_usd"] = round(sum(costs), 6) if costs else None
        totals["models_failed"] = sum(1 for model in self.models if model.error is not None)
        return totals

    def stats(self) -> dict[str, Any]:
        """Return the statistics stored in the ``runs`` row."""
        return {"totals": self.totals(), "models": [asdict(model) for model in self.models]}


@dataclass
class _Sent:
    result: ChatResult
    attempts: int
    latency_ms: float


class _FinalFailure(Exception):
    def __init__(self, error: ProviderError, attempts: int) -> None:
        super().__init__(str(error))
        self.error = error
        self.attempts = attempts


class _Stopped(ProviderError):
    """A request not sent because an earlier one stopped the model; nothing about it is stored."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"not sent: {reason}", retryable=False)


def _token_count(value: Any) -> int | None:
    # Usage fields arrive as the server sends them, so anything but a count is unknown.
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return None


_default_gates: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, GateRegistry] = weakref.WeakKeyDictionary()

# One thread per store runs every store call the collector makes.
# The event loop then does not wait for SQLite (about 0.3 ms per committed response on a local
# disk), and calls on the shared connection do not interleave.
_store_threads: weakref.WeakKeyDictionary[Store, ThreadPoolExecutor] = weakref.WeakKeyDictionary()
_store_threads_lock = threading.Lock()


def _store_thread(store: Store) -> ThreadPoolExecutor:
    with _store_threads_lock:
        if store not in _store_threads:
            _store_threads[store] = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bsb-store")
        return _store_threads[store]


async def _on_store_thread(store: Store, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_store_thread(store), functools.partial(method, *args, **kwargs))


def _gates_for_loop(config: Config) -> GateRegistry:
    # Models collected one by one (e.g. one Prefect task each) still share their provider's limits.
    loop = asyncio.get_running_loop()
    if loop not in _default_gates:
        _default_gates[loop] = GateRegistry(config)
    return _default_gates[loop]


class _ModelCollector:
    """Collector of one model: the paraphrase, then every prompt and sample, with retries and accounting."""

    def __init__(
        self,
        store: Store,
        spec: str,
        suite: SuiteLike,
        *,
        run_id: int,
        config: Config,
        scope_key: str,
        progress: ProgressCallback | None,
        provider: Provider,
        model_name: str,
        gate: ProviderGate,
    ) -> None:
        self.store = store
        self.spec = spec
        self.suite = suite
        self.run_id = run_id
        self.config = config
        self.scope_key = scope_key
        self.progress = progress
        self.provider = provider
        self.model_name = model_name
        self.gate = gate
        self.report = ModelReport(spec, provider=provider.name, simulated=bool(getattr(provider, "simulated", False)))
        self.done = 0
        # Set by the first error that every later request would repeat: a rejected key, an unknown
        # model, or a Retry-After beyond max_retry_wait_s. No request of the model is sent after it.
        self.stop_reason: str | None = None
        self._stored_prompts: set[str] = set()  # prompt rows written in this run (store thread only)
        # Exponential backoff (retry_backoff_s, doubling per attempt) plus up to one step of random jitter.
        self._backoff = wait_exponential_jitter(
            multiplier=config.retry_backoff_s, max=config.max_retry_wait_s, jitter=config.retry_backoff_s
        )

    # sending ------------------------------------------------------------------------------------

    async def send(self, request: ChatRequest, label: str) -> _Sent:
        """Send ``request`` with the provider's limits and transport retries; raise _FinalFailure."""
        attempts = 0
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.config.max_attempts),
            wait=self._wait,
            retry=retry_if_exception(self._should_retry),
            before_sleep=lambda state: self._log_retry(state, label),
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    attempts += 1
                    async with self.gate.slot(estimate_tokens(request.messages, request.params)):
                        if self.stop_reason is not None:
                            raise _Stopped(self.stop_reason)
                        self.report.http_requests += 1
                        started = time.perf_counter()
                        result = await self._call(request)
                        latency_ms = round((time.perf_counter() - started) * 1000, 1)
        except _Stopped:
            raise
        except ProviderError as exc:
            raise _FinalFailure(self._final_error(exc, label), attempts) from None
        self.report.tokens_in += result.tokens_in or 0
        self.report.tokens_out += result.tokens_out or 0
        return _Sent(result, attempts, latency_ms)

    async def _call(self, request: ChatRequest) -> ChatResult:
        try:
            async with asyncio.timeout(request.timeout_s + TIMEOUT_GRACE_S):
                result = await self.provider.chat(request)
        except TimeoutError:
            # The SDKs' timeouts apply per read, so a slowly dripping body ends only here.
            raise timeout_error(self.provider.name, request.timeout_s + TIMEOUT_GRACE_S) from None
        except ProviderError:
            raise
        except Exception as exc:  # an adapter bug must not end the run; it becomes a failed request
            log.exception("provider %s raised %s for model %s", self.provider.name, type(exc).__name__, self.spec)
            raise ProviderError(
                f"{self.provider.name} adapter raised {type(exc).__name__}: {clean_message(exc)}", retryable=False
            ) from None
        if not isinstance(result, ChatResult) or not isinstance(result.text, str):
            raise ProviderError(f"{self.provider.name} returned no text", retryable=True)
        # A server that echoes the request's key into its response must not get it into the store.
        return dataclasses.replace(
            result,
            text=scrub_known(result.text),
            model_version=scrub_known(result.model_version) if isinstance(result.model_version, str) else None,
            tokens_in=_token_count(result.tokens_in),
            tokens_out=_token_count(result.tokens_out),
            finish_reason=result.finish_reason if isinstance(result.finish_reason, str) else None,
        )

    def _should_retry(self, exc: BaseException) -> bool:
        if not isinstance(exc, ProviderError) or not exc.retryable or isinstance(exc, _Stopped):
            return False
        # Retrying before the server's Retry-After would not honour it, so a longer wait ends the request.
        return exc.retry_after_s is None or exc.retry_after_s <= self.config.max_retry_wait_s

    def _final_error(self, error: ProviderError, label: str) -> ProviderError:
        """Return the error a request finally failed with, and stop the model when every later request would repeat it."""
        reason = None
        if error.retryable and error.retry_after_s is not None and error.retry_after_s > self.config.max_retry_wait_s:
            reason = (
                f"{error}; the server requested a wait of {error.retry_after_s:.0f} s (Retry-After), more than "
                f"max_retry_wait_s = {self.config.max_retry_wait_s:g}: run the collection again later or raise max_retry_wait_s"
            )
            error = ProviderError(reason, retryable=False, status=error.status, retry_after_s=error.retry_after_s)
        elif not error.retryable and error.status in STATUS_HINTS:
            reason = str(error)
        if reason is not None and self.stop_reason is None:
            self.stop_reason = reason
            log.error("stopping %s after %s: %s", self.spec, label, reason)
        return error

    def _wait(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, ProviderError) and error.retry_after_s is not None:
            return min(error.retry_after_s, self.config.max_retry_wait_s)
        return self._backoff(state)

    def _log_retry(self, state: RetryCallState, label: str) -> None:
        self.report.retries += 1
        error = state.outcome.exception() if state.outcome else None
        status = getattr(error, "status", None)
        wait = state.next_action.sleep if state.next_action else 0.0
        log.warning(
            "retrying %s %s after attempt %d of %d (status %s), waiting %.2f s: %s",
            self.spec, label, state.attempt_number, self.config.max_attempts, status if status is not None else "none",
            wait, error,
        )  # fmt: skip

    async def db(self, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run a store method on the store's thread and return its result."""
        return await _on_store_thread(self.store, method, *args, **kwargs)

    # the protocol -------------------------------------------------------------------------------

    async def run(self) -> ModelReport:
        """Collect the paraphrase, then every prompt and sample; return the report."""
        params = model_params(self.config, self.spec)
        self.report.model_id = await self.db(
            self.store.get_or_create_model, self.spec, self.provider.name, params=params, simulated=self.report.simulated
        )
        prompts = collected_prompts(self.suite)
        self.report.planned = 1 + len(prompts) * self.config.samples
        log.info(
            "collecting %s: %d requests planned (run %d, suite %s, scope %r)",
            self.spec, self.report.planned, self.run_id, self.suite.name, self.scope_key,
        )  # fmt: skip

        system_prompt = await self.paraphrase()
        if system_prompt is None:
            self.report.skipped = self.report.planned - 1
            self._tick(self.report.skipped)
            return self.finish()
        self.report.system_hash = content_hash(system_prompt)

        pending, unstructured = await self.db(self._pending, prompts)
        self.report.cached += len(prompts) * self.config.samples - len(pending)
        self._tick(len(prompts) * self.config.samples - len(pending))
        log.info(
            "%s: %d requests to send, %d already stored, %d stored without their structured request",
            self.spec, len(pending), self.report.cached, len(unstructured),
        )  # fmt: skip

        await asyncio.gather(
            *(self.collect_one(prompt, prompt_id, sample, system_prompt) for prompt, prompt_id, sample in pending),
            *(self.finish_structured(prompt, stored) for prompt, stored in unstructured),
        )
        return self.finish()

    def _pending(
        self, prompts: list[PromptLike]
    ) -> tuple[list[tuple[PromptLike, str, int]], list[tuple[PromptLike, dict[str, Any]]]]:
        # Runs on the store thread. It lists the samples with no stored response, and the stored
        # JSON-schema samples whose structured request never finished.
        assert self.report.model_id is not None and self.report.system_hash is not None
        pending = []
        unstructured = []
        for prompt in prompts:
            # The prompt row is written with its first response (see _insert), so planning a large
            # suite commits nothing and the first requests go out at once.
            prompt_id = Store.prompt_id(self.suite.name, prompt.stream, prompt.text, prompt.topic, prompt.variant, prompt.constraints)
            wants_structured = self.config.structured and json_schema_of(prompt.constraints) is not None
            for sample in range(self.config.samples):
                identity = (self.report.model_id, prompt_id, sample, self.report.system_hash, self.scope_key)
                if not self.store.response_exists(*identity):
                    pending.append((prompt, prompt_id, sample))
                elif wants_structured:
                    stored = self.store.find_response(*identity)
                    if stored is not None and "structured" not in stored["meta"]:
                        unstructured.append((prompt, stored))
        return pending, unstructured

    async def paraphrase(self) -> str | None:
        """Return the model's paraphrase of the rules, from the store or by asking the model once."""
        assert self.report.model_id is not None
        prompt_id = await self.db(
            self.store.upsert_prompt, self.suite.name, PARAPHRASE_STREAM, self.suite.paraphrase_request,
            source_id=paraphrase_key(self.suite),
        )  # fmt: skip
        stored = await self.db(self.store.find_response, self.report.model_id, prompt_id, 0, "", self.scope_key)
        if stored is not None and stored["error"] is None and stored["text"]:
            self.report.cached += 1
            self.report.paraphrase_response_id = stored["id"]
            self._tick(1)
            log.info("%s: reusing the stored paraphrase (response %d)", self.spec, stored["id"])
            return str(stored["text"])

        messages = [{"role": "user", "content": self.suite.paraphrase_request}]
        params = request_params(self.config, self.spec, 0)
        request = ChatRequest(model=self.model_name, messages=messages, params=params, timeout_s=self.config.timeout_s)
        try:
            sent = await self.send(request, f"paraphrase prompt {prompt_id}")
            if not sent.result.text.strip():
                raise _FinalFailure(ProviderError("the paraphrase is empty", retryable=False), sent.attempts)
        except _FinalFailure as failure:
            await self._store_failure(None, prompt_id, 0, "", messages, params, failure)
            self.report.error = f"the paraphrase request failed, so no prompt was sent: {failure.error}"
            self._tick(1)
            return None

        inserted = await self.db(
            self._insert, None,
            self.report.model_id, prompt_id, sent.result.text, run_id=self.run_id, sample=0, system_hash="",
            scope_key=self.scope_key, messages=messages, params=params, model_version=sent.result.model_version,
            tokens_in=sent.result.tokens_in, tokens_out=sent.result.tokens_out, latency_ms=sent.latency_ms,
            attempts=sent.attempts, meta=self._meta(sent.result),
        )  # fmt: skip
        self._count_stored(inserted)
        self.report.paraphrase_response_id = inserted.response_id
        self._tick(1)
        if not inserted.inserted:
            # Another run stored this model's paraphrase first; its text is the system prompt of the scope.
            stored = await self.db(self.store.find_response, self.report.model_id, prompt_id, 0, "", self.scope_key)
            if stored is not None and stored["text"]:
                return str(stored["text"])
        return sent.result.text

    async def collect_one(self, prompt: PromptLike, prompt_id: str, sample: int, system_prompt: str) -> None:
        """Send one prompt sample (and its structured request) and store the response or the failure."""
        assert self.report.model_id is not None and self.report.system_hash is not None
        messages = [{"role": "system", "content": system_prompt}, {"role": "user", "content": prompt.text}]
        params = request_params(self.config, self.spec, sample)
        request = ChatRequest(model=self.model_name, messages=messages, params=params, timeout_s=self.config.timeout_s)
        label = f"prompt {prompt_id} ({prompt.key}) sample {sample}"
        try:
            sent = await self.send(request, label)
        except _Stopped:
            self.report.skipped += 1
            self._tick(1)
            return
        except _FinalFailure as failure:
            await self._store_failure(prompt, prompt_id, sample, self.report.system_hash, messages, params, failure)
            self._tick(1)
            return

        meta = self._meta(sent.result)
        inserted = await self.db(
            self._insert, prompt,
            self.report.model_id, prompt_id, sent.result.text, run_id=self.run_id, sample=sample,
            system_hash=self.report.system_hash, scope_key=self.scope_key, messages=messages, params=params,
            model_version=sent.result.model_version, tokens_in=sent.result.tokens_in, tokens_out=sent.result.tokens_out,
            latency_ms=sent.latency_ms, attempts=sent.attempts, meta=meta,
        )  # fmt: skip
        self._count_stored(inserted)
        self._tick(1)

        # The raw response is stored first, so a run killed during the structured request loses
        # nothing. The next run finds the missing meta["structured"] and sends only that request.
        schema = json_schema_of(prompt.constraints) if self.config.structured else None
        if schema is not None and inserted.inserted:
            outcome = await self.structured(messages, params, schema, label)
            if outcome is not None:
                meta["structured"] = outcome
                await self.db(self.store.set_response_meta, inserted.response_id, meta)

    async def finish_structured(self, prompt: PromptLike, stored: dict[str, Any]) -> None:
        """Send the structured request of a stored response that has none and record its outcome."""
        schema = json_schema_of(prompt.constraints)
        assert schema is not None
        label = f"response {stored['id']} ({prompt.key})"
        outcome = await self.structured(stored["messages"], stored["params"], schema, label)
        if outcome is not None:
            meta = dict(stored["meta"])
            meta["structured"] = outcome
            await self.db(self.store.set_response_meta, stored["id"], meta)

    async def structured(
        self, messages: list[dict[str, Any]], params: dict[str, Any], schema: tuple[str, dict[str, Any]], label: str
    ) -> dict[str, Any] | None:
        """Run the structured request for a JSON-schema prompt and return its outcome for ``meta``.

        Returns None when a provider error ended it or the model was stopped before it finished:
        that outcome measures the connection, not the model, so nothing is stored and the next
        run sends the request again.
        """
        schema_name, schema_body = schema
        unanswered = False

        async def send(request: ChatRequest) -> ChatResult:
            nonlocal unanswered
            try:
                return (await self.send(request, f"{label} (structured)")).result
            except _Stopped:
                unanswered = True
                raise
            except _FinalFailure as failure:
                unanswered = True
                raise failure.error from None

        outcome = await request_structured(
            send, model=self.model_name, messages=messages, params=params, schema=schema_body,
            schema_name=schema_name, retries=self.config.structured_retries, timeout_s=self.config.timeout_s,
        )  # fmt: skip
        self.report.structured_requests += outcome.attempts
        if unanswered:
            self.report.structured_failed += 1
            log.error("structured request for %s %s not completed, the next run sends it again: %s", self.spec, label, outcome.error)
            return None
        if outcome.valid:
            self.report.structured_valid += 1
        else:
            self.report.structured_invalid += 1
        return outcome.to_meta()

    # bookkeeping --------------------------------------------------------------------------------

    def _meta(self, result: ChatResult) -> dict[str, Any]:
        meta: dict[str, Any] = {"finish_reason": result.finish_reason, "provider": self.provider.name}
        if self.report.simulated:
            meta["simulated"] = True
        return meta

    def _insert(self, prompt: PromptLike | None, model_id: int, prompt_id: str, text: str | None, **fields: Any) -> InsertResult:
        # Runs on the store thread: writes the prompt row on first use, then the response.
        # ``prompt`` is None for the paraphrase, whose row exists before it is sent.
        if prompt is not None and prompt_id not in self._stored_prompts:
            stored_id = self.store.upsert_prompt(
                self.suite.name, prompt.stream, prompt.text, topic=prompt.topic, variant=prompt.variant,
                constraints=prompt.constraints, source_id=prompt.key,
            )  # fmt: skip
            assert stored_id == prompt_id, "Store.prompt_id disagrees with Store.upsert_prompt"
            self._stored_prompts.add(prompt_id)
        try:
            return self.store.insert_response(model_id, prompt_id, text, **fields)
        except sqlite3.IntegrityError:
            # Another process stored the same identity between the store's check and its insert.
            stored = self.store.find_response(model_id, prompt_id, fields["sample"], fields["system_hash"], fields["scope_key"])
            if stored is None:
                raise
            return InsertResult(stored["id"], False)

    def _count_stored(self, inserted: InsertResult) -> None:
        # A response another run stored first counts as already stored, not as new.
        if inserted.inserted:
            self.report.succeeded += 1
        else:
            self.report.cached += 1

    async def _store_failure(
        self,
        prompt: PromptLike | None,
        prompt_id: str,
        sample: int,
        system_hash: str,
        messages: list[dict[str, Any]],
        params: dict[str, Any],
        failure: _FinalFailure,
    ) -> None:
        assert self.report.model_id is not None
        message = f"{failure.error} (after {failure.attempts} attempts)"
        prompt_key = prompt.key if prompt is not None else paraphrase_key(self.suite)
        await self.db(
            self._insert, prompt,
            self.report.model_id, prompt_id, None, run_id=self.run_id, sample=sample, system_hash=system_hash,
            scope_key=self.scope_key, messages=messages, params=params, attempts=failure.attempts, error=message,
            meta={"provider": self.provider.name, "status": failure.error.status},
        )  # fmt: skip
        self.report.failed += 1
        if len(self.report.failures) < MAX_LISTED_FAILURES:
            self.report.failures.append({"prompt_id": prompt_id, "prompt_key": prompt_key, "sample": sample, "error": message})
        log.error(
            "request failed for %s prompt %s (%s) sample %d after %d attempts: %s",
            self.spec, prompt_id, prompt_key, sample, failure.attempts, failure.error,
        )  # fmt: skip

    def _tick(self, count: int) -> None:
        self.done += count
        if self.progress is not None and count:
            self.progress(self.spec, self.done, self.report.planned)

    def finish(self) -> ModelReport:
        if self.stop_reason is not None and self.report.error is None:
            self.report.error = f"stopped early, {self.report.skipped} requests not sent: {self.stop_reason}"
        price = self.config.price(self.spec)
        if price is not None:
            self.report.cost_usd = round((self.report.tokens_in * price.input + self.report.tokens_out * price.output) / 1e6, 6)
        log.info(
            "finished %s: %d new responses, %d already stored, %d failed, %d skipped, %d retries, tokens %d in / %d out",
            self.spec, self.report.succeeded, self.report.cached, self.report.failed, self.report.skipped,
            self.report.retries, self.report.tokens_in, self.report.tokens_out,
        )  # fmt: skip
        return self.report


async def collect_model(
    store: Store,
    model_spec: str,
    suite: SuiteLike,
    *,
    run_id: int,
    config: Config,
    scope_key: str = "",
    progress: ProgressCallback | None = None,
    gates: GateRegistry | None = None,
) -> ModelReport:
    """Collect one model over both streams of ``suite`` and return its report.

    Per-request failures are stored and reported, not raised. A model that cannot be reached
    at all (unknown spec, missing key) gets a report with ``error`` set.
    """
    try:
        provider, model_name = get_provider(model_spec, config)
    except ProviderConfigError as exc:
        log.error("cannot collect %s: %s", model_spec, exc)
        return ModelReport(model_spec, error=str(exc))

    gate = (gates or _gates_for_loop(config)).gate(provider.name)
    collector = _ModelCollector(
        store, model_spec, suite, run_id=run_id, config=config, scope_key=scope_key, progress=progress,
        provider=provider, model_name=model_name, gate=gate,
    )  # fmt: skip
    try:
        async with model_lock(store.path, model_spec, scope_key):
            return await collector.run()
    finally:
        close = getattr(provider, "aclose", None)
        if close is not None:
            await close()


async def collect(
    store: Store,
    models: Sequence[str],
    suite: SuiteLike,
    *,
    config: Config,
    scope_key: str = "",
    progress: ProgressCallback | None = None,
    prefect_flow_run_id: str | None = None,
) -> CollectReport:
    """Collect every model concurrently, recording the run in the ``runs`` table (kind ``collect``).

    The run ends ``completed`` when every planned request has a stored response, ``partial``
    when some failed, and ``failed`` when no model could be collected.
    """
    public = config.public_dict()
    by_spec = {entry["spec"]: entry for entry in public["models"]}
    models_run = [by_spec.get(spec) or config.model(spec).model_dump(mode="json") for spec in models]
    run_config = {**public, "models": models_run, "scope_key": scope_key}
    run_id = await _on_store_thread(
        store, store.create_run, "collect", suite=suite.name, suite_hash=suite.hash, config=run_config,
        prefect_flow_run_id=prefect_flow_run_id,
    )  # fmt: skip
    log.info("collection run %d started: %d models, suite %s (%s)", run_id, len(models), suite.name, suite.hash)
    report = CollectReport(run_id, "running", suite.name, suite.hash, scope_key)
    gates = GateRegistry(config)

    try:
        report.models = list(
            await asyncio.gather(
                *(
                    collect_model(store, spec, suite, run_id=run_id, config=config, scope_key=scope_key, progress=progress, gates=gates)
                    for spec in models
                )
            )
        )
    except BaseException:
        await _on_store_thread(store, store.finish_run, run_id, "failed", report.stats())
        log.error("collection run %d stopped before it finished", run_id)
        raise

    if models and all(model.error is not None and model.succeeded == 0 for model in report.models):
        report.status = "failed"
    elif all(model.complete for model in report.models):
        report.status = "completed"
    else:
        report.status = "partial"
    await _on_store_thread(store, store.finish_run, run_id, report.status, report.stats())
    totals = report.totals()
    log.info(
        "collection run %d %s: %d new responses, %d already stored, %d failed, %d retries",
        run_id, report.status, totals["succeeded"], totals["cached"], totals["failed"], totals["retries"],
    )  # fmt: skip
    return report


def run_collect(
    store: Store,
    models: Sequence[str],
    suite: SuiteLike,
    *,
    config: Config,
    scope_key: str = "",
    progress: ProgressCallback | None = None,
) -> CollectReport:
    """Run :func:`collect` to completion in a new event loop (for synchronous callers)."""
    return asyncio.run(collect(store, models, suite, config=config, scope_key=scope_key, progress=progress))


__all__ = ["CollectReport", "ModelReport", "ProgressCallback", "collect", "collect_model", "plan_collection", "run_collect"]
