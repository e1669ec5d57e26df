"""Turn flow parameters into BSB settings: the config, the store path and the run's scope key."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from bsb_core.config import Config, ConfigError, load_config, split_spec, store_path


def resolve_config(
    config: str | None = None,
    models: list[str | dict[str, Any]] | None = None,
    suite: str | None = None,
    samples: int | None = None,
) -> Config:
    """Load ``config`` (else ``$BSB_CONFIG`` or ``./bsb.toml``) and apply the non-empty flow parameters.

    ``models`` items are ``provider/model`` specs or tables as in ``bsb.toml``'s ``[[models]]``,
    e.g. ``{"spec": "openai-compatible/m", "base_url": "http://127.0.0.1:8000/v1"}``. A bare spec
    that the config lists keeps its configured base URL, key name and parameters.
    """
    base = load_config(config)
    entries = None
    if models:
        entries = []
        for item in models:
            if isinstance(item, str):
                try:
                    split_spec(item)
                except ValueError as exc:
                    raise ConfigError(str(exc)) from None
                entries.append(base.model(item).model_dump())
            else:
                entries.append(item)
    return base.with_overrides(models=entries, suite=suite, samples=samples)


def resolve_db(db: str | None, settings: Config) -> str:
    """Return the absolute store path: ``db``, else ``$BSB_DB``, else the config's ``database``, else ``./bsb.db``."""
    return str(store_path(db, settings).resolve())


def scope_key_for(moment: datetime) -> str:
    """Return the scope key of a nightly run scheduled at ``moment``: its UTC date, ``YYYY-MM-DD``."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).date().isoformat()


def default_scope_key() -> str:
    """Return the scope key of the current flow run, from its scheduled start time.

    A scheduled run and a later run with the same key collect each request once. Outside a
    flow run the key is today's UTC date.
    """
    from prefect.runtime import flow_run

    return scope_key_for(flow_run.scheduled_start_time)


def root_flow_run_id() -> str | None:
    """Return the id of the outermost Prefect flow run (the nightly run for its subflows), or None."""
    from prefect.runtime import flow_run

    if flow_run.id is None:
        return None
    return str(flow_run.root_flow_run_id)


def is_root_flow_run() -> bool:
    """Return True when the current flow run has no parent flow run."""
    from prefect.runtime import flow_run

    return flow_run.parent_flow_run_id is None


__all__ = ["default_scope_key", "is_root_flow_run", "resolve_config", "resolve_db", "root_flow_run_id", "scope_key_for"]
