"""Drift map: models × metrics coloured by standardised drift, and the drift magnitude ranking.

Drift is contrast minus baseline, paired by topic, in baseline standard deviations: how much
a model's natural style bends under format pressure, overall or for one constraint type.
"""

from __future__ import annotations

import streamlit as st

from bsb_core import card_view
from ui import tables, widgets

OVERALL = "all constraint types"

st.title("Drift map")
context = widgets.store_context()
if context is None:
    st.stop()

types = tables.constraint_types(context.cards)
controls = st.columns([2, 1])
with controls[0]:
    chosen = st.selectbox("Constraint type", [OVERALL, *types], key="drift_constraint_type")
with controls[1]:
    top = st.slider("Metrics shown (largest drift first)", min_value=5, max_value=60, value=20, step=5, key="drift_top")
constraint_type = None if chosen == OVERALL else chosen
cards = context.cards
without_drift = [card for card in cards if not card_view.drift(card).available]
if not types:
    st.info(
        "No model in this store has a contrast stream, so drift cannot be measured: imported transcripts contain "
        "baseline answers only. `bsb run` collects both streams."
    )
elif without_drift and st.toggle(f"Hide the {len(without_drift)} models without contrast data", value=True, key="drift_hide_missing"):
    cards = [card for card in cards if card_view.drift(card).available]
widgets.simulated_note(cards)

widgets.chart_with_table("drift_map", cards, "standardised drift per model and metric", constraint_type=constraint_type, top=top)

st.subheader("Drift magnitude ranking")
st.caption("Root mean square of the standardised drift over the stylistic and pragmatic metrics: higher means the voice changes more.")
widgets.chart_with_table(
    "drift_ranking", cards, "drift magnitude per model", "No model has a drift magnitude in this scope.", constraint_type=constraint_type
)  # fmt: skip
