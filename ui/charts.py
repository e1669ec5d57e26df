"""The app's Altair charts: ``bsb_core.charts`` (shared with the PDF card) plus two app-only charts.

Each function returns ``(chart, table)``: the table is the chart's text alternative, shown
beside it. Cards are relabelled with :func:`ui.tables.card_label` first, so simulated models
read ``(simulated)`` in legends, axes and tooltips too.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import altair as alt
import pandas as pd

from bsb_core import charts as core
from ui import tables

# Minimum number of traits a radar can draw (a polygon needs three spokes).
MIN_RADAR_TRAITS = 3
# Pixels an axis label may take before Vega-Lite truncates it; model names with the
# "(simulated)" suffix need about this much.
LABEL_LIMIT = 260


def _readable(chart: alt.TopLevelMixin) -> alt.TopLevelMixin:
    """Let axis and legend labels run to LABEL_LIMIT pixels and show every label of a categorical axis."""
    return chart.configure_axis(labelLimit=LABEL_LIMIT).configure_axisBand(labelOverlap=False).configure_legend(labelLimit=LABEL_LIMIT)


def labelled(cards: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Return shallow copies of ``cards`` whose model name carries the simulated marker."""
    return [{**card, "model": tables.card_label(card)} for card in cards]


def radar(cards: Iterable[Mapping[str, Any]], size: int = 380) -> tuple[alt.TopLevelMixin | None, pd.DataFrame]:
    """Return the overlaid trait radar of ``cards`` and its table; the chart is None with fewer than 3 traits."""
    relabelled = labelled(cards)
    trait_names = {trait["name"] for card in relabelled for trait in card.get("traits", [])}
    if not relabelled or len(trait_names) < MIN_RADAR_TRAITS:
        return None, pd.DataFrame(columns=["model", "trait", "percentile", "value", "ci_low", "ci_high", "metrics", "note"])
    table = core.radar_table(relabelled).drop(columns=["trait"]).rename(columns={"label": "trait"})
    return _readable(core.radar_chart(relabelled, size=size)), table


def trait_bars(card: Mapping[str, Any]) -> tuple[alt.TopLevelMixin, pd.DataFrame]:
    """Return one model's trait values with 95% CIs as bars and its table."""
    relabelled = labelled([card])[0]
    return _readable(core.trait_bars(relabelled)), core.trait_table(relabelled)


def drift_map(
    cards: Iterable[Mapping[str, Any]], constraint_type: str | None = None, top: int | None = 20
) -> tuple[alt.TopLevelMixin, pd.DataFrame]:
    """Return the drift heatmap (models × metrics) and its table, for one constraint type or overall."""
    relabelled = labelled(cards)
    return _readable(core.drift_heatmap(relabelled, constraint_type, top)), core.drift_table(relabelled, constraint_type, top)


def drift_profile(card: Mapping[str, Any], top: int = 10) -> tuple[alt.TopLevelMixin, pd.DataFrame]:
    """Return one model's drift map (constraint types × metrics) and its table."""
    relabelled = labelled([card])[0]
    return _readable(core.drift_profile(relabelled, top)), core.drift_profile_table(relabelled, top)


def compliance(card: Mapping[str, Any]) -> tuple[alt.TopLevelMixin, pd.DataFrame]:
    """Return one model's follow rates per constraint type and its table."""
    relabelled = labelled([card])[0]
    return _readable(core.compliance_chart(relabelled)), core.compliance_table(relabelled)


def drift_ranking(cards: Iterable[Mapping[str, Any]], constraint_type: str | None = None) -> tuple[alt.TopLevelMixin | None, pd.DataFrame]:
    """Return models ranked by drift magnitude as bars with 95% CI whiskers, and the ranking table.

    The chart is None when no model has a drift magnitude (a store without contrast data).
    """
    cards = list(cards)
    table = tables.drift_ranking(cards, constraint_type)
    table["model"] = [tables.model_label(name, simulated) for name, simulated in zip(table["model"], table["simulated"])]
    present = table.dropna(subset=["magnitude"])
    if present.empty:
        return None, table
    order = list(present["model"])
    y = alt.Y("model:N", sort=order, title=None)
    x_title = "drift magnitude (baseline SDs)" + ("" if constraint_type is None else f" under {constraint_type}")
    tooltip = [
        alt.Tooltip("rank:Q"),
        alt.Tooltip("model:N"),
        alt.Tooltip("magnitude:Q", format=".2f", title="drift magnitude"),
        alt.Tooltip("ci_low:Q", format=".2f", title="95% CI low"),
        alt.Tooltip("ci_high:Q", format=".2f", title="95% CI high"),
    ]
    base = alt.Chart(present)
    bars = base.mark_bar(color=core.OKABE_ITO[5], opacity=0.85).encode(x=alt.X("magnitude:Q", title=x_title), y=y, tooltip=tooltip)
    whiskers = base.transform_filter("datum.ci_low != null && datum.ci_high != null").mark_errorbar(color="#000000", ticks=True).encode(
        x=alt.X("ci_low:Q", title=x_title), x2="ci_high:Q", y=y
    )
    chart = alt.layer(bars, whiskers).properties(height=alt.Step(22), title="Drift magnitude ranking")
    return _readable(chart), table


def diff_effects(diffs: Iterable[Mapping[str, Any]], label_a: str, label_b: str, limit: int = 20) -> tuple[alt.TopLevelMixin | None, pd.DataFrame]:
    """Return the significant differences of a version diff as effect-size bars, and the full diff table.

    Bars point right where B is higher than A. The chart is None when nothing is significant.
    """
    diffs = list(diffs)
    table = tables.diff_table(diffs, label_a, label_b)
    significant = [diff for diff in diffs if diff["significant"] and diff["effect_size"] is not None][:limit]
    if not significant:
        return None, table
    frame = pd.DataFrame(
        {
            "metric": [diff["metric"] for diff in significant],
            "effect_size": [diff["effect_size"] for diff in significant],
            "mean_a": [diff["mean_a"] for diff in significant],
            "mean_b": [diff["mean_b"] for diff in significant],
            "q_value": [diff["q_value"] for diff in significant],
            "direction": ["higher in B" if diff["effect_size"] > 0 else "lower in B" for diff in significant],
        }
    )
    colours = alt.Scale(domain=["higher in B", "lower in B"], range=[core.OKABE_ITO[1], core.OKABE_ITO[0]])
    chart = (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X("effect_size:Q", title=f"effect size (Cohen's d), B = {label_b} vs A = {label_a}"),
            y=alt.Y("metric:N", sort=list(frame["metric"]), title=None),
            color=alt.Color("direction:N", scale=colours, legend=alt.Legend(title=None, orient="bottom")),
            tooltip=[
                alt.Tooltip("metric:N"),
                alt.Tooltip("mean_a:Q", format=".3g", title=f"mean {label_a}"),
                alt.Tooltip("mean_b:Q", format=".3g", title=f"mean {label_b}"),
                alt.Tooltip("effect_size:Q", format="+.2f", title="effect size (d)"),
                alt.Tooltip("q_value:Q", format=".3g", title="q-value (BH)"),
            ],
        )
        .properties(height=alt.Step(20), title=f"Significant differences (largest {len(frame)})")
    )
    return _readable(chart), table


__all__ = ["compliance", "diff_effects", "drift_map", "drift_profile", "drift_ranking", "labelled", "radar", "trait_bars"]
