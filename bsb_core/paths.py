"""Locations BSB reads and writes: the store, the shared real-data folder, packaged data."""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_ROOT = PACKAGE_DIR.parent
DEFAULT_DB = "bsb.db"


def db_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """Return the store path: the explicit value, else ``BSB_DB``, else ``./bsb.db``."""
    if explicit:
        return Path(explicit)
    env = os.environ.get("BSB_DB")
    if env:
        return Path(env)
    return Path(DEFAULT_DB)


def shared_data_dir() -> Path:
    """Return the third-party data folder: ``BSB_SHARED_DATA``, else ``../shared/data`` beside the repo."""
    env = os.environ.get("BSB_SHARED_DATA")
    if env:
        return Path(env)
    return REPO_ROOT.parent / "shared" / "data"
