"""Session fixtures ``sim_db`` and ``sim_cards``: the six simulated personas, collected and scored.

``sim_db`` runs ``bsb collect`` over the core suite for every persona and ``bsb score`` into a
temporary store, which takes about two minutes on two cores (mostly spaCy). ``sim_cards``
computes their cards with ``compute_signatures``. Import both with
``from fixtures_sim import sim_cards, sim_db  # noqa: F401`` and mark the tests slow.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from bsb_core.cli import main
from bsb_core.store import Store

SIM_PERSONAS = ("sim/terse", "sim/bulleteer", "sim/hedger", "sim/json-strict", "sim/format-loose", "sim/warm")


def build_sim_store(db_path: Path) -> Path:
    """Collect and score every persona into the store at ``db_path`` through the ``bsb`` CLI."""
    runner = CliRunner()
    collected = runner.invoke(main, ["collect", "--models", ",".join(SIM_PERSONAS), "--db", str(db_path)])
    if collected.exit_code != 0:
        pytest.fail(f"bsb collect failed (exit {collected.exit_code}): {collected.output}\n{collected.exception!r}")
    scored = runner.invoke(main, ["score", "--db", str(db_path)])
    if scored.exit_code != 0:
        pytest.fail(f"bsb score failed (exit {scored.exit_code}): {scored.output}\n{scored.exception!r}")
    return db_path


@pytest.fixture(scope="session")
def sim_db(tmp_path_factory) -> Path:
    """Path of a store holding the six personas' collected and scored responses."""
    return build_sim_store(tmp_path_factory.mktemp("sim") / "bsb.db")


@pytest.fixture(scope="session")
def sim_cards(sim_db) -> list[dict]:
    """Cards of the six personas, computed (not stored) from ``sim_db``."""
    from bsb_core.signature import compute_signatures

    with Store(sim_db) as store:
        return [signature.to_card() for signature in compute_signatures(store)]
