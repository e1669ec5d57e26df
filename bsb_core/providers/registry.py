"""Build the provider for a ``provider/model`` spec, with its endpoint and key from the config."""

from __future__ import annotations

import ipaddress
import logging
from urllib.parse import urlsplit

from bsb_core.config import Config, ModelConfig, split_spec
from bsb_core.providers.base import Provider
from bsb_core.secrets import KeyLookup, env_vars_for, resolve_key

log = logging.getLogger(__name__)

# Ollama's OpenAI-compatible endpoint on the same machine, as Ollama installs it.
OLLAMA_BASE_URL = "http://127.0.0.1:11434/v1"

# Sent to servers that take no key (local vLLM, LM Studio, Ollama): the OpenAI SDK requires one.
PLACEHOLDER_KEY = "unused"


class ProviderConfigError(ValueError):
    """A model cannot be reached as configured: the message names the model and the fix."""


def is_local_url(url: str) -> bool:
    """Return True when ``url`` points at this machine (localhost or a loopback address)."""
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def get_provider(spec: str, config: Config | None = None) -> tuple[Provider, str]:
    """Return the provider for ``spec`` and the model name to send it.

    Raises :class:`ProviderConfigError` when the spec is invalid or a required key or base URL
    is missing. Its message names the environment variable or ``bsb keys set`` command that fixes it.
    """
    config = config or Config()
    try:
        provider_name, model = split_spec(spec)
    except ValueError as exc:
        raise ProviderConfigError(str(exc)) from None
    settings = config.model(spec)
    timeout_s = config.timeout_s

    if provider_name == "sim":
        return _sim_provider(model), model

    if provider_name == "ollama":
        from bsb_core.providers.openai_chat import OpenAIChatProvider

        found = _lookup(spec, settings.key_name or "ollama", settings)
        base_url = settings.base_url or OLLAMA_BASE_URL
        return OpenAIChatProvider("ollama", api_key=found.value or PLACEHOLDER_KEY, base_url=base_url, timeout_s=timeout_s), model

    if provider_name == "openai-compatible":
        from bsb_core.providers.openai_chat import OpenAIChatProvider

        if not settings.base_url:
            raise ProviderConfigError(
                f"model {spec!r} needs a base URL: add base_url for it under [[models]] in {config.source or 'bsb.toml'} "
                "or pass --base-url, e.g. http://127.0.0.1:8000/v1"
            )
        key_name = settings.key_name or "openai-compatible"
        found = _lookup(spec, key_name, settings)
        if not found.found and not is_local_url(settings.base_url):
            raise ProviderConfigError(_missing_key_message(spec, key_name, settings, found.keyring_error))
        api_key = found.value or PLACEHOLDER_KEY
        return OpenAIChatProvider("openai-compatible", api_key=api_key, base_url=settings.base_url, timeout_s=timeout_s), model

    key_name = settings.key_name or provider_name
    found = _lookup(spec, key_name, settings)
    if not found.found:
        raise ProviderConfigError(_missing_key_message(spec, key_name, settings, found.keyring_error))
    api_key = found.value or ""

    if provider_name == "openai":
        from bsb_core.providers.openai_chat import OpenAIChatProvider

        return OpenAIChatProvider("openai", api_key=api_key, base_url=settings.base_url, timeout_s=timeout_s), model
    if provider_name == "anthropic":
        from bsb_core.providers.anthropic_chat import AnthropicChatProvider

        return AnthropicChatProvider(api_key=api_key, base_url=settings.base_url, timeout_s=timeout_s), model
    if provider_name == "google":
        from bsb_core.providers.google_chat import GoogleChatProvider

        return GoogleChatProvider(api_key=api_key, base_url=settings.base_url, timeout_s=timeout_s), model
    raise ProviderConfigError(f"no adapter for provider {provider_name!r} of model {spec!r}")  # split_spec prevents this


def _sim_provider(persona: str) -> Provider:
    try:
        from bsb_core.providers.sim import SimProvider
    except ImportError as exc:
        raise ProviderConfigError(f"the simulated provider is not available ({exc}); sim/{persona} cannot run") from None
    personas = _sim_personas()
    if personas and persona not in personas:
        raise ProviderConfigError(f"unknown simulated persona {persona!r}: expected one of {', '.join(sorted(personas))}")
    return SimProvider()


def _sim_personas() -> set[str]:
    try:
        from bsb_core.providers import sim
    except ImportError:
        return set()
    personas = getattr(sim, "PERSONAS", None)
    return set(personas) if personas else set()


def _lookup(spec: str, key_name: str, settings: ModelConfig) -> KeyLookup:
    # A key that is set but unusable is an error even where a key is optional, since the user meant to send it.
    found = resolve_key(key_name, api_key_env=settings.api_key_env)
    if found.problem is None:
        return found
    if found.source == "keyring":
        fix = f"run `bsb keys set {key_name}` again with the key alone"
    else:
        fix = f"set {(found.source or '').removeprefix('env:')} to the key alone"
    raise ProviderConfigError(f"invalid API key for model {spec!r} from {found.source}: {found.problem}; {fix}")


def _missing_key_message(spec: str, key_name: str, settings: ModelConfig, keyring_error: str | None) -> str:
    variables = " or ".join(env_vars_for(key_name, settings.api_key_env))
    if keyring_error:
        return f"no API key for model {spec!r}: set {variables} ({keyring_error}, so `bsb keys set {key_name}` cannot store it)"
    return f"no API key for model {spec!r}: set {variables}, or run `bsb keys set {key_name}`"


__all__ = ["get_provider", "is_local_url", "ProviderConfigError", "OLLAMA_BASE_URL"]
