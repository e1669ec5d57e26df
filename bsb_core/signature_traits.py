"""Trait definitions: each radar axis as a documented combination of metrics (docs/signatures.md)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

# Bump when a trait's components, signs or transforms change.
TRAIT_DEFINITIONS_VERSION = "1"
# NOTE: boosters, AI disclaimers and politeness markers would fit hedging, caution and warmth.
# On the AlpacaEval responses their model means are not reliable at 400 prompts (split-half
# 0.86, 0.82 and 0.62, below the 0.9 every trait metric must reach), so no trait uses them.
# They stay in the card's metrics and distinctive findings.


@dataclass(frozen=True)
class Component:
    """One metric behind a trait: the first name in ``candidates`` present in the data is used.

    ``sign`` is +1 when more of the metric means more of the trait. ``transform`` is ``log1p``
    for counts and rates with a long right tail, so a few huge responses do not dominate.
    """

    candidates: tuple[str, ...]
    sign: int = 1
    transform: str = "none"


@dataclass(frozen=True)
class Trait:
    """A radar axis: a label, a plain definition, the stream it reads and its components."""

    name: str
    label: str
    definition: str
    stream: str = "baseline"
    kind: str = "composite"  # composite: mean of standardised components; drift: from the drift vector
    components: tuple[Component, ...] = field(default_factory=tuple)


def _c(*names: str, sign: int = 1, transform: str = "none") -> Component:
    return Component(tuple(names), sign, transform)


TRAIT_LIST: tuple[Trait, ...] = (
    Trait(
        "structure",
        "Structure",
        "How much the model lays answers out as lists, headings and other markdown.",
        components=(
            _c("bullet_line_share"),
            _c("markdown_density", transform="log1p"),
            _c("heading_count", transform="log1p"),
        ),
    ),
    Trait(
        "verbosity",
        "Verbosity",
        "How long answers are: prose words and paragraphs.",
        components=(
            _c("word_count", transform="log1p"),
            _c("paragraph_count", transform="log1p"),
        ),
    ),
    Trait(
        "hedging",
        "Hedging",
        "How much the model qualifies claims: hedge words and phrases, modal verbs, and caveats.",
        components=(
            _c("hedges_per_100w"),
            _c("modal_rate"),
            _c("caveats_per_100w"),
        ),
    ),
    Trait(
        "caution",
        "Caution",
        "How readily the model refuses, fully or partly (caveats count as hedging, not as refusals).",
        components=(
            _c("refusal_score"),
        ),
    ),
    Trait(
        "warmth",
        "Warmth",
        "Friendly, personal tone: addressing the reader, exclamations, stock affirmations and offers of more help.",
        components=(
            _c("second_person_per_100w"),
            _c("exclamation_share"),
            _c("closing_offer"),
            _c("opening_affirmation"),
        ),
    ),
    Trait(
        "lexical_richness",
        "Lexical richness",
        "Vocabulary variety, independent of length: MTLD and moving-average type-token ratio.",
        components=(
            _c("mtld", transform="log1p"),
            _c("mattr"),
        ),
    ),
    Trait(
        "formality",
        "Formality",
        "Dense, impersonal style: content-word density and passives up, contractions and 'I' down.",
        components=(
            _c("lexical_density"),
            _c("passive_share"),
            _c("contraction_rate", sign=-1, transform="log1p"),
            _c("first_person_singular_per_100w", sign=-1, transform="log1p"),
        ),
    ),
    Trait(
        "compliance",
        "Compliance",
        "How well the model follows explicit format constraints (contrast stream, possible constraint sets only).",
        stream="contrast",
        components=(
            _c("constraints_followed_share"),
            _c("all_constraints_followed"),
        ),
    ),
    Trait(
        "drift_resistance",
        "Drift resistance",
        "How little the model's voice (stylistic and pragmatic metrics) bends under format pressure:"
        " the population's mean drift magnitude minus the model's.",
        stream="contrast",
        kind="drift",
    ),
)

TRAITS: dict[str, Trait] = {trait.name: trait for trait in TRAIT_LIST}


def resolve_components(trait: Trait, available: Iterable[str]) -> list[tuple[str, Component]]:
    """Return (metric name, component) for each component with a candidate in ``available``."""
    names = set(available)
    resolved = []
    for component in trait.components:
        for candidate in component.candidates:
            if candidate in names:
                resolved.append((candidate, component))
                break
    return resolved


def transform_values(values: pd.Series | np.ndarray, transform: str) -> np.ndarray:
    """Apply a component's transform; log1p keeps the sign so stray negatives stay finite."""
    array = np.asarray(values, dtype=float)
    if transform == "log1p":
        return np.sign(array) * np.log1p(np.abs(array))
    return array


@dataclass
class TraitScale:
    """Population reference of one trait: per-metric mean and SD of the transformed values."""

    trait: Trait
    components: list[tuple[str, Component]]
    centres: dict[str, float]
    spreads: dict[str, float]

    def score(self, wide: pd.DataFrame) -> np.ndarray:
        """Return each response's trait score: the mean of its signed component z-scores (NaN if none)."""
        columns = []
        for metric, component in self.components:
            if metric not in self.spreads:
                continue
            z = (transform_values(wide[metric], component.transform) - self.centres[metric]) / self.spreads[metric]
            columns.append(component.sign * z)
        if not columns:
            return np.full(len(wide), np.nan)
        stacked = np.vstack(columns)
        present = ~np.isnan(stacked)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(present, stacked, 0.0).sum(axis=0) / present.sum(axis=0)


def fit_trait_scale(trait: Trait, population: pd.DataFrame) -> TraitScale:
    """Fit a trait's reference on the pooled responses of every model (the ``population`` frame).

    Components whose transformed values have no spread (constant or missing) are left out.
    """
    components = resolve_components(trait, population.columns)
    centres: dict[str, float] = {}
    spreads: dict[str, float] = {}
    for metric, component in components:
        values = transform_values(population[metric], component.transform)
        values = values[~np.isnan(values)]
        if len(values) < 2:
            continue
        spread = float(np.std(values, ddof=1))
        if spread <= 0:
            continue
        centres[metric] = float(np.mean(values))
        spreads[metric] = spread
    return TraitScale(trait, components, centres, spreads)
