"""Recommender: task profiles, the documented score, warnings, tips and the ranking on real persona data."""

from __future__ import annotations

import json

import pytest
from card_factory import make_card
from click.testing import CliRunner

from bsb_core.cli import main
from bsb_core.store import Store
from bsb_core.recommend import (
    MID_BAND,
    PRESETS,
    ProfileError,
    TaskProfile,
    ordinal,
    percentile_fit,
    profile_from,
    recommend,
    score_card,
    targets_for,
)

# --- profiles ---------------------------------------------------------------------------------


def test_presets_named():
    assert set(PRESETS) == {"customer-support", "backend-json", "analyst-report", "creative-writing", "coding-help"}


def test_profile_bad_tone_message():
    with pytest.raises(ProfileError) as error:
        TaskProfile(tone="friendly")
    assert "invalid tone 'friendly'" in str(error.value)
    assert "warm, neutral, formal" in str(error.value)


@pytest.mark.parametrize(
    "field, value",
    [("response_format", "xml"), ("length", "huge"), ("refusal_tolerance", "none"), ("format_strictness", "strict")],
)
def test_profile_bad_choice_names_field(field, value):
    with pytest.raises(ProfileError, match=f"invalid {field} '{value}'"):
        TaskProfile(**{field: value})


@pytest.mark.parametrize("weight", [1.5, -0.1, float("nan"), True, "0.5"])
def test_profile_bad_drift_weight(weight):
    with pytest.raises(ProfileError, match="drift_weight"):
        TaskProfile(drift_weight=weight)


def test_profile_unknown_preset():
    with pytest.raises(ProfileError, match="unknown preset 'support'.*customer-support"):
        profile_from("support")


def test_profile_override_keeps_preset():
    profile = profile_from("backend-json", tone="warm")
    assert profile.tone == "warm"
    assert profile.response_format == "json"


def test_profile_unknown_need():
    with pytest.raises(ProfileError, match="unknown task profile field"):
        profile_from("backend-json", colour="blue")


# --- fits and score ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "percentile, want, expected",
    [(80, "high", 0.8), (80, "low", 0.2), (50, "mid", 1.0), (MID_BAND[0], "mid", 1.0), (0, "mid", 0.0), (100, "mid", 0.0), (90, "mid", 0.4)],
)
def test_percentile_fit_values(percentile, want, expected):
    assert percentile_fit(percentile, want) == pytest.approx(expected)


@pytest.mark.parametrize("number, expected", [(1, "1st"), (2, "2nd"), (3, "3rd"), (11, "11th"), (13, "13th"), (33, "33rd"), (100, "100th")])
def test_ordinal_suffix(number, expected):
    assert ordinal(number) == expected


def test_score_is_weighted_mean():
    card = make_card("sim/a", percentiles={"warmth": 100, "structure": 0, "verbosity": 50, "caution": 0, "hedging": 0})
    profile = TaskProfile(
        response_format="prose", tone="warm", length="medium", refusal_tolerance="low", format_strictness="medium", drift_weight=0.5
    )
    score, fits = score_card(card, profile)
    # Fits: structure low 1, warmth high 1, formality low 0.5, verbosity mid 1, caution low 1,
    # hedging low 1, compliance 0.9 (rate, medium strictness), drift resistance high 0.5.
    expected_fit = {"structure": 1, "warmth": 1, "formality": 0.5, "verbosity": 1, "caution": 1, "hedging": 1, "compliance": 0.9, "drift_resistance": 0.5}
    targets = targets_for(profile)
    expected = 100 * sum(t.weight * expected_fit[t.trait] for t in targets) / sum(t.weight for t in targets)
    assert score == pytest.approx(expected)
    assert sum(f.points for f in fits) == pytest.approx(score, abs=0.05)


def test_high_strictness_cubes_rate():
    card = make_card("sim/a", compliance={"overall": 0.9, "json_schema": 0.9})
    _, fits = score_card(card, TaskProfile(format_strictness="high"))
    compliance = [f for f in fits if f.trait == "compliance"]
    assert compliance[0].fit == pytest.approx(0.9**3, abs=1e-4)


def test_unknown_compliance_neutral_fit():
    card = make_card("imported", contrast=False, simulated=False)
    _, fits = score_card(card, PRESETS["backend-json"])
    compliance = [f for f in fits if f.trait == "compliance"]
    assert all(not f.known for f in compliance)
    assert all(f.fit == 0.5 for f in compliance)


def test_unknown_compliance_warning():
    card = make_card("imported", contrast=False, simulated=False)
    [recommendation] = recommend([card], PRESETS["backend-json"])
    assert any("no contrast data: compliance unknown" in warning for warning in recommendation.warnings)


def test_json_drift_outlier_warning():
    cards = [make_card(f"sim/{name}", drift_by_constraint={"json_schema": value}) for name, value in
             [("a", 1.0), ("b", 1.1), ("c", 1.2), ("outlier", 3.0)]]
    ranking = {rec.model: rec for rec in recommend(cards, PRESETS["backend-json"])}
    assert any("drifts strongly under JSON constraints" in w for w in ranking["sim/outlier"].warnings)
    assert not any("drifts strongly" in w for w in ranking["sim/a"].warnings)


def test_low_json_rate_warning():
    card = make_card("sim/loose", compliance={"overall": 0.5, "json_schema": 0.4})
    [recommendation] = recommend([card], PRESETS["backend-json"])
    assert any("use structured output" in warning for warning in recommendation.warnings)


def test_tips_skip_matched_traits():
    tips = [
        {"tip": "Ask for detail.", "because": "writes short answers", "trait": "verbosity"},
        {"tip": "Ask for plain paragraphs.", "because": "formats as lists", "trait": "structure"},
    ]
    card = make_card("sim/a", percentiles={"verbosity": 0, "structure": 100}, prompt_tips=tips)
    [recommendation] = recommend([card], profile_from("customer-support", length="short"))
    assert recommendation.prompt_tips == ["Ask for plain paragraphs. (formats as lists)"]


# --- ranking ----------------------------------------------------------------------------------


def test_ranking_deterministic_ties_by_name():
    cards = [make_card("sim/b"), make_card("sim/a"), make_card("sim/c")]
    first = [r.to_dict() for r in recommend(cards, PRESETS["coding-help"])]
    second = [r.to_dict() for r in recommend(list(reversed(cards)), PRESETS["coding-help"])]
    assert [r["model"] for r in first] == ["sim/a", "sim/b", "sim/c"]
    assert first == second


def test_ranking_ranks_from_one():
    cards = [make_card("sim/warm", percentiles={"warmth": 100}), make_card("sim/cold", percentiles={"warmth": 0})]
    ranking = recommend(cards, PRESETS["customer-support"])
    assert [(r.rank, r.model) for r in ranking] == [(1, "sim/warm"), (2, "sim/cold")]


def test_recommendation_dict_is_json():
    [recommendation] = recommend([make_card("sim/a")], PRESETS["analyst-report"])
    data = json.loads(json.dumps(recommendation.to_dict()))
    assert set(data) >= {"rank", "model", "score", "simulated", "matched", "missed", "reasons", "warnings", "prompt_tips"}


# --- acceptance on collected persona data -----------------------------------------------------


@pytest.mark.slow
def test_backend_json_prefers_json_strict(sim_cards):  # noqa: F811
    ranking = [r.model for r in recommend(sim_cards, PRESETS["backend-json"])]
    assert ranking.index("sim/json-strict") < ranking.index("sim/format-loose")


@pytest.mark.slow
def test_backend_json_reasons_name_traits(sim_cards):  # noqa: F811
    ranking = {r.model: r for r in recommend(sim_cards, PRESETS["backend-json"])}
    strict_reasons = " ".join(ranking["sim/json-strict"].reasons())
    loose_missed = {f.trait for f in ranking["sim/format-loose"].missed}
    assert "matched compliance" in strict_reasons
    assert "drift_resistance" in strict_reasons
    assert "compliance" in loose_missed


@pytest.mark.slow
def test_customer_support_prefers_warm(sim_cards):  # noqa: F811
    ranking = recommend(sim_cards, PRESETS["customer-support"])
    assert ranking[0].model == "sim/warm"


# --- CLI --------------------------------------------------------------------------------------


@pytest.mark.slow
def test_cli_recommend_json(sim_db):  # noqa: F811
    result = CliRunner().invoke(main, ["recommend", "--preset", "backend-json", "--format", "json", "--db", str(sim_db)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["profile"]["name"] == "backend-json"
    assert len(data["ranking"]) == 6


@pytest.mark.slow
def test_cli_recommend_explicit_flags(sim_db):  # noqa: F811
    args = ["recommend", "--response-format", "prose", "--tone", "warm", "--refusal-tolerance", "low", "--top", "1", "--db", str(sim_db)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "1. sim/warm (simulated)" in result.output


def test_cli_recommend_bad_weight(tmp_path):
    result = CliRunner().invoke(main, ["recommend", "--drift-weight", "2", "--db", str(tmp_path / "empty.db")])
    assert result.exit_code == 2
    assert "--drift-weight" in result.output


def test_cli_recommend_empty_store(tmp_path):
    Store(tmp_path / "empty.db").close()
    result = CliRunner().invoke(main, ["recommend", "--preset", "coding-help", "--db", str(tmp_path / "empty.db")])
    assert result.exit_code == 1
    assert "no scored responses" in result.output


def test_cli_recommend_missing_store(tmp_path):
    result = CliRunner().invoke(main, ["recommend", "--preset", "coding-help", "--db", str(tmp_path / "missing.db")])
    assert result.exit_code == 1
    assert "no store at" in result.output
    assert not (tmp_path / "missing.db").exists()
