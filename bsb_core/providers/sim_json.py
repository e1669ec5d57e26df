"""JSON responses of the simulator: an instance built from a JSON Schema, and the ways a persona breaks it.

The generator covers the keywords the suite's schemas use: ``type`` (object, array, string,
integer, number, boolean), ``properties``, ``required``, ``additionalProperties``, ``items``,
``prefixItems``, ``enum``, ``const``, ``minItems``/``maxItems``, ``minLength``/``maxLength`` and
``minimum``/``maximum``. String values are sentences or short labels about the topic, chosen
by property name.
"""

from __future__ import annotations

import copy
import json
import logging
import random
from typing import Any

from jsonschema import Draft202012Validator

from bsb_core.providers.sim_text import Content, capitalize, fill

log = logging.getLogger(__name__)

# Property names whose values are short labels rather than sentences.
_LABEL_KEYS = {"name", "factor", "risk", "option", "beat", "title", "working_title", "label", "term"}

# Templates for string values by property name ({A}/{B} are topic terms, as in sim_text).
_VALUE_TEMPLATES: dict[str, list[str]] = {
    "question": ["Should the priority be {A} or {B}?", "How much weight should {A} get compared with {B}?"],
    "claim": ["{A_cap} {A_has} a measurable effect on {B}.", "Improving {A} leads to better {B}."],
    "open_questions": ["How much does {A} vary between settings?", "Would the effect on {B} last beyond the first year?", "Which groups gain least from {A}?"],
    "success_metrics": ["Change in {A} after three months", "Share of people reporting better {B}", "Cost per unit of {A}"],
    "pros": ["Improves {A}", "Strengthens {B}", "Simple to explain", "Low upfront effort"],
    "cons": ["Puts pressure on {B}", "Hard to measure {A}", "Takes time to show results", "Needs ongoing attention"],
    "mitigation": ["Review {A} every quarter and keep a fallback for {B}.", "Assign an owner for {A} and set an early-warning threshold."],
    "myth": ["{A_cap} {A_has} no effect on {B}.", "Only experts need to understand {A}."],
    "correction": ["In fact, {A} can affect {B}, but the size of the effect varies.", "The basics of {A} are accessible to anyone."],
    "analogy": ["Think of {A} as the foundation and {B} as the walls built on top of it.", "Picture {A} as a thermostat for {B}."],
    "action": ["Map the current state of {A}", "Agree targets for {B}", "Run a pilot on {A}", "Review results and adjust {B}", "Train the people responsible for {A}"],
    "interest": ["Wants predictable {A}", "Cares most about {B}", "Needs clear rules on {A}"],
    "tensions": ["{A_cap} versus {B}", "Short-term costs of {A} against long-term gains in {B}"],
    "key_points": [],
    "finding": ["Studies link {A} with changes in {B}.", "Results on {A} differ by setting and sample size."],
    "logline": ["When {A} starts to fail, one person must decide what {B} is really worth."],
    "goal": ["Improve {A} without weakening {B}."],
    "context": ["An assessment of {A} and its effect on {B}."],
}
_STAKEHOLDERS = ["Employees", "Managers", "Customers", "Regulators", "Local residents", "Investors", "Suppliers", "Students", "Parents", "Teachers", "Patients", "Clinicians"]
_BEATS = ["Opening image", "Inciting incident", "Rising tension", "Turning point", "Climax", "Resolution"]
_OPTION_FORMS = ["Prioritise {A}", "Phase in {A} gradually", "Keep the current approach to {B}", "Combine {A} with {B}"]
_RISK_FORMS = ["Weak {A}", "Delays in {A}", "Loss of {B}", "Unclear ownership of {A}", "Rising costs of {B}"]

# Values outside any enum the suite uses, for the wrong_enum break ("medium-high" is a typical near miss).
_WRONG_ENUM_VALUES = ["medium-high", "very high", "unknown", "n/a", "Moderate"]


class _Builder:
    def __init__(self, content: Content, rng: random.Random) -> None:
        self.content = content
        self.rng = rng
        self.labels: list[str] = []

    def value(self, schema: dict[str, Any], key: str = "", index: int = 0) -> Any:
        if "const" in schema:
            return copy.deepcopy(schema["const"])
        if "enum" in schema:
            return copy.deepcopy(self.rng.choice(schema["enum"]))
        for combinator in ("anyOf", "oneOf", "allOf"):
            if combinator in schema and schema[combinator]:
                return self.value(schema[combinator][0], key, index)

        kind = schema.get("type", "object" if "properties" in schema else "string")
        if isinstance(kind, list):
            kind = next((k for k in kind if k != "null"), "string")
        builder = getattr(self, f"_{kind}", self._string)
        return builder(schema, key, index)

    def _object(self, schema: dict[str, Any], key: str, index: int) -> dict[str, Any]:
        return {name: self.value(sub, name) for name, sub in schema.get("properties", {}).items()}

    def _array(self, schema: dict[str, Any], key: str, index: int) -> list[Any]:
        low = schema.get("minItems", 2)
        high = schema.get("maxItems", low + 2)
        count = self.rng.randint(low, max(low, min(high, low + 2)))
        prefix = schema.get("prefixItems", [])
        items = schema.get("items", {"type": "string"})
        values = []
        for i in range(count):
            sub = prefix[i] if i < len(prefix) else items
            values.append(self.value(sub if isinstance(sub, dict) else {"type": "string"}, key, i))
        return values

    def _integer(self, schema: dict[str, Any], key: str, index: int) -> int:
        if key == "order":
            return index + 1
        low = int(schema.get("minimum", 1))
        return self.rng.randint(low, int(schema.get("maximum", low + 11)))

    def _number(self, schema: dict[str, Any], key: str, index: int) -> float:
        low = float(schema.get("minimum", 0.0))
        return round(self.rng.uniform(low, float(schema.get("maximum", low + 1.0))), 2)

    def _boolean(self, schema: dict[str, Any], key: str, index: int) -> bool:
        return self.rng.random() < 0.5

    def _null(self, schema: dict[str, Any], key: str, index: int) -> None:
        return None

    def _string(self, schema: dict[str, Any], key: str, index: int) -> str:
        text = self._label(key, index) if key in _LABEL_KEYS else self._sentence(key)
        while len(text) < schema.get("minLength", 0):
            text += " " + self.content.sentence("reason")
        if "maxLength" in schema and len(text) > schema["maxLength"]:
            text = text[: schema["maxLength"]].rsplit(" ", 1)[0]
        return text

    def _sentence(self, key: str) -> str:
        templates = _VALUE_TEMPLATES.get(key)
        if not templates:
            role = {"summary": "opening", "rationale": "conclusion", "explanation": "reason", "description": "reason"}.get(key, "reason")
            return self.content.sentence(role)
        first, second = self.content.pair()
        return fill(self.rng.choice(templates), first, second)

    def _label(self, key: str, index: int) -> str:
        first, second = self.content.pair()
        if key == "name":
            if self.rng.random() < 0.5:
                label = fill(self.rng.choice(_OPTION_FORMS), first, second)
            else:
                label = self.rng.choice(_STAKEHOLDERS)
            self.labels.append(label)
            return label
        if key == "option":
            return self.rng.choice(self.labels) if self.labels else capitalize(first)
        if key == "beat":
            return _BEATS[min(index, len(_BEATS) - 1)]
        if key == "risk":
            return fill(self.rng.choice(_RISK_FORMS), first, second)
        if key in {"title", "working_title"}:
            return self.content.title or f"A Short Guide to {capitalize(first)}"
        return capitalize(first)


def build_instance(schema: dict[str, Any], content: Content, rng: random.Random) -> Any:
    """Return an instance of ``schema`` about the content's topic; log a warning if it does not validate."""
    instance = _Builder(content, rng).value(schema)
    errors = list(Draft202012Validator(schema).iter_errors(instance))
    if errors:
        # NOTE: keywords outside the list in the module docstring ($ref, patterns, formats) are ignored.
        log.warning("simulated JSON does not validate against its schema: %s", errors[0].message)
    return instance


def generic_instance(content: Content) -> dict[str, Any]:
    """Return a small JSON object for a prompt that requests JSON without a schema."""
    return {
        "topic": content.title or capitalize(content.term()),
        "summary": content.sentence("opening"),
        "key_points": content.sentences("reason", 3),
        "recommendation": content.sentence("recommendation"),
    }


def break_instance(instance: Any, schema: dict[str, Any] | None, mode: str, rng: random.Random) -> Any:
    """Return a copy of ``instance`` made invalid by ``mode`` (``missing_required`` or ``wrong_enum``).

    Falls back to the other mode when the schema offers nothing to break, and returns the
    instance unchanged when neither applies (no schema, or a schema without required fields or enums).
    """
    if schema is None:
        return instance
    broken = copy.deepcopy(instance)
    order = [mode, "wrong_enum" if mode == "missing_required" else "missing_required"]
    for attempt in order:
        targets = _required_slots(broken, schema) if attempt == "missing_required" else _enum_slots(broken, schema)
        if targets:
            container, name = rng.choice(targets)
            if attempt == "missing_required":
                del container[name]
            else:
                container[name] = rng.choice(_WRONG_ENUM_VALUES)
            return broken
    return broken


def _required_slots(value: Any, schema: dict[str, Any]) -> list[tuple[Any, Any]]:
    slots: list[tuple[Any, Any]] = []
    if isinstance(value, dict):
        slots += [(value, name) for name in schema.get("required", []) if name in value]
        for name, sub in schema.get("properties", {}).items():
            if name in value:
                slots += _required_slots(value[name], sub)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for item in value[:1]:
            slots += _required_slots(item, schema["items"])
    return slots


def _enum_slots(value: Any, schema: dict[str, Any]) -> list[tuple[Any, Any]]:
    slots: list[tuple[Any, Any]] = []
    if isinstance(value, dict):
        for name, sub in schema.get("properties", {}).items():
            if name not in value:
                continue
            if "enum" in sub:
                slots.append((value, name))
            slots += _enum_slots(value[name], sub)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(value):
            if "enum" in schema["items"]:
                slots.append((value, i))
            else:
                slots += _enum_slots(item, schema["items"])
    return slots


def dump(instance: Any) -> str:
    """Serialise an instance the way chat models usually print JSON: two-space indent, non-ASCII kept."""
    return json.dumps(instance, indent=2, ensure_ascii=False)
