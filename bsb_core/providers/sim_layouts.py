"""Persona layouts of a response: the default shape, lists, numbered steps, plain prose and Markdown.

Every builder returns a :class:`~bsb_core.providers.sim_text.Doc`, which the contrast logic
then trims, extends or wraps. Builders take a :class:`Content` (seeded sentences about the topic)
and draw every choice from its ``rng``, so a response depends only on the seed.
"""

from __future__ import annotations

from dataclasses import dataclass

from bsb_core.providers.sim_text import Content, Doc, capitalize, decapitalize, fill, hedge, warm_up

STEP_TEMPLATES = [
    "Define what a good outcome for {A} looks like and write it down.",
    "Collect current figures on {A} and {B}.",
    "Compare at least two options against {A}.",
    "Talk to the people most affected by {B}.",
    "Run a small, time-limited trial focused on {A}.",
    "Review the results against {B} and decide whether to continue.",
    "Set a date to revisit {A} and name someone to own it.",
    "Record what you learned about {B} for the next decision.",
    "Agree a budget and a deadline for changes to {A}.",
    "Share the decision and the reasons for it with everyone affected by {B}.",
]

_BULLET_ROLES = ["reason", "risk", "recommendation", "example", "reason", "conclusion", "risk", "reason", "recommendation", "reason"]

_GREETINGS = ["Hi there!", "Hello!", "Hi, and welcome!", "Hey there!"]
_THANKS = [
    "Thanks so much for your question about {topic}.",
    "Thank you for asking about {topic}, it's a great thing to think through!",
    "I really appreciate you bringing up {topic}.",
]
_EMPATHY = [
    "I understand that decisions like this can feel overwhelming, so let's take it one step at a time.",
    "It's completely normal to feel unsure about this, and you're asking exactly the right question.",
    "I know this can be a lot to weigh up, so I'll keep things as clear as I can.",
]
_CLOSINGS = [
    "I hope this helps! Let me know if you'd like me to go deeper into {A}.",
    "Please don't hesitate to ask if anything is unclear. I'm always happy to help!",
    "Let me know if you have any other questions, and good luck!",
    "Feel free to reach out if you'd like help with the next step. Take care!",
]
_APOLOGIES = ["Sorry for the long answer!", "I'm sorry if this is more detail than you needed."]
_HEDGER_OPENERS = [
    "This is a complex question, and the answer might depend on {A} as much as on {B}.",
    "It is difficult to give a definitive answer here, since a lot may depend on {A}.",
    "There is probably no single right answer, but {A} and {B} seem likely to matter.",
]
_DISCLAIMERS = {
    "health": "I'm not a medical professional, so please check with a doctor before acting on any of this.",
    "finance": "This isn't financial advice, and a qualified adviser could look at your specific situation.",
}
_LOOSE_OPENERS = ["Sure! Here's a quick take.", "Good question. Here's how I'd think about it.", "Okay, so here's the deal.", "Great question!"]


@dataclass(frozen=True)
class Context:
    """Prompt facts the layouts use: title, domain, variant and key terms."""

    title: str
    domain: str | None
    variant: str
    terms: list[str]


def _topic_phrase(context: Context) -> str:
    return decapitalize(context.title) if context.title else context.terms[0]


def greeting(content: Content, context: Context) -> str:
    """Return the warm persona's opening: a greeting and thanks naming the topic."""
    rng = content.rng
    return rng.choice(_GREETINGS) + " " + rng.choice(_THANKS).format(topic=_topic_phrase(context))


def closing(content: Content) -> str:
    """Return the warm persona's closing offer."""
    return content.rng.choice(_CLOSINGS).format(A=content.term())


def _labelled_items(content: Content, count: int, bold: bool, voice: str) -> list[str]:
    """Return ``count`` bullet texts, each about one term, optionally led by the term in bold."""
    items = []
    for index in range(count):
        term = content.terms[index % len(content.terms)]
        others = [t for t in content.terms if t != term] or [term]
        role = _BULLET_ROLES[index % len(_BULLET_ROLES)]
        sentence = content.sentence_about(role, term, content.rng.choice(others))
        if voice == "hedger":
            sentence = hedge(sentence, content.rng, 0.5, imperative=role == "recommendation")
        elif voice == "terse":
            sentence = _short(sentence)
        items.append(f"**{capitalize(term)}:** {sentence}" if bold else sentence)
    return items


def _short(sentence: str) -> str:
    head = sentence.split(", ", 1)[0].split(": ", 1)[0].rstrip(".!?")
    return head + "."


# --- default (baseline) shapes ----------------------------------------------------------------


def baseline_doc(persona: str, content: Content, context: Context) -> Doc:
    """Return the persona's unconstrained response."""
    return _BASELINE[persona](content, context)


def _terse(content: Content, context: Context) -> Doc:
    sentences = [content.sentence("opening"), content.sentence("short"), content.sentence("reason"), content.sentence("recommendation")]
    if content.rng.random() < 0.5:
        sentences.append(content.sentence("short"))
    return Doc().add("para", sentences)


def _bulleteer(content: Content, context: Context) -> Doc:
    rng = content.rng
    doc = Doc()
    doc.add("heading", context.title or capitalize(content.term()), level=2)
    doc.add("para", [content.sentence("opening"), content.sentence("reason"), content.sentence("reason")])
    doc.add("heading", rng.choice(["Key factors", "What matters most", "The main considerations"]), level=3)
    doc.add("bullets", _labelled_items(content, rng.randint(5, 6), True, "bulleteer"))
    doc.add("heading", rng.choice(["Risks to watch", "Common pitfalls", "What could go wrong"]), level=3)
    doc.add("bullets", [f"**{capitalize(content.term())}:** {content.sentence('risk')}" for _ in range(rng.randint(2, 3))])
    doc.add("heading", rng.choice(["Recommendation", "Practical next steps", "How to decide"]), level=3)
    doc.add("bullets", [f"**{capitalize(content.term())}:** {content.sentence('recommendation')}" for _ in range(rng.randint(2, 3))])
    doc.add("para", content.sentence("example"))
    doc.add("para", f"**{rng.choice(['Bottom line', 'TL;DR', 'Key takeaway'])}:** {content.sentence('conclusion')}")
    return doc


def _hedger(content: Content, context: Context) -> Doc:
    rng = content.rng
    first, second = content.pair()
    doc = Doc()
    doc.add("para", [fill(rng.choice(_HEDGER_OPENERS), first, second), hedge(content.sentence("opening"), rng, 0.8), content.sentence("hedged")])
    doc.add("para", [content.sentence("hedged"), hedge(content.sentence("reason"), rng, 0.7), hedge(content.sentence("reason"), rng, 0.7), content.sentence("hedged")])
    doc.add("para", ["There are also some important caveats.", hedge(content.sentence("risk"), rng, 0.7), hedge(content.sentence("example"), rng, 0.5), content.sentence("caveat")])
    closing_para = [hedge(content.sentence("recommendation"), rng, 0.9, imperative=True), content.sentence("caveat")]
    if context.domain in _DISCLAIMERS:
        closing_para.append(_DISCLAIMERS[context.domain])
    doc.add("para", closing_para)
    return doc


def _json_strict(content: Content, context: Context) -> Doc:
    doc = Doc()
    doc.add("para", "Summary: " + content.sentence("opening"))
    doc.add("para", ["Analysis: " + content.sentence("reason"), content.sentence("reason"), content.sentence("example")])
    doc.add("para", "Risks: " + content.sentence("risk"))
    doc.add("para", "Recommendation: " + content.sentence("recommendation"))
    return doc


def _format_loose(content: Content, context: Context) -> Doc:
    rng = content.rng
    doc = Doc()
    doc.add("para", [rng.choice(_LOOSE_OPENERS), content.sentence("opening")])
    shape = rng.randrange(3)
    if shape == 0:
        doc.add("para", [content.sentence("reason"), content.sentence("example")])
        doc.add("bullets", _labelled_items(content, rng.randint(2, 4), rng.random() < 0.5, "loose"), marker="-")
    elif shape == 1:
        doc.add("heading", capitalize(content.term()), level=rng.choice([2, 3]))
        doc.add("para", [content.sentence("reason"), f"**{capitalize(content.term())}** is where most of the effort goes.", content.sentence("risk")])
    else:
        doc.add("bullets", _labelled_items(content, rng.randint(3, 5), False, "loose"), marker=rng.choice(["-", "*"]))
        doc.add("para", [content.sentence("reason"), content.sentence("example")])
    doc.add("para", f"**{rng.choice(['Bottom line', 'In short', 'Anyway'])}:** {content.sentence('conclusion')}")
    return doc


def _warm(content: Content, context: Context) -> Doc:
    rng = content.rng
    doc = Doc()
    doc.add("para", [greeting(content, context), rng.choice(_EMPATHY)])
    doc.add("para", [warm_up(content.sentence("opening"), rng, 0.6), warm_up(content.sentence("reason"), rng, 0.5), content.sentence("example")])
    tip = content.sentence("recommendation")
    doc.add("para", [f"A tip that often helps: {decapitalize(tip)}", warm_up(content.sentence("reason"), rng, 0.5), "You've got this!"])
    ending = [closing(content)]
    if rng.random() < 0.3:
        ending.insert(0, rng.choice(_APOLOGIES))
    doc.add("para", ending)
    return doc


_BASELINE = {
    "terse": _terse,
    "bulleteer": _bulleteer,
    "hedger": _hedger,
    "json-strict": _json_strict,
    "format-loose": _format_loose,
    "warm": _warm,
}


# --- lists, steps and plain prose --------------------------------------------------------------


def bullets_doc(persona: str, content: Content, context: Context, count: int, nested: bool = False) -> Doc:
    """Return a response with exactly ``count`` top-level bullets in the persona's voice.

    With ``nested``, one sub-bullet is added under the first item (the bulleteer's way of
    breaking a bullet count, since IFEval-style counters count indented bullets too).
    """
    rng = content.rng
    doc = Doc()
    if persona == "bulleteer":
        doc.add("heading", context.title or capitalize(content.term()), level=2)
    elif persona == "hedger":
        doc.add("para", "Here are some points that might be relevant, although the picture is not fully settled:")
    elif persona == "warm":
        doc.add("para", greeting(content, context) + " Here's a quick summary for you:")
    elif persona == "format-loose" and rng.random() < 0.5:
        doc.add("para", rng.choice(_LOOSE_OPENERS))

    bold = persona in {"bulleteer", "format-loose"} and rng.random() < 0.7
    items = _labelled_items(content, count, bold, persona)
    if nested and items:
        items[0] += "\n  * " + content.sentence("example")
    marker = "-" if persona == "format-loose" and rng.random() < 0.5 else "*"
    doc.add("bullets", items, marker=marker, keep=len(items))

    if persona == "bulleteer":
        doc.add("para", f"**Bottom line:** {content.sentence('conclusion')}")
    elif persona == "hedger":
        doc.add("para", content.sentence("caveat"))
    elif persona == "warm":
        doc.add("para", closing(content))
    return doc


def steps_doc(persona: str, content: Content, context: Context, count: int, marker: str = "steps") -> Doc:
    """Return a response with ``count`` numbered steps (or bullets when ``marker`` is ``bullets``)."""
    rng = content.rng
    doc = Doc()
    if persona == "warm":
        doc.add("para", greeting(content, context) + " Here's a step-by-step plan you can follow:")
    elif persona == "hedger":
        doc.add("para", "The following steps might help, although the right order could depend on your situation:")
    elif persona == "bulleteer":
        doc.add("heading", context.title or capitalize(content.term()), level=2)

    templates = rng.sample(STEP_TEMPLATES, min(count, len(STEP_TEMPLATES)))
    while len(templates) < count:
        templates.append(rng.choice(STEP_TEMPLATES))
    items = []
    for template in templates:
        first, second = content.pair()
        step = fill(template, first, second)
        if persona == "bulleteer":
            step = f"**{step.split(' ', 1)[0]}** {step.split(' ', 1)[1]}" if " " in step else step
        elif persona == "hedger":
            step = hedge(step, rng, 0.3, imperative=True)
        items.append(step)
    doc.add(marker, items, keep=len(items))

    if persona == "warm":
        doc.add("para", closing(content))
    elif persona == "hedger":
        doc.add("para", content.sentence("caveat"))
    return doc


def prose_steps_doc(content: Content, count: int) -> Doc:
    """Return steps written as one prose paragraph ("First, ... Then, ..."), which breaks a numbered-steps constraint."""
    words = ["First", "Then", "Next", "After that", "Finally"]
    sentences = []
    for index, template in enumerate(content.rng.sample(STEP_TEMPLATES, min(count, len(STEP_TEMPLATES)))):
        first, second = content.pair()
        lead = words[min(index, len(words) - 1)] if index < count - 1 else "Finally"
        sentences.append(f"{lead}, {decapitalize(fill(template, first, second))}")
    return Doc().add("para", sentences)


def plain_doc(persona: str, content: Content, context: Context) -> Doc:
    """Return the persona's response as plain paragraphs with no Markdown at all."""
    if persona in {"terse", "hedger", "json-strict", "warm"}:
        return baseline_doc(persona, content, context)  # these default shapes contain no Markdown
    doc = Doc()
    doc.add("para", [content.sentence("opening"), content.sentence("reason"), content.sentence("example")])
    doc.add("para", [content.sentence("reason"), content.sentence("risk"), content.sentence("reason")])
    if persona == "bulleteer":
        doc.add("para", [content.sentence("recommendation"), content.sentence("risk"), content.sentence("example")])
    doc.add("para", [content.sentence("recommendation"), content.sentence("conclusion")])
    return doc


def markdown_doc(persona: str, content: Content, context: Context) -> Doc:
    """Return the persona's response with some Markdown, which breaks a no-Markdown constraint."""
    if persona in {"bulleteer", "format-loose"}:
        return baseline_doc(persona, content, context)
    doc = baseline_doc(persona, content, context)
    if persona == "warm":
        doc.blocks.insert(-1, Doc().add("bullets", [_short(s) for s in content.sentences("recommendation", 2)]).blocks[0])
    else:
        label = {"terse": "Bottom line", "hedger": "Note", "json-strict": "Conclusion"}[persona]
        doc.add("para", f"**{label}:** {content.sentence('conclusion')}")
    return doc


def extension(content: Content, persona: str) -> list[str]:
    """Return extra sentences in the persona's voice, used to push a response past a word limit."""
    rng = content.rng
    sentences = [content.sentence("reason"), content.sentence("example"), content.sentence("risk")]
    if persona == "hedger":
        return [hedge(s, rng, 0.8) for s in sentences] + [content.sentence("caveat")]
    if persona == "warm":
        return [warm_up(s, rng, 0.5) for s in sentences]
    return sentences
