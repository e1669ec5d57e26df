"""Shared fixtures: the real-data folder, the spaCy pipeline and fresh stores."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bsb_core.paths import shared_data_dir  # noqa: E402

# Session fixtures shared by several test modules are registered once here: a module that
# imports a session fixture gets its own copy, built again for that module.
pytest_plugins = ["fixtures_alpaca", "fixtures_sim", "fixtures_ui"]


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real third-party data folder; fails (not skips) when missing, since CI must have it."""
    path = shared_data_dir()
    if not path.is_dir():
        pytest.fail(f"shared data folder not found at {path}: set BSB_SHARED_DATA to the folder with alpaca_eval/, xstest/, ...")
    return path


@pytest.fixture(scope="session")
def nlp():
    """The spaCy pipeline BSB scores with, loaded once per test session."""
    from bsb_core.metrics.nlp import load_pipeline

    return load_pipeline()


@pytest.fixture()
def store(tmp_path):
    """A fresh, migrated store in a temporary folder."""
    from bsb_core.store import Store

    with Store(tmp_path / "bsb.db") as fresh:
        yield fresh
