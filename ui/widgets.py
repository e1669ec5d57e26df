"""Streamlit pieces every page shares: the store context, the empty-store guide, badges, model pickers.

Pages call :func:`store_context` first. It resolves the store and reads its version and cards
through the cached loaders in :mod:`ui.data`. When there is nothing to show, it draws what to
do next and the page stops, so an empty store never reaches a page as an error.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
import streamlit as st

from bsb_core import card_view
from ui import charts, data, tables

NEXT_STEPS = """\
**To fill it**, run one of these from the repository root, then reload this page:

- `bsb run` collects from the simulated personas (no API keys needed), scores the responses
  and computes the signatures.
- `bsb import ../shared/data/alpaca_eval/*.jsonl`, then `bsb score` and
  `bsb signatures --refresh`, brings in transcripts you already have.

The **Runs** page can also start a collection, and **Settings** can point the app at another store.
"""


@dataclass(frozen=True)
class StoreContext:
    """The store a page reads: its location, path as text, version (the cache key) and the cards of scope ``all``."""

    location: data.StoreLocation
    db: str
    version: tuple[Any, ...]
    cards: list[dict[str, Any]]


def store_context(require_cards: bool = True) -> StoreContext | None:
    """Return the page's store context, or draw the empty-store guide and return None.

    With ``require_cards`` False, a store without cards still returns a context (with no
    cards), for pages such as Runs and Settings that are useful before any signature exists.
    """
    location = data.current_location()
    if location.config_error:
        st.warning(f"bsb.toml could not be read, so the default store is used: {location.config_error}")
    if not location.exists:
        st.info(f"No BSB store at `{location.path}` ({location.source}) yet.\n\n{NEXT_STEPS}")
        return None
    try:
        version = data.store_version(location.path)
    except data.StoreUnreadableError as exc:
        st.error(str(exc))
        return None
    cards = data.cards(str(location.path), version)
    if require_cards and not cards:
        st.info(f"The store `{location.path}` has no scored responses, so there are no signatures to show yet.\n\n{NEXT_STEPS}")
        return None
    return StoreContext(location, str(location.path), version, cards)


def simulated_badge(card_or_row: Mapping[str, Any]) -> None:
    """Draw the orange ``simulated`` badge when the card or model row is a simulated persona."""
    if bool(card_or_row.get("simulated")):
        st.badge("simulated", icon=":material/smart_toy:", color="orange", help="Data from a sim/ persona, not from a real model.")


def model_header(card: Mapping[str, Any]) -> None:
    """Draw a model's name with its simulated badge, provider and response counts."""
    st.subheader(card_view.model_name(card))
    simulated_badge(card)
    streams = card.get("streams") or {}
    st.caption(
        f"provider {card.get('provider', 'unknown')} · {card.get('n_responses', 0)} scored responses "
        f"({streams.get('baseline', 0)} baseline, {streams.get('contrast', 0)} contrast, "
        f"{streams.get('paraphrase', 0)} paraphrase) · scope {card.get('scope', 'all')} · computed {card.get('computed_at', '')}"
    )


def model_picker(
    cards: Sequence[Mapping[str, Any]], label: str, key: str, default: str | None = None, query_param: str | None = None
) -> Mapping[str, Any]:
    """Draw a select box of the cards' models (simulated ones marked) and return the chosen card.

    With ``query_param``, the URL's ``?<query_param>=<model>`` picks the first choice and the
    choice is written back to the URL, so a model's page can be linked.
    """
    names = [card_view.model_name(card) for card in cards]
    wanted = default
    if query_param and st.query_params.get(query_param) in names and key not in st.session_state:
        wanted = st.query_params.get(query_param)
    index = names.index(wanted) if wanted in names else 0
    labels = {card_view.model_name(card): tables.card_label(card) for card in cards}
    chosen = st.selectbox(label, names, index=index, key=key, format_func=labels.get)
    if query_param:
        st.query_params[query_param] = chosen
    return cards[names.index(chosen)]


# Chart builders of ui.charts by name; each takes a list of cards (single-card charts use the first).
CHART_BUILDERS: dict[str, Callable[..., tuple[Any, pd.DataFrame]]] = {
    "radar": lambda cards, **options: charts.radar(cards, **options),
    "trait_bars": lambda cards, **options: charts.trait_bars(cards[0], **options),
    "drift_map": lambda cards, **options: charts.drift_map(cards, **options),
    "drift_profile": lambda cards, **options: charts.drift_profile(cards[0], **options),
    "compliance": lambda cards, **options: charts.compliance(cards[0], **options),
    "drift_ranking": lambda cards, **options: charts.drift_ranking(cards, **options),
}


def card_fingerprint(cards: Sequence[Mapping[str, Any]]) -> tuple[Any, ...]:
    """Return what identifies the cards' content: model, scope, computation time, response count and traits.

    The traits enter with their values and percentiles, so two stores whose cards were
    computed in the same second still differ here.
    """
    return tuple(
        (
            card.get("model"),
            card.get("scope"),
            card.get("computed_at"),
            card.get("n_responses"),
            tuple((trait.get("name"), trait.get("value"), trait.get("percentile")) for trait in card.get("traits", [])),
        )
        for card in cards
    )


@st.cache_data(show_spinner=False, max_entries=256)
def _cached_chart(kind: str, fingerprint: tuple[Any, ...], options: tuple[tuple[str, Any], ...], _cards: list[Mapping[str, Any]]) -> tuple[dict[str, Any] | None, pd.DataFrame]:
    # `_cards` is not hashed (leading underscore): `fingerprint` stands for it, which saves
    # hashing every card on every page load.
    chart, table = CHART_BUILDERS[kind](list(_cards), **dict(options))
    return (None if chart is None else chart.to_dict()), table


def chart_spec(kind: str, cards: Sequence[Mapping[str, Any]], **options: Any) -> tuple[dict[str, Any] | None, pd.DataFrame]:
    """Return the Vega-Lite spec (None when there is nothing to draw) and the table of a ``ui.charts`` chart.

    Both are cached per chart kind, options and card content, because building and validating
    an Altair chart takes a tenth of a second or more per chart.
    """
    return _cached_chart(kind, card_fingerprint(cards), tuple(sorted(options.items())), list(cards))


def draw_chart(spec: dict[str, Any], title: str) -> None:
    """Draw a Vega-Lite spec at its own size, with ``title`` as its text description."""
    st.vega_lite_chart(spec=spec, width="content", alt=f"{title}; the table with the chart holds the same numbers")


def chart_with_table(kind: str, cards: Sequence[Mapping[str, Any]], title: str, empty_note: str = "", **options: Any) -> None:
    """Draw a cached chart with its table (the text alternative) in an expander right under it."""
    spec, table = chart_spec(kind, cards, **options)
    show_spec_with_table(spec, table, title, empty_note)


def show_table(table: pd.DataFrame, height: int | str = "auto") -> None:
    """Draw a table with three significant digits in float columns and a checkbox for ``simulated``."""
    config: dict[str, Any] = {
        column: st.column_config.NumberColumn(column, format="%.3g") for column in table.columns if pd.api.types.is_float_dtype(table[column])
    }
    if "simulated" in table.columns:
        config["simulated"] = st.column_config.CheckboxColumn("simulated", help="A sim/ persona, not a real model.")
    st.dataframe(table, hide_index=True, width="stretch", height=height, column_config=config)


def show_spec_with_table(spec: dict[str, Any] | None, table: pd.DataFrame, title: str, empty_note: str = "") -> None:
    """Draw a chart spec (or ``empty_note`` when it is None) with its table in an expander under it."""
    if spec is None:
        st.info(empty_note or "Nothing to draw: see the table.")
    else:
        draw_chart(spec, title)
    with st.expander(f"Table: {title}", expanded=spec is None):
        show_table(table)


def simulated_note(cards: Sequence[Mapping[str, Any]]) -> None:
    """Draw a caption saying how many of the shown models are simulated, if any are."""
    count = sum(1 for card in cards if card_view.is_simulated(card))
    if count:
        st.caption(f"{count} of {len(cards)} models are simulated personas (marked “simulated”): their data is not from a real model.")


__all__ = [
    "NEXT_STEPS",
    "StoreContext",
    "card_fingerprint",
    "chart_spec",
    "chart_with_table",
    "draw_chart",
    "model_header",
    "model_picker",
    "show_spec_with_table",
    "show_table",
    "simulated_badge",
    "simulated_note",
    "store_context",
]
