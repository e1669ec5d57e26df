"""Hand-made signature cards, valid against card.schema.json, for fast recommender, chart and PDF tests."""

from __future__ import annotations

from typing import Any

TRAIT_NAMES = (
    "structure", "verbosity", "hedging", "caution", "warmth", "lexical_richness", "formality", "compliance", "drift_resistance",
)
CONTRAST_TRAITS = ("compliance", "drift_resistance")
CONSTRAINT_TYPES = ("bullets", "json_schema", "word_limit", "impossible_bullets")
NO_CONTRAST = "no contrast stream in scope: the data holds only baseline responses (an import, say), so drift cannot be measured"


def _trait(name: str, percentile: float | None, reason: str | None) -> dict[str, Any]:
    available = percentile is not None
    value = None if not available else (percentile - 50) / 50
    return {
        "name": name,
        "label": name.replace("_", " ").capitalize(),
        "available": available,
        "reason": None if available else reason,
        "value": value,
        "ci_low": None if value is None else value - 0.1,
        "ci_high": None if value is None else value + 0.1,
        "percentile": percentile,
        "n": 40 if available else 0,
        "stream": "contrast" if name in CONTRAST_TRAITS else "baseline",
        "metrics": [
            {"metric": f"{name}_metric", "sign": 1, "transform": "none", "mean": value, "population_median": 0.0, "unit": "score"}
        ],
    }


def _rates(rate: float, n: int = 20) -> dict[str, Any]:
    return {"n": n, "all_followed": rate, "followed_share": rate, "metrics": {"all_constraints_followed": rate}}


def make_card(
    model: str,
    percentiles: dict[str, float] | None = None,
    compliance: dict[str, float] | None = None,
    drift_by_constraint: dict[str, float] | None = None,
    drift_magnitude: float | None = 0.3,
    contrast: bool = True,
    simulated: bool = True,
    excerpts: list[tuple[str, str]] | None = None,
    prompt_tips: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Return a schema-valid card.

    ``percentiles`` sets trait percentiles (the others are 50). ``compliance`` maps each
    constraint type, ``overall`` included, to its follow rate. ``contrast=False`` makes a
    baseline-only card as from imported data, so compliance, drift and their traits are unavailable.
    """
    percentiles = {name: 50.0 for name in TRAIT_NAMES} | (percentiles or {})
    if not contrast:
        for name in CONTRAST_TRAITS:
            percentiles[name] = None
    compliance = compliance or {"overall": 0.9, "bullets": 0.9, "json_schema": 0.9, "word_limit": 0.9, "impossible_bullets": 0.0}
    drift_by_constraint = drift_by_constraint or {name: 0.3 for name in CONSTRAINT_TYPES}
    metrics = ("word_count", "hedge_rate", "politeness_rate")

    if contrast:
        drift = {
            "available": True,
            "reason": None,
            "standardisation": "baseline SD pooled over models",
            "magnitude": drift_magnitude,
            "magnitude_ci": None if drift_magnitude is None else [drift_magnitude * 0.8, drift_magnitude * 1.2],
            "n_topics": 10,
            "overall": {metric: 0.2 for metric in metrics},
            "by_constraint": {
                name: {"n_topics": 10, "n_responses": 20, "magnitude": value, "metrics": {metric: value for metric in metrics}}
                for name, value in drift_by_constraint.items()
            },
            "impossible": {
                "available": True, "reason": None, "n": 10,
                "counts": {"refuses": 1, "flags_conflict": 4, "satisfies_one": 3, "fails_both": 2, "unclassified": 0},
                "shares": {"refuses": 0.1, "flags_conflict": 0.4, "satisfies_one": 0.3, "fails_both": 0.2, "unclassified": 0.0},
                "by_constraint": {},
            },
        }
        compliance_section = {
            "available": True,
            "reason": None,
            "overall": _rates(compliance["overall"]),
            "by_constraint": {name: _rates(rate) for name, rate in compliance.items() if name != "overall"},
        }
    else:
        zero = {"refuses": 0, "flags_conflict": 0, "satisfies_one": 0, "fails_both": 0, "unclassified": 0}
        drift = {
            "available": False, "reason": NO_CONTRAST, "magnitude": None, "magnitude_ci": None, "overall": {}, "by_constraint": {},
            "impossible": {"available": False, "reason": NO_CONTRAST, "n": 0, "counts": zero, "shares": {}, "by_constraint": {}},
        }
        compliance_section = {"available": False, "reason": NO_CONTRAST, "overall": None, "by_constraint": {}}

    excerpts = excerpts or [("Explain compound interest.", "Compound interest grows on interest already earned."),
                            ("Plan a study week.", "Start with the hardest subject on Monday.")]
    return {
        "schema_version": "1",
        "model": model,
        "model_id": 1,
        "provider": "sim" if simulated else "import",
        "simulated": simulated,
        "scope": "all",
        "computed_at": "2025-01-01T00:00:00+00:00",
        "n_responses": 60,
        "streams": {"baseline": 40, "contrast": 20 if contrast else 0, "paraphrase": 0},
        "traits": [_trait(name, percentiles[name], NO_CONTRAST) for name in TRAIT_NAMES],
        "metrics": {
            metric: {
                "family": "stylistic", "unit": "score", "direction": "higher = more", "stream": "baseline", "n": 40, "n_null": 0,
                "mean": 1.0, "median": 1.0, "sd": 0.5, "ci_low": 0.9, "ci_high": 1.1, "reliability": 0.9,
            }
            for metric in metrics
        },
        "drift": drift,
        "compliance": compliance_section,
        "paraphrase": {
            "available": False, "reason": "no paraphrase stream in scope", "text": None, "length_ratio": None,
            "rule_coverage": None, "n_rules": 0, "rules_covered": [],
        },
        "distinctive": [
            {"metric": "word_count", "trait": "verbosity", "value": 320.0, "population_median": 200.0, "ratio": 1.6,
             "effect_size": 0.9, "direction": "higher", "text": "writes 320 prose words per answer, 1.6× the median model (200)"}
        ],
        "prompt_tips": prompt_tips if prompt_tips is not None else [
            {"tip": "Give a word limit or ask for the short answer first.", "because": "writes long answers", "trait": "verbosity"}
        ],
        "excerpts": [
            {"response_id": index + 1, "stream": "baseline", "variant": None, "prompt": prompt, "response": response, "truncated": False}
            for index, (prompt, response) in enumerate(excerpts)
        ],
        "population": {"models": [model], "size": 1},
        "provenance": {
            "runs": [{"id": 1, "kind": "collect", "status": "completed", "suite": "core", "suite_hash": "abc123"}],
            "suite_hashes": ["abc123"],
            "metric_set_version": "1",
            "pipelines": ["en_core_web_sm@3.8.0"],
            "parameters": {"temperature": 0.7},
            "first_response_at": "2025-01-01T00:00:00+00:00",
            "last_response_at": "2025-01-01T00:00:00+00:00",
            "computed_at": "2025-01-01T00:00:00+00:00",
            "simulated": simulated,
            "bootstrap": {"resamples": 1000, "seed": 1, "confidence": 0.95},
            "bsb_version": "0.1.0",
        },
    }
