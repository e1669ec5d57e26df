"""The metric registry: every metric's name, family, unit, direction and definition."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

FAMILIES = ("structural", "pragmatic", "stylistic", "compliance")


@dataclass(frozen=True)
class Metric:
    """A metric's description as shown in ``bsb metrics`` and ``docs/metrics.md``."""

    name: str
    family: str
    unit: str
    direction: str  # what a higher value means, e.g. "higher = more hedging"
    definition: str  # one line


@dataclass(frozen=True)
class Null:
    """An explicit missing value with the reason, e.g. ``Null("no sentences")``."""

    reason: str


Value = Union[float, Null]


class Registry:
    """An ordered collection of metrics, unique by name."""

    def __init__(self) -> None:
        self._metrics: dict[str, Metric] = {}

    def add(self, name: str, family: str, unit: str, direction: str, definition: str) -> Metric:
        """Register a metric and return it; a duplicate name or unknown family raises ValueError."""
        if family not in FAMILIES:
            raise ValueError(f"metric {name!r}: unknown family {family!r}; expected one of {', '.join(FAMILIES)}")
        if name in self._metrics:
            raise ValueError(f"metric {name!r} is registered twice")
        metric = Metric(name, family, unit, direction, definition)
        self._metrics[name] = metric
        return metric

    def __iter__(self):
        return iter(self._metrics.values())

    def __len__(self) -> int:
        return len(self._metrics)

    def __contains__(self, name: object) -> bool:
        return name in self._metrics

    def get(self, name: str) -> Metric:
        """Return the metric called ``name``; raise KeyError naming the known metrics when missing."""
        try:
            return self._metrics[name]
        except KeyError:
            raise KeyError(f"unknown metric {name!r}; run `bsb metrics` to list them") from None

    def names(self, family: str | None = None) -> list[str]:
        """Return metric names in registration order, optionally of one family."""
        return [m.name for m in self._metrics.values() if family is None or m.family == family]


REGISTRY = Registry()
