"""Deterministic NLP metrics in four families: structural, pragmatic, stylistic, compliance."""

from bsb_core.metrics.registry import FAMILIES, REGISTRY, Metric, Null, Value

__all__ = ["FAMILIES", "REGISTRY", "Metric", "Null", "Value"]
