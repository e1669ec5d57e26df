"""Altair chart builders: valid Vega-Lite, PNG rendering, radar geometry and the text alternatives."""

from __future__ import annotations

import math

import altair as alt
import pytest
from card_factory import make_card

from bsb_core import charts

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def cards():
    return [
        make_card("sim/a", percentiles={"warmth": 100, "structure": 0}),
        make_card("sim/b", percentiles={"warmth": 0, "structure": 100}, drift_magnitude=1.2),
        make_card("imported", contrast=False, simulated=False),
    ]


BUILDERS = {
    "radar": lambda cards: charts.radar_chart(cards),
    "radar_one": lambda cards: charts.radar_chart(cards[0]),
    "trait_bars": lambda cards: charts.trait_bars(cards[0]),
    "trait_bars_no_contrast": lambda cards: charts.trait_bars(cards[2]),
    "drift_heatmap": lambda cards: charts.drift_heatmap(cards),
    "drift_heatmap_json": lambda cards: charts.drift_heatmap(cards, constraint_type="json_schema", top=2),
    "drift_profile": lambda cards: charts.drift_profile(cards[1]),
    "drift_profile_no_contrast": lambda cards: charts.drift_profile(cards[2]),
    "compliance": lambda cards: charts.compliance_chart(cards[0]),
    "compliance_no_contrast": lambda cards: charts.compliance_chart(cards[2]),
}


@pytest.mark.parametrize("name", list(BUILDERS))
def test_chart_spec_valid(cards, name):
    spec = BUILDERS[name](cards).to_dict(validate=True)
    assert spec["$schema"].startswith("https://vega.github.io/schema/vega-lite/")


@pytest.mark.parametrize("name", ["radar", "trait_bars", "drift_heatmap", "drift_profile", "compliance", "compliance_no_contrast"])
def test_chart_renders_png(cards, name):
    png = charts.chart_to_png(BUILDERS[name](cards), scale=1)
    assert png.startswith(PNG_MAGIC)


def test_radar_from_mapping():
    chart = charts.radar_chart({"model-x": {"a": 10, "b": 50, "c": 90}, "model-y": {"a": 30, "b": None, "c": 70}})
    assert isinstance(chart, alt.LayerChart)


def test_radar_polygon_closes(cards):
    frame = charts.radar_frame(cards[:1])
    first = frame.iloc[0]
    last = frame.iloc[-1]
    assert len(frame) == 9 + 1
    assert last["trait"] == first["trait"]
    assert (last["x"], last["y"]) == pytest.approx((first["x"], first["y"]))


def test_radar_first_spoke_up():
    frame = charts.radar_frame({"m": {"a": 80, "b": 50, "c": 20}})
    first = frame.iloc[0]
    assert first["x"] == pytest.approx(0, abs=1e-9)
    assert first["y"] == pytest.approx(80)


def test_radar_radius_is_percentile():
    frame = charts.radar_frame({"m": {"a": 80, "b": 50, "c": 20}})
    radii = [math.hypot(row.x, row.y) for row in frame.itertuples()]
    assert radii == pytest.approx([80, 50, 20, 80])


def test_radar_missing_trait_breaks_line(cards):
    frame = charts.radar_frame(cards[2:])
    compliance = frame[frame["trait"] == "compliance"].iloc[0]
    assert compliance["x"] is None or math.isnan(compliance["x"])
    assert "no contrast" in compliance["note"]


def test_radar_tooltips_absolute_values(cards):
    spec = charts.radar_chart(cards).to_dict()
    fields = {tooltip["field"] for layer in spec["layer"] for tooltip in layer.get("encoding", {}).get("tooltip", [])}
    assert {"percentile", "value", "ci_low", "ci_high", "metrics"} <= fields


def test_radar_uses_okabe_ito(cards):
    spec = charts.radar_chart(cards).to_dict()
    ranges = [layer["encoding"]["color"]["scale"]["range"] for layer in spec["layer"] if "color" in layer.get("encoding", {})]
    assert ranges
    assert all(colour in charts.OKABE_ITO for colour in ranges[0])


def test_radar_bad_percentile():
    with pytest.raises(ValueError, match="percentile of trait 'a' for model 'm' is 120"):
        charts.radar_frame({"m": {"a": 120, "b": 50, "c": 20}})


def test_radar_too_few_traits():
    with pytest.raises(ValueError, match="at least 3 traits"):
        charts.radar_frame({"m": {"a": 10, "b": 50}})


def test_radar_bad_input_type():
    with pytest.raises(TypeError, match="radar_chart expects"):
        charts.radar_frame(42)


def test_radar_table_one_row_per_trait(cards):
    table = charts.radar_table(cards)
    assert len(table) == 3 * 9
    assert list(table.columns[:4]) == ["model", "trait", "label", "percentile"]


def test_trait_table_has_ci(cards):
    table = charts.trait_table(cards[0])
    structure = table[table["trait"] == "structure"].iloc[0]
    assert structure["ci_low"] < structure["value"] < structure["ci_high"]


def test_trait_table_unavailable_reason(cards):
    table = charts.trait_table(cards[2])
    compliance = table[table["trait"] == "compliance"].iloc[0]
    assert "no contrast" in compliance["note"]


def test_drift_table_no_contrast_row(cards):
    table = charts.drift_table(cards)
    imported = table[table["model"] == "imported"]
    assert len(imported) == 1
    assert imported["drift"].isna().all()
    assert "no contrast" in imported["note"].iloc[0]


def test_drift_table_constraint_type(cards):
    table = charts.drift_table(cards[:2], constraint_type="json_schema")
    assert set(table["metric"]) == {"word_count", "hedge_rate", "politeness_rate"}


def test_drift_table_unknown_constraint(cards):
    table = charts.drift_table(cards[:1], constraint_type="haiku")
    assert "no haiku prompts" in table["note"].iloc[0]


def test_drift_table_top_metrics():
    card = make_card("sim/a")
    card["drift"]["overall"] = {"small": 0.1, "large": -2.0, "medium": 0.5}
    table = charts.drift_table([card], top=2)
    assert set(table["metric"]) == {"large", "medium"}


def test_drift_profile_table_rows(cards):
    table = charts.drift_profile_table(cards[1])
    assert set(table["constraint_type"]) == {"bullets", "json_schema", "word_limit", "impossible_bullets", "overall"}


def test_compliance_table_kinds(cards):
    table = charts.compliance_table(cards[0])
    kinds = dict(zip(table["constraint_type"], table["kind"]))
    assert kinds["overall"] == "overall"
    assert kinds["impossible_bullets"] == "impossible set"
    assert kinds["json_schema"] == "constraint type"


def test_compliance_table_no_contrast(cards):
    table = charts.compliance_table(cards[2])
    assert len(table) == 1
    assert table["follow_rate"].isna().all()


def test_png_blocks_external_data():
    chart = alt.Chart(alt.UrlData("http://127.0.0.1:9/data.csv")).mark_point().encode(x="a:Q")
    with pytest.raises(ValueError, match="not allowed"):
        charts.chart_to_png(chart)
