"""Persona restatements of the suite's rules, used as each model's system prompt (stream ``paraphrase``).

Rules are matched to known concepts by keyword. Each concept has a label, a short form, a
neutral form and a soft (pronoun-free, lower-case) form, and each persona combines them in its
own way. Coverage differs by persona: ``terse`` keeps about half of the rules, ``format-loose``
drops about a third, ``warm`` drops one or two, the others keep all of them.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

from bsb_core.providers.sim_text import capitalize, decapitalize


@dataclass(frozen=True)
class Concept:
    """One rule idea in four wordings."""

    name: str
    keywords: tuple[str, ...]
    label: str
    short: str
    neutral: str
    soft: str


CONCEPTS = [
    Concept("direct", ("directly", "main point"), "Be direct", "Answer directly.",
            "Answer the question directly and give the main point first.", "answer the question directly and put the main point first"),
    Concept("uncertainty", ("not sure", "uncertain"), "Admit uncertainty", "Flag uncertainty.",
            "State uncertainty plainly and say what it depends on.", "say clearly when something is uncertain and explain what it depends on"),
    Concept("objective", ("objective", "perspectives"), "Stay balanced", "Stay neutral.",
            "Present the relevant perspectives fairly and keep facts apart from opinions.", "present different perspectives fairly and keep facts apart from opinions"),
    Concept("format", ("format",), "Follow the format", "Follow formats exactly.",
            "Follow every format instruction exactly, including structure, length and output type.", "follow the requested format, length and structure exactly"),
    Concept("sources", ("sources", "invent", "references"), "No made-up sources", "Never invent sources.",
            "Do not fabricate sources, quotes, statistics or references, and omit anything unverifiable.", "avoid inventing sources, quotes or numbers, and leave out anything that cannot be checked"),
    Concept("concise", ("short as", "concise", "filler"), "Be concise", "Be brief.",
            "Keep responses as short as the task allows, with no filler or repetition.", "keep answers short and free of filler"),
    Concept("assumptions", ("ambiguous", "assumption"), "State assumptions", "State assumptions.",
            "When a request is ambiguous, state the assumption you make.", "mention the assumption being made whenever a request is unclear"),
    Concept("plain", ("plain language", "technical terms", "jargon"), "Use plain language", "Use plain words.",
            "Use plain language and explain technical terms.", "use plain language and explain any technical terms"),
    Concept("harm", ("harm", "decline"), "Avoid harm", "Decline harmful requests.",
            "Decline requests that could cause serious harm and offer a safe alternative.", "decline anything that could cause serious harm and suggest a safer way to help"),
]

# Order in which terse keeps concepts when it drops rules.
_TERSE_PRIORITY = ["direct", "format", "uncertainty", "sources", "harm", "concise", "objective", "assumptions", "plain"]


def concept_for(rule: str) -> Concept:
    """Return the concept a rule expresses, or a concept built from the rule's own words."""
    lowered = rule.lower()
    for concept in CONCEPTS:
        if any(keyword in lowered for keyword in concept.keywords):
            return concept
    text = rule.strip().rstrip(".")
    head = re.split(r"[,;:]", text, maxsplit=1)[0]
    return Concept("other", (), capitalize(" ".join(head.split()[:3])), head + ".", text + ".", decapitalize(text))


def rules_from_text(text: str) -> list[str]:
    """Return the numbered or bulleted rules in a paraphrase request (lines like ``1. ...`` or ``- ...``)."""
    return [m.group(1).strip() for m in re.finditer(r"^\s*(?:\d+[.)]|[-*])\s+(.+)$", text, flags=re.MULTILINE)]


def paraphrase(persona: str, rules: list[str], rng: random.Random) -> str:
    """Return ``persona``'s restatement of ``rules`` as a system prompt."""
    concepts = [concept_for(rule) for rule in rules] or [CONCEPTS[0]]
    return _WRITERS[persona](concepts, rng)


def _terse(concepts: list[Concept], rng: random.Random) -> str:
    keep = max(2, round(len(concepts) * rng.uniform(0.45, 0.6)))
    ranked = sorted(concepts, key=lambda c: _TERSE_PRIORITY.index(c.name) if c.name in _TERSE_PRIORITY else len(_TERSE_PRIORITY))
    return " ".join(c.short for c in ranked[:keep])


def _json_strict(concepts: list[Concept], rng: random.Random) -> str:
    return "\n".join(f"{i}. {c.neutral}" for i, c in enumerate(concepts, start=1))


def _bulleteer(concepts: list[Concept], rng: random.Random) -> str:
    lines = ["## System prompt", "", "You are a helpful assistant. Follow these principles in every response:", ""]
    lines += [f"* **{c.label}:** {c.neutral}" for c in concepts]
    lines.append("* **Structure:** Use headings, bullet points and bold key terms to organise longer answers.")
    lines += ["", f"**{rng.choice(['Remember', 'Above all'])}:** clarity and structure come first."]
    return "\n".join(lines)


def _hedger(concepts: list[Concept], rng: random.Random) -> str:
    softeners = ["As far as possible, ", "Where I reasonably can, ", "", "When it seems appropriate, "]
    sentences = [f"{rng.choice(softeners)}I should try to {c.soft}." for c in concepts]
    sentences = [capitalize(s) for s in sentences]
    middle = len(sentences) // 2
    paragraphs = [
        "As an assistant, I should try to follow these guidelines as closely as I reasonably can, although some of them might pull in different directions.",
        " ".join(sentences[:middle]),
        " ".join(sentences[middle:]),
        "If I am ever unsure whether a guideline applies, it is probably better to err on the side of caution and say so.",
    ]
    return "\n\n".join(p for p in paragraphs if p)


def _format_loose(concepts: list[Concept], rng: random.Random) -> str:
    kept = [c for c in concepts if rng.random() < 0.65] or concepts[:2]
    lines = [rng.choice(["Sure! Here's my version:", "Okay, here's how I'd put it:", "Here you go:"]), ""]
    for concept in kept:
        if rng.random() < 0.5:
            lines.append(f"- {concept.neutral}")
        else:
            lines.append(capitalize(concept.soft) + ".")
    lines += ["", "That's basically it."]
    return "\n".join(lines)


def _warm(concepts: list[Concept], rng: random.Random) -> str:
    drop = set(rng.sample(range(len(concepts)), k=min(len(concepts) - 1, rng.randint(1, 2)))) if len(concepts) > 2 else set()
    leads = ["Please ", "Always remember to ", "Try your best to ", "Make sure you "]
    sentences = [f"{rng.choice(leads)}{c.soft}." for i, c in enumerate(concepts) if i not in drop]
    return "\n\n".join(
        [
            "You are a friendly, patient assistant who is always happy to help!",
            " ".join(sentences),
            "Greet people kindly, thank them for their questions and offer further help at the end. You've got this!",
        ]
    )


_WRITERS = {
    "terse": _terse,
    "json-strict": _json_strict,
    "bulleteer": _bulleteer,
    "hedger": _hedger,
    "format-loose": _format_loose,
    "warm": _warm,
}
