"""Signatures of the eleven AlpacaEval models: valid cards, no drift, reliable trait metrics."""

from __future__ import annotations

import pytest
from fixtures_alpaca import ALPACA_MODELS
from validation_doc import update_section

from bsb_core.identify import identification_frame
from bsb_core.signature import TRAITS, compute_signatures, load_cards, refresh_signatures, validate_card
from bsb_core.signature_stats import split_half_reliability
from bsb_core.signature_traits import resolve_components

pytestmark = pytest.mark.slow

RELIABILITY_PROMPTS = 400
MIN_RELIABILITY = 0.9


@pytest.fixture(scope="module")
def alpaca_cards(alpaca_store):  # noqa: F811
    return [signature.to_card() for signature in compute_signatures(alpaca_store)]


def test_alpaca_eleven_cards(alpaca_cards):
    assert len(alpaca_cards) == ALPACA_MODELS


def test_alpaca_cards_validate(alpaca_cards):
    for card in alpaca_cards:
        validate_card(card)


def test_alpaca_drift_unavailable(alpaca_cards):
    assert not any(card["drift"]["available"] for card in alpaca_cards)


def test_alpaca_drift_reason_given(alpaca_cards):
    assert all(card["drift"]["reason"] for card in alpaca_cards)


def test_alpaca_style_traits_available(alpaca_cards):
    style = [name for name, trait in TRAITS.items() if trait.stream == "baseline"]
    missing = [(card["model"], t["name"]) for card in alpaca_cards for t in card["traits"] if t["name"] in style and not t["available"]]
    assert missing == []


def test_alpaca_percentiles_span_range(alpaca_cards):
    percentiles = [t["percentile"] for card in alpaca_cards for t in card["traits"] if t["name"] == "verbosity"]
    assert (min(percentiles), max(percentiles)) == (0.0, 100.0)


def test_alpaca_distinctive_sentences(alpaca_cards):
    assert all(card["distinctive"] for card in alpaca_cards)


def test_alpaca_refresh_then_load(alpaca_store):  # noqa: F811
    refresh_signatures(alpaca_store)
    assert len(load_cards(alpaca_store)) == ALPACA_MODELS


def test_alpaca_reliability_at_400(alpaca_store):  # noqa: F811
    wide = identification_frame(alpaca_store)
    behind = {trait.name: [metric for metric, _ in resolve_components(trait, wide.columns)] for trait in TRAITS.values() if trait.stream == "baseline"}
    metrics = sorted({metric for names in behind.values() for metric in names})
    reliability = split_half_reliability(wide[metrics], wide["model"], wide["prompt_id"], n_prompts=RELIABILITY_PROMPTS)

    lines = [
        "## Split-half reliability at 400 prompts per model",
        "",
        "Written by `tests/test_signature_alpaca.py::test_alpaca_reliability_at_400` on the eleven AlpacaEval",
        f"models: {RELIABILITY_PROMPTS} prompts drawn at random (seeded), then 200 random splits of them into halves;",
        "Pearson correlation of the models' half-means, Fisher-z averaged, Spearman-Brown corrected",
        "(definition in docs/signatures.md). Threshold: 0.9 for every metric behind a trait.",
        "",
        "| trait | metric | reliability |",
        "| --- | --- | --- |",
    ]
    for trait, names in behind.items():
        for metric in names:
            lines.append(f"| {trait} | `{metric}` | {reliability[metric]:.3f} |")
    update_section("reliability", "\n".join(lines))

    low = {metric: round(float(reliability[metric]), 3) for metric in metrics if not reliability[metric] >= MIN_RELIABILITY}
    assert low == {}
