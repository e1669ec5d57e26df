"""Drift vector, compliance table and impossible-set handling of one model's contrast stream.

Drift of a metric for one constraint type (prompt ``variant``) is the mean over topics of
(mean contrast value of that topic and variant) minus (mean baseline value of that topic).
It is divided by the metric's baseline SD pooled over models, the root mean of the models'
within-model baseline variances, so a drift of 1.0 is one typical baseline SD.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from bsb_core.signature_stats import BOOTSTRAP_RESAMPLES, CONFIDENCE, bootstrap_weights

IMPOSSIBLE_PREFIX = "impossible_"
# Families whose drift counts towards the drift magnitude: the model's voice, as opposed to
# structural metrics that a format constraint is meant to change.
VOICE_FAMILIES = ("stylistic", "pragmatic")
IMPOSSIBLE_CLASSES = ("refuses", "flags_conflict", "satisfies_one", "fails_both", "unclassified")
# refusal_class value of a full refusal (0 none, 1 partial, 2 full).
FULL_REFUSAL = 2.0

NO_CONTRAST_REASON = (
    "no contrast stream in scope: the data holds only baseline responses (an import, say), so drift cannot be measured"
)

# General wording of a response that points out contradictory instructions. Each pattern
# needs an instruction word or a "both" next to the conflict word, so a response that merely
# discusses a conflict in its topic does not match.
_INSTRUCTION_WORDS = r"(?:instructions?|constraints?|requirements?|requests?|formats?|rules?|conditions?)"
CONFLICT_PATTERNS = (
    re.compile(
        rf"\b{_INSTRUCTION_WORDS}\b(?:\W+\w+){{0,5}}?\W+(?:conflict|contradict|are\s+(?:mutually\s+exclusive|incompatible|inconsistent|contradictory))",
        re.IGNORECASE,
    ),
    re.compile(
        rf"\b(?:conflicting|contradictory|incompatible|inconsistent|mutually\s+exclusive|competing)\s+{_INSTRUCTION_WORDS}\b",
        re.IGNORECASE,
    ),
    re.compile(
        r"\b(?:can\s*not|can't|cannot|can’t|couldn't|unable\s+to|impossible\s+to|not\s+possible\s+to)\s+"
        r"(?:\w+\s+){0,2}?(?:both|simultaneously|at\s+the\s+same\s+time|all\s+of\s+(?:these|the)\s+" + _INSTRUCTION_WORDS + r")",
        re.IGNORECASE,
    ),
    re.compile(r"\b(?:these|the|your)\s+(?:two\s+)?" + _INSTRUCTION_WORDS + r"\s+contradict", re.IGNORECASE),
)


def flags_conflict(text: str) -> bool:
    """Return True when ``text`` points out that its instructions conflict ("these instructions conflict", "cannot both")."""
    return any(pattern.search(text or "") for pattern in CONFLICT_PATTERNS)


def is_impossible_variant(variant: Any) -> bool:
    """Return True for the variants of deliberately contradictory constraint sets."""
    return isinstance(variant, str) and variant.startswith(IMPOSSIBLE_PREFIX)


def impossible_mask(variants: pd.Series | pd.Index) -> np.ndarray:
    """Return a boolean array: True where the variant is an impossible constraint set."""
    return np.array([is_impossible_variant(v) for v in variants], dtype=bool)


def pooled_baseline_sd(baseline: pd.DataFrame, metrics: list[str]) -> pd.Series:
    """Return per metric the root mean of the models' baseline variances (models with ≥ 2 values)."""
    variances = baseline.groupby("model_id")[metrics].var(ddof=1)
    with np.errstate(invalid="ignore"):
        return np.sqrt(variances.mean(axis=0, skipna=True))


@dataclass
class DriftResult:
    """The drift section of a card and the number of topics behind its overall drift."""

    section: dict[str, Any]
    n_topics: int


def compute_drift(
    baseline: pd.DataFrame,
    contrast: pd.DataFrame,
    metrics: list[str],
    voice_metrics: list[str],
    pooled_sd: pd.Series,
    seed: int,
) -> DriftResult:
    """Return one model's drift vector per constraint type and overall, with its magnitude.

    ``baseline`` and ``contrast`` are the model's wide frames (one row per response with
    ``topic``, ``variant`` and one column per metric). Overall drift and the magnitude use
    the possible constraint types only: impossible sets are reported by :func:`impossible_handling`.
    """
    empty = {
        "available": False,
        "reason": None,
        "standardisation": "contrast minus baseline per topic, divided by the baseline SD pooled over models",
        "magnitude": None,
        "magnitude_ci": None,
        "n_topics": 0,
        "overall": {},
        "by_constraint": {},
    }
    if contrast.empty:
        return DriftResult({**empty, "reason": NO_CONTRAST_REASON}, 0)

    baseline_topics = baseline.dropna(subset=["topic"]).groupby("topic")[metrics].mean()
    paired = contrast[contrast["topic"].isin(baseline_topics.index)]
    if paired.empty:
        reason = "no topic has both baseline and contrast responses in scope, so drift cannot be paired by topic"
        return DriftResult({**empty, "reason": reason}, 0)

    scale = pooled_sd.reindex(metrics).where(lambda sd: sd > 0)
    cell_means = paired.groupby(["variant", "topic"])[metrics].mean()
    topic_index = cell_means.index.get_level_values("topic")
    differences = (cell_means - baseline_topics.loc[topic_index].to_numpy()) / scale.to_numpy()
    counts = paired.groupby(["variant", "topic"]).size()

    by_constraint: dict[str, Any] = {}
    for variant, block in differences.groupby(level="variant"):
        drift = block.mean(axis=0, skipna=True)
        by_constraint[str(variant)] = {
            "n_topics": int(len(block)),
            "n_responses": int(counts.loc[variant].sum()),
            "magnitude": _magnitude(drift.reindex(voice_metrics)),
            "metrics": _clean(drift),
        }

    possible = differences[~impossible_mask(differences.index.get_level_values("variant"))]
    section = {**empty, "available": True, "by_constraint": by_constraint}
    if possible.empty:
        section["reason"] = "only impossible constraint sets in scope: no overall drift"
        return DriftResult(section, 0)

    overall = possible.mean(axis=0, skipna=True)
    topics = possible.index.get_level_values("topic")
    samples = _bootstrap_magnitude(possible[voice_metrics], topics, seed)
    magnitude = _magnitude(overall.reindex(voice_metrics))
    alpha = (1.0 - CONFIDENCE) / 2.0
    finite = samples[np.isfinite(samples)]
    section.update(
        overall=_clean(overall),
        magnitude=magnitude,
        magnitude_ci=[float(np.quantile(finite, alpha)), float(np.quantile(finite, 1 - alpha))] if finite.size else None,
        n_topics=int(topics.nunique()),
    )
    return DriftResult(section, int(topics.nunique()))


def _bootstrap_magnitude(pairs: pd.DataFrame, topics: pd.Index, seed: int) -> np.ndarray:
    """Resample topics (with their pairs) and return the drift magnitude of each resample.

    NOTE: a root mean square of noisy means is biased upwards, so for a model whose true drift
    is near zero the percentile CI can lie above the point magnitude.
    """
    codes, uniques = pd.factorize(topics)
    weights = bootstrap_weights(len(uniques), seed, BOOTSTRAP_RESAMPLES)[:, codes]  # (B, pairs)
    values = pairs.to_numpy(dtype=float)
    present = ~np.isnan(values)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = (weights @ np.where(present, values, 0.0)) / (weights @ present.astype(float))
        squares = np.where(np.isnan(means), np.nan, means**2)
        counted = (~np.isnan(squares)).sum(axis=1)
        return np.where(counted > 0, np.sqrt(np.nansum(squares, axis=1) / np.maximum(counted, 1)), np.nan)


def _magnitude(drift: pd.Series) -> float | None:
    values = drift.dropna().to_numpy(dtype=float)
    if values.size == 0:
        return None
    return float(np.sqrt(np.mean(values**2)))


def _clean(series: pd.Series) -> dict[str, float | None]:
    return {str(name): (None if pd.isna(value) or not np.isfinite(value) else float(value)) for name, value in series.items()}


def compliance_table(contrast: pd.DataFrame, compliance_metrics: list[str]) -> dict[str, Any]:
    """Return follow rates per constraint type and overall (possible constraint types only)."""
    if contrast.empty:
        return {"available": False, "reason": NO_CONTRAST_REASON, "overall": None, "by_constraint": {}}
    by_constraint = {str(variant): _follow_rates(block, compliance_metrics) for variant, block in contrast.groupby("variant")}
    possible = contrast[~impossible_mask(contrast["variant"])]
    overall = _follow_rates(possible, compliance_metrics) if not possible.empty else None
    return {"available": True, "reason": None, "overall": overall, "by_constraint": by_constraint}


def _follow_rates(block: pd.DataFrame, compliance_metrics: list[str]) -> dict[str, Any]:
    means = block.reindex(columns=compliance_metrics).mean(axis=0, skipna=True)
    return {
        "n": int(len(block)),
        "all_followed": _value(means.get("all_constraints_followed")),
        "followed_share": _value(means.get("constraints_followed_share")),
        "metrics": {name: float(value) for name, value in means.items() if pd.notna(value)},
    }


def _value(value: Any) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def impossible_handling(contrast: pd.DataFrame, texts: dict[int, dict[str, Any]]) -> dict[str, Any]:
    """Classify each response to an impossible constraint set, first match wins.

    - refuses: a full refusal (``refusal_class`` 2);
    - flags_conflict: the text points out the conflict (:func:`flags_conflict`);
    - satisfies_one: some but not every constraint followed (``constraints_followed_share`` > 0);
    - fails_both: no constraint followed;
    - unclassified: the compliance metrics are null.
    """
    zero = {name: 0 for name in IMPOSSIBLE_CLASSES}
    if contrast.empty:
        return {"available": False, "reason": NO_CONTRAST_REASON, "n": 0, "counts": dict(zero), "shares": {}, "by_constraint": {}}
    block = contrast[impossible_mask(contrast["variant"])]
    if block.empty:
        reason = "no impossible constraint sets in scope"
        return {"available": False, "reason": reason, "n": 0, "counts": dict(zero), "shares": {}, "by_constraint": {}}

    classes = pd.Series(
        [_impossible_class(row, texts.get(int(response_id), {}).get("text", "")) for response_id, row in block.iterrows()],
        index=block.index,
    )
    counts = {**zero, **classes.value_counts().to_dict()}
    by_constraint = {
        str(variant): {**zero, **classes.loc[group.index].value_counts().to_dict()} for variant, group in block.groupby("variant")
    }
    total = len(block)
    return {
        "available": True,
        "reason": None,
        "n": int(total),
        "counts": {name: int(counts[name]) for name in IMPOSSIBLE_CLASSES},
        "shares": {name: counts[name] / total for name in IMPOSSIBLE_CLASSES},
        "by_constraint": {variant: {name: int(c[name]) for name in IMPOSSIBLE_CLASSES} for variant, c in by_constraint.items()},
    }


def _impossible_class(row: pd.Series, text: str) -> str:
    if row.get("refusal_class") is not None and pd.notna(row.get("refusal_class")) and row["refusal_class"] >= FULL_REFUSAL:
        return "refuses"
    if flags_conflict(text):
        return "flags_conflict"
    share = row.get("constraints_followed_share")
    if share is None or pd.isna(share):
        return "unclassified"
    return "satisfies_one" if share > 0 else "fails_both"
