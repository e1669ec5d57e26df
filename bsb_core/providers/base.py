"""Types every provider shares: the chat request, its result and the provider error."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class ChatRequest:
    """One chat completion request, as sent to a provider."""

    model: str  # the part after "provider/", e.g. "gpt-4o-mini" or a sim persona
    messages: list[dict[str, Any]]
    params: dict[str, Any] = field(default_factory=dict)  # temperature, max_tokens, seed, ...
    timeout_s: float = 60.0


@dataclass(frozen=True)
class ChatResult:
    """A provider's completion: the text and what the provider reported about it."""

    text: str
    model_version: str | None = None
    tokens_in: int | None = None
    tokens_out: int | None = None
    # Why generation stopped, in OpenAI's terms where they map: "stop", "length" (max_tokens reached),
    # "content_filter"; other providers' reasons are passed through as they report them.
    finish_reason: str | None = None


class ProviderError(Exception):
    """A failed provider call; ``retryable`` is true for 429, 5xx, timeouts and malformed bodies."""

    def __init__(self, message: str, *, retryable: bool, status: int | None = None, retry_after_s: float | None = None):
        super().__init__(message)
        self.retryable = retryable
        self.status = status
        self.retry_after_s = retry_after_s


class Provider(Protocol):
    """A chat provider. ``name`` is the prefix of ``provider/model``."""

    name: str
    simulated: bool

    async def chat(self, request: ChatRequest) -> ChatResult:
        """Send one request and return the completion, or raise :class:`ProviderError`."""
        ...
