"""Pragmatic metrics: refusals, hedges and boosters, politeness, AI disclaimers, pronouns, caveats.

Lexicon metrics count phrase matches (see ``lexicon.py`` and ``lexicons/README.md``) in the
prose, so fenced code and tables never count, and report them per 100 prose words. The
refusal class and score come from ``refusal.py`` and read the whole response, code included,
because code in a response is part of what it complies with.
"""

from __future__ import annotations

from bsb_core.metrics.document import Parsed
from bsb_core.metrics.lexicon import load_lexicon_set, tokenize
from bsb_core.metrics.refusal import REFUSAL_CLASSES, assess_lines
from bsb_core.metrics.registry import REGISTRY, Null, Value

FAMILY = "pragmatic"

PER_100 = "per 100 words"

# Lexicon file name -> metric name; politeness is their sum.
POLITENESS_PARTS = {
    "gratitude": "gratitude_per_100w",
    "apology": "apology_per_100w",
    "please": "please_per_100w",
    "greeting": "greeting_per_100w",
}

FIRST_PERSON_SINGULAR = frozenset({"i", "me", "my", "mine", "myself"})
FIRST_PERSON_PLURAL = frozenset({"we", "us", "our", "ours", "ourselves"})
SECOND_PERSON = frozenset({"you", "your", "yours", "yourself", "yourselves"})

REGISTRY.add(
    "refusal_class", FAMILY, "class 0-2", "higher = more refusal",
    "Refusal detector's class: 0 complies, 1 partial refusal (refuses and also answers), 2 full refusal.",
)
REGISTRY.add(
    "refusal_score", FAMILY, "share 0-1", "higher = stronger refusal evidence",
    "Refusal detector's evidence: position-weighted refusal cues, lowered by the share of the response that answers.",
)
REGISTRY.add(
    "hedges_per_100w", FAMILY, PER_100, "higher = more hedging",
    "Hedge words and phrases ('might', 'perhaps', 'I think', 'about 5') per 100 prose words.",
)
REGISTRY.add(
    "boosters_per_100w", FAMILY, PER_100, "higher = more confident assertion",
    "Booster words and phrases ('clearly', 'definitely', 'in fact', 'no doubt') per 100 prose words.",
)
REGISTRY.add(
    "politeness_per_100w", FAMILY, PER_100, "higher = more politeness markers",
    "Gratitude, apology, 'please' and greeting markers together per 100 prose words.",
)
REGISTRY.add(
    "gratitude_per_100w", FAMILY, PER_100, "higher = more thanking",
    "Gratitude markers ('thank you', 'thanks', 'appreciate') per 100 prose words.",
)
REGISTRY.add(
    "apology_per_100w", FAMILY, PER_100, "higher = more apologising",
    "Apology and sympathy markers ('sorry', 'apologize', 'my apologies') per 100 prose words.",
)
REGISTRY.add(
    "please_per_100w", FAMILY, PER_100, "higher = more requests softened",
    "Occurrences of 'please' and 'kindly' per 100 prose words.",
)
REGISTRY.add(
    "greeting_per_100w", FAMILY, PER_100, "higher = more greetings",
    "Greetings ('hello', 'hi', 'good morning', 'welcome') per 100 prose words.",
)
REGISTRY.add(
    "ai_disclaimer_present", FAMILY, "0/1", "1 = the response calls itself an AI or names an AI limit",
    "1 when the prose has an AI self-reference disclaimer ('As an AI language model', 'my knowledge cutoff').",
)
REGISTRY.add(
    "ai_disclaimers_per_100w", FAMILY, PER_100, "higher = more AI self-reference",
    "AI self-reference disclaimers per 100 prose words.",
)
REGISTRY.add(
    "first_person_singular_per_100w", FAMILY, PER_100, "higher = more self-reference",
    "First-person singular pronouns (I, me, my, mine, myself) per 100 prose words.",
)
REGISTRY.add(
    "first_person_plural_per_100w", FAMILY, PER_100, "higher = more inclusive 'we'",
    "First-person plural pronouns (we, us, our, ours, ourselves) per 100 prose words.",
)
REGISTRY.add(
    "second_person_per_100w", FAMILY, PER_100, "higher = more addressing the reader",
    "Second-person pronouns (you, your, yours, yourself, yourselves) per 100 prose words.",
)
REGISTRY.add(
    "caveats_per_100w", FAMILY, PER_100, "higher = more qualifying and warning",
    "Caveats ('however', 'keep in mind', 'note that', 'consult a professional', 'this is not advice') per 100 prose words.",
)

# Every lexicon of this family, counted in one pass. Negation before a booster turns it into
# a hedge ("not always", "isn't clear"), so a booster right after "not" or "...n't" is skipped.
LEXICONS = load_lexicon_set(
    ("hedges", "boosters", *POLITENESS_PARTS, "ai_disclaimers", "caveats"),
    excluded_before={"boosters": ("not", "n't")},
)


def compute(parsed: Parsed) -> dict[str, Value]:
    """Return this family's metric values for one response."""
    values: dict[str, Value] = {}
    values.update(_refusal_values(parsed))

    words = parsed.word_count
    if words == 0:
        for name in REGISTRY.names(FAMILY):
            values.setdefault(name, Null("no words"))
        return values

    counts = LEXICONS.count(tokenize(parsed.prose_lower))
    scale = 100.0 / words

    values["hedges_per_100w"] = counts["hedges"] * scale
    values["boosters_per_100w"] = counts["boosters"] * scale

    for lexicon, name in POLITENESS_PARTS.items():
        values[name] = counts[lexicon] * scale
    values["politeness_per_100w"] = sum(counts[lexicon] for lexicon in POLITENESS_PARTS) * scale

    values["ai_disclaimer_present"] = 1.0 if counts["ai_disclaimers"] else 0.0
    values["ai_disclaimers_per_100w"] = counts["ai_disclaimers"] * scale

    values.update(_pronoun_rates(parsed, scale))
    values["caveats_per_100w"] = counts["caveats"] * scale
    return values


def _refusal_values(parsed: Parsed) -> dict[str, Value]:
    """Return refusal_class and refusal_score, or Null for a response without words."""
    finding = assess_lines(parsed.layout.lines)
    if finding.words == 0:
        return {"refusal_class": Null("no words"), "refusal_score": Null("no words")}
    return {
        "refusal_class": float(REFUSAL_CLASSES.index(finding.label)),
        "refusal_score": finding.score,
    }


def _pronoun_rates(parsed: Parsed, scale: float) -> dict[str, Value]:
    """Count pronouns in one pass over the prose words; "US" in capitals is the country, not "us"."""
    singular = plural = second = 0
    for index, word in enumerate(parsed.words):
        if word in FIRST_PERSON_SINGULAR:
            singular += 1
        elif word in FIRST_PERSON_PLURAL:
            if word != "us" or parsed.word_tokens[index].text != "US":
                plural += 1
        elif word in SECOND_PERSON:
            second += 1
    return {
        "first_person_singular_per_100w": singular * scale,
        "first_person_plural_per_100w": plural * scale,
        "second_person_per_100w": second * scale,
    }
