"""Simulated responses under format pressure: each constraint followed or broken at the persona's rate.

One follow draw is made per constraint, in prompt order. The strongest structural constraint
picks the response body: JSON, then bullets, then numbered steps, then no-Markdown prose, else
the persona's default shape. Word limits, a prose introduction, letter case, commas and an end
phrase are applied to that body afterwards. Impossible sets (two bullet
counts, or JSON only plus a prose introduction) follow the persona's documented behaviour
instead of the draws.
"""

from __future__ import annotations

from bsb_core.providers.sim_constraints import Spec
from bsb_core.providers.sim_json import break_instance, build_instance, dump, generic_instance
from bsb_core.providers.sim_layouts import (
    Context,
    baseline_doc,
    bullets_doc,
    closing,
    extension,
    greeting,
    markdown_doc,
    plain_doc,
    prose_steps_doc,
    steps_doc,
)
from bsb_core.providers.sim_personas import Persona
from bsb_core.providers.sim_text import Content, Doc, capitalize, count_words

_JSON_INTROS = {
    "warm": (["Hi there! Here's the JSON you asked for:", "Happy to help! Here's the structured version:"], ["Let me know if you'd like any changes!", "I hope this helps!"]),
    "hedger": (
        ["Here is a possible structure, although some of the values are only estimates:", "Below is one way this might look in JSON, with the caveat that the details could vary:"],
        ["Please double-check these values, as they might not be accurate for your situation."],
    ),
    "format-loose": (["Sure! Here's the JSON:", "Okay, here it is:"], ["Hope that helps.", "Let me know if you need more fields."]),
    "terse": (["Here it is:"], ["Adjust as needed."]),
    "bulleteer": (["## Structured answer"], ["**Note:** every field is filled in."]),
    "json-strict": (["Output:"], [""]),
}


def render_contrast(persona: Persona, content: Content, context: Context, spec: Spec) -> str:
    """Return the persona's response to a prompt with constraints."""
    if spec.conflict == "bullets":
        return _impossible_bullets(persona.name, content, context, spec)
    if spec.conflict == "json_prose":
        return _impossible_json_prose(persona.name, content, context, spec)

    rng = content.rng
    follows = {kind: rng.random() < persona.follow_rate(kind) for kind in spec.kinds}

    if spec.json:
        text = json_answer(persona, content, spec, follows[spec.json_kind])
    else:
        doc = _body(persona.name, content, context, spec, follows)
        if spec.prose_intro:
            _apply_prose_intro(doc, content, follows["prose_intro"])
        if spec.max_words is not None or spec.min_words is not None:
            _apply_word_limit(doc, persona.name, content, spec, follows["word_limit"])
        text = doc.render()
        if spec.max_words is not None and follows["word_limit"] and count_words(text) > spec.max_words:
            text = _cut_words(text, spec.max_words)
    return _apply_text_rules(text, spec, follows.get("other", True))


def json_answer(persona: Persona, content: Content, spec: Spec, follow: bool) -> str:
    """Return a JSON response: valid and bare when following, else broken in one of the persona's ways."""
    rng = content.rng
    instance = build_instance(spec.schema, content, rng) if spec.schema is not None else generic_instance(content)
    if follow:
        return dump(instance)

    modes = [m for m in persona.json_breaks if spec.schema is not None or m == "prose_around"] or ["prose_around"]
    mode = rng.choice(modes)
    if mode in {"missing_required", "wrong_enum"}:
        return dump(break_instance(instance, spec.schema, mode, rng))
    if mode == "fenced":
        return f"```json\n{dump(instance)}\n```"
    intros, outros = _JSON_INTROS.get(persona.name, _JSON_INTROS["format-loose"])
    parts = [rng.choice(intros), dump(instance), rng.choice(outros)]
    return "\n\n".join(part for part in parts if part)


def _body(persona: str, content: Content, context: Context, spec: Spec, follows: dict[str, bool]) -> Doc:
    rng = content.rng
    if spec.bullets:
        count = spec.bullets[0]
        if follows["bullets"]:
            return bullets_doc(persona, content, context, count)
        return _broken_bullets(persona, content, context, count)

    if spec.steps:
        count = spec.num_steps or rng.randint(3, 6)
        if follows["numbered_steps"]:
            return steps_doc(persona, content, context, count)
        if persona == "bulleteer":
            return steps_doc(persona, content, context, count, marker="bullets")
        if persona == "terse" or (persona == "format-loose" and rng.random() < 0.5):
            return prose_steps_doc(content, count)
        wrong = count + rng.choice([-1, 1]) if spec.num_steps and count > 2 else count
        if wrong == count:
            return steps_doc(persona, content, context, count, marker="bullets")
        return steps_doc(persona, content, context, wrong)

    if spec.no_markdown:
        if follows["no_markdown"]:
            return plain_doc(persona, content, context)
        return markdown_doc(persona, content, context)
    return baseline_doc(persona, content, context)


def _broken_bullets(persona: str, content: Content, context: Context, count: int) -> Doc:
    """Return a bulleted response whose bullet count (top-level plus nested) differs from ``count``."""
    rng = content.rng
    if persona == "bulleteer":
        if rng.random() < 0.5:
            return bullets_doc(persona, content, context, count, nested=True)
        return bullets_doc(persona, content, context, count + rng.randint(1, 3))
    if persona == "format-loose" and rng.random() < 0.3:
        return steps_doc(persona, content, context, count)
    wrong = count + 1 if count <= 1 or rng.random() < 0.6 else count - 1
    return bullets_doc(persona, content, context, wrong)


def _apply_prose_intro(doc: Doc, content: Content, follow: bool) -> None:
    starts_with_prose = bool(doc.blocks) and doc.blocks[0].kind == "para" and not doc.blocks[0].items[0].startswith("**")
    if follow and not starts_with_prose:
        doc.blocks.insert(0, Doc().add("para", content.sentence("opening")).blocks[0])
    elif not follow and starts_with_prose:
        doc.blocks.insert(0, Doc().add("heading", capitalize(content.term()), level=2).blocks[0])


def _apply_word_limit(doc: Doc, persona: str, content: Content, spec: Spec, follow: bool) -> None:
    """Fit the document under (or over) the word limit, or push it past the limit when breaking."""
    if spec.max_words is not None:
        # Aim 10% under the limit so other word counters (spaCy, whitespace) also agree.
        target = max(5, spec.max_words - max(3, spec.max_words // 10))
        if follow:
            doc.trim_to(target)
            doc.trim_sentences(target)
        else:
            _extend(doc, persona, content, int(spec.max_words * 1.2) + 5)
    if spec.min_words is not None:
        if follow:
            _extend(doc, persona, content, spec.min_words + max(5, spec.min_words // 10))
        else:
            doc.trim_to(max(1, spec.min_words - max(3, spec.min_words // 10)))


def _extend(doc: Doc, persona: str, content: Content, minimum: int) -> None:
    for _ in range(40):
        if doc.words() >= minimum:
            return
        para = Doc().add("para", extension(content, persona)).blocks[0]
        last = doc.blocks[-1] if doc.blocks else None
        at = len(doc.blocks) - 1 if persona == "warm" and last is not None and last.kind == "para" else len(doc.blocks)
        doc.blocks.insert(at, para)


def _cut_words(text: str, max_words: int) -> str:
    """Cut text to whole words until it has at most ``max_words`` words, ending with a full stop."""
    words = text.split(" ")
    while words and count_words(" ".join(words)) > max_words:
        words.pop()
    return " ".join(words).rstrip(",;:") + "."


def _apply_text_rules(text: str, spec: Spec, follow: bool) -> str:
    if not follow:
        return text
    if spec.case == "lower":
        text = text.lower()
    elif spec.case == "upper":
        text = text.upper()
    if spec.no_comma:
        text = text.replace(",", "")
    if spec.end_phrase:
        text = text.rstrip() + "\n\n" + spec.end_phrase
    return text


# --- impossible sets ----------------------------------------------------------------------------


def _impossible_bullets(persona: str, content: Content, context: Context, spec: Spec) -> str:
    rng = content.rng
    first, second = spec.bullets[0], next(n for n in spec.bullets if n != spec.bullets[0])
    conflict = f"exactly {first} and exactly {second} bullet points"

    if persona == "terse":
        return bullets_doc(persona, content, context, first).render()
    if persona == "bulleteer":
        return bullets_doc(persona, content, context, max(first, second)).render()
    if persona == "json-strict":
        note = f"Note: the request asks for {conflict}, which cannot both hold. This answer uses {first}."
        return note + "\n\n" + bullets_doc(persona, content, context, first).render()
    if persona == "format-loose":
        options = [n for n in {first - 1, first + 1, second + 1, max(first, second) + 2} if n >= 1 and n not in (first, second)]
        return bullets_doc(persona, content, context, rng.choice(sorted(options))).render()
    if persona == "warm":
        lead = f"{greeting(content, context)} I'm sorry for any confusion, but {conflict} can't both apply, so I've gone with {second}. Please let me know if you'd prefer {first}!"
        doc = bullets_doc(persona, content, context, second)
        doc.blocks[0] = Doc().add("para", lead).blocks[0]
        return doc.render()

    # hedger
    flag = f"I'm not sure I can follow this request as written, because it asks for {conflict}, and both can't be true at once."
    if rng.random() < 0.6:
        term = content.term()
        return f"{flag} Could you let me know which one you'd prefer?\n\nIn the meantime, it might help to know that the answer would probably centre on {term}, although that could depend on your situation."
    return f"{flag} I've used {first}, but I might have guessed wrong.\n\n" + bullets_doc(persona, content, context, first).render()


def _impossible_json_prose(persona: str, content: Content, context: Context, spec: Spec) -> str:
    rng = content.rng
    instance = build_instance(spec.schema, content, rng) if spec.schema is not None else generic_instance(content)
    intro = content.sentence("opening")

    if persona == "terse":
        return dump(instance)
    if persona == "bulleteer":
        return f"{intro} The structured version follows.\n\n```json\n{dump(instance)}\n```"
    if persona == "json-strict":
        if spec.schema is None or spec.schema.get("additionalProperties", True) is not False:
            instance = {"note": "The request asks for JSON only and for a prose introduction; both cannot hold, so this response is JSON only.", **instance}
        return dump(instance)
    if persona == "format-loose":
        return f"```json\n{dump(instance)}\n```\n\n{rng.choice(['Hope that helps!', 'That covers the main points, I think.'])} {intro}"
    if persona == "warm":
        return f"{greeting(content, context)} {intro}\n\n{dump(instance)}\n\n{closing(content)}"

    # hedger
    flag = "I might not be able to do both of these at once: a prose introduction would mean the response is no longer JSON only."
    if rng.random() < 0.6:
        return f"{flag} Could you clarify which matters more to you? {content.sentence('hedged')}"
    return f"{flag} I've started with this note and put the JSON below, which I hope is acceptable.\n\n{dump(instance)}"

