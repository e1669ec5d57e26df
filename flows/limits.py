"""Prefect global concurrency limits per provider, shared by every flow run on one Prefect server.

A limit named ``provider-<provider>`` (``provider-openai``, ``provider-openai-compatible``, ...)
counts the requests in flight to that provider. A model's collection task occupies as many slots
as its executor may send at once (the provider's ``concurrency`` in ``bsb.toml``, capped by the
limit), so two flow runs together never have more requests in flight than the limit allows.
A missing limit is created with the configured concurrency, which lets one model task of that
provider run at a time; raise it (``prefect gcl update provider-openai --limit N``) to let more
tasks of that provider run together.

NOTE: requests-per-minute and tokens-per-minute budgets are enforced per task by the
executor, so tasks of one provider that run at the same time add up their per-minute budgets.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from bsb_core.config import Config

LIMIT_PREFIX = "provider-"

# The simulator runs in-process and has no rate limit to protect.
UNLIMITED_PROVIDERS = frozenset({"sim"})

# Seconds a model task waits for its provider's slots before it fails (Prefect may then retry it).
SLOT_TIMEOUT_S = 4 * 3600.0


@dataclass(frozen=True)
class ProviderSlots:
    """A model task's share of its provider's global limit: the slots it occupies and the limit name."""

    provider: str
    slots: int  # slots the task occupies, which is also the requests its executor sends at once
    limit_name: str | None = None  # None: no global limit applies, only the in-process gate

    @property
    def global_limit(self) -> bool:
        return self.limit_name is not None


def limit_name(provider: str) -> str:
    """Return the global concurrency limit name for ``provider``, e.g. ``provider-openai``."""
    return f"{LIMIT_PREFIX}{provider}"


async def ensure_provider_limits(
    providers: Iterable[str], config: Config, logger: logging.Logger | logging.LoggerAdapter[Any]
) -> dict[str, ProviderSlots]:
    """Create each provider's global concurrency limit when missing and return the slots a task occupies.

    An existing limit is never changed. When the Prefect API cannot read or create a limit, the
    provider falls back to the in-process limit of this flow run and a warning is logged.
    """
    from prefect.client.orchestration import get_client

    requested = sorted(set(providers))
    result = {
        provider: ProviderSlots(provider, config.limits(provider).concurrency)
        for provider in requested
        if provider in UNLIMITED_PROVIDERS
    }
    limited = [provider for provider in requested if provider not in UNLIMITED_PROVIDERS]
    if not limited:
        return result

    async with get_client() as client:
        for provider in limited:
            result[provider] = await ensure_provider_limit(client, provider, config.limits(provider).concurrency, logger)
    return result


async def ensure_provider_limit(
    client: Any, provider: str, configured: int, logger: logging.Logger | logging.LoggerAdapter[Any]
) -> ProviderSlots:
    """Create ``provider``'s limit with ``configured`` slots when missing; return the slots a task occupies.

    ``client`` is a Prefect client; ``configured`` is the provider's concurrency in the config.
    """
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
    from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound

    name = limit_name(provider)
    try:
        try:
            limit = await client.read_global_concurrency_limit_by_name(name)
        except ObjectNotFound:
            try:
                await client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name=name, limit=configured))
                logger.info("created global concurrency limit %s with %d slots", name, configured)
            except ObjectAlreadyExists:
                logger.info("global concurrency limit %s was created by another run meanwhile", name)
            limit = await client.read_global_concurrency_limit_by_name(name)
    except Exception as exc:  # any API failure: fall back to this run's own limits, never stop the run
        logger.warning(
            "cannot read or create global concurrency limit %s (%s: %s); requests to %s are limited within this run only",
            name, type(exc).__name__, exc, provider,
        )  # fmt: skip
        return ProviderSlots(provider, configured)

    if not limit.active:
        logger.warning("global concurrency limit %s is inactive; requests to %s are limited within this run only", name, provider)
        return ProviderSlots(provider, configured)
    # A task holding more slots than the limit has would wait forever; a limit of 0 pauses the provider.
    slots = max(1, min(configured, limit.limit))
    if slots < configured:
        logger.info("%s allows %d requests in flight, fewer than the configured %d; tasks send at most %d", name, limit.limit, configured, slots)
    return ProviderSlots(provider, slots, name)


@asynccontextmanager
async def hold_provider_slots(slots: ProviderSlots) -> AsyncIterator[None]:
    """Hold the provider's global slots for the block (a no-op when no global limit applies)."""
    if not slots.global_limit:
        yield
        return

    from prefect.concurrency.asyncio import concurrency

    assert slots.limit_name is not None
    async with concurrency(slots.limit_name, occupy=slots.slots, timeout_seconds=SLOT_TIMEOUT_S, strict=False):
        yield


def config_with_concurrency(config: Config, provider: str, concurrency: int) -> Config:
    """Return ``config`` with ``provider``'s concurrency set to ``concurrency``; rpm and tpm are kept."""
    limits = config.limits(provider)
    if limits.concurrency == concurrency:
        return config
    providers = {name: value.model_dump() for name, value in config.providers.items()}
    providers[provider] = {**limits.model_dump(), "concurrency": concurrency}
    return config.with_overrides(providers=providers)


__all__ = [
    "LIMIT_PREFIX",
    "ProviderSlots",
    "SLOT_TIMEOUT_S",
    "config_with_concurrency",
    "ensure_provider_limit",
    "ensure_provider_limits",
    "hold_provider_slots",
    "limit_name",
]
