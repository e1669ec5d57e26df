"""Signatures of the six simulated personas: two streams, so drift and compliance are available."""

from __future__ import annotations

import pytest
from fixtures_sim import SIM_PERSONAS, sim_cards, sim_db  # noqa: F401

from bsb_core.signature import validate_card

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cards(sim_cards):  # noqa: F811
    return {card["model"]: card for card in sim_cards}


def percentile(card, trait):
    return next(t["percentile"] for t in card["traits"] if t["name"] == trait)


def test_sim_card_per_persona(cards):
    assert sorted(cards) == sorted(SIM_PERSONAS)


@pytest.mark.parametrize("persona", SIM_PERSONAS)
def test_sim_card_validates(cards, persona):
    validate_card(cards[persona])


@pytest.mark.parametrize("persona", SIM_PERSONAS)
def test_sim_card_simulated(cards, persona):
    assert cards[persona]["simulated"] is True


@pytest.mark.parametrize("persona", SIM_PERSONAS)
def test_sim_drift_available(cards, persona):
    assert cards[persona]["drift"]["magnitude"] is not None


@pytest.mark.parametrize(
    ("persona", "trait"),
    [
        ("sim/json-strict", "compliance"),
        ("sim/hedger", "hedging"),
        ("sim/warm", "warmth"),
        ("sim/bulleteer", "structure"),
    ],
)
def test_sim_persona_tops_its_trait(cards, persona, trait):
    assert percentile(cards[persona], trait) == 100.0


def test_sim_terse_least_verbose(cards):
    assert percentile(cards["sim/terse"], "verbosity") == 0.0


def test_sim_format_loose_least_compliant(cards):
    assert percentile(cards["sim/format-loose"], "compliance") == 0.0


@pytest.mark.parametrize("persona", SIM_PERSONAS)
def test_sim_impossible_counts_add_up(cards, persona):
    impossible = cards[persona]["drift"]["impossible"]
    assert sum(impossible["counts"].values()) == impossible["n"]


@pytest.mark.parametrize("persona", SIM_PERSONAS)
def test_sim_paraphrase_scored(cards, persona):
    assert cards[persona]["paraphrase"]["rule_coverage"] is not None


def test_sim_compliance_table_has_json(cards):
    assert "json_schema" in cards["sim/json-strict"]["compliance"]["by_constraint"]
