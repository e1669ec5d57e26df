"""Text building blocks of the simulator: topic terms, template sentences and a small document model.

Sentences come from role-tagged templates (opening, reason, example, risk, ...) filled with
the topic's key terms, so simulated responses read like analytical prose about the prompt's
subject. A response is assembled as a :class:`Doc` of blocks (headings, paragraphs, bullet
and numbered lists, raw text) so that word limits can be met by dropping whole sentences or
items instead of cutting text mid-sentence.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field

# Words that end a term chunk in :func:`extract_terms`: function words plus the task verbs
# prompts usually start with ("Analyse whether ...").
_STOPWORDS = frozenset(
    """
    a about above after again against all also an and any are as at be because been before being between both but by
    can could did do does doing down during each few for from further had has have having he her here hers him his how
    i if in into is it its itself just me more most my no nor not now of off on once only or other our out over own
    same she should so some such than that the their them then there these they this those through to too under until
    up very was we were what when where which while who whom why will with would you your yours whether instead
    analyse analyze assess discuss evaluate examine explain review summarise summarize outline propose develop design
    compare describe write tell give make take think know want need please help many much well like also
    improve increase reduce avoid learn prepare plan choose decide handle deal manage get keep stop start find
    build create fix track read buy sell save spend pick become stay feel look move use try show list
    secretly quickly easily really best better ever always never usually often
    """.split()
)
_WORD_RE = re.compile(r"[A-Za-z][A-Za-z0-9'\-]*")

FALLBACK_TERMS = ["the main trade-off", "the likely costs", "the people affected", "the next practical step"]


def count_words(text: str) -> int:
    """Count words the stricter of two ways: ``\\w+`` runs (IFEval's tokenizer) and whitespace tokens."""
    return max(len(re.findall(r"\w+", text)), len(text.split()))


def capitalize(text: str) -> str:
    """Upper-case the first character only, keeping acronyms and names as they are."""
    return text[:1].upper() + text[1:] if text else text


def decapitalize(text: str) -> str:
    """Lower-case the first character unless the first word is an acronym or a name like "REM" or "COBOL"."""
    first = text.split(" ", 1)[0]
    if len(first) > 1 and (first.isupper() or first[1:].lower() != first[1:]):
        return text
    if first in {"I", "I'm", "I'd", "I'll"}:
        return text
    return text[:1].lower() + text[1:]


def is_plural(term: str) -> bool:
    """Guess whether a noun phrase is plural from its last word ("costs" yes, "business", "analysis" no)."""
    last = term.split()[-1].lower() if term.split() else ""
    return last.endswith("s") and not last.endswith(("ss", "us", "is"))


def extract_terms(text: str, limit: int = 5) -> list[str]:
    """Pick up to ``limit`` noun-phrase-like chunks (runs of 1-3 content words) from a prompt.

    NOTE: a stopword splitter, not a parser: chunks may include verbs ("raising prices").
    Used only for prompts the simulator does not find in a suite.
    """
    task = text.split("\n\n", 1)[0]
    chunks: list[list[str]] = [[]]
    for token in re.findall(r"[A-Za-z][A-Za-z0-9'\-]*|[.,;:?!()\"]", task):
        if token.lower() in _STOPWORDS or not _WORD_RE.fullmatch(token):
            chunks.append([])
        else:
            chunks[-1].append(token)

    terms: list[str] = []
    for chunk in chunks:
        words = chunk[-3:]
        if not words or max(len(w) for w in words) < 4:
            continue
        term = " ".join(words)
        if term.lower() not in {t.lower() for t in terms}:
            terms.append(term if any(w.isupper() and len(w) > 1 for w in words) else term.lower())

    # Multi-word chunks are more often real noun phrases, so they go first.
    terms.sort(key=lambda term: " " not in term)
    return terms[:limit] or list(FALLBACK_TERMS)


# --- sentence templates ---------------------------------------------------------------------
# {A} and {B} are topic terms; {A_cap} is A with a capital first letter; {A_is}/{A_has} agree with A.

TEMPLATES: dict[str, list[str]] = {
    "opening": [
        "The decision comes down to {A} and {B}.",
        "The key factor here is {A}, followed closely by {B}.",
        "On balance, the case depends more on {A} than on {B}.",
        "The short answer is that it depends on {A}, and to a lesser degree on {B}.",
        "Most of the trade-off sits between {A} and {B}.",
        "Any sound answer has to start with {A}.",
        "{A_cap} {A_is} the part of this question that deserves the most weight.",
    ],
    "reason": [
        "Changes in {A} tend to show up in {B} within a few months.",
        "Attention to {A} usually pays off in {B}.",
        "The evidence on {A} is stronger than the evidence on {B}.",
        "Neglecting {A} makes every later decision about {B} harder.",
        "Much of the cost sits in {A}, not in {B}.",
        "The link between {A} and {B} is often underestimated.",
        "Decisions about {A} are hard to reverse once plans for {B} are in place.",
        "Small improvements in {A} compound over time.",
        "Where {A} {A_is} weak, gains in {B} rarely last.",
        "Comparing options on {A} alone misses the effect on {B}.",
        "{A_cap} {A_has} a direct effect on {B}, while the reverse effect is weaker.",
        "The benefits of {A} arrive slowly, but the costs of ignoring {B} arrive quickly.",
    ],
    "example": [
        "For example, a team that tracks {A} closely can spot problems with {B} weeks earlier.",
        "A typical case is a plan that improves {A} but leaves {B} untouched.",
        "Consider two similar cases that differ only in {A}: the one that invests more there usually does better on {B}.",
        "In practice this looks like a short review of {A} before each change to {B}.",
    ],
    "risk": [
        "The main risk is underestimating {A}.",
        "A common mistake is to treat {A} and {B} as independent.",
        "Problems with {A} can stay hidden until results on {B} start to slip.",
        "Over-investing in {A} can crowd out attention to {B}.",
        "The plan fails quietly if nobody is responsible for {A}.",
    ],
    "recommendation": [
        "Start with {A}, then review {B} after a fixed period.",
        "Measure {A} before committing to changes in {B}.",
        "Set a clear threshold for {A} and revisit it every quarter.",
        "Run a small pilot focused on {A} and compare the results on {B}.",
        "Write down what success looks like for {A} before deciding on {B}.",
    ],
    "conclusion": [
        "Overall, {A} should get the most attention.",
        "In short, get {A} right and managing {B} becomes much easier.",
        "The best choice is the one that protects {A} without giving up on {B}.",
        "Taken together, the balance tips towards careful attention to {A}.",
    ],
    "for": [
        "The strongest argument for {A} is that outcomes become tied to {B}.",
        "Supporters of {A} argue that it can protect {B}.",
        "Those in favour point out that {A} can improve {B} when it is well designed.",
    ],
    "against": [
        "Critics argue that the heaviest burden of {A} falls on {B}.",
        "The main objection is that {A} can undermine {B}.",
        "Opponents worry that {A} could shift costs onto {B} without much public debate.",
    ],
    "safety": [
        "If you think you are at risk right now, contact local emergency services or a support organisation.",
        "Keep a record of anything unusual and involve a qualified professional early.",
        "Use this knowledge to protect yourself and others, and check local rules before acting.",
    ],
    "short": [
        "Focus on {A}.",
        "It hinges on {A}.",
        "{A_cap} first, {B} second.",
        "Watch {B} closely.",
        "Test it on a small scale first.",
        "Start with {A}.",
        "{A_cap} {A_is} the deciding factor.",
        "Ignore the noise around {B}.",
        "Review it after three months.",
    ],
    "hedged": [
        "It is possible that {A} could play a larger role than {B}, although the evidence is mixed.",
        "The role of {A} might be larger than it first appears, at least in some settings.",
        "In some cases, {A} could outweigh {B}, but this may not hold everywhere.",
        "It seems likely that {A} and {B} interact, though it is hard to say how strongly.",
        "There may be reasons to think the role of {A} is smaller than it appears.",
        "This could depend heavily on {B}, which is difficult to predict.",
        "It might be worth considering whether {A} {A_is} really the limiting factor.",
    ],
    "caveat": [
        "That said, I may be missing context that would change this picture.",
        "It is worth noting that the research here is still developing.",
        "Of course, circumstances vary, so this might not apply to your situation.",
        "I would treat these points as tentative rather than definitive.",
        "Much depends on details that are not clear from the question.",
    ],
}

HEDGE_PREFIXES = ["It is possible that ", "In some cases, ", "It may be that ", "Arguably, ", "To some extent, ", "Perhaps "]
# Hedges for imperative sentences (recommendations, steps), where "Perhaps start ..." would read badly.
HEDGE_IMPERATIVE_PREFIXES = ["It might help to ", "You could try to ", "One option might be to ", "It may be worth trying to "]
HEDGE_SUFFIXES = [", although this depends on the context", ", though the evidence here is limited", ", at least in some settings", ", but this is not certain"]
WARM_PREFIXES = ["You'll probably find that ", "It can really help to remember that ", "As you weigh this, keep in mind that ", "Just so you know, "]


@dataclass
class Content:
    """Sentences about one prompt's subject, drawn by role without repeating a template."""

    terms: list[str]
    rng: random.Random
    title: str = ""
    _used: set[str] = field(default_factory=set)

    def pair(self) -> tuple[str, str]:
        """Return two different terms, seeded."""
        if len(self.terms) == 1:
            return self.terms[0], self.terms[0]
        first, second = self.rng.sample(self.terms, 2)
        return first, second

    def sentence(self, role: str) -> str:
        """Return a sentence of ``role`` filled with two topic terms."""
        first, second = self.pair()
        return self.sentence_about(role, first, second)

    def sentence_about(self, role: str, first: str, second: str) -> str:
        """Return a sentence of ``role`` about ``first`` and ``second``, preferring templates not used yet."""
        options = [t for t in TEMPLATES[role] if t not in self._used] or TEMPLATES[role]
        template = self.rng.choice(options)
        self._used.add(template)
        return fill(template, first, second)

    def sentences(self, role: str, count: int) -> list[str]:
        """Return ``count`` sentences of ``role``."""
        return [self.sentence(role) for _ in range(count)]

    def term(self) -> str:
        """Return one topic term, seeded."""
        return self.rng.choice(self.terms)


def fill(template: str, first: str, second: str) -> str:
    """Fill a template's ``{A}``/``{B}`` slots and their agreement forms."""
    sentence = template.format(
        A=first,
        B=second,
        A_cap=capitalize(first),
        A_is="are" if is_plural(first) else "is",
        A_has="have" if is_plural(first) else "has",
    )
    return capitalize(sentence)


def hedge(sentence: str, rng: random.Random, rate: float, imperative: bool = False) -> str:
    """Soften a sentence with a hedging prefix and/or a trailing caveat, each with probability ``rate``."""
    if rng.random() < rate:
        prefixes = HEDGE_IMPERATIVE_PREFIXES if imperative else HEDGE_PREFIXES
        sentence = rng.choice(prefixes) + decapitalize(sentence)
    if rng.random() < rate / 2 and sentence.endswith("."):
        sentence = sentence[:-1] + rng.choice(HEDGE_SUFFIXES) + "."
    return sentence


def warm_up(sentence: str, rng: random.Random, rate: float) -> str:
    """Turn a sentence towards the reader ("You'll probably find that ...") with probability ``rate``."""
    if rng.random() < rate:
        return rng.choice(WARM_PREFIXES) + decapitalize(sentence)
    return sentence


# --- document model -------------------------------------------------------------------------


@dataclass
class Block:
    """One part of a response: ``heading`` (one item), ``para`` (sentences), ``bullets``, ``steps`` or ``raw``."""

    kind: str
    items: list[str]
    level: int = 2
    marker: str = "*"
    keep: int = 1  # items that trimming must leave in place

    def render(self) -> str:
        if self.kind == "heading":
            return "#" * self.level + " " + self.items[0]
        if self.kind == "para":
            return " ".join(self.items)
        if self.kind == "bullets":
            return "\n".join(f"{self.marker} {item}" for item in self.items)
        if self.kind == "steps":
            return "\n".join(f"{i}. {item}" for i, item in enumerate(self.items, start=1))
        return "\n".join(self.items)


@dataclass
class Doc:
    """An ordered list of blocks rendered with blank lines between them."""

    blocks: list[Block] = field(default_factory=list)

    def add(self, kind: str, items: list[str] | str, **options: object) -> Doc:
        """Append a block. A string becomes a one-item block, and an empty list adds nothing."""
        values = [items] if isinstance(items, str) else list(items)
        if values:
            self.blocks.append(Block(kind, values, **options))  # type: ignore[arg-type]
        return self

    def render(self) -> str:
        """Return the response text."""
        return "\n\n".join(block.render() for block in self.blocks if block.items)

    def words(self) -> int:
        """Return :func:`count_words` of the rendered text."""
        return count_words(self.render())

    def trim_to(self, max_words: int) -> None:
        """Drop trailing sentences and items, latest block first, until the text has at most ``max_words`` words.

        When every block is down to its ``keep`` items, whole blocks go from the end, except the
        first block. Headings left without content go too.
        """
        while self.words() > max_words:
            candidates = [b for b in self.blocks if b.kind in {"para", "bullets", "steps"} and len(b.items) > b.keep]
            if candidates:
                block = max(reversed(candidates), key=lambda b: len(b.items) - b.keep)
                block.items.pop()
            elif len(self.blocks) > 1:
                removable = [i for i, b in enumerate(self.blocks[1:], start=1) if b.kind != "bullets" and b.kind != "steps"]
                if not removable:
                    break
                del self.blocks[removable[-1]]
            else:
                break
        self._drop_orphan_headings()

    def trim_sentences(self, max_words: int) -> None:
        """Shorten the longest items by cutting at their first comma when trimming whole items was not enough."""
        for block in sorted(self.blocks, key=lambda b: -max((len(i) for i in b.items), default=0)):
            if self.words() <= max_words:
                return
            if block.kind in {"para", "bullets", "steps"}:
                block.items = [_shorten(item) for item in block.items]

    def _drop_orphan_headings(self) -> None:
        kept: list[Block] = []
        for index, block in enumerate(self.blocks):
            following = self.blocks[index + 1] if index + 1 < len(self.blocks) else None
            if block.kind == "heading" and (following is None or following.kind == "heading" or not following.items):
                continue
            kept.append(block)
        self.blocks = kept


def _shorten(item: str) -> str:
    head, _, tail = item.partition(", ")
    if not tail:
        return item
    return head.rstrip(".!?") + "."
