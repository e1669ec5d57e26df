"""Typed, read-only views of the parts of a signature card that charts, PDF and recommender read.

The card itself is a plain dict valid against ``bsb_core/schemas/card.schema.json`` (written
by ``bsb_core.signature``). This module is the one place that reads its field names, so a
schema change touches only these accessors.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class TraitView:
    """One radar trait: its value in pooled SD units with 95% CI, its percentile and the metrics behind it."""

    name: str
    label: str = ""
    percentile: float | None = None
    value: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    n: int = 0
    reason: str | None = None
    metrics: tuple[Mapping[str, Any], ...] = field(default_factory=tuple)

    @property
    def available(self) -> bool:
        """True when the trait has a value."""
        return self.value is not None

    @property
    def display_name(self) -> str:
        """The label, or the name with spaces when the card gives no label."""
        return self.label or self.name.replace("_", " ")


@dataclass(frozen=True)
class DriftView:
    """Standardised drift (contrast minus baseline, in baseline SDs) overall and per constraint type."""

    available: bool
    reason: str | None
    magnitude: float | None
    overall: Mapping[str, float | None]
    by_constraint: Mapping[str, Mapping[str, float | None]]
    magnitude_by_constraint: Mapping[str, float | None]
    impossible: Mapping[str, Any]


@dataclass(frozen=True)
class ComplianceRow:
    """Follow rate of one constraint type: the share of responses that met every constraint."""

    constraint_type: str
    follow_rate: float | None
    followed_share: float | None
    n: int
    note: str = ""


def is_card(value: Any) -> bool:
    """Return True when ``value`` looks like a card (a mapping with ``model`` and ``traits``)."""
    return isinstance(value, Mapping) and "model" in value and "traits" in value


def model_name(card: Mapping[str, Any]) -> str:
    """Return the card's model name."""
    return str(card["model"])


def is_simulated(card: Mapping[str, Any]) -> bool:
    """Return True for cards of ``sim/...`` personas."""
    return bool(card.get("simulated", False))


def traits(card: Mapping[str, Any]) -> list[TraitView]:
    """Return the card's traits in radar order."""
    views = []
    for entry in card.get("traits", []):
        value = entry.get("value") if entry.get("available", True) else None
        views.append(
            TraitView(
                name=entry["name"],
                label=entry.get("label", ""),
                percentile=entry.get("percentile"),
                value=value,
                ci_low=entry.get("ci_low"),
                ci_high=entry.get("ci_high"),
                n=int(entry.get("n") or 0),
                reason=entry.get("reason"),
                metrics=tuple(entry.get("metrics") or ()),
            )
        )
    return views


def trait(card: Mapping[str, Any], name: str) -> TraitView | None:
    """Return the trait called ``name``, or None when the card does not have it."""
    for view in traits(card):
        if view.name == name:
            return view
    return None


def metrics_text(view: TraitView) -> str:
    """Return the metrics behind a trait as ``metric = mean unit (median m)`` joined by semicolons."""
    parts = []
    for metric in view.metrics:
        mean = metric.get("mean")
        median = metric.get("population_median")
        unit = metric.get("unit") or ""
        shown = "n/a" if mean is None else f"{mean:.3g}"
        suffix = f" {unit}" if unit and mean is not None else ""
        median_text = "" if median is None else f" (median model {median:.3g})"
        parts.append(f"{metric.get('metric')} = {shown}{suffix}{median_text}")
    return "; ".join(parts)


def drift(card: Mapping[str, Any]) -> DriftView:
    """Return the card's drift section."""
    section = card.get("drift") or {}
    by_constraint = section.get("by_constraint") or {}
    return DriftView(
        available=bool(section.get("available")),
        reason=section.get("reason"),
        magnitude=section.get("magnitude"),
        overall=dict(section.get("overall") or {}),
        by_constraint={name: dict(block.get("metrics") or {}) for name, block in by_constraint.items()},
        magnitude_by_constraint={name: block.get("magnitude") for name, block in by_constraint.items()},
        impossible=dict(section.get("impossible") or {}),
    )


def compliance(card: Mapping[str, Any]) -> list[ComplianceRow]:
    """Return one row per constraint type plus an ``overall`` row (possible constraint sets only).

    A card without contrast data returns a single ``overall`` row with a null rate and the reason.
    """
    section = card.get("compliance") or {}
    if not section.get("available"):
        return [ComplianceRow("overall", None, None, 0, section.get("reason") or "no contrast data")]
    rows = []
    for name, rates in sorted((section.get("by_constraint") or {}).items()):
        rows.append(_compliance_row(name, rates))
    rows.append(_compliance_row("overall", section.get("overall")))
    return rows


def _compliance_row(name: str, rates: Mapping[str, Any] | None) -> ComplianceRow:
    if rates is None:
        return ComplianceRow(name, None, None, 0, "no responses")
    note = "impossible set: no response can follow every constraint" if name.startswith("impossible_") else ""
    return ComplianceRow(name, rates.get("all_followed"), rates.get("followed_share"), int(rates.get("n") or 0), note)


def compliance_rate(card: Mapping[str, Any], constraint_type: str) -> float | None:
    """Return the share of responses of ``constraint_type`` that followed every constraint, or None."""
    for row in compliance(card):
        if row.constraint_type == constraint_type:
            return row.follow_rate
    return None


def prompt_tips(card: Mapping[str, Any]) -> list[str]:
    """Return the card's prompt tips as sentences: the tip, then the observation behind it."""
    return [f"{tip['tip']} ({tip['because']})" for tip in card.get("prompt_tips") or []]


def distinctive(card: Mapping[str, Any]) -> list[str]:
    """Return the card's distinctive-metric sentences, largest effect first."""
    return [entry["text"] for entry in card.get("distinctive") or []]


def excerpts(card: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """Return the card's response excerpts (prompt, response, stream, truncated)."""
    return list(card.get("excerpts") or [])


__all__ = [
    "ComplianceRow",
    "DriftView",
    "TraitView",
    "compliance",
    "compliance_rate",
    "distinctive",
    "drift",
    "excerpts",
    "is_card",
    "is_simulated",
    "metrics_text",
    "model_name",
    "prompt_tips",
    "trait",
    "traits",
]
