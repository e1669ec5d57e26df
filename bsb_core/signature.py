"""Signatures: per-model metric distributions, traits, drift and the card built from them.

``compute_signatures`` computes every model of a scope at once, so trait percentiles and
distinctive metrics compare each model with the others in the same store and scope. The
definitions (traits, drift, reliability) are documented in docs/signatures.md.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd

from bsb_core import __version__
from bsb_core.metrics.engine import METRIC_SET_VERSION, REGISTRY
from bsb_core.signature_diff import Diff, diff_signatures
from bsb_core.signature_drift import (
    VOICE_FAMILIES,
    compliance_table,
    compute_drift,
    impossible_handling,
    impossible_mask,
    pooled_baseline_sd,
)
from bsb_core.signature_insights import MetricInfo, distinctive_metrics, finite_or_none, prompt_tips
from bsb_core.scope import Scope, parse_scope
from bsb_core.signature_stats import (
    BOOTSTRAP_RESAMPLES,
    BOOTSTRAP_SEED,
    CONFIDENCE,
    RELIABILITY_SPLITS,
    bootstrap_weights,
    percentile_among,
    split_half_reliability,
    stable_seed,
    summarise_columns,
)
from bsb_core.signature_text import excerpt, load_rules, paraphrase_section, typical_responses
from bsb_core.signature_traits import TRAIT_DEFINITIONS_VERSION, TRAITS, Trait, fit_trait_scale, resolve_components
from bsb_core.store import Store, utc_now

log = logging.getLogger(__name__)

CARD_SCHEMA_VERSION = "1"
# Columns of a wide response frame that are not metrics.
META_COLUMNS = ("model_id", "prompt_id", "run_id", "sample", "created_at", "stream", "topic", "variant")
TRAIT_PREFIX = "trait:"


@dataclass
class Signature:
    """One model's signature in one scope.

    ``responses`` is the wide per-response frame the statistics were computed from, indexed
    by response id, with the META_COLUMNS and one column per metric. Version diffs read it.
    Everything a reader needs is in :meth:`to_card`.
    """

    model_id: int
    model: str
    scope: str
    responses: pd.DataFrame
    provider: str = "unknown"
    simulated: bool = False
    params: dict[str, Any] = field(default_factory=dict)
    computed_at: str = field(default_factory=utc_now)
    metrics: dict[str, dict[str, Any]] = field(default_factory=dict)
    traits: list[dict[str, Any]] = field(default_factory=list)
    drift: dict[str, Any] = field(default_factory=dict)
    compliance: dict[str, Any] = field(default_factory=dict)
    paraphrase: dict[str, Any] = field(default_factory=dict)
    distinctive: list[dict[str, Any]] = field(default_factory=list)
    prompt_tips: list[dict[str, Any]] = field(default_factory=list)
    excerpts: list[dict[str, Any]] = field(default_factory=list)
    population: list[str] = field(default_factory=list)
    provenance: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_responses(cls, model: str, responses: pd.DataFrame, scope: str = "all", model_id: int = 0) -> Signature:
        """Build a bare signature from a wide per-response frame (for diffs of values from elsewhere).

        Missing META_COLUMNS are filled: ``stream`` defaults to baseline and ``prompt_id`` to the row position.
        """
        frame = responses.copy()
        defaults = {"model_id": model_id, "stream": "baseline", "topic": None, "variant": None, "run_id": None, "sample": 0, "created_at": None}
        for column, default in defaults.items():
            if column not in frame.columns:
                frame[column] = default
        if "prompt_id" not in frame.columns:
            frame["prompt_id"] = [str(i) for i in range(len(frame))]
        return cls(model_id=model_id, model=model, scope=scope, responses=frame)

    def metric_names(self) -> list[str]:
        """Return the metric columns of :attr:`responses` (trait scores excluded)."""
        return [c for c in self.responses.columns if c not in META_COLUMNS and not str(c).startswith(TRAIT_PREFIX)]

    def to_card(self) -> dict[str, Any]:
        """Return the card as a JSON-ready dict (valid against bsb_core/schemas/card.schema.json)."""
        streams = self.responses["stream"].value_counts().to_dict() if not self.responses.empty else {}
        return _json_ready(
            {
                "schema_version": CARD_SCHEMA_VERSION,
                "model": self.model,
                "model_id": int(self.model_id),
                "provider": self.provider,
                "simulated": bool(self.simulated),
                "scope": self.scope,
                "computed_at": self.computed_at,
                "n_responses": int(len(self.responses)),
                "streams": {"baseline": 0, "contrast": 0, "paraphrase": 0, **{str(k): int(v) for k, v in streams.items()}},
                "traits": self.traits,
                "metrics": self.metrics,
                "drift": self.drift,
                "compliance": self.compliance,
                "paraphrase": self.paraphrase,
                "distinctive": self.distinctive,
                "prompt_tips": self.prompt_tips,
                "excerpts": self.excerpts,
                "population": {"models": list(self.population), "size": len(self.population)},
                "provenance": self.provenance,
            }
        )


# --- public API ------------------------------------------------------------------------------


def compute_signatures(store: Store, scope: str | int = "all") -> list[Signature]:
    """Compute the signature of every model with scored responses in ``scope``, all at once.

    ``scope`` is ``all``, ``run:<id>`` (or a bare run id) or a date range ``<from>..<to>``.
    Returns one :class:`Signature` per model, ordered by model name; an empty list when the
    scope has no scored responses.
    """
    parsed = parse_scope(scope)
    long = store.metric_frame(METRIC_SET_VERSION, parsed)
    if long.empty:
        log.info("no scored responses in scope %s (metric set %s)", parsed.text, METRIC_SET_VERSION)
        return []
    log.info("computing signatures for scope %s from %d metric values", parsed.text, len(long))
    return _Computation(store, parsed, long).run()


def refresh_signatures(store: Store, scope: str | int = "all") -> int:
    """Recompute and store the cards of ``scope``; return how many cards were written.

    Cards of models that no longer have scored responses in the scope are deleted.
    """
    parsed = parse_scope(scope)
    signatures = compute_signatures(store, parsed.text)
    for signature in signatures:
        store.save_signature(signature.model_id, parsed.text, signature.to_card())
    removed = store.delete_signatures(parsed.text, [s.model_id for s in signatures])
    log.info("stored %d signature cards for scope %s (%d stale removed)", len(signatures), parsed.text, removed)
    return len(signatures)


def load_cards(store: Store, scope: str | int = "all") -> list[dict[str, Any]]:
    """Return the stored cards of ``scope`` (computed by :func:`refresh_signatures`), by model name."""
    return store.signature_cards(parse_scope(scope).text)


def response_signature(store: Store, model: str, scope: str | int = "all") -> Signature:
    """Return a bare signature (per-response values only, no card sections) of one model in ``scope``.

    ``model`` is a model name or ``#<id>``. Raises ValueError naming the known models when
    it is not found, and when the model has no scored responses in the scope.
    """
    parsed = parse_scope(scope)
    models = store.model_table()
    if model.startswith("#") and model[1:].isdigit() and int(model[1:]) in models.index:
        ids = [int(model[1:])]
    else:
        ids = models.index[models["name"] == model].tolist()
    if not ids:
        known = ", ".join(sorted(models["name"])) or "none yet"
        raise ValueError(f"model {model!r} not found; known models: {known}")
    if len(ids) > 1:
        raise ValueError(f"model name {model!r} matches rows {ids} with different parameters; pass one as #<id>")
    long = store.metric_frame(METRIC_SET_VERSION, parsed, ids)
    if long.empty:
        raise ValueError(f"model {model!r} has no scored responses in scope {parsed.text}: run `bsb score` or pick another scope")
    row = models.loc[ids[0]]
    signature = Signature.from_responses(str(row["name"]), wide_responses(long), scope=parsed.text, model_id=ids[0])
    signature.provider = str(row["provider"])
    signature.simulated = bool(row["simulated"])
    return signature


@lru_cache(maxsize=1)
def card_schema() -> dict[str, Any]:
    """Return the card's JSON Schema shipped in bsb_core/schemas/card.schema.json."""
    text = resources.files("bsb_core").joinpath("schemas/card.schema.json").read_text(encoding="utf-8")
    return json.loads(text)


def validate_card(card: dict[str, Any]) -> None:
    """Raise jsonschema.ValidationError naming the first invalid field when ``card`` breaks the schema."""
    import jsonschema

    jsonschema.Draft202012Validator(card_schema()).validate(card)


def wide_responses(long: pd.DataFrame) -> pd.DataFrame:
    """Pivot long metric rows to one row per response: META_COLUMNS plus one column per metric."""
    meta = long.drop_duplicates("response_id").set_index("response_id")[list(META_COLUMNS)]
    values = long.pivot_table(index="response_id", columns="metric", values="value", aggfunc="first", dropna=False)
    known = [name for name in REGISTRY.names() if name in values.columns]
    unknown = sorted(c for c in values.columns if c not in REGISTRY)
    values = values.reindex(index=meta.index, columns=known + unknown).astype(float)
    values.columns.name = None
    return meta.join(values)


# --- the computation -------------------------------------------------------------------------


class _Computation:
    """All signatures of one scope: shared population statistics, then one card per model."""

    def __init__(self, store: Store, scope: Scope, long: pd.DataFrame) -> None:
        self.store = store
        self.scope = scope
        self.long = long
        self.computed_at = utc_now()
        self.wide = wide_responses(long)
        self.metrics = [c for c in self.wide.columns if c not in META_COLUMNS]
        self.families = {name: (REGISTRY.get(name).family if name in REGISTRY else "unknown") for name in self.metrics}
        self.compliance_metrics = [m for m in self.metrics if self.families[m] == "compliance"]
        self.style_metrics = [m for m in self.metrics if self.families[m] != "compliance"]
        self.voice_metrics = [m for m in self.style_metrics if self.families[m] in VOICE_FAMILIES]
        self.models = store.model_table()
        self.model_ids = sorted(self.wide["model_id"].unique(), key=lambda i: (self.models.loc[i, "name"], i))

        streams = self.wide["stream"]
        self.baseline = self.wide[streams == "baseline"].copy()
        self.contrast = self.wide[streams == "contrast"].copy()
        self.paraphrases = self.wide[streams == "paraphrase"]
        self.possible_contrast = self.contrast[~impossible_mask(self.contrast["variant"])].copy()
        self.trait_metric_means: dict[str, pd.DataFrame] = {}

    def run(self) -> list[Signature]:
        self._score_traits()
        self.pooled_sd = pooled_baseline_sd(self.baseline, self.style_metrics)
        self.baseline_means = self.baseline.groupby("model_id")[self.style_metrics].mean()
        self.baseline_counts = self.baseline.groupby("model_id")[self.style_metrics].count()
        self.reliability = self._reliability()
        self.drifts = {
            model_id: compute_drift(
                self.baseline[self.baseline["model_id"] == model_id],
                self.contrast[self.contrast["model_id"] == model_id],
                self.style_metrics,
                self.voice_metrics,
                self.pooled_sd,
                stable_seed(self._name(model_id), self.scope.text, "drift"),
            )
            for model_id in self.model_ids
        }
        signatures = [self._signature(model_id) for model_id in self.model_ids]
        self._fill_percentiles(signatures)
        for signature in signatures:
            signature.prompt_tips = prompt_tips(signature.traits, signature.compliance, signature.drift["impossible"])
        return signatures

    # population-level steps -----------------------------------------------------------------

    def _score_traits(self) -> None:
        """Add a ``trait:<name>`` score column to the baseline and contrast frames."""
        self.trait_scales = {}
        for trait in TRAITS.values():
            if trait.kind != "composite":
                continue
            frame = self.baseline if trait.stream == "baseline" else self.possible_contrast
            scale = fit_trait_scale(trait, frame)
            self.trait_scales[trait.name] = scale
            frame[TRAIT_PREFIX + trait.name] = scale.score(frame) if not frame.empty else np.array([])

    def _reliability(self) -> pd.Series:
        trait_columns = [c for c in self.baseline.columns if str(c).startswith(TRAIT_PREFIX)]
        parts = []
        if not self.baseline.empty:
            parts.append(
                split_half_reliability(
                    self.baseline[self.style_metrics + trait_columns], self.baseline["model_id"], self.baseline["prompt_id"]
                )
            )
        contrast_columns = self.compliance_metrics + [c for c in self.possible_contrast.columns if str(c).startswith(TRAIT_PREFIX)]
        if not self.possible_contrast.empty:
            parts.append(
                split_half_reliability(
                    self.possible_contrast[contrast_columns], self.possible_contrast["model_id"], self.possible_contrast["prompt_id"]
                )
            )
        return pd.concat(parts) if parts else pd.Series(dtype=float)

    def _name(self, model_id: int) -> str:
        return str(self.models.loc[model_id, "name"])

    # per-model steps --------------------------------------------------------------------------

    def _signature(self, model_id: int) -> Signature:
        name = self._name(model_id)
        own = self.wide[self.wide["model_id"] == model_id]
        baseline = self.baseline[self.baseline["model_id"] == model_id]
        contrast = self.contrast[self.contrast["model_id"] == model_id]
        possible = self.possible_contrast[self.possible_contrast["model_id"] == model_id]

        baseline_stats = self._column_stats(baseline, self.style_metrics, stable_seed(name, self.scope.text, "baseline"))
        contrast_stats = self._column_stats(possible, self.compliance_metrics, stable_seed(name, self.scope.text, "contrast"))
        metrics = self._metric_summaries(baseline_stats, contrast_stats)

        drift_result = self.drifts[model_id]
        impossible_ids = contrast.index[impossible_mask(contrast["variant"])].tolist()
        paraphrase_ids = self.paraphrases.index[self.paraphrases["model_id"] == model_id].tolist()
        excerpt_ids = typical_responses(baseline, [m for m in self.style_metrics if m in baseline.columns])
        texts = self.store.response_texts([*impossible_ids, *paraphrase_ids, *excerpt_ids])

        drift = {**drift_result.section, "impossible": impossible_handling(contrast, texts)}
        runs = self.store.run_table(own["run_id"].dropna().astype(int).unique())
        suites = list(dict.fromkeys(run["suite"] for run in runs if run.get("suite")))
        rules, rules_reason = load_rules(suites) if paraphrase_ids else (None, None)

        signature = Signature(
            model_id=int(model_id),
            model=name,
            scope=self.scope.text,
            responses=own,
            provider=str(self.models.loc[model_id, "provider"]),
            simulated=bool(self.models.loc[model_id, "simulated"]),
            params=dict(self.models.loc[model_id, "params"]),
            computed_at=self.computed_at,
            metrics=metrics,
            traits=self._traits(model_id, baseline_stats, contrast_stats, len(baseline), len(possible)),
            drift=drift,
            compliance=compliance_table(contrast, self.compliance_metrics),
            paraphrase=paraphrase_section(paraphrase_ids, texts, rules, rules_reason),
            distinctive=distinctive_metrics(model_id, self.baseline_means, self.baseline_counts, self.pooled_sd, self._infos()),
            excerpts=[excerpt(i, texts[i]) for i in excerpt_ids if i in texts],
            population=[self._name(i) for i in self.model_ids],
        )
        signature.provenance = self._provenance(signature, own, runs, suites)
        return signature

    def _column_stats(self, frame: pd.DataFrame, metrics: list[str], seed: int) -> pd.DataFrame:
        """Return a (column × statistic) frame for ``metrics`` and the trait scores in ``frame``."""
        columns = [*metrics, *[c for c in frame.columns if str(c).startswith(TRAIT_PREFIX)]]
        values = frame[columns].to_numpy(dtype=float) if not frame.empty else np.empty((0, len(columns)))
        weights = bootstrap_weights(len(values), seed)
        return pd.DataFrame(summarise_columns(values, weights), index=columns)

    def _metric_summaries(self, baseline_stats: pd.DataFrame, contrast_stats: pd.DataFrame) -> dict[str, dict[str, Any]]:
        summaries = {}
        for metric in self.metrics:
            stats, stream = (contrast_stats, "contrast") if self.families[metric] == "compliance" else (baseline_stats, "baseline")
            row = stats.loc[metric]
            info = REGISTRY.get(metric) if metric in REGISTRY else None
            summaries[metric] = {
                "family": self.families[metric],
                "unit": info.unit if info else "",
                "direction": info.direction if info else "",
                "stream": stream,
                "n": int(row["n"]),
                "n_null": int(row["n_null"]),
                "mean": finite_or_none(row["mean"]),
                "median": finite_or_none(row["median"]),
                "sd": finite_or_none(row["sd"]),
                "ci_low": finite_or_none(row["ci_low"]),
                "ci_high": finite_or_none(row["ci_high"]),
                "reliability": finite_or_none(self.reliability.get(metric)),
            }
        return summaries

    def _traits(self, model_id: int, baseline_stats: pd.DataFrame, contrast_stats: pd.DataFrame, n_baseline: int, n_contrast: int) -> list[dict[str, Any]]:
        traits = []
        for trait in TRAITS.values():
            entry = {
                "name": trait.name,
                "label": trait.label,
                "available": False,
                "reason": None,
                "value": None,
                "ci_low": None,
                "ci_high": None,
                "percentile": None,
                "n": 0,
                "reliability": None,
                "stream": trait.stream,
                "metrics": [],
            }
            if trait.kind == "drift":
                traits.append(self._drift_trait(model_id, entry))
                continue
            stats = baseline_stats if trait.stream == "baseline" else contrast_stats
            column = TRAIT_PREFIX + trait.name
            scale = self.trait_scales[trait.name]
            entry["metrics"] = self._trait_metrics(model_id, trait)
            if trait.stream == "contrast" and n_contrast == 0:
                entry["reason"] = "no contrast stream in scope (possible constraint sets): compliance cannot be measured"
            elif not scale.spreads:
                missing = ", ".join(c.candidates[0] for c in trait.components)
                entry["reason"] = f"none of its metrics has values in scope (expected: {missing})"
            elif column not in stats.index or not stats.loc[column, "n"]:
                entry["reason"] = f"no {trait.stream} response has a value for its metrics"
            else:
                row = stats.loc[column]
                entry.update(
                    available=True,
                    value=finite_or_none(row["mean"]),
                    ci_low=finite_or_none(row["ci_low"]),
                    ci_high=finite_or_none(row["ci_high"]),
                    n=int(row["n"]),
                    reliability=finite_or_none(self.reliability.get(column)),
                )
            traits.append(entry)
        return traits

    def _trait_metrics(self, model_id: int, trait: Trait) -> list[dict[str, Any]]:
        frame = self.baseline if trait.stream == "baseline" else self.possible_contrast
        resolved = resolve_components(trait, frame.columns)
        if not resolved:
            return []
        if trait.name not in self.trait_metric_means:
            self.trait_metric_means[trait.name] = frame.groupby("model_id")[[metric for metric, _ in resolved]].mean()
        means = self.trait_metric_means[trait.name]
        rows = []
        for metric, component in resolved:
            info = REGISTRY.get(metric) if metric in REGISTRY else None
            rows.append(
                {
                    "metric": metric,
                    "sign": component.sign,
                    "transform": component.transform,
                    "mean": finite_or_none(means[metric].get(model_id)),
                    "population_median": finite_or_none(means[metric].median()),
                    "unit": info.unit if info else "",
                }
            )
        return rows

    def _drift_trait(self, model_id: int, entry: dict[str, Any]) -> dict[str, Any]:
        result = self.drifts[model_id]
        magnitudes = [r.section["magnitude"] for r in self.drifts.values() if r.section["magnitude"] is not None]
        entry["metrics"] = [
            {"metric": "drift_magnitude", "sign": -1, "transform": "none", "mean": result.section["magnitude"],
             "population_median": float(np.median(magnitudes)) if magnitudes else None, "unit": "baseline SD"}
        ]
        if result.section["magnitude"] is None:
            entry["reason"] = result.section["reason"] or "no drift magnitude"
            return entry
        centre = float(np.mean(magnitudes))
        low, high = result.section["magnitude_ci"] or (None, None)
        entry.update(
            available=True,
            value=centre - result.section["magnitude"],
            ci_low=None if high is None else centre - high,
            ci_high=None if low is None else centre - low,
            n=result.n_topics,
        )
        return entry

    def _fill_percentiles(self, signatures: list[Signature]) -> None:
        for index, trait in enumerate(TRAITS):
            values = pd.Series(
                [s.traits[index]["value"] if s.traits[index]["available"] else np.nan for s in signatures], dtype=float
            )
            percentiles = percentile_among(values)
            for signature, percentile in zip(signatures, percentiles):
                signature.traits[index]["percentile"] = finite_or_none(percentile)

    def _infos(self) -> dict[str, MetricInfo]:
        trait_of: dict[str, str] = {}
        for trait in TRAITS.values():
            for metric, _ in resolve_components(trait, self.metrics):
                trait_of.setdefault(metric, trait.name)
        return {
            metric: MetricInfo(metric, REGISTRY.get(metric).unit if metric in REGISTRY else "", trait_of.get(metric))
            for metric in self.metrics
        }

    def _provenance(self, signature: Signature, own: pd.DataFrame, runs: list[dict[str, Any]], suites: list[str]) -> dict[str, Any]:
        pipelines = sorted(self.long.loc[self.long["model_id"] == signature.model_id, "pipeline"].dropna().unique())
        created = own["created_at"].dropna()
        return {
            "runs": runs,
            "suite_hashes": sorted({run["suite_hash"] for run in runs if run.get("suite_hash")}),
            "metric_set_version": METRIC_SET_VERSION,
            "pipelines": [str(p) for p in pipelines],
            "parameters": signature.params,
            "first_response_at": str(created.min()) if len(created) else None,
            "last_response_at": str(created.max()) if len(created) else None,
            "computed_at": self.computed_at,
            "simulated": signature.simulated,
            "bootstrap": {"resamples": BOOTSTRAP_RESAMPLES, "seed": BOOTSTRAP_SEED, "confidence": CONFIDENCE},
            "reliability_splits": RELIABILITY_SPLITS,
            "trait_definitions": TRAIT_DEFINITIONS_VERSION,
            "bsb_version": __version__,
        }


def _json_ready(value: Any) -> Any:
    """Convert numpy scalars and NaN/inf (to None) recursively so json.dumps accepts the card."""
    if isinstance(value, dict):
        return {str(k): _json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_ready(v) for v in value]
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if np.isfinite(value) else None
    return value


__all__ = [
    "TRAITS",
    "Diff",
    "Signature",
    "card_schema",
    "compute_signatures",
    "diff_signatures",
    "load_cards",
    "refresh_signatures",
    "response_signature",
    "validate_card",
    "wide_responses",
]
