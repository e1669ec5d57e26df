"""Signatures on a small synthetic two-stream store: card shape, traits, drift, storage."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from fixtures_signature import MODELS, fill_synthetic_store

from bsb_core.metrics.engine import METRIC_SET_VERSION, REGISTRY
from bsb_core.signature import TRAITS, compute_signatures, load_cards, refresh_signatures, validate_card
from bsb_core.signature_drift import flags_conflict
from bsb_core.scope import parse_scope
from bsb_core.signature_stats import percentile_among, split_half_reliability
from bsb_core.signature_text import rule_coverage, shorten


@pytest.fixture(scope="module")
def synthetic_store(tmp_path_factory):
    from bsb_core.store import Store

    with Store(tmp_path_factory.mktemp("sig") / "bsb.db") as store:
        fill_synthetic_store(store)
        yield store


@pytest.fixture(scope="module")
def cards(synthetic_store):
    return {signature.model: signature.to_card() for signature in compute_signatures(synthetic_store)}


def trait(card, name):
    return next(t for t in card["traits"] if t["name"] == name)


def test_cards_one_per_model(cards):
    assert sorted(cards) == sorted(MODELS)


@pytest.mark.parametrize("model", sorted(MODELS))
def test_card_validates(cards, model):
    validate_card(cards[model])


def test_card_traits_in_order(cards):
    assert [t["name"] for t in cards["sim/alpha"]["traits"]] == list(TRAITS)


def test_card_marks_simulated(cards):
    assert cards["sim/beta"]["simulated"] is True


def test_trait_percentile_follows_shift(cards):
    # sim/beta has every style metric shifted up by one SD, sim/gamma down by one.
    assert trait(cards["sim/beta"], "verbosity")["percentile"] == 100.0
    assert trait(cards["sim/gamma"], "verbosity")["percentile"] == 0.0


def test_trait_ci_contains_value(cards):
    entry = trait(cards["sim/alpha"], "structure")
    assert entry["ci_low"] <= entry["value"] <= entry["ci_high"]


def test_trait_lists_metrics_behind(cards):
    metrics = [m["metric"] for m in trait(cards["sim/alpha"], "verbosity")["metrics"]]
    assert "word_count" in metrics


def test_trait_missing_metrics_has_reason(cards):
    # The synthetic store has no values for metrics that are not registered.
    for entry in cards["sim/alpha"]["traits"]:
        if not entry["available"]:
            assert entry["reason"]


def test_compliance_trait_ranks_followers(cards):
    assert trait(cards["sim/alpha"], "compliance")["percentile"] == 100.0


def test_drift_largest_for_drifter(cards):
    magnitudes = {model: card["drift"]["magnitude"] for model, card in cards.items()}
    assert max(magnitudes, key=magnitudes.get) == "sim/drifter"


def test_drift_resistance_lowest_for_drifter(cards):
    assert trait(cards["sim/drifter"], "drift_resistance")["percentile"] == 0.0


def test_drift_per_constraint_type(cards):
    assert set(cards["sim/drifter"]["drift"]["by_constraint"]) == {"bullets", "json_schema", "impossible_bullets"}


def test_drift_overall_has_every_style_metric(cards):
    overall = cards["sim/alpha"]["drift"]["overall"]
    assert "word_count" in overall


def test_impossible_flags_conflict(cards):
    assert cards["sim/alpha"]["drift"]["impossible"]["counts"]["flags_conflict"] == 36


def test_impossible_fails_both(cards):
    assert cards["sim/gamma"]["drift"]["impossible"]["counts"]["fails_both"] == 36


def test_compliance_table_per_type(cards):
    assert cards["sim/alpha"]["compliance"]["by_constraint"]["bullets"]["n"] == 36


def test_paraphrase_has_ratio(cards):
    assert cards["sim/alpha"]["paraphrase"]["length_ratio"] > 0


def test_excerpts_at_most_two(cards):
    assert len(cards["sim/alpha"]["excerpts"]) == 2


def test_provenance_names_suite_hash(cards):
    assert cards["sim/alpha"]["provenance"]["suite_hashes"] == ["test-suite-hash"]


def test_provenance_metric_set(cards):
    assert cards["sim/alpha"]["provenance"]["metric_set_version"] == METRIC_SET_VERSION


def test_metric_summary_stream(cards):
    assert cards["sim/alpha"]["metrics"]["constraints_followed_share"]["stream"] == "contrast"


def test_bootstrap_reproducible(synthetic_store, cards):
    again = {s.model: s.to_card() for s in compute_signatures(synthetic_store)}
    assert again["sim/beta"]["metrics"]["word_count"]["ci_low"] == cards["sim/beta"]["metrics"]["word_count"]["ci_low"]


def test_refresh_stores_cards(synthetic_store):
    assert refresh_signatures(synthetic_store) == len(MODELS)


def test_refresh_twice_no_duplicates(synthetic_store):
    refresh_signatures(synthetic_store)
    refresh_signatures(synthetic_store)
    assert len(load_cards(synthetic_store)) == len(MODELS)


def test_run_scope_matches_all(synthetic_store):
    assert len(compute_signatures(synthetic_store, "run:1")) == len(MODELS)


def test_date_scope_outside_is_empty(synthetic_store):
    assert compute_signatures(synthetic_store, "1999-01-01..1999-12-31") == []


def test_scope_invalid_names_value():
    with pytest.raises(ValueError, match="yesterday"):
        parse_scope("yesterday")


# --- baseline-only data (an import) -----------------------------------------------------------


@pytest.fixture(scope="module")
def import_cards(tmp_path_factory):
    from bsb_core.store import Store

    rng = np.random.default_rng(3)
    with Store(tmp_path_factory.mktemp("imp") / "bsb.db") as store:
        run_id = store.create_run("import", source="test.jsonl")
        for model in ("a", "b", "c"):
            model_id = store.get_or_create_model(model, "import")
            for i in range(30):
                prompt = store.upsert_prompt("import", "baseline", f"prompt {i}", source_id=f"p-{i}")
                response = store.insert_response(model_id, prompt, f"{model} answer {i}", run_id=run_id)
                store.insert_metric_values(
                    (response.response_id, name, None if REGISTRY.get(name).family == "compliance" else float(rng.random()),
                     "no constraint of this type" if REGISTRY.get(name).family == "compliance" else None, METRIC_SET_VERSION, "t")
                    for name in REGISTRY.names()
                )
        yield {s.model: s.to_card() for s in compute_signatures(store)}


def test_import_card_validates(import_cards):
    validate_card(import_cards["a"])


def test_import_drift_unavailable(import_cards):
    assert import_cards["a"]["drift"]["available"] is False


def test_import_drift_reason(import_cards):
    assert "contrast" in import_cards["a"]["drift"]["reason"]


def test_import_drift_not_zero(import_cards):
    assert import_cards["a"]["drift"]["magnitude"] is None


def test_import_compliance_trait_null(import_cards):
    assert trait(import_cards["a"], "compliance")["value"] is None


def test_import_drift_trait_reason(import_cards):
    assert trait(import_cards["a"], "drift_resistance")["reason"]


def test_import_paraphrase_unavailable(import_cards):
    assert import_cards["a"]["paraphrase"]["available"] is False


# --- units -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "These instructions conflict, so I will follow the first one.",
        "I cannot both give exactly 3 bullets and exactly 5 bullets.",
        "The two requirements are mutually exclusive.",
        "You gave me contradictory instructions: JSON only, and a prose introduction.",
        "It is impossible to satisfy both constraints at once.",
    ],
)
def test_flags_conflict_phrases(text):
    assert flags_conflict(text)


@pytest.mark.parametrize(
    "text",
    [
        "The conflict between the two countries lasted decades.",
        "- point one\n- point two\n- point three",
        "Stakeholders may have conflicting interests, so map them early.",
    ],
)
def test_flags_conflict_ignores_topic(text):
    assert not flags_conflict(text)


def test_rule_coverage_matches_synonym_free_words():
    rules = ["Do not invent sources, quotations or statistics.", "Use plain language and define technical terms."]
    assert rule_coverage(rules, "Never invent sources or statistics.") == [True, False]


def test_shorten_marks_cut():
    assert shorten("word " * 200, 50).endswith("…")


def test_percentile_ties_count_half():
    values = pd.Series([1.0, 1.0, 3.0])
    assert percentile_among(values).tolist() == [25.0, 25.0, 100.0]


def test_percentile_single_model_null():
    assert percentile_among(pd.Series([2.0])).isna().all()


def _reliability_frame(model_gap: float, seed: int = 5) -> tuple[pd.DataFrame, pd.Series, pd.Series]:
    rng = np.random.default_rng(seed)
    rows = [(m, f"p{p}", rng.normal(m * model_gap, 1.0)) for m in range(6) for p in range(200)]
    frame = pd.DataFrame(rows, columns=["model", "prompt", "x"])
    return frame[["x"]], frame["model"], frame["prompt"]


def test_reliability_high_for_separated_models():
    wide, models, prompts = _reliability_frame(model_gap=0.5)
    assert split_half_reliability(wide, models, prompts)["x"] > 0.95


def test_reliability_low_without_differences():
    wide, models, prompts = _reliability_frame(model_gap=0.0)
    assert split_half_reliability(wide, models, prompts)["x"] < 0.5
