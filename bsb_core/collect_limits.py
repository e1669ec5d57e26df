"""Per-provider request limits for the collector: concurrency, requests and tokens per minute."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiolimiter import AsyncLimiter

from bsb_core.config import Config, ProviderLimits

SECONDS_PER_MINUTE = 60.0

# Characters per token for estimates before a provider reports usage; about 4 for English text
# with OpenAI's tokenizers, the usual rule of thumb.
CHARS_PER_TOKEN = 4


def estimate_tokens(messages: list[dict[str, Any]], params: dict[str, Any]) -> int:
    """Estimate a request's tokens as providers count them for rate limits: input plus max output."""
    characters = sum(len(str(message.get("content") or "")) for message in messages)
    max_output = params.get("max_tokens") or params.get("max_completion_tokens") or 0
    return characters // CHARS_PER_TOKEN + 1 + int(max_output)


class ProviderGate:
    """The limits one provider's requests share: a slot is held for the whole request."""

    def __init__(self, limits: ProviderLimits) -> None:
        self.limits = limits
        self._semaphore = asyncio.Semaphore(limits.concurrency)
        self._requests = _per_minute(limits.rpm) if limits.rpm else None
        self._tokens = _per_minute(limits.tpm) if limits.tpm else None

    @asynccontextmanager
    async def slot(self, tokens: int = 0) -> AsyncIterator[None]:
        """Wait for a free slot and the rate budget, then hold the slot until the block exits."""
        async with self._semaphore:
            if self._requests is not None:
                await self._requests.acquire()
            if self._tokens is not None:
                # A request larger than a whole minute's budget waits for the full budget instead.
                await self._tokens.acquire(min(max(tokens, 1), self._tokens.max_rate))
            yield


def _per_minute(rate: float) -> AsyncLimiter:
    # aiolimiter cannot acquire more than its capacity, so a rate under 1 per minute becomes
    # 1 per (60 / rate) seconds: rpm = 0.5 is one request every 120 s.
    if rate >= 1:
        return AsyncLimiter(rate, SECONDS_PER_MINUTE)
    return AsyncLimiter(1, SECONDS_PER_MINUTE / rate)


class GateRegistry:
    """One :class:`ProviderGate` per provider name, created on first use from the config."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self._gates: dict[str, ProviderGate] = {}

    def gate(self, provider: str) -> ProviderGate:
        """Return the gate shared by every model of ``provider``."""
        if provider not in self._gates:
            self._gates[provider] = ProviderGate(self.config.limits(provider))
        return self._gates[provider]


__all__ = ["GateRegistry", "ProviderGate", "estimate_tokens"]
