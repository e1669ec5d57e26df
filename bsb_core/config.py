"""Collection settings from ``bsb.toml``: models, suite, sampling, limits, timeouts and prices.

The file is ``$BSB_CONFIG`` when set, else ``./bsb.toml``; without a file every setting has
its default, and the models default to the simulated personas. ``bsb collect`` options
override the file. ``bsb.toml.example`` documents every key.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from bsb_core.secrets import KEY_NAME_PATTERN

from bsb_core.paths import db_path

CONFIG_ENV = "BSB_CONFIG"
DEFAULT_CONFIG_FILE = "bsb.toml"

# Provider prefixes of ``provider/model`` specs.
PROVIDERS = ("openai", "anthropic", "google", "ollama", "openai-compatible", "sim")

# Personas of the simulated provider, used when no model is configured.
DEFAULT_SIM_PERSONAS = ("terse", "bulleteer", "hedger", "json-strict", "format-loose", "warm")

# Request body fields that the collector sets itself, so per-model ``params`` cannot replace them.
# ``n`` is here because each sample is its own request (``samples``) and only the first choice is scored.
RESERVED_PARAMS = ("model", "messages", "stream", "n")

# Environment variable names as POSIX shells accept them.
ENV_VAR_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

# Concurrency per provider when the config sets none. Local servers get fewer parallel
# requests because one GPU serves them; the simulator runs in-process and is cheap.
DEFAULT_CONCURRENCY = {"sim": 16, "ollama": 2}
FALLBACK_CONCURRENCY = 8


class ConfigError(ValueError):
    """An invalid configuration value: the message names the file, the key and the fix."""


def split_spec(spec: str) -> tuple[str, str]:
    """Split ``provider/model`` at the first slash; raise ValueError naming the spec when invalid."""
    provider, sep, model = spec.partition("/")
    if any(char.isspace() or not char.isprintable() for char in spec):
        raise ValueError(f"invalid model {spec!r}: remove the spaces and control characters, e.g. openai/gpt-4o-mini")
    if not sep or not provider or not model:
        raise ValueError(f"invalid model {spec!r}: expected provider/model, e.g. openai/gpt-4o-mini or sim/terse")
    if provider not in PROVIDERS:
        raise ValueError(f"unknown provider {provider!r} in model {spec!r}: expected one of {', '.join(PROVIDERS)}")
    return provider, model


def redact_url(url: str) -> str:
    """Return ``url`` without user name, password or query string (they may carry credentials)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        port = parts.port
    except ValueError:  # an invalid port is shown as written, since it carries no credential
        port = parts.netloc.rpartition(":")[2] or None
    if port:
        host = f"{host}:{port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def check_base_url(value: str) -> str:
    """Return ``value`` when it is a usable http(s) base URL, else raise ValueError naming the fix.

    The message shows the URL without its user name and password, so a credential written into
    the URL stays out of the error.
    """
    shown = redact_url(value)
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https"):
        raise ValueError(f"base_url {shown!r} must start with http:// or https://, e.g. http://127.0.0.1:8000/v1")
    if parts.username is not None or parts.password is not None:
        raise ValueError(
            f"base_url {shown!r} contains a user name or password: remove it and store the key with "
            "`bsb keys set NAME` or an environment variable (see api_key_env)"
        )
    if not parts.hostname:
        raise ValueError(f"base_url {shown!r} has no host, e.g. http://127.0.0.1:8000/v1")
    try:
        parts.port
    except ValueError:
        raise ValueError(f"base_url {shown!r} has an invalid port: use a number from 1 to 65535") from None
    return value


class _Strict(BaseModel):
    # Infinite or NaN numbers would disable timeouts and waits, so TOML's inf and nan are invalid.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class ModelConfig(_Strict):
    """One model to collect: its ``provider/model`` spec and optional endpoint and parameters."""

    spec: str
    base_url: str | None = None  # endpoint for openai-compatible, ollama, or a proxy for the others
    api_key_env: str | None = None  # environment variable holding this model's key
    key_name: str | None = None  # keyring entry (``bsb keys set NAME``); defaults to the provider
    params: dict[str, Any] = Field(default_factory=dict)  # extra request parameters, e.g. top_p

    @field_validator("spec")
    @classmethod
    def _check_spec(cls, value: str) -> str:
        split_spec(value)
        return value

    @field_validator("base_url")
    @classmethod
    def _check_base_url(cls, value: str | None) -> str | None:
        return check_base_url(value) if value is not None else None

    @field_validator("key_name")
    @classmethod
    def _check_key_name(cls, value: str | None) -> str | None:
        if value is not None and not KEY_NAME_PATTERN.match(value):
            raise ValueError(
                f"invalid key name {value!r}: use lowercase letters, digits, '.', '_' or '-', e.g. openrouter"
            )
        return value

    @field_validator("api_key_env")
    @classmethod
    def _check_api_key_env(cls, value: str | None) -> str | None:
        if value is not None and not ENV_VAR_PATTERN.match(value):
            raise ValueError(
                f"invalid environment variable name {value!r}: use letters, digits and '_', e.g. OPENROUTER_API_KEY"
            )
        return value

    @field_validator("params")
    @classmethod
    def _check_params(cls, value: dict[str, Any]) -> dict[str, Any]:
        reserved = [name for name in RESERVED_PARAMS if name in value]
        if reserved:
            raise ValueError(
                f"params cannot set {', '.join(map(repr, reserved))}: BSB sets the model and messages itself, "
                "sends one non-streamed choice per request, and takes the sample count from `samples`"
            )
        return value

    @property
    def provider(self) -> str:
        return split_spec(self.spec)[0]

    @property
    def model(self) -> str:
        return split_spec(self.spec)[1]


class ProviderLimits(_Strict):
    """Request limits shared by every model of one provider in a run."""

    concurrency: int = Field(default=FALLBACK_CONCURRENCY, ge=1)  # requests in flight at once
    rpm: float | None = Field(default=None, gt=0)  # requests per minute
    tpm: float | None = Field(default=None, gt=0)  # tokens per minute, input estimate plus max_tokens


class Price(_Strict):
    """Price of one model in USD per million tokens."""

    input: float = Field(ge=0)
    output: float = Field(ge=0)


class Config(_Strict):
    """Every collection setting; see ``bsb.toml.example`` for each key's meaning and unit."""

    models: list[ModelConfig] = Field(default_factory=list)
    suite: str = "core"
    samples: int = Field(default=1, ge=1, le=100)
    temperature: float = Field(default=0.7, ge=0, le=2)
    max_tokens: int = Field(default=1024, ge=1)
    seed: int | None = 0  # base seed; request seed = seed + sample index; None sends no seed
    timeout_s: float = Field(default=60.0, gt=0)
    max_attempts: int = Field(default=6, ge=1, le=20)  # transport attempts per request, first one included
    retry_backoff_s: float = Field(default=0.5, ge=0)  # first backoff step; doubles per attempt, full jitter
    max_retry_wait_s: float = Field(default=120.0, gt=0)  # cap on one wait; a longer Retry-After ends the request
    structured: bool = True  # also request JSON-schema prompts through instructor
    structured_retries: int = Field(default=2, ge=0, le=10)  # validation re-asks after the first attempt
    database: str | None = None
    providers: dict[str, ProviderLimits] = Field(default_factory=dict)
    prices: dict[str, Price] = Field(default_factory=dict)
    source: str | None = Field(default=None, exclude=True)  # the file this config came from

    @field_validator("models", mode="before")
    @classmethod
    def _models_from_strings(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [{"spec": item} if isinstance(item, str) else item for item in value]
        return value

    @field_validator("providers")
    @classmethod
    def _check_provider_names(cls, value: dict[str, ProviderLimits]) -> dict[str, ProviderLimits]:
        for name in value:
            if name not in PROVIDERS:
                raise ValueError(f"unknown provider {name!r}: expected one of {', '.join(PROVIDERS)}")
        return value

    @field_validator("prices")
    @classmethod
    def _check_price_keys(cls, value: dict[str, Price]) -> dict[str, Price]:
        for spec in value:
            split_spec(spec)
        return value

    @model_validator(mode="after")
    def _check_unique_models(self) -> Config:
        specs = [model.spec for model in self.models]
        duplicates = sorted({spec for spec in specs if specs.count(spec) > 1})
        if duplicates:
            raise ValueError(f"models lists {', '.join(duplicates)} more than once: keep one entry per model")
        return self

    def model_specs(self) -> list[str]:
        """Return the configured model specs, or the simulated personas when none is configured."""
        if self.models:
            return [model.spec for model in self.models]
        return [f"sim/{persona}" for persona in DEFAULT_SIM_PERSONAS]

    def model(self, spec: str) -> ModelConfig:
        """Return the configuration of ``spec``, or a bare one when the file does not list it."""
        for model in self.models:
            if model.spec == spec:
                return model
        return ModelConfig(spec=spec)

    def limits(self, provider: str) -> ProviderLimits:
        """Return the request limits for ``provider``."""
        if provider in self.providers:
            return self.providers[provider]
        return ProviderLimits(concurrency=DEFAULT_CONCURRENCY.get(provider, FALLBACK_CONCURRENCY))

    def price(self, spec: str) -> Price | None:
        """Return the price of ``spec``, or None when the price table has none."""
        return self.prices.get(spec)

    def generation_params(self, spec: str) -> dict[str, Any]:
        """Return the request parameters for ``spec``: temperature, max_tokens, then per-model params."""
        params: dict[str, Any] = {"temperature": self.temperature, "max_tokens": self.max_tokens}
        params.update(self.model(spec).params)
        if "max_completion_tokens" in params:
            # OpenAI's reasoning models reject max_tokens; a per-model max_completion_tokens replaces it.
            params.pop("max_tokens", None)
        return params

    def public_dict(self) -> dict[str, Any]:
        """Return the settings for the ``runs`` row: no keys, URLs without credentials."""
        data = self.model_dump(mode="json")
        for model in data["models"]:
            if model.get("base_url"):
                model["base_url"] = redact_url(model["base_url"])
        return data

    def with_overrides(self, **overrides: Any) -> Config:
        """Return a copy with the non-None ``overrides`` applied and validated."""
        data = self.model_dump()
        data["source"] = self.source
        for key, value in overrides.items():
            if value is not None:
                data[key] = value
        return _validate(data, self.source or "command-line options")


def config_path(explicit: str | os.PathLike[str] | None = None) -> Path | None:
    """Return the config file to read: ``explicit``, ``$BSB_CONFIG`` or ``./bsb.toml`` if it exists."""
    if explicit:
        return Path(explicit)
    env = os.environ.get(CONFIG_ENV)
    if env:
        return Path(env)
    default = Path(DEFAULT_CONFIG_FILE)
    return default if default.is_file() else None


def load_config(path: str | os.PathLike[str] | None = None) -> Config:
    """Load and validate the config file, or return the defaults when there is none."""
    resolved = config_path(path)
    if resolved is None:
        return Config()
    if not resolved.is_file():
        named_by = "pass an existing file" if path else f"unset {CONFIG_ENV}"
        raise ConfigError(f"{resolved}: config file not found; create it from bsb.toml.example or {named_by}")
    try:
        # utf-8-sig also reads files that an editor saved with a byte-order mark.
        text = resolved.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{resolved}: not UTF-8 text (invalid byte at position {exc.start}); save the file as UTF-8") from None
    except OSError as exc:
        raise ConfigError(f"{resolved}: cannot read the config file ({exc.strerror}); check its permissions") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{resolved}: invalid TOML ({exc}); fix the syntax at that line") from None
    data["source"] = str(resolved)
    return _validate(data, str(resolved))


def store_path(explicit: str | os.PathLike[str] | None = None, config: Config | None = None) -> Path:
    """Return the store path: ``explicit``, else ``$BSB_DB``, else the config's ``database``, else ``./bsb.db``.

    Loads the config (``$BSB_CONFIG`` or ``./bsb.toml``) when ``config`` is not given; a
    malformed config raises :class:`ConfigError` only when its ``database`` is needed.
    """
    if explicit:
        return db_path(explicit)
    if os.environ.get("BSB_DB"):
        return db_path(None)
    settings = config if config is not None else load_config()
    return db_path(settings.database)


def _validate(data: dict[str, Any], origin: str) -> Config:
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_format_errors(exc, origin)) from None


# The user-info part of a URL (``//user:password@``), removed from every config error.
URL_USERINFO = re.compile(r"//[^/@\s'\"]*@")

SCALAR_TYPES = (str, int, float, bool)


def _format_errors(exc: ValidationError, origin: str) -> str:
    lines = []
    for error in exc.errors():
        key = _toml_key(error["loc"], error["type"])
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown key; check its spelling against bsb.toml.example"
        elif _shows_input(error):
            message = f"{message} (got {error['input']!r})"
        lines.append(f"{origin}: {key}: {message}")
    return URL_USERINFO.sub("//", "\n".join(lines))


def _shows_input(error: Any) -> bool:
    # The validators of this module name the value themselves (a URL without its credentials),
    # so only pydantic's own messages get it. Tables and lists are left out: their repr is long.
    if error["type"] in ("missing", "value_error") or "input" not in error:
        return False
    return isinstance(error["input"], SCALAR_TYPES)


def _toml_key(loc: tuple[Any, ...], error_type: str) -> str:
    key = ""
    for part in loc:
        if isinstance(part, int):
            key += f"[{part}]"
        else:
            key += f".{part}" if key else str(part)
    return key or "(top level)"


__all__ = [
    "Config",
    "ConfigError",
    "ModelConfig",
    "Price",
    "ProviderLimits",
    "PROVIDERS",
    "DEFAULT_SIM_PERSONAS",
    "check_base_url",
    "config_path",
    "load_config",
    "redact_url",
    "split_spec",
]
