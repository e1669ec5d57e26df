"""Recommender: rank models for a described task from their signature cards, with reasons.

A task profile (a preset or explicit needs) turns into weighted targets on the card's traits.
Each target's fit is a number from 0 to 1; a model's score is the weighted mean of its fits
times 100. Weights, targets and fit functions are listed in docs/recommender.md; the ranking is
deterministic (score descending, then model name).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from bsb_core import card_view

RESPONSE_FORMATS = ("prose", "bullets", "json", "any")
TONES = ("warm", "neutral", "formal")
LENGTHS = ("short", "medium", "long")
LEVELS = ("low", "medium", "high")

# Fit below which a target counts as missed, and above which it counts as matched.
MISSED_BELOW = 0.4
MATCHED_FROM = 0.6
# Fit used for a target the card cannot measure (no contrast data, missing metrics). The
# midpoint makes an unknown neither help nor hurt, and the model gets a warning instead.
UNKNOWN_FIT = 0.5
# A "mid" target fits fully anywhere in this percentile band and falls linearly to 0 at 0 and 100.
MID_BAND = (25.0, 75.0)
# High format strictness raises follow rates to this power: the chance that this many
# responses in a row all follow their constraints, so 98% and 89% (0.94 vs 0.70) differ clearly.
STRICT_RUN_LENGTH = 3
# The JSON drift warning fires when a model's drift magnitude under json_schema constraints is
# at least this multiple of the median model's, among at least JSON_DRIFT_MIN_MODELS models.
# Every model that writes JSON drifts in its voice metrics, so only a relative excess is telling.
JSON_DRIFT_RATIO = 1.5
JSON_DRIFT_MIN_MODELS = 3
# A JSON follow rate below this triggers the structured-output warning.
JSON_FOLLOW_WARNING = 0.8
# Caution percentile at or above which a low refusal tolerance triggers a warning.
CAUTION_WARNING_PERCENTILE = 75.0


class ProfileError(ValueError):
    """An invalid task profile value; the message names the field, the value and the choices."""


@dataclass(frozen=True)
class TaskProfile:
    """Needs of a task, from which the weighted trait targets follow.

    ``refusal_tolerance`` covers refusals and hedging together; ``drift_weight`` (0-1) sets
    how much a stable voice under format constraints matters.
    """

    response_format: str = "any"
    tone: str = "neutral"
    length: str = "medium"
    refusal_tolerance: str = "medium"
    format_strictness: str = "medium"
    drift_weight: float = 0.3
    name: str = "custom"

    def __post_init__(self) -> None:
        _check_choice("response_format", self.response_format, RESPONSE_FORMATS)
        _check_choice("tone", self.tone, TONES)
        _check_choice("length", self.length, LENGTHS)
        _check_choice("refusal_tolerance", self.refusal_tolerance, LEVELS)
        _check_choice("format_strictness", self.format_strictness, LEVELS)
        weight = self.drift_weight
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or math.isnan(weight) or not 0 <= weight <= 1:
            raise ProfileError(f"invalid drift_weight {weight!r}: expected a number from 0 to 1")
        object.__setattr__(self, "drift_weight", float(weight))

    def with_needs(self, **needs: Any) -> TaskProfile:
        """Return a copy with the given needs replaced; None values keep the current need."""
        known = {f.name for f in fields(self)}
        unknown = sorted(set(needs) - known)
        if unknown:
            raise ProfileError(f"unknown task profile field(s) {', '.join(unknown)}: expected some of {', '.join(sorted(known))}")
        changes = {key: value for key, value in needs.items() if value is not None}
        if changes and "name" not in changes:
            changes["name"] = f"{self.name} (modified)" if self.name != "custom" else "custom"
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Return the profile as a JSON-ready dict."""
        return asdict(self)


def _check_choice(field_name: str, value: Any, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ProfileError(f"invalid {field_name} {value!r}: expected one of {', '.join(choices)}")


PRESETS: dict[str, TaskProfile] = {
    "customer-support": TaskProfile(
        response_format="prose", tone="warm", length="medium", refusal_tolerance="low",
        format_strictness="low", drift_weight=0.3, name="customer-support",
    ),
    "backend-json": TaskProfile(
        response_format="json", tone="neutral", length="short", refusal_tolerance="low",
        format_strictness="high", drift_weight=0.8, name="backend-json",
    ),
    "analyst-report": TaskProfile(
        response_format="bullets", tone="formal", length="long", refusal_tolerance="medium",
        format_strictness="medium", drift_weight=0.3, name="analyst-report",
    ),
    "creative-writing": TaskProfile(
        response_format="prose", tone="warm", length="long", refusal_tolerance="medium",
        format_strictness="low", drift_weight=0.2, name="creative-writing",
    ),
    "coding-help": TaskProfile(
        response_format="any", tone="neutral", length="medium", refusal_tolerance="low",
        format_strictness="medium", drift_weight=0.3, name="coding-help",
    ),
}


def profile_from(preset: str | None = None, **needs: Any) -> TaskProfile:
    """Return the profile of ``preset`` (or the defaults) with explicit ``needs`` applied over it."""
    if preset is None:
        return TaskProfile().with_needs(**needs)
    if preset not in PRESETS:
        raise ProfileError(f"unknown preset {preset!r}: expected one of {', '.join(PRESETS)}")
    return PRESETS[preset].with_needs(**needs)


# --- targets ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """One weighted need on one trait: ``want`` is high, low or mid.

    With ``source`` = ``percentile`` the fit reads the trait's percentile among the models
    compared. With ``compliance`` it reads the absolute follow rate (of ``constraint_type``,
    else overall) raised to ``exponent``.
    """

    trait: str
    want: str
    weight: float
    need: str
    source: str = "percentile"
    constraint_type: str | None = None
    exponent: int = 1


def targets_for(profile: TaskProfile) -> list[Target]:
    """Return the weighted trait targets a profile implies (the table in docs/recommender.md)."""
    targets: list[Target] = []
    add = targets.append
    exponent = STRICT_RUN_LENGTH if profile.format_strictness == "high" else 1

    if profile.response_format == "prose":
        add(Target("structure", "low", 2.0, "prose answers"))
    elif profile.response_format == "bullets":
        add(Target("structure", "high", 2.0, "bulleted answers"))
    elif profile.response_format == "json":
        add(Target("compliance", "high", 4.0, "valid JSON output", "compliance", "json_schema", exponent))

    if profile.tone == "warm":
        add(Target("warmth", "high", 3.0, "a warm tone"))
        add(Target("formality", "low", 0.5, "a warm tone"))
    elif profile.tone == "neutral":
        add(Target("warmth", "mid", 1.0, "a neutral tone"))
        add(Target("formality", "mid", 0.5, "a neutral tone"))
    else:
        add(Target("formality", "high", 2.0, "a formal tone"))
        add(Target("warmth", "low", 0.5, "a formal tone"))

    length_want = {"short": "low", "medium": "mid", "long": "high"}[profile.length]
    add(Target("verbosity", length_want, 1.0 if profile.length == "medium" else 1.5, f"{profile.length} answers"))

    if profile.refusal_tolerance == "low":
        add(Target("caution", "low", 2.0, "few refusals"))
        add(Target("hedging", "low", 1.5, "little hedging"))
    elif profile.refusal_tolerance == "medium":
        add(Target("caution", "low", 1.0, "few refusals"))
        add(Target("hedging", "low", 0.5, "little hedging"))

    strictness_weight = {"low": 0.0, "medium": 1.5, "high": 3.0}[profile.format_strictness]
    if strictness_weight:
        add(Target("compliance", "high", strictness_weight, f"{profile.format_strictness} format strictness", "compliance", None, exponent))

    if profile.drift_weight > 0:
        add(Target("drift_resistance", "high", 3.0 * profile.drift_weight, "a stable voice under format constraints"))
    return targets


# --- fits -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TraitFit:
    """Fit of one model to one target: ``fit`` 0-1, ``points`` its share of the score."""

    trait: str
    need: str
    want: str
    weight: float
    fit: float
    known: bool
    points: float
    evidence: str

    def to_dict(self) -> dict[str, Any]:
        """Return the fit as a JSON-ready dict."""
        return asdict(self)


def ordinal(number: float) -> str:
    """Return a rounded number as an English ordinal: 1st, 2nd, 3rd, 11th, 33rd, 100th."""
    value = int(round(number))
    suffix = "th" if 10 <= value % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(value % 10, "th")
    return f"{value}{suffix}"


def percentile_fit(percentile: float, want: str) -> float:
    """Return the fit of a trait percentile (0-100) to ``want``: high, low or mid."""
    if want == "high":
        return percentile / 100
    if want == "low":
        return 1 - percentile / 100
    low, high = MID_BAND
    if percentile < low:
        return percentile / low
    if percentile > high:
        return (100 - percentile) / (100 - high)
    return 1.0


def _fit(card: Mapping[str, Any], target: Target) -> tuple[float | None, str]:
    """Return (fit or None when unknown, evidence sentence) for one target."""
    if target.source == "compliance":
        return _compliance_fit(card, target)

    view = card_view.trait(card, target.trait)
    if view is None or view.percentile is None:
        reason = view.reason if view is not None and view.reason else "not in this card"
        return None, f"{target.trait.replace('_', ' ')} unknown: {reason}"
    evidence = f"{view.display_name.lower()} at the {ordinal(view.percentile)} percentile of the models compared"
    if target.trait == "drift_resistance":
        magnitude = card_view.drift(card).magnitude
        if magnitude is not None:
            evidence += f" (drift magnitude {magnitude:.2f} baseline SDs)"
    return percentile_fit(view.percentile, target.want), evidence


def _compliance_fit(card: Mapping[str, Any], target: Target) -> tuple[float | None, str]:
    rate = card_view.compliance_rate(card, target.constraint_type) if target.constraint_type else None
    if rate is not None:
        evidence = f"follows every constraint in {rate:.0%} of its {target.constraint_type} responses"
    else:
        rate = card_view.compliance_rate(card, "overall")
        if rate is None:
            reason = (card.get("compliance") or {}).get("reason") or "no contrast data"
            return None, f"compliance unknown: {reason}"
        fallback = f" (no {target.constraint_type} prompts, so all constraint types)" if target.constraint_type else ""
        evidence = f"follows every constraint in {rate:.0%} of its contrast responses{fallback}"
    if target.exponent != 1:
        evidence += f"; {rate ** target.exponent:.0%} chance that {target.exponent} responses in a row all do"
    return rate ** target.exponent, evidence


# --- recommendations --------------------------------------------------------------------------


@dataclass
class Recommendation:
    """One model's place in a ranking, with the fits behind its score, warnings and prompt tips."""

    model: str
    score: float
    rank: int
    simulated: bool
    fits: list[TraitFit]
    warnings: list[str] = field(default_factory=list)
    prompt_tips: list[str] = field(default_factory=list)

    @property
    def matched(self) -> list[TraitFit]:
        """Known fits of at least MATCHED_FROM, largest contribution first."""
        return sorted((f for f in self.fits if f.known and f.fit >= MATCHED_FROM), key=lambda f: (-f.points, f.trait))

    @property
    def missed(self) -> list[TraitFit]:
        """Known fits below MISSED_BELOW, heaviest target first."""
        return sorted((f for f in self.fits if f.known and f.fit < MISSED_BELOW), key=lambda f: (-f.weight, f.trait))

    def reasons(self) -> list[str]:
        """Return one sentence per matched or missed target, e.g. ``matched compliance (valid JSON output): ...``."""
        lines = [f"matched {f.trait} ({f.need}): {f.evidence}" for f in self.matched]
        lines += [f"missed {f.trait} ({f.need}): {f.evidence}" for f in self.missed]
        return lines

    def to_dict(self) -> dict[str, Any]:
        """Return the recommendation as a JSON-ready dict."""
        return {
            "rank": self.rank,
            "model": self.model,
            "score": round(self.score, 1),
            "simulated": self.simulated,
            "matched": [f.to_dict() for f in self.matched],
            "missed": [f.to_dict() for f in self.missed],
            "fits": [f.to_dict() for f in self.fits],
            "reasons": self.reasons(),
            "warnings": list(self.warnings),
            "prompt_tips": list(self.prompt_tips),
        }


def score_card(card: Mapping[str, Any], profile: TaskProfile) -> tuple[float, list[TraitFit]]:
    """Return (score 0-100, fits) of one card: 100 × Σ weight·fit / Σ weight.

    Unknown fits count as UNKNOWN_FIT. A profile without any weighted target scores every
    model 50.
    """
    targets = targets_for(profile)
    total_weight = sum(target.weight for target in targets)
    fits = []
    score = 0.0
    for target in targets:
        value, evidence = _fit(card, target)
        known = value is not None
        fit = float(value) if known else UNKNOWN_FIT
        points = 100 * target.weight * fit / total_weight if total_weight else 0.0
        score += points
        # Rounded for display only; the score sums the exact points.
        fits.append(TraitFit(target.trait, target.need, target.want, target.weight, round(fit, 4), known, round(points, 2), evidence))
    return (score if total_weight else 50.0), fits


def _json_drift(card: Mapping[str, Any]) -> float | None:
    drift = card_view.drift(card)
    if not drift.available:
        return None
    value = drift.magnitude_by_constraint.get("json_schema")
    return None if value is None else float(value)


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def _warnings(card: Mapping[str, Any], profile: TaskProfile, fits: list[TraitFit], json_drift_median: float | None) -> list[str]:
    warnings = []
    unknown = {f.trait for f in fits if not f.known}
    if "compliance" in unknown:
        warnings.append("no contrast data: compliance unknown (scored as neutral)")
    if "drift_resistance" in unknown:
        warnings.append("no contrast data: drift unknown (scored as neutral)")
    for trait in sorted(unknown - {"compliance", "drift_resistance"}):
        warnings.append(f"{trait.replace('_', ' ')} unknown for this model (scored as neutral)")

    if profile.response_format == "json":
        json_drift = _json_drift(card)
        json_rate = card_view.compliance_rate(card, "json_schema")
        if json_drift is not None and json_drift_median and json_drift >= JSON_DRIFT_RATIO * json_drift_median:
            warnings.append(
                f"drifts strongly under JSON constraints (magnitude {json_drift:.2f} baseline SDs,"
                f" {json_drift / json_drift_median:.1f}x the median model): use structured mode or a second model for formatting"
            )
        if json_rate is not None and json_rate < JSON_FOLLOW_WARNING:
            warnings.append(
                f"only {json_rate:.0%} of its JSON responses follow every constraint:"
                " use structured output (JSON mode or schema-constrained decoding) and validate"
            )

    caution = card_view.trait(card, "caution")
    if profile.refusal_tolerance == "low" and caution is not None and caution.percentile is not None:
        if caution.percentile >= CAUTION_WARNING_PERCENTILE:
            warnings.append(
                f"refuses, caveats or disclaims more than most models (caution at the {ordinal(caution.percentile)} percentile):"
                " state the legitimate purpose in the prompt"
            )
    return warnings


def _tips(card: Mapping[str, Any], fits: list[TraitFit]) -> list[str]:
    """Return the card's prompt tips that help with this task, most relevant first.

    Tips about a trait the task matched are left out, since they advise changing behaviour
    the task wants (a "write more" tip for a model chosen for short answers). Tips about
    missed traits come first, heaviest target first; then the rest in the card's order.
    """
    matched = {f.trait for f in fits if f.known and f.fit >= MATCHED_FROM}
    missed_weight: dict[str, float] = {}
    for f in fits:
        if f.known and f.fit < MISSED_BELOW:
            missed_weight[f.trait] = max(missed_weight.get(f.trait, 0.0), f.weight)
    kept = [(index, tip) for index, tip in enumerate(card.get("prompt_tips") or []) if (tip.get("trait") or "") not in matched]
    kept.sort(key=lambda item: (-missed_weight.get(item[1].get("trait") or "", 0.0), item[0]))
    return [f"{tip['tip']} ({tip['because']})" for _, tip in kept]


def recommend(cards: Iterable[Mapping[str, Any]], profile: TaskProfile) -> list[Recommendation]:
    """Rank ``cards`` for ``profile``: score descending, ties by model name; ranks start at 1."""
    cards = list(cards)
    json_drifts = [value for value in map(_json_drift, cards) if value is not None]
    json_drift_median = _median(json_drifts) if len(json_drifts) >= JSON_DRIFT_MIN_MODELS else None
    scored = []
    for card in cards:
        score, fits = score_card(card, profile)
        scored.append(
            Recommendation(
                model=card_view.model_name(card),
                score=score,
                rank=0,
                simulated=card_view.is_simulated(card),
                fits=fits,
                warnings=_warnings(card, profile, fits, json_drift_median),
                prompt_tips=_tips(card, fits),
            )
        )
    scored.sort(key=lambda rec: (-round(rec.score, 6), rec.model))
    for rank, recommendation in enumerate(scored, start=1):
        recommendation.rank = rank
    return scored


__all__ = [
    "LENGTHS",
    "LEVELS",
    "PRESETS",
    "RESPONSE_FORMATS",
    "TONES",
    "ProfileError",
    "Recommendation",
    "Target",
    "TaskProfile",
    "TraitFit",
    "profile_from",
    "recommend",
    "score_card",
    "targets_for",
]
