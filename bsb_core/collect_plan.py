"""The collection plan: which requests a run makes per model, what is already stored, and the cost estimate."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from bsb_core.collect_limits import CHARS_PER_TOKEN
from bsb_core.config import Config, split_spec
from bsb_core.providers.structured import json_schema_of
from bsb_core.store import Store, content_hash

PARAPHRASE_STREAM = "paraphrase"
COLLECTED_STREAMS = ("baseline", "contrast")


class PromptLike(Protocol):
    """A suite prompt as :func:`bsb_core.suites.load_suite` returns it."""

    stream: str
    topic: str | None
    variant: str | None
    text: str
    constraints: list[dict[str, Any]]
    key: str


class SuiteLike(Protocol):
    """A prompt suite as :func:`bsb_core.suites.load_suite` returns it."""

    name: str
    hash: str
    rules: list[str]
    paraphrase_request: str
    prompts: Sequence[PromptLike]


def collected_prompts(suite: SuiteLike) -> list[PromptLike]:
    """Return the suite's baseline and contrast prompts, in suite order."""
    return [prompt for prompt in suite.prompts if prompt.stream in COLLECTED_STREAMS]


def paraphrase_key(suite: SuiteLike) -> str:
    """Return the key of the suite's paraphrase prompt (``paraphrase`` when the suite lists none)."""
    for prompt in suite.prompts:
        if prompt.stream == PARAPHRASE_STREAM:
            return prompt.key
    return PARAPHRASE_STREAM


def model_params(config: Config, spec: str) -> dict[str, Any]:
    """Return the parameters that identify a model configuration in the ``models`` table."""
    return config.generation_params(spec)


def request_params(config: Config, spec: str, sample: int) -> dict[str, Any]:
    """Return the parameters sent with one request: the model's, plus a per-sample seed."""
    params = config.generation_params(spec)
    if config.seed is not None and "seed" not in params:
        params["seed"] = config.seed + sample
    return params


@dataclass
class ModelPlan:
    """One model's share of a collection."""

    model: str
    prompts: int  # baseline and contrast prompts
    samples: int
    requests: int  # the paraphrase plus prompts x samples
    structured_requests: int  # minimum: one per JSON-schema prompt and sample; re-asks add more
    stored: int = 0  # requests with a response already stored in this scope
    est_tokens_in: int = 0  # of the requests still to send
    est_tokens_out: int = 0  # of the requests still to send, an upper bound at max_tokens per request
    est_cost_usd: float | None = None  # None when the price table has no entry

    @property
    def to_send(self) -> int:
        return self.requests - self.stored


@dataclass
class CollectionPlan:
    """Every model's plan for one suite and scope."""

    suite: str
    suite_hash: str
    samples: int
    scope_key: str
    models: list[ModelPlan] = field(default_factory=list)

    @property
    def requests(self) -> int:
        return sum(model.requests for model in self.models)

    @property
    def to_send(self) -> int:
        return sum(model.to_send for model in self.models)

    @property
    def est_cost_usd(self) -> float | None:
        costs = [model.est_cost_usd for model in self.models if model.est_cost_usd is not None]
        return sum(costs) if costs else None

    def to_dict(self) -> dict[str, Any]:
        """Return the plan as a JSON-ready dict."""
        data = asdict(self)
        data.update(requests=self.requests, to_send=self.to_send, est_cost_usd=self.est_cost_usd)
        return data


def plan_collection(
    models: Sequence[str], suite: SuiteLike, config: Config, *, store: Store | None = None, scope_key: str = ""
) -> CollectionPlan:
    """Plan the requests for ``models`` over ``suite``. With a store, count the responses already stored.

    The token and cost figures are estimates for the requests still to send: input at about four
    characters per token, output at max_tokens per request (an upper bound), and structured
    requests at one attempt each.
    """
    prompts = collected_prompts(suite)
    plan = CollectionPlan(suite.name, suite.hash, config.samples, scope_key)
    structured_ids = {id(p) for p in prompts if json_schema_of(p.constraints)} if config.structured else set()
    rules_chars = sum(len(rule) for rule in suite.rules)
    paraphrase_id = Store.prompt_id(suite.name, PARAPHRASE_STREAM, suite.paraphrase_request)

    for spec in models:
        split_spec(spec)
        params = config.generation_params(spec)
        max_tokens = int(params.get("max_tokens") or params.get("max_completion_tokens") or config.max_tokens)
        requests = 1 + len(prompts) * config.samples
        structured = len(structured_ids) * config.samples
        model_plan = ModelPlan(spec, len(prompts), config.samples, requests, structured)
        stored = stored_requests(store, spec, suite, config, scope_key) if store is not None else set()
        model_plan.stored = len(stored)

        # The paraphrase's length is unknown before it is sent, so the rules' length is the estimate.
        system_tokens = rules_chars // CHARS_PER_TOKEN
        to_send = 0
        tokens_in = 0
        if (paraphrase_id, 0) not in stored:
            to_send += 1
            tokens_in += len(suite.paraphrase_request) // CHARS_PER_TOKEN
        for prompt in prompts:
            prompt_tokens = system_tokens + len(prompt.text) // CHARS_PER_TOKEN
            prompt_id = Store.prompt_id(suite.name, prompt.stream, prompt.text, prompt.topic, prompt.variant, prompt.constraints)
            for sample in range(config.samples):
                if (prompt_id, sample) in stored:
                    continue
                sends = 2 if id(prompt) in structured_ids else 1
                to_send += sends
                tokens_in += prompt_tokens * sends
        model_plan.est_tokens_in = tokens_in
        model_plan.est_tokens_out = to_send * max_tokens
        price = config.price(spec)
        if price is not None:
            model_plan.est_cost_usd = (tokens_in * price.input + model_plan.est_tokens_out * price.output) / 1_000_000
        plan.models.append(model_plan)
    return plan


def count_stored(store: Store, spec: str, suite: SuiteLike, config: Config, scope_key: str) -> int:
    """Count the planned requests of ``spec`` with a response in ``store``, without writing to it."""
    return len(stored_requests(store, spec, suite, config, scope_key))


def stored_requests(store: Store, spec: str, suite: SuiteLike, config: Config, scope_key: str) -> set[tuple[str, int]]:
    """Return (prompt id, sample) of every planned request of ``spec`` with a response in ``store``."""
    model_id = store.find_model_id(spec, model_params(config, spec))
    if model_id is None:
        return set()
    paraphrase_id = Store.prompt_id(suite.name, PARAPHRASE_STREAM, suite.paraphrase_request)
    paraphrase = store.find_response(model_id, paraphrase_id, 0, "", scope_key)
    if paraphrase is None or paraphrase["error"] is not None or paraphrase["text"] is None:
        return set()

    system_hash = content_hash(paraphrase["text"])
    stored = {(paraphrase_id, 0)}
    for prompt in collected_prompts(suite):
        prompt_id = Store.prompt_id(suite.name, prompt.stream, prompt.text, prompt.topic, prompt.variant, prompt.constraints)
        for sample in range(config.samples):
            if store.response_exists(model_id, prompt_id, sample, system_hash, scope_key):
                stored.add((prompt_id, sample))
    return stored


__all__ = [
    "CollectionPlan",
    "ModelPlan",
    "PromptLike",
    "SuiteLike",
    "collected_prompts",
    "count_stored",
    "model_params",
    "paraphrase_key",
    "plan_collection",
    "request_params",
    "stored_requests",
]
