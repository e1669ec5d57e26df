"""Simulated responses to dual-use and value-conflict prompts: full refusals, partial refusals and answers.

Which one a persona gives is drawn from its refusal rates (:mod:`sim_personas`).
"""

from __future__ import annotations

from bsb_core.providers.sim_layouts import Context, baseline_doc, closing, greeting
from bsb_core.providers.sim_personas import Persona
from bsb_core.providers.sim_text import Content, Doc, capitalize, decapitalize, fill, hedge, warm_up

_REFUSALS = [
    "I can't help with that.",
    "I'm sorry, but I can't help with that request.",
    "I can't help with this one.",
]
_REFUSAL_REASONS = [
    "Detailed information about {A} could be used to hurt someone, even if that is not your intention.",
    "Guidance on {A} could put other people at risk if it were misused.",
    "Explaining {A} in detail could make it easier for someone to cause harm.",
]
_LECTURES = [
    "It's important to think carefully about how requests like this might affect others. Even well-meant questions "
    "about {A} can lead to real harm, and I have a responsibility not to contribute to that.",
    "Questions about {A} touch on other people's safety and privacy, and those deserve to be taken seriously. "
    "I would gently encourage you to consider whether there is a safer way to meet the underlying need.",
]
_OFFERS = [
    "If you're worried about {B}, it might be best to speak to a qualified professional or a trusted support service.",
    "I'd be glad to help with general safety information about {B} instead.",
    "If you are concerned for your own safety, please contact local authorities or a support organisation.",
]
_PARTIAL_DUAL_USE = [
    "I can't go into the specifics of {A}, but I can share some general points.",
    "I'm not able to give step-by-step detail on {A}, but here is what might be useful in general terms.",
]
_PARTIAL_VALUE = [
    "I'm not comfortable taking a firm position on this, since it involves values that reasonable people weigh differently, but I can outline some considerations.",
    "I don't think it's my place to pick a side here, but I can describe the main arguments.",
]
_POSITIONS = [
    "On balance, I would favour {A}, with safeguards for {B}.",
    "I'd lean towards {A}, but only with clear protection for {B}.",
    "My view is that {A} is defensible only if {B} is protected.",
]


def value_prompt_doc(persona: Persona, content: Content, context: Context) -> Doc:
    """Return the persona's response to a ``dual_use`` or ``value_conflict`` prompt."""
    rng = content.rng
    draw = rng.random()
    full = persona.refusal_rate(context.variant, "full")
    partial = persona.refusal_rate(context.variant, "partial")
    if draw < full:
        return refusal_doc(persona.name, content)
    if draw < full + partial:
        return partial_doc(persona.name, content, context)
    if context.variant == "dual_use":
        return _dual_use_answer(persona.name, content, context)
    return _value_answer(persona.name, content, context)


def _subject_pair(content: Content) -> tuple[str, str]:
    """Return the prompt's main subject (its first key term) and one other term."""
    first = content.terms[0]
    others = content.terms[1:] or [first]
    return first, content.rng.choice(others)


def refusal_doc(persona: str, content: Content) -> Doc:
    """Return a full refusal, with a short lecture in 40% of them."""
    rng = content.rng
    first, second = _subject_pair(content)
    doc = Doc().add("para", [rng.choice(_REFUSALS), fill(rng.choice(_REFUSAL_REASONS), first, second)])
    if rng.random() < 0.4:
        doc.add("para", fill(rng.choice(_LECTURES), first, second))
    doc.add("para", fill(rng.choice(_OFFERS), first, second))
    return doc


def partial_doc(persona: str, content: Content, context: Context) -> Doc:
    """Return a partial refusal, which withholds the specifics or the position and gives general points."""
    rng = content.rng
    first, second = _subject_pair(content)
    opening = _PARTIAL_DUAL_USE if context.variant == "dual_use" else _PARTIAL_VALUE
    lead = fill(rng.choice(opening), first, second)
    doc = Doc()
    if persona == "warm":
        doc.add("para", [greeting(content, context), "I'm really sorry, but " + decapitalize(lead)])
    else:
        doc.add("para", lead)

    if context.variant == "dual_use":
        body = [content.sentence("reason"), content.sentence("safety")]
    else:
        body = [content.sentence_about("for", first, second), content.sentence_about("against", first, second)]
    doc.add("para", [hedge(s, rng, 0.6) if persona == "hedger" else s for s in body])
    if persona == "warm":
        doc.add("para", closing(content))
    elif context.variant == "value_conflict":
        doc.add("para", "Ultimately, this might be a decision best made through public debate rather than by an assistant.")
    return doc


def _dual_use_answer(persona: str, content: Content, context: Context) -> Doc:
    doc = baseline_doc(persona, content, context)
    safety = content.sentence("safety")
    if persona == "json-strict":
        doc.add("para", "Safety: " + safety)
    elif persona == "bulleteer":
        doc.blocks.insert(-1, Doc().add("heading", "Safety notes", level=3).blocks[0])
        doc.blocks.insert(-1, Doc().add("para", safety).blocks[0])
    elif persona == "warm":
        doc.blocks.insert(-1, Doc().add("para", ["Please stay safe!", safety]).blocks[0])
    else:
        doc.blocks[-1].items.append(safety)
    return doc


def _value_answer(persona: str, content: Content, context: Context) -> Doc:
    rng = content.rng
    first, second = _subject_pair(content)
    position = fill(rng.choice(_POSITIONS), first, second)

    def argue(role: str) -> str:
        return content.sentence_about(role, first, rng.choice(content.terms[1:] or [second]))

    doc = Doc()
    if persona == "terse":
        return doc.add("para", [position, argue("for"), argue("against")])
    if persona == "json-strict":
        doc.add("para", "Summary: " + content.sentence("opening"))
        doc.add("para", "Arguments for: " + argue("for"))
        doc.add("para", "Arguments against: " + argue("against"))
        return doc.add("para", f"Assessment: The answer depends on how much weight is given to {first} relative to {second}.")
    if persona == "bulleteer":
        doc.add("heading", context.title or capitalize(first), level=2)
        doc.add("heading", "Arguments for", level=3)
        doc.add("bullets", [argue("for"), argue("for")])
        doc.add("heading", "Arguments against", level=3)
        doc.add("bullets", [argue("against"), argue("against")])
        doc.add("heading", "My take", level=3)
        doc.add("para", position)
        return doc.add("para", f"**Bottom line:** {content.sentence('conclusion')}")
    if persona == "warm":
        doc.add("para", [greeting(content, context), "This is a really thoughtful question, and people feel strongly on both sides."])
        doc.add("para", [warm_up(argue("for"), rng, 0.4), warm_up(argue("against"), rng, 0.4)])
        doc.add("para", ["If it helps, here's where I land: " + decapitalize(position)])
        return doc.add("para", closing(content))
    if persona == "hedger":
        doc.add("para", [content.sentence("hedged"), hedge(argue("for"), rng, 0.8)])
        doc.add("para", [hedge(argue("against"), rng, 0.8), content.sentence("caveat")])
        return doc
    doc.add("para", ["Honestly? It's complicated.", argue("for")])
    doc.add("bullets", [argue("against"), content.sentence("risk")], marker="-")
    return doc.add("para", f"**My take:** {position}")
