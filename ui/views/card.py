"""Model card: one model's signature with its charts, tables, paraphrase, excerpts and card downloads.

The model is chosen in the select box or with ``?model=<name>`` in the URL. The card is split
into sections (tabs); only the open section is drawn, and ``?card_section=<name>`` opens one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import streamlit as st

from bsb_core import card_view
from ui import data, tables, widgets

SECTIONS = ("Traits", "Drift", "Compliance", "Paraphrase and excerpts", "Provenance")


def traits_section(card: Mapping[str, Any]) -> None:
    """Draw the radar, the trait bars with CIs, the distinctive metrics and the prompt tips."""
    left, right = st.columns(2)
    with left:
        widgets.chart_with_table("radar", [card], "trait percentiles", "This card has fewer than 3 traits.", size=340)
    with right:
        widgets.chart_with_table("trait_bars", [card], "trait values with 95% CIs")

    st.subheader("Distinctive traits")
    distinctive = tables.distinctive_table(card)
    if distinctive.empty:
        st.caption("No metric sets this model apart from the others in the scope (or it is the only model).")
    else:
        for sentence in card_view.distinctive(card)[:5]:
            st.markdown(f"- {sentence}")
        with st.expander("Table: distinctive metrics"):
            widgets.show_table(distinctive)

    tips = card_view.prompt_tips(card)
    if tips:
        st.subheader("Prompt tips")
        for tip in tips:
            st.markdown(f"- {tip}")


def drift_section(card: Mapping[str, Any]) -> None:
    """Draw the drift magnitude, the drift map (constraint types × metrics) and the impossible-set handling."""
    drift = card_view.drift(card)
    if drift.available and drift.magnitude is not None:
        low, high = (card.get("drift") or {}).get("magnitude_ci") or (None, None)
        interval = "" if low is None else f" (95% CI {low:.2f} to {high:.2f})"
        st.markdown(f"Drift magnitude **{drift.magnitude:.2f}** baseline SDs{interval}: how far the voice moves when format constraints apply.")
    elif not drift.available:
        st.info(f"Drift unavailable: {drift.reason or 'no drift data'}.")
    widgets.chart_with_table("drift_profile", [card], "drift by constraint type and metric")

    impossible = tables.impossible_table(card)
    if not impossible.empty:
        st.markdown("**Impossible constraint sets** (responses per handling class)")
        widgets.show_table(impossible)


def compliance_section(card: Mapping[str, Any]) -> None:
    """Draw the follow rate per constraint type, or why compliance is unavailable."""
    section = card.get("compliance") or {}
    if not section.get("available"):
        st.info(f"Compliance unavailable: {section.get('reason') or 'no contrast data'}.")
    widgets.chart_with_table("compliance", [card], "follow rates per constraint type")


def paraphrase_section(card: Mapping[str, Any]) -> None:
    """Draw the model's paraphrase of the rules with its scores, and the response excerpts with their prompts."""
    st.subheader("Paraphrase of the rules")
    paraphrase = card.get("paraphrase") or {}
    if paraphrase.get("available"):
        figures = st.columns(3)
        ratio = paraphrase.get("length_ratio")
        coverage = paraphrase.get("rule_coverage")
        figures[0].metric("Length ratio", "n/a" if ratio is None else f"{ratio:.2f}", help="Words in the paraphrase divided by words in the rules.")
        figures[1].metric("Rule coverage", "n/a" if coverage is None else f"{coverage:.0%}", help="Share of rules whose key content words appear in the paraphrase.")
        figures[2].metric("Rules", paraphrase.get("n_rules", 0))
        st.caption("The model's restatement of the suite's rules, used as its system prompt for every later request:")
        st.code(paraphrase.get("text") or "", language=None, wrap_lines=True)
    else:
        st.caption(f"No paraphrase: {paraphrase.get('reason') or 'this data has no paraphrase stream'}.")

    st.subheader("Response excerpts")
    excerpts = card_view.excerpts(card)
    if not excerpts:
        st.caption("No excerpts in this card.")
    for excerpt in excerpts:
        variant = excerpt.get("variant") or excerpt.get("stream")
        st.markdown(f"**Prompt** ({excerpt.get('stream')}, {variant}, response {excerpt.get('response_id')})")
        st.code(excerpt.get("prompt") or "", language=None, wrap_lines=True)
        suffix = " (truncated)" if excerpt.get("truncated") else ""
        st.markdown(f"**Response**{suffix}")
        st.code(excerpt.get("response") or "", language=None, wrap_lines=True)


def provenance_section(card: Mapping[str, Any]) -> None:
    """Draw where the card's numbers come from: runs, suite hashes, pipelines, bootstrap settings."""
    st.json(card.get("provenance") or {}, expanded=2)


DRAW_SECTION = {
    "Traits": traits_section,
    "Drift": drift_section,
    "Compliance": compliance_section,
    "Paraphrase and excerpts": paraphrase_section,
    "Provenance": provenance_section,
}

st.title("Model card")
context = widgets.store_context()
if context is None:
    st.stop()

card = widgets.model_picker(context.cards, "Model", key="card_model", query_param="model")
model = card_view.model_name(card)
widgets.model_header(card)

file_stem = model.replace("/", "_")
downloads = st.container(horizontal=True)
with downloads:
    st.download_button(
        "Download JSON card", data=data.card_json(context.db, context.version, model),
        file_name=f"{file_stem}.card.json", mime="application/json", on_click="ignore", icon=":material/data_object:",
    )  # fmt: skip
    # The PDF takes seconds to render, so it is made on click (and cached), not on every page load.
    st.download_button(
        "Download PDF card", data=lambda: data.card_pdf(context.db, context.version, model),
        file_name=f"{file_stem}.card.pdf", mime="application/pdf", on_click="ignore", icon=":material/picture_as_pdf:",
    )  # fmt: skip

# Only the open tab is drawn. A card has up to four charts and many tables, and drawing them all
# took a warm browser load of this page from about 1.1 s to 1.8 s (bench/ui_bench.py).
tabs = st.tabs(list(SECTIONS), key="card_section", on_change="rerun", bind="query-params")
for name, tab in zip(SECTIONS, tabs):
    with tab:
        if tab.open:
            DRAW_SECTION[name](card)
