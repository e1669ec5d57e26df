"""The wire formats the provider tests run against, and helpers that call an adapter through a local server.

Each :class:`WireCase` pairs a server-side wire format with the adapter that speaks it, so one
fault test can be parametrised over ``WIRE_CASES``. Start servers through the ``serve`` fixture
of :mod:`servers.fixtures`.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from servers.anthropic_wire import AnthropicWire
from servers.fixtures import scripted_responder
from servers.google_wire import GoogleWire

from bsb_core.providers.anthropic_chat import AnthropicChatProvider
from bsb_core.providers.base import ChatRequest, ChatResult, ProviderError
from bsb_core.providers.chat_server import ChatServer, Fault, FaultPlan, FaultRule, WireFormat
from bsb_core.providers.google_chat import GoogleChatProvider
from bsb_core.providers.openai_chat import OpenAIChatProvider

# The request every helper sends: a system prompt and one user message.
MESSAGES = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hello"}]


@dataclass(frozen=True)
class WireCase:
    """One wire format under test: the server side, the adapter that speaks it, and its test key."""

    provider: str  # prefix of the model spec, which is also the adapter's name and the pytest id
    model: str
    key: str  # shaped like the provider's real keys, so the key scrubber recognises it
    key_variable: str  # environment variable the collector reads the key from
    make_wire: Callable[[], WireFormat | None]  # None serves the OpenAI-compatible format
    make_provider: Callable[..., Any]  # called with api_key= and base_url=
    truncated_body: str  # an HTTP 200 body cut off mid-JSON, in this format's response shape
    read_system_prompt: Callable[[dict[str, Any]], str | None]  # system prompt of a logged request body

    @property
    def spec(self) -> str:
        """Return the model spec, ``provider/model``."""
        return f"{self.provider}/{self.model}"

    def start(
        self,
        serve: Callable[..., ChatServer],
        fault: Fault | None = None,
        responder: Callable[..., Any] = scripted_responder,
    ) -> ChatServer:
        """Start a server in this format through the ``serve`` fixture. With ``fault``, every request gets that fault."""
        faults = FaultPlan(rules=[FaultRule(fault, rate=1.0)]) if fault else None
        return serve(responder, faults=faults, wire=self.make_wire())

    def adapter(self, server: ChatServer) -> Any:
        """Build this format's provider adapter with the test key, pointed at ``server``."""
        return self.make_provider(api_key=self.key, base_url=server.url)

    def chat(self, server: ChatServer, params: dict[str, Any] | None = None, timeout_s: float = 5.0) -> ChatResult:
        """Send ``MESSAGES`` to ``server`` through a new adapter, which is closed afterwards."""
        adapter = self.adapter(server)
        request = ChatRequest(model=self.model, messages=MESSAGES, params=params or {}, timeout_s=timeout_s)

        async def call() -> ChatResult:
            try:
                return await adapter.chat(request)
            finally:
                await adapter.aclose()

        return asyncio.run(call())

    def chat_error(self, server: ChatServer, **kwargs: Any) -> ProviderError:
        """Send like :meth:`chat` and return the ProviderError the call must raise."""
        with pytest.raises(ProviderError) as caught:
            self.chat(server, **kwargs)
        return caught.value


def _openai_system_prompt(body: dict[str, Any]) -> str | None:
    first = body["messages"][0]
    return first["content"] if first["role"] == "system" else None


def _google_system_prompt(body: dict[str, Any]) -> str | None:
    return body["systemInstruction"]["parts"][0]["text"]


OPENAI = WireCase(
    provider="openai-compatible",
    model="m",
    key="sk-test-0123456789abcdef",
    key_variable="OPENAI_COMPATIBLE_API_KEY",
    make_wire=lambda: None,
    make_provider=functools.partial(OpenAIChatProvider, "openai-compatible"),
    truncated_body='{"id": "chatcmpl-broken", "choices": [',
    read_system_prompt=_openai_system_prompt,
)

ANTHROPIC = WireCase(
    provider="anthropic",
    model="claude-test",
    key="sk-ant-test-0123456789abcdef",
    key_variable="ANTHROPIC_API_KEY",
    make_wire=AnthropicWire,
    make_provider=AnthropicChatProvider,
    truncated_body='{"type": "message", "content": ',
    read_system_prompt=lambda body: body.get("system"),
)

GOOGLE = WireCase(
    provider="google",
    model="gemini-test",
    key="AIzaTest0123456789abcdefghijklmnop",
    # google/ models read GOOGLE_API_KEY first, so the collect test clears it and sets this one.
    key_variable="GEMINI_API_KEY",
    make_wire=GoogleWire,
    make_provider=GoogleChatProvider,
    truncated_body='{"candidates": [{"content": ',
    read_system_prompt=_google_system_prompt,
)

WIRE_CASES = [OPENAI, ANTHROPIC, GOOGLE]


def wire_id(case: WireCase) -> str:
    """Return the pytest id of ``case``: its provider name."""
    return case.provider
