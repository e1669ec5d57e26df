"""Altair chart builders shared by the PDF card and the Streamlit app.

Every chart has a text alternative beside it: a function that returns the same numbers as a
pandas DataFrame (``radar_table`` for ``radar_chart`` and so on), so the app can show a table
and the PDF can print one. Colours come from the Okabe-Ito palette, which stays distinct under
the common forms of colour blindness. Series beyond its eight colours also differ by point shape.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import altair as alt
import pandas as pd

from bsb_core import card_view
from bsb_core.pdf_text import resolve_fallback_font

# Okabe & Ito (2008), "Color Universal Design": eight colours distinguishable by viewers with
# protanopia, deuteranopia or tritanopia. Black comes last because the radar's grid is grey.
OKABE_ITO = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]
POINT_SHAPES = ["circle", "square", "triangle-up", "diamond", "cross", "triangle-down"]

# Diverging scheme for drift (negative = the metric drops under constraints). Vega's
# "blueorange" avoids the red/green pair that deuteranopes confuse.
DRIFT_SCHEME = "blueorange"

RADAR_RINGS = (25, 50, 75, 100)  # percentile rings drawn on the radar
RADAR_LABEL_RADIUS = 118  # where trait names sit, in percentile units from the centre
RADAR_EXTENT = 150  # half-width of the radar's square domain, leaving room for labels


def _palette(count: int) -> list[str]:
    return [OKABE_ITO[index % len(OKABE_ITO)] for index in range(count)]


def _shapes(count: int) -> list[str]:
    return [POINT_SHAPES[(index // len(OKABE_ITO)) % len(POINT_SHAPES)] for index in range(count)]


def _dashes(count: int) -> list[list[int]]:
    """Solid outlines for the first eight series, then dashed, then dotted, so repeated colours differ."""
    patterns = [[1, 0], [6, 3], [2, 2]]
    return [patterns[(index // len(OKABE_ITO)) % len(patterns)] for index in range(count)]


def _angle(index: int, count: int) -> float:
    """Angle in radians of spoke ``index`` of ``count``: the first points up, the rest go clockwise."""
    return math.pi / 2 - 2 * math.pi * index / count


# --- radar ------------------------------------------------------------------------------------


def _radar_series(cards_or_traits: Any) -> list[tuple[str, bool, list[card_view.TraitView]]]:
    """Normalise the radar input into (model, simulated, traits) triples.

    Accepts one card, a list of cards, or a mapping ``{model: {trait: percentile}}``.
    """
    if isinstance(cards_or_traits, Mapping) and card_view.is_card(cards_or_traits):
        cards_or_traits = [cards_or_traits]
    if isinstance(cards_or_traits, Mapping):
        series = []
        for model, traits in cards_or_traits.items():
            if not isinstance(traits, Mapping):
                raise TypeError(f"radar input for model {model!r} must map trait names to percentiles, got {type(traits).__name__}")
            views = [card_view.TraitView(name=name, percentile=_as_percentile(model, name, value)) for name, value in traits.items()]
            series.append((str(model), False, views))
        return series
    if isinstance(cards_or_traits, Iterable) and not isinstance(cards_or_traits, (str, bytes)):
        return [(card_view.model_name(card), card_view.is_simulated(card), card_view.traits(card)) for card in cards_or_traits]
    raise TypeError(
        f"radar_chart expects a card, a list of cards or a mapping of model to trait percentiles, got {type(cards_or_traits).__name__}"
    )


def _as_percentile(model: str, trait: str, value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, Mapping):
        value = value.get("percentile")
        if value is None:
            return None
    number = float(value)
    if not 0 <= number <= 100:
        raise ValueError(f"percentile of trait {trait!r} for model {model!r} is {number}: expected a value from 0 to 100")
    return number


def radar_frame(cards_or_traits: Any) -> pd.DataFrame:
    """Return one row per model and trait with the radar's x/y position and the values behind it.

    Each model's polygon closes because its first trait is repeated as a last row (``order`` =
    trait count). Traits with no percentile get null x/y so the outline breaks there instead of
    pretending a value.
    """
    series = _radar_series(cards_or_traits)
    trait_names = _trait_order(series)
    count = len(trait_names)
    rows = []
    for model, simulated, traits in series:
        by_name = {trait.name: trait for trait in traits}
        for order in range(count + 1):
            name = trait_names[order % count]
            trait = by_name.get(name, card_view.TraitView(name=name))
            angle = _angle(order % count, count)
            percentile = trait.percentile
            rows.append(
                {
                    "model": model,
                    "simulated": simulated,
                    "trait": name,
                    "label": trait.display_name,
                    "order": order,
                    "percentile": percentile,
                    "value": trait.value,
                    "ci_low": trait.ci_low,
                    "ci_high": trait.ci_high,
                    "metrics": card_view.metrics_text(trait),
                    "note": trait.reason or "",
                    "x": None if percentile is None else percentile * math.cos(angle),
                    "y": None if percentile is None else percentile * math.sin(angle),
                }
            )
    return pd.DataFrame(rows, columns=["model", "simulated", "trait", "label", "order", "percentile", "value", "ci_low", "ci_high", "metrics", "note", "x", "y"])


def _trait_order(series: list[tuple[str, bool, list[card_view.TraitView]]]) -> list[str]:
    names: list[str] = []
    for _, _, traits in series:
        for trait in traits:
            if trait.name not in names:
                names.append(trait.name)
    if len(names) < 3:
        raise ValueError(f"a radar needs at least 3 traits, got {len(names)} ({', '.join(names) or 'none'})")
    return names


def radar_table(cards_or_traits: Any) -> pd.DataFrame:
    """Text alternative of :func:`radar_chart`: percentile and absolute value per model and trait."""
    frame = radar_frame(cards_or_traits)
    count = int(frame["order"].max()) if len(frame) else 0
    frame = frame[frame["order"] < count]
    return frame[["model", "trait", "label", "percentile", "value", "ci_low", "ci_high", "metrics", "note"]].reset_index(drop=True)


def _radar_grid(labels: list[str]) -> alt.LayerChart:
    """Rings at fixed percentiles, one spoke per trait and the trait labels, in spoke order."""
    count = len(labels)
    ring_rows = []
    for ring in RADAR_RINGS:
        for order in range(count + 1):
            angle = _angle(order % count, count)
            ring_rows.append({"ring": ring, "order": order, "x": ring * math.cos(angle), "y": ring * math.sin(angle)})
    spoke_rows = []
    label_rows = []
    for index, name in enumerate(labels):
        angle = _angle(index, count)
        spoke_rows.append({"trait": name, "x": 0.0, "y": 0.0, "x2": 100 * math.cos(angle), "y2": 100 * math.sin(angle)})
        x = RADAR_LABEL_RADIUS * math.cos(angle)
        if abs(x) < 1e-6:
            align = "center"
        elif x > 0:
            align = "left"
        else:
            align = "right"
        label_rows.append({"trait": name, "x": x, "y": RADAR_LABEL_RADIUS * math.sin(angle), "align": align})
    ring_label_rows = [{"label": str(ring), "x": 2.0, "y": float(ring)} for ring in RADAR_RINGS]

    scale = alt.Scale(domain=[-RADAR_EXTENT, RADAR_EXTENT], nice=False, zero=False)
    hidden_x = alt.X("x:Q", scale=scale, axis=None)
    hidden_y = alt.Y("y:Q", scale=scale, axis=None)

    rings = (
        alt.Chart(pd.DataFrame(ring_rows))
        .mark_line(color="#BBBBBB", strokeWidth=0.8)
        .encode(x=hidden_x, y=hidden_y, detail="ring:N", order="order:Q")
    )
    spokes = (
        alt.Chart(pd.DataFrame(spoke_rows))
        .mark_rule(color="#BBBBBB", strokeWidth=0.8)
        .encode(x=hidden_x, y=hidden_y, x2="x2:Q", y2="y2:Q")
    )
    ring_labels = (
        alt.Chart(pd.DataFrame(ring_label_rows))
        .mark_text(color="#888888", fontSize=9, align="left", baseline="bottom")
        .encode(x=hidden_x, y=hidden_y, text="label:N")
    )
    # One text layer per alignment, because `align` is a mark property and not an encoding channel.
    label_layers = [
        alt.Chart(pd.DataFrame([row for row in label_rows if row["align"] == align]))
        .mark_text(fontSize=11, align=align, baseline="middle")
        .encode(x=hidden_x, y=hidden_y, text="trait:N")
        for align in ("left", "right", "center")
        if any(row["align"] == align for row in label_rows)
    ]
    return alt.layer(rings, spokes, ring_labels, *label_layers)


def radar_chart(cards_or_traits: Any, size: int = 380) -> alt.LayerChart:
    """Draw trait percentiles as a radar: one closed outline per model.

    Vega-Lite has no polar line mark, so each trait is placed at x/y on its spoke (radius =
    percentile 0-100) and the outline is a line ordered by spoke with the first point repeated.
    Tooltips give the percentile, the trait's absolute value with its CI and the metrics behind it.
    """
    frame = radar_frame(cards_or_traits)
    first_model = frame[frame["model"] == frame["model"].iloc[0]]
    labels = list(first_model.sort_values("order")["label"])[:-1]
    models = list(dict.fromkeys(frame["model"]))
    # Colour and shape share one legend because they encode the same field with the same title.
    legend = alt.Legend(title="model", orient="bottom", columns=2)
    color = alt.Color("model:N", scale=alt.Scale(domain=models, range=_palette(len(models))), legend=legend)
    shape = alt.Shape("model:N", scale=alt.Scale(domain=models, range=_shapes(len(models))), legend=legend)
    scale = alt.Scale(domain=[-RADAR_EXTENT, RADAR_EXTENT], nice=False, zero=False)
    x = alt.X("x:Q", scale=scale, axis=None)
    y = alt.Y("y:Q", scale=scale, axis=None)

    base = alt.Chart(frame)
    dash = alt.StrokeDash("model:N", scale=alt.Scale(domain=models, range=_dashes(len(models))), legend=None)
    outlines = base.mark_line(strokeWidth=2, invalid="break-paths-show-domains").encode(
        x=x, y=y, color=color, strokeDash=dash, detail="model:N", order="order:Q"
    )
    points = (
        base.transform_filter("datum.percentile != null")
        .mark_point(filled=True, size=45)
        .encode(
            x=x,
            y=y,
            color=color,
            shape=shape,
            tooltip=[
                alt.Tooltip("model:N"),
                alt.Tooltip("label:N", title="trait"),
                alt.Tooltip("percentile:Q", format=".0f", title="percentile among models"),
                alt.Tooltip("value:Q", format=".3g", title="trait value"),
                alt.Tooltip("ci_low:Q", format=".3g", title="95% CI low"),
                alt.Tooltip("ci_high:Q", format=".3g", title="95% CI high"),
                alt.Tooltip("metrics:N", title="metrics behind"),
                alt.Tooltip("note:N"),
            ],
        )
    )
    grid = _radar_grid(labels)
    return (
        alt.layer(grid, outlines, points)
        .properties(width=size, height=size, title="Trait percentiles among models", view=alt.ViewBackground(stroke=None))
    )


# --- trait bars -------------------------------------------------------------------------------


def trait_table(card: Mapping[str, Any]) -> pd.DataFrame:
    """Text alternative of :func:`trait_bars`: each trait's value, 95% CI and percentile."""
    rows = [
        {
            "trait": trait.name,
            "value": trait.value,
            "ci_low": trait.ci_low,
            "ci_high": trait.ci_high,
            "percentile": trait.percentile,
            "metrics": card_view.metrics_text(trait),
            "note": trait.reason or "",
        }
        for trait in card_view.traits(card)
    ]
    return pd.DataFrame(rows, columns=["trait", "value", "ci_low", "ci_high", "percentile", "metrics", "note"])


def trait_bars(card: Mapping[str, Any], width: int = 420) -> alt.LayerChart:
    """Draw each trait's value as a bar with its bootstrap 95% CI as an error bar.

    Unavailable traits (no value) are listed with their reason as text instead of a bar.
    """
    frame = trait_table(card)
    frame["label"] = frame["trait"].str.replace("_", " ")
    frame["shown"] = frame.apply(lambda row: "n/a: " + row["note"] if pd.isna(row["value"]) else "", axis=1)
    order = list(frame["label"])
    y = alt.Y("label:N", sort=order, title=None)
    base = alt.Chart(frame)
    bars = base.transform_filter("datum.value != null").mark_bar(color=OKABE_ITO[0], opacity=0.85).encode(
        x=alt.X("value:Q", title="trait value (bar) with 95% CI (whisker)"),
        y=y,
        tooltip=[
            alt.Tooltip("trait:N"),
            alt.Tooltip("value:Q", format=".3g"),
            alt.Tooltip("ci_low:Q", format=".3g", title="95% CI low"),
            alt.Tooltip("ci_high:Q", format=".3g", title="95% CI high"),
            alt.Tooltip("percentile:Q", format=".0f"),
            alt.Tooltip("metrics:N", title="metrics behind"),
        ],
    )
    whiskers = base.transform_filter("datum.ci_low != null && datum.ci_high != null").mark_errorbar(color="#000000", ticks=True).encode(
        x=alt.X("ci_low:Q", title="trait value (bar) with 95% CI (whisker)"), x2="ci_high:Q", y=y
    )
    missing = base.transform_filter("datum.value == null").mark_text(align="left", dx=3, color="#555555", fontSize=10).encode(
        x=alt.datum(0), y=y, text="shown:N"
    )
    model = card_view.model_name(card)
    return alt.layer(bars, whiskers, missing).properties(width=width, height=alt.Step(22), title=f"Traits of {model}")


# --- drift ------------------------------------------------------------------------------------


def drift_table(
    cards: Iterable[Mapping[str, Any]], constraint_type: str | None = None, top: int | None = None
) -> pd.DataFrame:
    """Text alternative of :func:`drift_heatmap`: standardised drift per model and metric.

    With ``constraint_type`` None the overall drift is used, else the drift under that
    constraint type. ``top`` keeps the metrics with the largest absolute drift in any model.
    Models without the data get one row with a null drift and the reason.
    """
    rows = []
    for card in cards:
        model = card_view.model_name(card)
        drift = card_view.drift(card)
        if not drift.available:
            rows.append({"model": model, "metric": None, "drift": None, "note": drift.reason or "no drift data"})
            continue
        values = drift.overall if constraint_type is None else drift.by_constraint.get(constraint_type)
        if values is None:
            known = ", ".join(sorted(drift.by_constraint)) or "none"
            rows.append({"model": model, "metric": None, "drift": None, "note": f"no {constraint_type} prompts (constraint types: {known})"})
            continue
        for metric, value in values.items():
            rows.append({"model": model, "metric": metric, "drift": value, "note": "" if value is not None else "not computable"})
    frame = pd.DataFrame(rows, columns=["model", "metric", "drift", "note"])
    if top is not None:
        keep = set(_top_metrics(frame, top))
        frame = frame[frame["metric"].isna() | frame["metric"].isin(keep)].reset_index(drop=True)
    return frame


def _top_metrics(frame: pd.DataFrame, top: int) -> list[str]:
    """Return the ``top`` metrics by largest absolute drift in any row, ties broken by name."""
    present = frame.dropna(subset=["metric", "drift"])
    if present.empty:
        return []
    peak = present.assign(size=present["drift"].abs()).groupby("metric")["size"].max()
    ranked = sorted(peak.items(), key=lambda item: (-item[1], item[0]))
    return [metric for metric, _ in ranked[:top]]


def _drift_cells(frame: pd.DataFrame, x: alt.X, y: alt.Y, max_abs: float, tooltip: list[alt.Tooltip]) -> list[alt.Chart]:
    """Coloured cells with the value printed in each, shared by the drift charts."""
    cells = alt.Chart(frame).mark_rect().encode(
        x=x,
        y=y,
        color=alt.Color(
            "drift:Q",
            scale=alt.Scale(scheme=DRIFT_SCHEME, domain=[-max_abs, max_abs], clamp=True, domainMid=0),
            legend=alt.Legend(title=["drift", "(baseline SDs)"]),
        ),
        tooltip=tooltip,
    )
    labels = (
        alt.Chart(frame)
        .transform_filter("datum.drift != null")
        .mark_text(fontSize=9)
        .encode(
            x=x,
            y=y,
            text=alt.Text("drift:Q", format="+.1f"),
            color=alt.condition(f"abs(datum.drift) > {max_abs * 0.6}", alt.value("#FFFFFF"), alt.value("#000000")),
        )
    )
    return [cells, labels]


def drift_heatmap(
    cards: Iterable[Mapping[str, Any]], constraint_type: str | None = None, top: int | None = None, max_abs: float = 2.0
) -> alt.LayerChart:
    """Draw the drift map: models × metrics, coloured by standardised drift (contrast − baseline).

    The colour scale is symmetric and clamped at ``max_abs`` baseline SDs, so one extreme cell
    does not wash out the rest, and each cell's text gives the value. ``top`` keeps the metrics
    that drift most. Models without contrast data appear as a labelled row instead of zeros.
    """
    cards = list(cards)
    frame = drift_table(cards, constraint_type, top)
    present = frame.dropna(subset=["metric"])
    missing = frame[frame["metric"].isna()].copy()
    models = [card_view.model_name(card) for card in cards]
    metrics = _top_metrics(present, len(present)) if top is not None else sorted(present["metric"].unique())
    scope = "all constraint types" if constraint_type is None else f"constraint type {constraint_type}"

    y = alt.Y("model:N", sort=models, title=None, scale=alt.Scale(domain=models))
    x = alt.X("metric:N", sort=metrics, title=None, axis=alt.Axis(labelAngle=-40, labelLimit=160))
    tooltip = [alt.Tooltip("model:N"), alt.Tooltip("metric:N"), alt.Tooltip("drift:Q", format="+.2f", title="standardised drift")]
    layers = _drift_cells(present, x, y, max_abs, tooltip)
    if len(missing):
        missing["text"] = "no drift: " + missing["note"].astype(str)
        layers.append(alt.Chart(missing).mark_text(align="left", color="#555555", fontSize=10).encode(x=alt.value(4), y=y, text="text:N"))
    return alt.layer(*layers).properties(
        width=alt.Step(26) if metrics else 420, height=alt.Step(20), title=f"Drift under constraints ({scope})"
    )


def drift_profile_table(card: Mapping[str, Any], top: int = 10) -> pd.DataFrame:
    """Text alternative of :func:`drift_profile`: one model's drift per constraint type and metric.

    Rows are the constraint types plus ``overall``; the metrics are the ``top`` with the
    largest absolute drift anywhere in the card. Empty when the card has no drift data.
    """
    drift = card_view.drift(card)
    rows = []
    if drift.available:
        blocks = {**{name: values for name, values in sorted(drift.by_constraint.items())}, "overall": drift.overall}
        for constraint_type, values in blocks.items():
            magnitude = drift.magnitude if constraint_type == "overall" else drift.magnitude_by_constraint.get(constraint_type)
            for metric, value in values.items():
                rows.append({"constraint_type": constraint_type, "metric": metric, "drift": value, "magnitude": magnitude})
    frame = pd.DataFrame(rows, columns=["constraint_type", "metric", "drift", "magnitude"])
    keep = set(_top_metrics(frame, top))
    return frame[frame["metric"].isin(keep)].reset_index(drop=True)


def drift_profile(card: Mapping[str, Any], top: int = 10, max_abs: float = 2.0) -> alt.Chart | alt.LayerChart:
    """Draw one model's drift as constraint types × its ``top`` most drifting metrics.

    A card without contrast data draws its reason as text, never a grid of zeros.
    """
    model = card_view.model_name(card)
    frame = drift_profile_table(card, top)
    if frame.empty:
        reason = card_view.drift(card).reason or "no drift data"
        note = pd.DataFrame([{"text": f"Drift unavailable: {reason}"}])
        return alt.Chart(note).mark_text(align="left", fontSize=11, color="#555555").encode(
            x=alt.value(0), y=alt.value(10), text="text:N"
        ).properties(width=420, height=24, title=f"Drift of {model}")
    metrics = _top_metrics(frame, top)
    constraint_types = list(dict.fromkeys(frame["constraint_type"]))
    x = alt.X("metric:N", sort=metrics, title=None, axis=alt.Axis(labelAngle=-40, labelLimit=160))
    y = alt.Y("constraint_type:N", sort=constraint_types, title=None)
    tooltip = [
        alt.Tooltip("constraint_type:N", title="constraint type"),
        alt.Tooltip("metric:N"),
        alt.Tooltip("drift:Q", format="+.2f", title="standardised drift"),
        alt.Tooltip("magnitude:Q", format=".2f", title="drift magnitude of the constraint type"),
    ]
    return alt.layer(*_drift_cells(frame, x, y, max_abs, tooltip)).properties(
        width=alt.Step(30), height=alt.Step(20), title=f"Drift of {model} by constraint type (top {len(metrics)} metrics)"
    )


# --- compliance -------------------------------------------------------------------------------

COMPLIANCE_KINDS = {"constraint type": OKABE_ITO[2], "impossible set": OKABE_ITO[1], "overall": OKABE_ITO[0]}


def compliance_table(card: Mapping[str, Any]) -> pd.DataFrame:
    """Text alternative of :func:`compliance_chart`: follow rates per constraint type.

    ``follow_rate`` is the share of responses that followed every constraint of their prompt,
    ``followed_share`` the mean share of a prompt's constraints followed. Impossible sets
    cannot be followed in full, so their ``followed_share`` is the telling figure.
    """
    rows = []
    for row in card_view.compliance(card):
        if row.constraint_type == "overall":
            kind = "overall"
        elif row.constraint_type.startswith("impossible_"):
            kind = "impossible set"
        else:
            kind = "constraint type"
        rows.append(
            {
                "constraint_type": row.constraint_type,
                "kind": kind,
                "follow_rate": row.follow_rate,
                "followed_share": row.followed_share,
                "n": row.n,
                "note": row.note,
            }
        )
    return pd.DataFrame(rows, columns=["constraint_type", "kind", "follow_rate", "followed_share", "n", "note"])


def compliance_chart(card: Mapping[str, Any], width: int = 360) -> alt.Chart | alt.LayerChart:
    """Draw per constraint type the share of contrast responses that followed every constraint.

    Bars show that share; a black tick marks the mean share of constraints followed, which is
    the informative figure for impossible sets. A card without contrast data shows its reason.
    """
    frame = compliance_table(card)
    model = card_view.model_name(card)
    y = alt.Y("constraint_type:N", title=None, sort=list(frame["constraint_type"]))
    x = alt.X(
        "follow_rate:Q", title="responses following every constraint (bar), share of constraints followed (tick)",
        scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%", tickCount=5),
    )
    base = alt.Chart(frame)
    tooltip = [
        alt.Tooltip("constraint_type:N", title="constraint type"),
        alt.Tooltip("follow_rate:Q", format=".0%", title="every constraint followed"),
        alt.Tooltip("followed_share:Q", format=".0%", title="share of constraints followed"),
        alt.Tooltip("n:Q", title="responses"),
        alt.Tooltip("note:N"),
    ]
    color = alt.Color(
        "kind:N",
        scale=alt.Scale(domain=list(COMPLIANCE_KINDS), range=list(COMPLIANCE_KINDS.values())),
        legend=alt.Legend(title=None, orient="bottom"),
    )
    bars = base.transform_filter("datum.follow_rate != null").mark_bar().encode(x=x, y=y, color=color, tooltip=tooltip)
    ticks = base.transform_filter("datum.followed_share != null").mark_tick(color="#000000", thickness=3, size=16).encode(
        x="followed_share:Q", y=y, tooltip=tooltip
    )
    labels = base.transform_filter("datum.follow_rate != null").mark_text(align="left", dx=4, fontSize=10).encode(
        x=alt.datum(1), y=y, text=alt.Text("follow_rate:Q", format=".0%")
    )
    title = f"Constraint follow rates of {model}"
    if frame["follow_rate"].isna().all():
        # No contrast data: print the reason where the bars would be, on the same axes.
        missing = frame.assign(text="no compliance data: " + frame["note"].astype(str))
        note = alt.Chart(missing).mark_text(align="left", color="#555555").encode(x=alt.datum(0, scale=alt.Scale(domain=[0, 1])), y=y, text="text:N")
        return note.properties(width=width, height=alt.Step(20), title=title)
    return alt.layer(bars, ticks, labels).properties(width=width, height=alt.Step(20), title=title)


# --- rendering --------------------------------------------------------------------------------

# Font folders already registered with vl-convert in this process.
_registered_font_dirs: set[Path] = set()


def _register_fallback_font(vl_convert: Any) -> None:
    """Register the folder of a ``BSB_PDF_FALLBACK_FONT`` override with vl-convert, once per folder.

    vl-convert (checked with 1.9) loads the system fonts and, for a character its font lacks,
    uses any loaded font that has the glyph. Chart labels in Chinese, Japanese or Korean therefore
    find Debian's fonts-wqy-microhei without registration, and only an override font needs it.
    """
    if not os.environ.get("BSB_PDF_FALLBACK_FONT"):
        return
    path = resolve_fallback_font()
    if path is None or path.parent in _registered_font_dirs:
        return
    vl_convert.register_font_directory(str(path.parent))
    _registered_font_dirs.add(path.parent)


def vega_lite_version() -> str:
    """Return the Vega-Lite major.minor version Altair writes, e.g. ``6.4``."""
    return ".".join(alt.SCHEMA_VERSION.lstrip("v").split(".")[:2])


def chart_to_png(chart: alt.TopLevelMixin, scale: float = 2.0) -> bytes:
    """Render a chart to PNG bytes with vl-convert, offline.

    ``allowed_base_urls=[]`` forbids any data fetch, so rendering never touches the network;
    every BSB chart carries its data inline. Characters XML 1.0 forbids are replaced by U+FFFD
    first, because vl-convert 1.9 aborts the whole Python process (a Rust panic that cannot
    unwind) when chart text contains one, such as NUL.
    """
    import vl_convert

    _register_fallback_font(vl_convert)
    spec = _xml_safe(chart.to_dict())
    return vl_convert.vegalite_to_png(spec, vl_version=vega_lite_version(), scale=scale, allowed_base_urls=[])


# Characters XML 1.0 does not allow: C0 controls other than tab, newline and carriage return,
# UTF-16 surrogates, and the noncharacters U+FFFE and U+FFFF.
_NON_XML_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml_safe(value: Any) -> Any:
    """Return ``value`` with the XML-forbidden characters of every string in it (keys too) replaced by U+FFFD."""
    if isinstance(value, str):
        return _NON_XML_CHARS.sub("\ufffd", value)
    if isinstance(value, dict):
        return {_xml_safe(key): _xml_safe(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_xml_safe(item) for item in value]
    return value


__all__ = [
    "OKABE_ITO",
    "chart_to_png",
    "compliance_chart",
    "compliance_table",
    "drift_heatmap",
    "drift_profile",
    "drift_profile_table",
    "drift_table",
    "radar_chart",
    "radar_frame",
    "radar_table",
    "trait_bars",
    "trait_table",
]
