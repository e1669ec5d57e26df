"""The app's tables and chart wrappers on hand-made cards and run rows: no Streamlit, no store."""

from __future__ import annotations

import json
import math

from card_factory import make_card

from ui import charts, tables


def test_model_label_simulated():
    assert tables.model_label("sim/terse", True) == "sim/terse (simulated)"


def test_model_label_real():
    assert tables.model_label("claude-2.1", False) == "claude-2.1"


def test_filter_traits_contrast():
    card = tables.filter_traits(make_card("sim/a"), ["contrast"])
    assert [trait["name"] for trait in card["traits"]] == ["compliance", "drift_resistance"]


def test_overview_table_columns():
    table = tables.overview_table([make_card("sim/a"), make_card("real", simulated=False)])
    assert list(table["simulated"]) == [True, False]
    assert table.loc[0, "Structure 95% CI"] == "[-0.10, 0.10]"


def test_overview_table_unavailable_trait():
    table = tables.overview_table([make_card("real", contrast=False, simulated=False)])
    assert math.isnan(table.loc[0, "Compliance"])
    assert table.loc[0, "Compliance 95% CI"] == ""


def test_drift_ranking_order():
    cards = [make_card("sim/low", drift_magnitude=0.1), make_card("sim/high", drift_magnitude=0.9), make_card("real", contrast=False)]
    ranking = tables.drift_ranking(cards)
    assert list(ranking["model"]) == ["sim/high", "sim/low", "real"]
    assert list(ranking["rank"][:2]) == [1, 2]
    assert "no contrast stream" in ranking.loc[2, "note"]


def test_drift_ranking_constraint_type():
    cards = [make_card("sim/a", drift_by_constraint={"json_schema": 0.2}), make_card("sim/b", drift_by_constraint={"json_schema": 1.4})]
    ranking = tables.drift_ranking(cards, "json_schema")
    assert list(ranking["magnitude"]) == [1.4, 0.2]


def test_drift_ranking_missing_constraint_type():
    ranking = tables.drift_ranking([make_card("sim/a", drift_by_constraint={"bullets": 0.2})], "json_schema")
    assert ranking.loc[0, "note"] == "no json_schema prompts"


def test_constraint_types_union():
    cards = [make_card("sim/a", drift_by_constraint={"bullets": 0.2}), make_card("sim/b", drift_by_constraint={"json_schema": 0.3})]
    assert tables.constraint_types(cards) == ["bullets", "json_schema"]


def test_impossible_table_rows():
    table = tables.impossible_table(make_card("sim/a"))
    assert list(table["constraint set"]) == ["all impossible sets"]
    assert int(table.loc[0, "flags_conflict"]) == 4


def test_impossible_table_baseline_empty():
    assert tables.impossible_table(make_card("real", contrast=False)).empty


def test_runs_table_flow_run():
    run = {
        "id": 3, "kind": "collect", "status": "partial", "started_at": "2025-01-02T02:00:05+00:00", "finished_at": None,
        "suite": "core", "responses": 700, "prefect_flow_run_id": "abc-123",
        "stats": {"totals": {"collected": 690, "failed": 10, "models_failed": 1, "tokens_in": 5, "tokens_out": 6, "cost_usd": 0.25},
                  "models": [{"model": "sim/terse"}, {"model": "openai/x"}]},
    }  # fmt: skip
    row = tables.runs_table([run]).iloc[0]
    assert row["answered or imported"] == 690
    assert row["failed"] == 10
    assert row["Prefect flow run"] == "abc-123"
    assert row["started (UTC)"] == "2025-01-02 02:00"
    assert row["models"] == 2


def test_runs_table_cli_collect():
    run = {"id": 1, "kind": "collect", "status": "completed", "started_at": "2025-01-01T00:00:00+00:00", "stats": {"totals": {"succeeded": 374}}}
    assert tables.runs_table([run]).iloc[0]["answered or imported"] == 374


def test_runs_table_import():
    run = {"id": 2, "kind": "import", "status": "partial", "source": "/data/alpaca_eval/claude-2.1.jsonl", "stats": {"imported": 805, "rejected": 2}}
    row = tables.runs_table([run]).iloc[0]
    assert row["suite or file"] == "claude-2.1.jsonl"
    assert row["answered or imported"] == 805
    assert row["failed"] == 2


def test_run_models_table_error():
    run = {"stats": {"models": [{"model": "sim/terse", "simulated": True, "succeeded": 3, "error": None},
                                {"model": "openai/x", "simulated": False, "collected": 0, "error": "missing key"}]}}  # fmt: skip
    table = tables.run_models_table(run)
    assert list(table["model"]) == ["sim/terse (simulated)", "openai/x"]
    assert list(table["state"]) == ["completed", "failed"]
    assert list(table["answered"]) == [3, 0]


def test_radar_marks_simulated():
    chart, table = charts.radar([make_card("sim/a"), make_card("real", simulated=False)])
    spec = json.dumps(chart.to_dict())
    assert "sim/a (simulated)" in spec
    assert set(table["model"]) == {"sim/a (simulated)", "real"}


def test_radar_needs_three_traits():
    card = tables.filter_traits(make_card("sim/a"), ["contrast"])
    chart, _ = charts.radar([card])
    assert chart is None


def test_drift_ranking_chart_baseline_only():
    chart, table = charts.drift_ranking([make_card("real", contrast=False, simulated=False)])
    assert chart is None
    assert len(table) == 1


def test_diff_effects_significant_only():
    diffs = [
        {"metric": "word_count", "family": "structural", "stream": "baseline", "mean_a": 100.0, "mean_b": 150.0, "difference": 50.0,
         "effect_size": 1.2, "q_value": 0.001, "significant": True},
        {"metric": "mtld", "family": "stylistic", "stream": "baseline", "mean_a": 70.0, "mean_b": 71.0, "difference": 1.0,
         "effect_size": 0.05, "q_value": 0.8, "significant": False},
    ]  # fmt: skip
    chart, table = charts.diff_effects(diffs, "a", "b")
    data = chart.to_dict()["datasets"]
    assert [row["metric"] for rows in data.values() for row in rows] == ["word_count"]
    assert len(table) == 2


def test_diff_effects_none_significant():
    chart, _ = charts.diff_effects([], "a", "b")
    assert chart is None


def test_charts_render_offline():
    from bsb_core.charts import chart_to_png

    chart, _ = charts.drift_map([make_card("sim/a"), make_card("sim/b")])
    assert chart_to_png(chart, scale=1.0)[:4] == b"\x89PNG"
