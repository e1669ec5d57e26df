"""Structural metrics."""

from __future__ import annotations

from bsb_core.metrics.document import Parsed
from bsb_core.metrics.registry import REGISTRY, Value

FAMILY = "structural"


def compute(parsed: Parsed) -> dict[str, Value]:
    """Return this family's metric values for one response."""
    return {}
