"""Compare: two to four models, or two scopes (runs or date ranges) of one model.

Overlaid radars show the trait percentiles; the version diff (a permutation test per metric
on the per-response values, Benjamini-Hochberg corrected) lists the significant differences.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import streamlit as st

from bsb_core import card_view
from bsb_core.cards import CardNotFoundError, find_card
from ui import charts, data, tables, widgets

MAX_MODELS = 4
# False discovery rate for calling a metric different (Benjamini-Hochberg).
ALPHA = 0.05


def show_diff(context: widgets.StoreContext, first: tuple[str, str], second: tuple[str, str], label_a: str, label_b: str) -> None:
    """Draw the significant differences of ``second`` against ``first`` (each a model and a scope)."""
    try:
        diffs = data.diffs(context.db, context.version, first[0], first[1], second[0], second[1], ALPHA)
    except ValueError as exc:
        st.warning(str(exc))
        return
    significant = sum(1 for diff in diffs if diff["significant"])
    st.markdown(f"**{significant} of {len(diffs)} metrics differ** (A = {label_a}, B = {label_b}; false discovery rate {ALPHA}).")
    chart, table = charts.diff_effects(diffs, "A", "B")
    spec = None if chart is None else chart.to_dict()
    widgets.show_spec_with_table(spec, table, f"version diff, A = {label_a}, B = {label_b}", "No metric differs significantly.")


def scope_label(run: Mapping[str, Any]) -> str:
    """Return a run as a scope choice, e.g. ``run:3 (collect, 2024-05-01)``."""
    return f"run:{run['id']} ({run.get('kind')}, {str(run.get('started_at') or '')[:10]})"


def compare_models(context: widgets.StoreContext) -> None:
    """Draw the overlaid radar of two to four models and each one's diff against the first."""
    names = [card_view.model_name(card) for card in context.cards]
    labels = {card_view.model_name(card): tables.card_label(card) for card in context.cards}
    picked = st.multiselect(
        f"Models (2 to {MAX_MODELS}; the first is the reference)", names, default=names[:2],
        max_selections=MAX_MODELS, format_func=labels.get, key="compare_models",
    )  # fmt: skip
    if len(picked) < 2:
        st.info("Pick at least two models.")
        return
    cards = [find_card(context.cards, name) for name in picked]
    widgets.simulated_note(cards)
    widgets.chart_with_table("radar", cards, "trait percentiles of the compared models", "These cards have fewer than 3 traits.")

    st.subheader("Significant differences")
    tabs = st.tabs([f"{labels[name]} vs {labels[picked[0]]}" for name in picked[1:]])
    for tab, name in zip(tabs, picked[1:]):
        with tab:
            show_diff(context, (picked[0], "all"), (name, "all"), labels[picked[0]], labels[name])


def compare_versions(context: widgets.StoreContext) -> None:
    """Draw one model in two scopes: overlaid radars and the version diff."""
    card = widgets.model_picker(context.cards, "Model", key="compare_version_model")
    model = card_view.model_name(card)
    runs = (card.get("provenance") or {}).get("runs") or []
    choices = [f"run:{run['id']}" for run in runs]
    run_labels = {f"run:{run['id']}": scope_label(run) for run in runs}
    custom = "other scope…"
    if len(choices) < 2:
        st.caption(f"{model} has responses from {len(choices)} run(s); enter date ranges (<from>..<to>) to compare periods.")
    columns = st.columns(2)
    scopes = []
    for index, (column, name) in enumerate(zip(columns, ("A", "B"))):
        with column:
            options = choices + [custom]
            default = min(index, len(options) - 1)
            chosen = st.selectbox(f"Scope {name}", options, index=default, format_func=lambda c: run_labels.get(c, c), key=f"compare_scope_{name}")
            if chosen == custom:
                chosen = st.text_input(
                    f"Scope {name}: all, run:<id> or <from>..<to>", value="all", key=f"compare_scope_text_{name}",
                    help="ISO dates, inclusive; either end may be left empty, e.g. 2024-05-01..",
                ).strip()  # fmt: skip
            scopes.append(chosen)
    if scopes[0] == scopes[1]:
        st.info("Pick two different scopes.")
        return

    version_cards = []
    for scope in scopes:
        try:
            scoped = find_card(data.cards(context.db, context.version, scope), model)
        except (ValueError, CardNotFoundError) as exc:
            st.warning(f"Scope {scope}: {exc}")
            return
        version_cards.append({**scoped, "model": f"{model} [{scope}]"})
    st.caption("Each scope's percentiles compare the model with the models in that same scope.")
    widgets.chart_with_table("radar", version_cards, "trait percentiles per scope", "These cards have fewer than 3 traits.")

    st.subheader("Significant differences")
    show_diff(context, (model, scopes[0]), (model, scopes[1]), f"{model} [{scopes[0]}]", f"{model} [{scopes[1]}]")


st.title("Compare")
context = widgets.store_context()
if context is None:
    st.stop()

mode = st.radio("Compare", ["Models", "Two versions or dates of one model"], horizontal=True, key="compare_mode")
if mode == "Models":
    compare_models(context)
else:
    compare_versions(context)
