"""Plain-language findings of a signature: distinctive metrics and prompt tips."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

# Metrics never listed as distinctive: the type-token ratio falls with length, so it restates
# verbosity, and the character count duplicates the word count.
NOT_DISTINCTIVE = frozenset({"type_token_ratio", "char_count"})
# A ratio to the median model is printed only inside these bounds. Outside them, as with a
# median near zero, the sentence gives the median model's value instead.
RATIO_BOUNDS = (0.1, 20.0)
# Metrics shown as distinctive: at most this many, each at least MIN_EFFECT pooled SDs from
# the mean of the other models (0.3 SD is between "small" and "medium" in Cohen's terms).
MAX_DISTINCTIVE = 6
MIN_EFFECT = 0.3
# Minimum responses with a value before a metric can be called distinctive for a model.
MIN_VALUES = 10
# Trait percentiles at or beyond these bounds count as high or low for prompt tips.
HIGH_PERCENTILE = 75.0
LOW_PERCENTILE = 25.0

# Sentence templates for a metric's mean. {pct} is the mean as a percentage (0/1 and share
# metrics), {value} the mean itself. Metrics not listed use their name and unit.
PHRASES: dict[str, str] = {
    "has_list": "uses lists in {pct} of answers",
    "bullet_line_share": "puts {pct} of its lines in lists",
    "numbered_line_share": "puts {pct} of its lines in numbered lists",
    "opening_affirmation": "opens with a stock affirmation ('Sure', 'Certainly') in {pct} of answers",
    "closing_offer": "ends with an offer of more help in {pct} of answers",
    "json_present": "includes JSON in {pct} of answers",
    "exclamation_share": "ends {pct} of its sentences with '!'",
    "passive_share": "writes {pct} of its clauses in the passive voice",
    "word_count": "writes {value:.0f} prose words per answer",
    "char_count": "writes {value:.0f} characters per answer",
    "sentence_count": "writes {value:.1f} sentences per answer",
    "paragraph_count": "writes {value:.1f} paragraphs per answer",
    "mean_sentence_length": "writes sentences of {value:.1f} words on average",
    "heading_count": "uses {value:.1f} headings per answer",
    "bold_count": "uses {value:.1f} bold spans per answer",
    "bullet_items": "writes {value:.1f} list items per answer",
    "question_count": "asks {value:.2f} questions per answer",
    "mean_word_length": "uses words of {value:.2f} characters on average",
    "flesch_kincaid_grade": "writes at a US grade level of {value:.1f}",
    "flesch_reading_ease": "scores {value:.0f} on Flesch reading ease",
    "refusal_class": "has a mean refusal class of {value:.2f} (0 none, 2 full refusal)",
    "refusal_score": "has a mean refusal score of {value:.2f}",
    "bold_heading_count": "uses {value:.1f} bold lines as headings per answer",
    "hedges_per_100w": "uses {value:.2f} hedges per 100 words",
    "boosters_per_100w": "uses {value:.2f} boosters ('clearly', 'definitely') per 100 words",
    "politeness_per_100w": "uses {value:.2f} politeness markers per 100 words",
    "apology_per_100w": "apologises {value:.2f} times per 100 words",
    "caveats_per_100w": "adds {value:.2f} caveats per 100 words",
    "second_person_per_100w": "addresses the reader ('you') {value:.2f} times per 100 words",
    "first_person_singular_per_100w": "says 'I' or 'me' {value:.2f} times per 100 words",
    "first_person_plural_per_100w": "says 'we' or 'us' {value:.2f} times per 100 words",
    "ai_disclaimer_present": "disclaims being an AI in {pct} of answers",
    "modal_rate": "uses {value:.2f} modal verbs per 100 words",
    "question_rate": "asks {value:.2f} questions per 100 words",
    "em_dash_rate": "uses {value:.2f} em dashes per 100 words",
    "emoji_rate": "uses {value:.2f} emoji per 100 words",
    "contraction_rate": "uses {value:.2f} contractions per 100 words",
    "nominalisation_rate": "uses {value:.2f} nominalisations per 100 words",
    "markdown_density": "uses {value:.1f} markdown marks per 100 words",
}


@dataclass(frozen=True)
class MetricInfo:
    """A metric's name, unit and trait, as the sentence templates use them."""

    name: str
    unit: str
    trait: str | None


def describe(metric: MetricInfo, value: float) -> str:
    """Return the plain phrase for a model's mean of ``metric``."""
    template = PHRASES.get(metric.name)
    pct = f"{100 * value:.0f}%"
    if template:
        return template.format(pct=pct, value=value)
    label = metric.name.removesuffix("_per_100w").removesuffix("_rate").replace("_", " ")
    if metric.unit in ("0/1", "share 0-1"):
        return f"{label}: {pct}"
    if metric.unit == "per 100 words":
        return f"{label}: {value:.2f} per 100 words"
    return f"{label}: {value:.2f}" + (f" {metric.unit}" if metric.unit and metric.unit not in ("ratio", "score", "count") else "")


def format_value(metric: MetricInfo, value: float) -> str:
    """Return ``value`` in the metric's unit, short (for the median model in parentheses)."""
    if metric.unit in ("0/1", "share 0-1"):
        return f"{100 * value:.0f}%"
    if abs(value) >= 100:
        return f"{value:.0f}"
    return f"{value:.2f}"


def distinctive_metrics(
    model_id: int,
    means: pd.DataFrame,
    counts: pd.DataFrame,
    pooled_sd: pd.Series,
    infos: dict[str, MetricInfo],
) -> list[dict[str, Any]]:
    """Return the metrics where ``model_id`` is furthest from the other models, largest effect first.

    ``means`` and ``counts`` are (model × metric) frames of baseline means and value counts.
    Effect size: (model mean - median of the other models' means) / pooled within-model SD.
    The median, not the mean, of the others, so that one extreme model does not make every
    other model look distinctive in a small population.
    """
    if model_id not in means.index or len(means) < 2:
        return []
    own = means.loc[model_id]
    others = means.drop(index=model_id)
    effect = (own - others.median(axis=0)) / pooled_sd.reindex(means.columns).where(lambda sd: sd > 0)
    effect = effect[(counts.loc[model_id] >= MIN_VALUES) & effect.notna() & (effect.abs() >= MIN_EFFECT)]
    effect = effect[~effect.index.isin(NOT_DISTINCTIVE)]
    found = []
    for metric in effect.abs().sort_values(ascending=False).index[:MAX_DISTINCTIVE]:
        info = infos.get(metric, MetricInfo(metric, "", None))
        value = float(own[metric])
        median = float(others[metric].median())
        ratio = value / median if median > 0 and value >= 0 else None
        if ratio is not None and RATIO_BOUNDS[0] <= ratio <= RATIO_BOUNDS[1]:
            text = f"{describe(info, value)}, {ratio:.1f}× the median model ({format_value(info, median)})"
        else:
            text = f"{describe(info, value)} (median model: {format_value(info, median)})"
        found.append(
            {
                "metric": metric,
                "trait": info.trait,
                "value": value,
                "population_median": median,
                "ratio": ratio,
                "effect_size": float(effect[metric]),
                "direction": "higher" if effect[metric] > 0 else "lower",
                "text": text,
            }
        )
    return found


# (trait, level, tip, observation) where level is "high" or "low" by percentile.
TRAIT_TIPS: tuple[tuple[str, str, str, str], ...] = (
    ("hedging", "high", "Ask for a direct recommendation first, then the caveats.", "hedges heavily"),
    ("hedging", "low", "Ask it to state its confidence and the main uncertainties.", "rarely qualifies its claims"),
    ("verbosity", "high", "Give a word limit or ask for the short answer first.", "writes long answers"),
    ("verbosity", "low", "Ask for detail and examples when you need depth.", "writes short answers"),
    ("structure", "high", "Ask for plain paragraphs when you need running text (emails, chat replies).", "formats answers as lists and headings"),
    ("structure", "low", "Ask for headings or a bulleted list when you need a scannable answer.", "answers in plain prose"),
    ("caution", "high", "State the legitimate purpose and context up front to avoid needless refusals and disclaimers.", "refuses, caveats or disclaims often"),
    ("warmth", "high", "Ask for a neutral, concise tone when pleasantries are unwanted.", "writes in a warm, personal tone"),
    ("warmth", "low", "Ask for a friendly tone and a greeting for customer-facing text.", "writes in a neutral, impersonal tone"),
    ("formality", "high", "Ask for plain language and short words for a general audience.", "writes in a formal, nominal style"),
    ("formality", "low", "Ask for a formal register when writing reports.", "writes informally"),
    ("lexical_richness", "low", "Ask for varied wording if repetition matters (marketing, creative text).", "repeats its vocabulary"),
    ("compliance", "low", "Restate the format requirement at the end of the prompt and validate the output.", "often breaks explicit format constraints"),
    ("drift_resistance", "low", "Check tone after adding format constraints, or format in a second step.", "its voice changes markedly under format constraints"),
)


def prompt_tips(traits: list[dict[str, Any]], compliance: dict[str, Any], impossible: dict[str, Any]) -> list[dict[str, Any]]:
    """Return prompt advice derived from the trait percentiles and the compliance table."""
    by_name = {trait["name"]: trait for trait in traits}
    tips = []
    for name, level, tip, observation in TRAIT_TIPS:
        trait = by_name.get(name)
        if not trait or trait["percentile"] is None:
            continue
        percentile = trait["percentile"]
        if (level == "high" and percentile >= HIGH_PERCENTILE) or (level == "low" and percentile <= LOW_PERCENTILE):
            because = f"{observation} ({trait['label'].lower()} at the {percentile:.0f}th percentile of the models compared)"
            tips.append({"tip": tip, "because": because, "trait": name})

    json_rates = (compliance.get("by_constraint") or {}).get("json_schema")
    if json_rates and json_rates.get("metrics", {}).get("json_schema_valid") is not None:
        valid = json_rates["metrics"]["json_schema_valid"]
        if valid < 0.8:
            tips.append(
                {
                    "tip": "Use structured output (JSON mode or schema-constrained decoding) instead of asking for JSON in the prompt.",
                    "because": f"only {100 * valid:.0f}% of its JSON answers validate against the schema as sent",
                    "trait": "compliance",
                }
            )
    if impossible.get("available"):
        shares = impossible["shares"]
        if (shares.get("flags_conflict") or 0) < 0.1 and impossible["n"] >= 5:
            tips.append(
                {
                    "tip": "Check your instructions for contradictions yourself: it rarely points them out.",
                    "because": f"it flagged the conflict in {100 * (shares.get('flags_conflict') or 0):.0f}% of contradictory constraint sets",
                    "trait": None,
                }
            )
    return tips


def finite_or_none(value: Any) -> float | None:
    """Return ``value`` as a float, or None when missing, NaN or infinite."""
    if value is None:
        return None
    value = float(value)
    return value if np.isfinite(value) else None
