"""Overview: every model's trait radar side by side and a sortable trait table with 95% CIs.

Filters: provider, run date (a date range becomes the signature scope ``<from>..<to>``) and
stream (the traits read from the baseline or the contrast stream).
"""

from __future__ import annotations

from datetime import date

import streamlit as st

from bsb_core import card_view
from ui import data, tables, widgets

# Models preselected in the single radar: more outlines than this are hard to tell apart.
DEFAULT_RADAR_MODELS = 6
# Width and height of the single radar, in pixels.
RADAR_SIZE = 440
# Radars per row in the small-multiples layout.
GRID_COLUMNS = 3


def run_dates(db: str, version: tuple) -> tuple[date, date] | None:
    """Return the first and last day any run started or finished, or None without runs."""
    days = []
    for run in data.runs(db, version):
        for key in ("started_at", "finished_at"):
            if run.get(key):
                days.append(date.fromisoformat(str(run[key])[:10]))
    return (min(days), max(days)) if days else None


def date_scope(db: str, version: tuple) -> str:
    """Draw the run-date filter and return the signature scope it selects (``all`` for the full range)."""
    bounds = run_dates(db, version)
    if bounds is None:
        return "all"
    chosen = st.date_input("Run date", value=bounds, min_value=bounds[0], max_value=bounds[1], key="overview_dates")
    if not isinstance(chosen, (tuple, list)) or len(chosen) != 2:
        return "all"
    start, end = chosen
    if (start, end) == bounds:
        return "all"
    return f"{start.isoformat()}..{end.isoformat()}"


st.title("Overview")
context = widgets.store_context()
if context is None:
    st.stop()

providers = sorted({str(card.get("provider", "unknown")) for card in context.cards})
filters = st.columns(3)
with filters[0]:
    chosen_providers = st.multiselect("Provider", providers, default=providers, key="overview_providers")
with filters[1]:
    scope = date_scope(context.db, context.version)
with filters[2]:
    streams = st.multiselect(
        "Stream", list(tables.STREAMS), default=list(tables.STREAMS), key="overview_streams",
        help="Traits read from the baseline stream (free-form answers) or the contrast stream (format constraints).",
    )  # fmt: skip

cards = context.cards if scope == "all" else data.cards(context.db, context.version, scope)
cards = [tables.filter_traits(card, streams) for card in cards if str(card.get("provider", "unknown")) in chosen_providers]
if not cards:
    st.info("No model matches these filters: widen the provider or date selection.")
    st.stop()

st.caption(
    f"{len(cards)} models, scope {scope}. Radar axes are percentiles among the models in the scope; "
    "the table gives each trait's value in pooled standard deviations with its bootstrap 95% CI."
)
widgets.simulated_note(cards)

layout = st.radio("Radar layout", ["One radar with a model picker", "Small multiples"], horizontal=True, key="overview_layout")
names = [card_view.model_name(card) for card in cards]
labels = {card_view.model_name(card): tables.card_label(card) for card in cards}

if layout == "One radar with a model picker":
    picked = st.multiselect(
        "Models on the radar", names, default=names[:DEFAULT_RADAR_MODELS], format_func=labels.get, key="overview_radar_models"
    )
    spec, table = widgets.chart_spec("radar", [card for card in cards if card_view.model_name(card) in picked], size=RADAR_SIZE)
    left, right = st.columns([3, 2])
    with left:
        if spec is None:
            st.info("Pick at least one model, and keep at least 3 traits (both streams) to draw a radar.")
        else:
            widgets.draw_chart(spec, "Trait radar of the picked models")
    with right:
        st.markdown("**Radar table** (percentile among models and trait value)")
        widgets.show_table(table, height=420)
else:
    rows = [cards[start : start + GRID_COLUMNS] for start in range(0, len(cards), GRID_COLUMNS)]
    for row in rows:
        columns = st.columns(GRID_COLUMNS)
        for column, card in zip(columns, row):
            with column:
                st.markdown(f"**{tables.card_label(card)}**")
                spec, _ = widgets.chart_spec("radar", [card], size=220)
                if spec is None:
                    st.caption("Fewer than 3 traits: see the table.")
                else:
                    widgets.draw_chart(spec, f"Trait radar of {tables.card_label(card)}")
    with st.expander("Table: radar values of every model"):
        widgets.show_table(widgets.chart_spec("radar", cards)[1])

st.subheader("Traits")
trait_table = tables.overview_table(cards)
number_columns = {
    column: st.column_config.NumberColumn(column, format="%.2f")
    for column in trait_table.columns
    if column not in ("model", "simulated", "provider", "responses") and not column.endswith("95% CI")
}
st.dataframe(
    trait_table,
    hide_index=True,
    width="stretch",
    column_config={"simulated": st.column_config.CheckboxColumn("simulated", help="A sim/ persona, not a real model."), **number_columns},
)
st.caption("Click a column header to sort. Empty cells: the trait cannot be measured from this data (the model card says why).")
