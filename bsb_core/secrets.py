"""API keys: the OS keyring (service ``bsb``) with environment variables taking precedence.

A key is looked up under a *key name*: the provider (``openai``, ``anthropic``, ``google``) or,
for OpenAI-compatible endpoints, a name such as ``openrouter`` or ``groq``. The environment
variables of that name win when set; otherwise the keyring entry ``bsb``/``<name>`` is used.

Every key this module hands out is remembered so :func:`scrub` can remove it from error text
before that text reaches a log, an exception or the store.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from dataclasses import dataclass, field

import keyring
import keyring.errors

log = logging.getLogger(__name__)

SERVICE = "bsb"

# Environment variables each key name reads, first match wins. The names are the ones the
# providers' own SDKs and documentation use.
ENV_VARS: dict[str, tuple[str, ...]] = {
    "openai": ("OPENAI_API_KEY",),
    "anthropic": ("ANTHROPIC_API_KEY",),
    "google": ("GOOGLE_API_KEY", "GEMINI_API_KEY"),
    "openrouter": ("OPENROUTER_API_KEY",),
    "groq": ("GROQ_API_KEY",),
    "together": ("TOGETHER_API_KEY",),
    "mistral": ("MISTRAL_API_KEY",),
    "deepseek": ("DEEPSEEK_API_KEY",),
    "fireworks": ("FIREWORKS_API_KEY",),
    "openai-compatible": ("OPENAI_COMPATIBLE_API_KEY",),
}

# Key names BSB itself looks up: the providers above, and ollama, whose key is optional.
# Other names come from the key_name of a [[models]] entry in bsb.toml.
KNOWN_KEY_NAMES: tuple[str, ...] = (*ENV_VARS, "ollama")

KEY_NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")

# Shapes of common provider keys, removed from error text even when the key was never loaded here.
KEY_SHAPES = [
    re.compile(r"sk-[A-Za-z0-9_\-]{8,}"),  # OpenAI, Anthropic (sk-ant-...), OpenRouter (sk-or-...)
    re.compile(r"AIza[0-9A-Za-z_\-]{20,}"),  # Google API keys
    re.compile(r"gsk_[A-Za-z0-9]{12,}"),  # Groq
    re.compile(r"(?i)(bearer\s+)[^\s\"',]+"),
    re.compile(r"(?i)((?:x-api-key|x-goog-api-key|api[_-]?key|authorization)[\"']?\s*[:=]\s*[\"']?)[^\s\"',}]+"),
]

REDACTED = "[redacted]"

MIN_SECRET_CHARS = 8

# Maximum key length in characters. Common HTTP servers reject longer request headers (nginx's
# default large_client_header_buffers is 8k), so a longer value cannot work and is usually a pasted file.
MAX_KEY_CHARS = 4096

_known_secrets: set[str] = set()
_known_lock = threading.Lock()


class KeyringUnavailableError(RuntimeError):
    """No usable OS keyring backend: keys must come from environment variables."""


@dataclass(frozen=True)
class KeyLookup:
    """Result of a key lookup: the key (None when not found) and its source."""

    name: str
    value: str | None = field(default=None, repr=False)
    source: str | None = None  # "env:OPENAI_API_KEY", "keyring", or None when not set
    keyring_error: str | None = None  # why the keyring could not be read, when it could not
    problem: str | None = None  # why the value at ``source`` cannot be a key; ``value`` is then None

    @property
    def found(self) -> bool:
        return self.value is not None


def validate_key_name(name: str) -> str:
    """Return ``name`` when it is a valid key name, else raise ValueError saying what is allowed."""
    if not KEY_NAME_PATTERN.match(name):
        raise ValueError(
            f"invalid key name {name!r}: use lowercase letters, digits, '.', '_' or '-', "
            "e.g. openai, anthropic, google, openrouter"
        )
    return name


def key_problem(value: str) -> str | None:
    """Return why ``value`` cannot be sent as an API key, or None when it can. The text never contains the value."""
    if not value:
        return "it is empty"
    if len(value) > MAX_KEY_CHARS:
        return f"it is {len(value)} characters long, more than the {MAX_KEY_CHARS} a key can have"
    if not value.isascii():
        return "it contains non-ASCII characters, which an HTTP header cannot carry"
    if any(char.isspace() or not char.isprintable() for char in value):
        return "it contains spaces or control characters"
    return None


def env_vars_for(name: str, api_key_env: str | None = None) -> tuple[str, ...]:
    """Return the environment variables that hold the key for ``name``, most specific first."""
    names: list[str] = []
    if api_key_env:
        names.append(api_key_env)
    names.extend(ENV_VARS.get(name, (re.sub(r"[^A-Z0-9]", "_", name.upper()) + "_API_KEY",)))
    return tuple(dict.fromkeys(names))


def register_secret(value: str) -> None:
    """Remember ``value`` so :func:`scrub` removes it from any text."""
    # Shorter values are placeholders such as "unused", not keys, and would redact ordinary words.
    if value and len(value) >= MIN_SECRET_CHARS:
        with _known_lock:
            _known_secrets.add(value)


def scrub_known(text: str) -> str:
    """Return ``text`` with every key registered in this process redacted, and nothing else changed.

    For model responses: a response may quote key-shaped examples ("Bearer YOUR_TOKEN"), which
    :func:`scrub` would alter, but it must never store a real key that a server echoed back.
    """
    with _known_lock:
        known = sorted(_known_secrets, key=len, reverse=True)
    for secret in known:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


def scrub(text: str) -> str:
    """Return ``text`` with every known key and anything shaped like a provider key redacted."""
    text = scrub_known(text)
    for pattern in KEY_SHAPES:
        if pattern.groups:
            text = pattern.sub(lambda match: match.group(1) + REDACTED, text)
        else:
            text = pattern.sub(REDACTED, text)
    return text


def keyring_backend_name() -> str:
    """Return the active keyring backend's class path, e.g. ``keyring.backends.fail.Keyring``."""
    backend = keyring.get_keyring()
    return f"{type(backend).__module__}.{type(backend).__qualname__}"


def _unavailable_message(name: str, api_key_env: str | None = None) -> str:
    variables = " or ".join(env_vars_for(name, api_key_env))
    return (
        f"no OS keyring backend is available (keyring uses {keyring_backend_name()}), so the key for "
        f"{name!r} cannot be stored there; set the environment variable {variables} instead"
    )


def keyring_available() -> bool:
    """Return True when an OS keyring backend is usable (keyring's fail backend is not)."""
    # keyring's fail backend has priority 0 and raises NoKeyringError on every call.
    return float(getattr(keyring.get_keyring(), "priority", 1)) > 0


def require_keyring(name: str) -> None:
    """Raise :class:`KeyringUnavailableError` naming the environment variables of ``name`` when no keyring backend is usable.

    ``bsb keys set`` calls it before it prompts for the key, so the user does not type a key that cannot be stored.
    """
    if not keyring_available():
        raise KeyringUnavailableError(_unavailable_message(name))


def resolve_key(name: str, *, api_key_env: str | None = None) -> KeyLookup:
    """Find the key for ``name``: its environment variables first, then the keyring."""
    for variable in env_vars_for(name, api_key_env):
        # Surrounding whitespace is dropped: a trailing "\r" from a CRLF .env file is common.
        value = os.environ.get(variable, "").strip()
        if value:
            return _checked(name, value, f"env:{variable}")

    if not keyring_available():
        return KeyLookup(name, keyring_error=f"no OS keyring backend is available (keyring uses {keyring_backend_name()})")
    try:
        value = keyring.get_password(SERVICE, name)
    except Exception as exc:  # backends may raise their transport's errors unwrapped, e.g. D-Bus errors
        log.warning("keyring lookup for %r failed: %s", name, type(exc).__name__)
        return KeyLookup(name, keyring_error=f"keyring lookup failed ({type(exc).__name__})")
    if value and value.strip():
        return _checked(name, value.strip(), "keyring")
    return KeyLookup(name)


def _checked(name: str, value: str, source: str) -> KeyLookup:
    register_secret(value)
    problem = key_problem(value)
    if problem is not None:
        log.warning("the key for %r from %s is invalid: %s", name, source, problem)
        return KeyLookup(name, source=source, problem=problem)
    return KeyLookup(name, value, source)


def set_key(name: str, value: str) -> None:
    """Store ``value`` as the key for ``name`` in the OS keyring."""
    validate_key_name(name)
    value = value.strip()
    if not value:
        raise ValueError(f"empty key for {name!r}: enter the key itself")
    register_secret(value)
    problem = key_problem(value)
    if problem is not None:
        raise ValueError(f"invalid key for {name!r}: {problem}; enter the key alone, as the provider shows it")
    require_keyring(name)
    try:
        keyring.set_password(SERVICE, name, value)
    except Exception as exc:  # any backend error, as in resolve_key
        raise KeyringUnavailableError(
            f"storing the key for {name!r} in the keyring failed ({type(exc).__name__}); "
            f"set the environment variable {' or '.join(env_vars_for(name))} instead"
        ) from None
    log.info("stored the key for %r in the keyring", name)


def delete_key(name: str) -> bool:
    """Delete the keyring entry for ``name``; return False when there was none."""
    validate_key_name(name)
    if not keyring_available():
        raise KeyringUnavailableError(_unavailable_message(name))
    try:
        keyring.delete_password(SERVICE, name)
    except keyring.errors.PasswordDeleteError:
        return False
    except Exception as exc:  # any backend error, as in resolve_key
        raise KeyringUnavailableError(f"deleting the key for {name!r} failed ({type(exc).__name__})") from None
    log.info("deleted the key for %r from the keyring", name)
    return True


def key_sources(names: list[str] | None = None, api_key_envs: dict[str, str] | None = None) -> list[KeyLookup]:
    """Look up each key name (the known providers by default) without exposing the values."""
    api_key_envs = api_key_envs or {}
    names = list(dict.fromkeys(names or list(ENV_VARS)))
    return [resolve_key(name, api_key_env=api_key_envs.get(name)) for name in names]


__all__ = [
    "SERVICE",
    "ENV_VARS",
    "KNOWN_KEY_NAMES",
    "KeyLookup",
    "KeyringUnavailableError",
    "delete_key",
    "env_vars_for",
    "key_problem",
    "key_sources",
    "keyring_available",
    "keyring_backend_name",
    "register_secret",
    "require_keyring",
    "resolve_key",
    "scrub",
    "scrub_known",
    "set_key",
    "validate_key_name",
]
