"""Fixtures that start local chat servers on 127.0.0.1 and a small suite to collect against them.

Import the fixtures into a test module (``from servers.fixtures import serve``) to use them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from bsb_core.config import Config
from bsb_core.providers.base import ChatResult
from bsb_core.providers.chat_server import ChatServer, FaultPlan, WireFormat
from bsb_core.store import content_hash

# Marker words of the mini suite's rules: a request that contains one still carries the original rules.
RULE_MARKERS = ("ZEBRA-RULE", "OKAPI-RULE", "QUOKKA-RULE")

MINI_SCHEMA = {
    "type": "object",
    "properties": {
        "summary": {"type": "string"},
        "points": {"type": "array", "items": {"type": "string"}, "minItems": 2},
    },
    "required": ["summary", "points"],
    "additionalProperties": False,
}


@dataclass(frozen=True)
class MiniPrompt:
    """A suite prompt with the fields the collector reads."""

    stream: str
    topic: str | None
    domain: str | None
    variant: str | None
    text: str
    constraints: list[dict[str, Any]]
    key: str


@dataclass
class MiniSuite:
    """A small suite: rules, a paraphrase request, and per topic one baseline and two contrast prompts."""

    name: str
    rules: list[str]
    paraphrase_request: str
    prompts: list[MiniPrompt] = field(default_factory=list)

    @property
    def hash(self) -> str:
        return content_hash(self.name, self.rules, self.paraphrase_request, [p.__dict__ for p in self.prompts])


def mini_suite(topics: int = 3, name: str = "mini") -> MiniSuite:
    """Build a suite with ``topics`` topics: baseline, JSON-schema contrast and bullets contrast each."""
    rules = [
        f"{RULE_MARKERS[0]}: answer the question directly before adding context.",
        f"{RULE_MARKERS[1]}: state uncertainty plainly when the evidence is thin.",
        f"{RULE_MARKERS[2]}: follow every format instruction exactly.",
    ]
    request = "Restate these rules in your own words, as a system prompt you will follow:\n" + "\n".join(
        f"{number}. {rule}" for number, rule in enumerate(rules, start=1)
    )
    suite = MiniSuite(name, rules, request)
    suite.prompts.append(MiniPrompt("paraphrase", None, None, None, request, [], "paraphrase"))
    for index in range(topics):
        topic = f"topic-{index:02d}"
        task = f"Explain the trade-offs of remote work for team number {index}."
        json_constraint = {"id": "bsb:json_schema", "kwargs": {"schema_name": "mini", "schema": MINI_SCHEMA}}
        bullets = {"id": "detectable_format:number_bullet_lists", "kwargs": {"num_bullets": 3}}
        suite.prompts.extend(
            [
                MiniPrompt("baseline", topic, "business", "baseline", task, [], f"{topic}/baseline"),
                MiniPrompt(
                    "contrast", topic, "business", "json_schema",
                    f"{task} Answer only with JSON that validates against the schema.", [json_constraint],
                    f"{topic}/json_schema",
                ),
                MiniPrompt(
                    "contrast", topic, "business", "bullets", f"{task} Use exactly 3 bullet points.", [bullets],
                    f"{topic}/bullets",
                ),
            ]
        )  # fmt: skip
    return suite


def paraphrase_text(model: str) -> str:
    """Return the scripted paraphrase of ``model``: no rule marker, distinct per model."""
    return f"I am {model}. I answer first, admit doubt, and keep to the requested format."


def scripted_responder(model: str, messages: list[dict[str, Any]], params: dict[str, Any]) -> ChatResult:
    """Respond like a well-behaved model: a paraphrase, valid JSON when a schema is requested, or prose."""
    last = next((m.get("content") or "" for m in reversed(messages) if m.get("role") == "user"), "")
    system = next((m.get("content") or "" for m in messages if m.get("role") == "system"), "")
    if last.startswith("Restate these rules"):
        text = paraphrase_text(model)
    elif "JSON" in last or "json_schema" in system:
        text = json.dumps({"summary": f"summary by {model}", "points": ["one", "two"]})
    else:
        text = f"{model} answers: remote work trades commute time for coordination cost."
    return ChatResult(text=text, model_version=f"{model}-2025-01-01", tokens_in=40, tokens_out=len(text.split()))


def config_for(server: ChatServer, models: list[str], **settings: Any) -> Config:
    """Return a config whose ``openai-compatible/<name>`` models point at ``server``."""
    entries = [{"spec": f"openai-compatible/{name}", "base_url": server.url} for name in models]
    defaults: dict[str, Any] = {"retry_backoff_s": 0.01, "max_retry_wait_s": 5.0, "timeout_s": 5.0}
    defaults.update(settings)
    return Config.model_validate({"models": entries, **defaults})


@pytest.fixture
def serve() -> Iterator[Callable[..., ChatServer]]:
    """Start chat servers on free 127.0.0.1 ports; every one is stopped after the test."""
    started: list[ChatServer] = []

    def start(
        responder: Callable[..., Any] = scripted_responder,
        *,
        faults: FaultPlan | None = None,
        wire: WireFormat | None = None,
        **kwargs: Any,
    ) -> ChatServer:
        server = ChatServer(responder, faults=faults, wire=wire, host="127.0.0.1", port=0, **kwargs).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
