"""The store the app shows: ``$BSB_DB``, bsb.toml's ``database`` or ./bsb.db, resolved without importing Streamlit.

:mod:`ui.server` resolves the store this way too, before any Streamlit import.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from bsb_core.config import ConfigError, load_config
from bsb_core.paths import db_path


@dataclass(frozen=True)
class StoreLocation:
    """The store file the app reads, where that choice came from, and any config error met on the way."""

    path: Path
    source: str
    config_error: str | None = None

    @property
    def exists(self) -> bool:
        """True when the store file exists (the app never creates one)."""
        return self.path.is_file()


def resolve_location(override: str | None = None) -> StoreLocation:
    """Return the store path: ``override``, else ``$BSB_DB``, else bsb.toml's ``database``, else ./bsb.db."""
    if override:
        return StoreLocation(db_path(override).resolve(), "set on the Settings page")
    if os.environ.get("BSB_DB"):
        return StoreLocation(db_path(None).resolve(), "environment variable BSB_DB")
    try:
        config = load_config()
    except ConfigError as exc:
        return StoreLocation(db_path(None).resolve(), "default ./bsb.db", config_error=str(exc))
    if config.database:
        return StoreLocation(db_path(config.database).resolve(), f"database in {config.source}")
    return StoreLocation(db_path(None).resolve(), "default ./bsb.db")


__all__ = ["StoreLocation", "resolve_location"]
