"""The metric registry: size, metadata of every metric, and each family's compute output."""

from __future__ import annotations

import re

import pytest

from bsb_core.metrics import FAMILIES, REGISTRY
from bsb_core.metrics.document import Parsed, prepare
from bsb_core.metrics.engine import FAMILY_MODULES
from bsb_core.metrics.registry import Null, Registry

SNAKE_CASE_RE = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$")

SAMPLE_TEXTS = [
    "",
    "Sure! Here are three tips:\n\n- Sleep well.\n- Eat well.\n- Move daily.\n\nLet me know if you need more.",
    '```json\n{"name": "BSB", "tags": ["a", "b"]}\n```',
    "# Report\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\nThe results were reviewed by the committee. Should we proceed?",
]


def parse(text: str, nlp) -> Parsed:
    cleaned, layout = prepare(text)
    doc = nlp(layout.prose) if layout.prose.strip() else None
    return Parsed(text=cleaned, layout=layout, doc=doc)


def test_registry_size():
    assert len(REGISTRY) >= 40


@pytest.mark.parametrize("family", FAMILIES)
def test_family_has_metrics(family):
    assert REGISTRY.names(family)


@pytest.mark.parametrize("metric", list(REGISTRY), ids=lambda metric: metric.name)
def test_metric_metadata(metric):
    assert SNAKE_CASE_RE.match(metric.name)
    assert metric.family in FAMILIES
    assert metric.unit.strip()
    assert metric.direction.strip()
    assert metric.definition.strip()
    assert "\n" not in metric.definition


def test_names_unique():
    names = REGISTRY.names()
    assert len(names) == len(set(names))


def test_duplicate_name_rejected():
    registry = Registry()
    registry.add("x", "structural", "count", "higher = more", "A test metric.")
    with pytest.raises(ValueError, match="registered twice"):
        registry.add("x", "stylistic", "count", "higher = more", "A test metric.")


def test_unknown_family_rejected():
    with pytest.raises(ValueError, match="unknown family"):
        Registry().add("y", "semantic", "count", "higher = more", "A test metric.")


def test_family_modules_cover_families():
    assert sorted(module.FAMILY for module in FAMILY_MODULES) == sorted(FAMILIES)


@pytest.mark.parametrize("module", FAMILY_MODULES, ids=lambda module: module.FAMILY)
@pytest.mark.parametrize("text", SAMPLE_TEXTS, ids=["empty", "bullets", "json", "table"])
def test_compute_returns_registered_names(nlp, module, text):
    values = module.compute(parse(text, nlp))
    assert sorted(values) == sorted(REGISTRY.names(module.FAMILY))


@pytest.mark.parametrize("module", FAMILY_MODULES, ids=lambda module: module.FAMILY)
def test_compute_value_types(nlp, module):
    for text in SAMPLE_TEXTS:
        values = module.compute(parse(text, nlp))
        for name, value in values.items():
            assert isinstance(value, (float, Null)), f"{name} on {text[:30]!r}: {value!r}"
