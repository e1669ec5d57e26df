"""Constraints of a prompt as the simulator reads them: from constraint lists and from plain-text instructions.

Suite prompts carry their constraints (looked up by prompt text). For any other prompt,
:func:`detect_constraints` reads phrases such as "exactly 4 bullet points", "JSON",
"no Markdown", "under 80 words" or "5 numbered steps" and returns constraints in the same
``{"id", "kwargs"}`` format.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from bsb_core.providers.sim_personas import KIND_BY_ID

_NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10}
_NUM = r"(\d+|one|two|three|four|five|six|seven|eight|nine|ten)"


def _number(token: str) -> int:
    return int(token) if token.isdigit() else _NUMBER_WORDS[token.lower()]


@dataclass
class Spec:
    """The constraints of one prompt, grouped by what the response must look like."""

    kinds: list[str] = field(default_factory=list)  # persona rate kind per constraint, in prompt order
    json: bool = False
    schema: dict[str, Any] | None = None
    bullets: list[int] = field(default_factory=list)
    steps: bool = False
    num_steps: int | None = None
    max_words: int | None = None
    min_words: int | None = None
    no_markdown: bool = False
    prose_intro: bool = False
    case: str | None = None  # "lower" or "upper"
    no_comma: bool = False
    end_phrase: str | None = None

    @property
    def conflict(self) -> str | None:
        """Return ``bullets`` or ``json_prose`` when two constraints cannot both hold, else None."""
        if len(set(self.bullets)) > 1:
            return "bullets"
        if self.json and self.prose_intro:
            return "json_prose"
        return None

    @property
    def json_kind(self) -> str:
        """Return the rate kind of the JSON constraint: ``json_schema`` when a schema is given."""
        return "json_schema" if self.schema is not None else "json_format"


def read_constraints(constraints: list[dict[str, Any]]) -> Spec:
    """Group a prompt's ``{"id", "kwargs"}`` constraints into a :class:`Spec`. Unknown ids count as "other"."""
    spec = Spec()
    for constraint in constraints:
        ident = constraint.get("id", "")
        kwargs = constraint.get("kwargs") or {}
        spec.kinds.append(KIND_BY_ID.get(ident, "other"))

        if ident == "bsb:json_schema":
            spec.json = True
            spec.schema = kwargs.get("schema") if isinstance(kwargs.get("schema"), dict) else None
            if spec.schema is None:
                spec.kinds[-1] = "json_format"  # without the inlined schema only the JSON syntax can be followed
        elif ident == "detectable_format:json_format":
            spec.json = True
        elif ident == "detectable_format:number_bullet_lists":
            spec.bullets.append(int(kwargs.get("num_bullets") or 3))
        elif ident == "bsb:numbered_steps":
            spec.steps = True
            spec.num_steps = kwargs.get("num_steps")
        elif ident == "length_constraints:number_words":
            _read_word_limit(spec, kwargs)
        elif ident == "bsb:no_markdown":
            spec.no_markdown = True
        elif ident == "bsb:prose_intro":
            spec.prose_intro = True
        elif ident == "change_case:english_lowercase":
            spec.case = "lower"
        elif ident == "change_case:english_capital":
            spec.case = "upper"
        elif ident == "punctuation:no_comma":
            spec.no_comma = True
        elif ident == "startend:end_checker":
            spec.end_phrase = kwargs.get("end_phrase")
    return spec


def _read_word_limit(spec: Spec, kwargs: dict[str, Any]) -> None:
    count = int(kwargs.get("num_words") or 100)
    relation = kwargs.get("relation", "less than")
    if relation == "less than":
        spec.max_words = count - 1
    elif relation == "at most":
        spec.max_words = count
    else:
        spec.min_words = count


def detect_constraints(text: str) -> list[dict[str, Any]]:
    """Return the constraints that plain-language instructions in ``text`` state.

    NOTE: this is phrase matching only, so unusual wordings ("keep it to a tweet") go undetected.
    """
    lowered = text.lower()
    found: list[dict[str, Any]] = []

    schema = _embedded_schema(text)
    if schema is not None:
        found.append({"id": "bsb:json_schema", "kwargs": {"schema_name": None, "schema": schema}})
    elif re.search(r"\b(?:in|as|using|only|valid|return|output|respond|reply|answer|format)\b[^.\n]{0,40}\bjson\b|\bjson (?:format|object|only)", lowered):
        found.append({"id": "detectable_format:json_format", "kwargs": {}})

    for match in re.finditer(rf"exactly {_NUM} (?:markdown )?bullet(?: point)?s?", lowered):
        found.append({"id": "detectable_format:number_bullet_lists", "kwargs": {"num_bullets": _number(match.group(1))}})

    steps = re.search(rf"(?:exactly )?{_NUM} numbered steps", lowered)
    if steps:
        found.append({"id": "bsb:numbered_steps", "kwargs": {"num_steps": _number(steps.group(1))}})
    elif re.search(r"numbered (?:list|steps)", lowered):
        found.append({"id": "bsb:numbered_steps", "kwargs": {"num_steps": None}})

    upper = re.search(r"(?:under|fewer than|less than|no more than|at most|not exceed|maximum of|max(?:imum)?) (\d+) words", lowered)
    if upper:
        relation = "less than" if re.search(r"under|fewer|less", upper.group(0)) else "at most"
        found.append({"id": "length_constraints:number_words", "kwargs": {"relation": relation, "num_words": int(upper.group(1))}})
    lower = re.search(r"at least (\d+) words", lowered)
    if lower:
        found.append({"id": "length_constraints:number_words", "kwargs": {"relation": "at least", "num_words": int(lower.group(1))}})

    if re.search(r"no markdown|without (?:any )?markdown|do not use (?:any )?markdown|plain (?:prose|text)(?: paragraphs)? only", lowered):
        found.append({"id": "bsb:no_markdown", "kwargs": {}})
    if re.search(r"(?:begin|start|open) (?:your (?:response|answer) )?with a (?:short |brief )?(?:prose )?introduction", lowered):
        found.append({"id": "bsb:prose_intro", "kwargs": {}})
    if re.search(r"all lower ?case|lower ?case letters only|in lower ?case", lowered):
        found.append({"id": "change_case:english_lowercase", "kwargs": {}})
    if re.search(r"all capital letters|all caps|all upper ?case", lowered):
        found.append({"id": "change_case:english_capital", "kwargs": {}})
    if re.search(r"(?:do not|don't|without) us(?:e|ing) any commas|no commas", lowered):
        found.append({"id": "punctuation:no_comma", "kwargs": {}})
    end = re.search(r"end (?:your (?:response|answer)|it) with the (?:exact )?phrase [\"“']?(.+?)[\"”']?(?:\.|\n|$)", text, flags=re.IGNORECASE)
    if end:
        found.append({"id": "startend:end_checker", "kwargs": {"end_phrase": end.group(1).strip()}})
    return found


def _embedded_schema(text: str) -> dict[str, Any] | None:
    """Return the first JSON object in ``text`` that looks like a JSON Schema (has ``type`` or ``properties``)."""
    decoder = json.JSONDecoder()
    for match in re.finditer(r"\{", text):
        try:
            value, _ = decoder.raw_decode(text, match.start())
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict) and ("properties" in value or value.get("type") == "object"):
            return value
    return None
