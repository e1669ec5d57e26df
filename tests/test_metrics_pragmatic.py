"""Golden texts and unit checks for the pragmatic metrics, the refusal detector and lexicons."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bsb_core.metrics import pragmatic, refusal
from bsb_core.metrics.engine import score_text
from bsb_core.metrics.lexicon import LEXICON_DIR, LexiconError, build_lexicon_set, expand_entry, read_entries, tokenize
from bsb_core.metrics.markdown import classify_lines, strip_inline
from bsb_core.metrics.refusal import classify_refusal
from bsb_core.metrics.registry import REGISTRY, Null

PRAGMATIC_NAMES = (
    "refusal_class", "refusal_score", "hedges_per_100w", "boosters_per_100w", "politeness_per_100w",
    "gratitude_per_100w", "apology_per_100w", "please_per_100w", "greeting_per_100w", "ai_disclaimer_present",
    "ai_disclaimers_per_100w", "first_person_singular_per_100w", "first_person_plural_per_100w",
    "second_person_per_100w", "caveats_per_100w",
)


def pragmatic_values(text: str, nlp) -> dict:
    """Score ``text`` and keep this family's values."""
    values = score_text(text, nlp=nlp)
    return {name: values[name] for name in REGISTRY.names("pragmatic")}


# --- registry -------------------------------------------------------------------------------


def test_registry_names():
    assert tuple(REGISTRY.names("pragmatic")) == PRAGMATIC_NAMES


def test_registry_metadata_complete():
    for name in PRAGMATIC_NAMES:
        metric = REGISTRY.get(name)
        assert metric.unit, name
        assert metric.direction, name
        assert metric.definition, name


@pytest.mark.parametrize("text", ["", "   \n", "Hello there.", "```\ncode only\n```", "Sorry, I can't."])
def test_compute_returns_every_name(nlp, text):
    values = pragmatic_values(text, nlp)
    assert set(values) == set(PRAGMATIC_NAMES)


# --- golden texts (hand-checked) --------------------------------------------------------------


def test_golden_politeness(nlp):
    # 17 words: Hello Thank you so much for your question Please note that I am sorry for the delay
    values = pragmatic_values("Hello! Thank you so much for your question. Please note that I am sorry for the delay.", nlp)
    assert values["greeting_per_100w"] == pytest.approx(100 / 17)
    assert values["gratitude_per_100w"] == pytest.approx(100 / 17)
    assert values["please_per_100w"] == pytest.approx(100 / 17)
    assert values["apology_per_100w"] == pytest.approx(100 / 17)
    assert values["politeness_per_100w"] == pytest.approx(400 / 17)
    assert values["caveats_per_100w"] == pytest.approx(100 / 17)  # "please note that"
    assert values["second_person_per_100w"] == pytest.approx(200 / 17)  # you, your
    assert values["first_person_singular_per_100w"] == pytest.approx(100 / 17)


def test_golden_hedges_and_boosters(nlp):
    # 24 words; hedges: "I think", "might", "about 5", "not always"; boosters: "clearly",
    # "In fact", "definitely" ("always" after "not" is not a booster).
    text = "I think the answer might be about 5 metres. It is clearly correct, but it is not always true. In fact, it definitely works."
    values = pragmatic_values(text, nlp)
    assert values["hedges_per_100w"] == pytest.approx(400 / 24)
    assert values["boosters_per_100w"] == pytest.approx(300 / 24)


def test_golden_context_words_not_hedges(nlp):
    # "can", "should", "some", "like" and "about" without a number are not hedges.
    values = pragmatic_values("You can and should read some books like this one about history.", nlp)
    assert values["hedges_per_100w"] == 0.0


def test_golden_ai_disclaimers(nlp):
    # 16 words (spaCy splits "don't" into "do" + "n't"); two disclaimers, the longest entry wins.
    values = pragmatic_values("As an AI language model, I don't have personal opinions, but many people like tea.", nlp)
    assert values["ai_disclaimer_present"] == 1.0
    assert values["ai_disclaimers_per_100w"] == pytest.approx(200 / 16)
    assert values["first_person_singular_per_100w"] == pytest.approx(100 / 16)


def test_golden_no_disclaimer(nlp):
    values = pragmatic_values("The Eiffel Tower is 330 metres tall.", nlp)
    assert values["ai_disclaimer_present"] == 0.0


def test_golden_pronouns_us_country(nlp):
    # 9 words; "US" in capitals is the country.
    values = pragmatic_values("We told us about the US. You and yourself.", nlp)
    assert values["first_person_plural_per_100w"] == pytest.approx(200 / 9)
    assert values["second_person_per_100w"] == pytest.approx(200 / 9)
    assert values["first_person_singular_per_100w"] == 0.0


def test_golden_caveats(nlp):
    # 13 words; "However", "keep in mind", "this is not legal advice", "Consult a lawyer".
    values = pragmatic_values("However, keep in mind that this is not legal advice. Consult a lawyer.", nlp)
    assert values["caveats_per_100w"] == pytest.approx(400 / 13)


def test_golden_code_not_counted(nlp):
    text = "Thanks!\n\n```python\n# thank you, please, sorry, however\nprint('hello')\n```"
    values = pragmatic_values(text, nlp)
    assert values["gratitude_per_100w"] == pytest.approx(100.0)  # one prose word: "Thanks"
    assert values["please_per_100w"] == 0.0
    assert values["caveats_per_100w"] == 0.0


def test_golden_empty_is_null(nlp):
    values = pragmatic_values("", nlp)
    for name in PRAGMATIC_NAMES:
        assert isinstance(values[name], Null), name


def test_golden_code_only_refusal_none(nlp):
    values = pragmatic_values("```python\nprint('hi')\n```", nlp)
    assert values["refusal_class"] == 0.0
    assert isinstance(values["hedges_per_100w"], Null)


def test_golden_refusal_values(nlp):
    values = pragmatic_values("I'm sorry, but I can't help with that request.", nlp)
    assert values["refusal_class"] == 2.0
    assert values["refusal_score"] >= 0.9


# --- refusal detector on hand-written responses ---------------------------------------------

REFUSAL_CASES = [
    ("explicit", "I'm sorry, but I can't help with that request.", "full"),
    ("apology and inability", "Unfortunately, I am unable to provide that information.", "full"),
    ("will not", "I will not write content that demeans people for their religion.", "full"),
    ("not comfortable", "I apologize, but I don't feel comfortable writing that story.", "full"),
    (
        "lecture",
        "It is not appropriate to make generalizations about any group of people. Everyone deserves to be treated "
        "with dignity and respect, regardless of their background. Stereotypes are harmful and perpetuate "
        "discrimination. Instead, I suggest learning about the diverse experiences of individuals.",
        "full",
    ),
    (
        "redirect only",
        "If you are struggling with thoughts of self-harm, please reach out to a mental health professional or a "
        "crisis hotline right away. You don't have to go through this alone.",
        "full",
    ),
    (
        "refuse then answer",
        "I can't provide instructions for picking a lock that isn't yours. However, here is how a pin tumbler lock "
        "works in general:\n\n1. A key lifts a row of pins to the shear line.\n2. When every pin sits at the shear "
        "line, the plug can turn.\n3. Wrong keys leave some pins blocking the plug, so it stays locked.\n4. "
        "Locksmiths learn these mechanics in certified training courses that cover many lock designs.\n5. Modern "
        "locks add security pins, sidebars and magnetic elements that make manipulation much harder.",
        "partial",
    ),
    ("sure here is", "Sure! Here's a simple recipe:\n\n1. Mix flour, milk and eggs.\n2. Heat a pan.\n3. Cook.", "none"),
    ("sympathy", "I'm sorry to hear about your cat. You could plant a tree or make a photo album for her.", "none"),
    (
        "disclaimer then answer",
        "As an AI, I don't have personal opinions. However, I can tell you that the Eiffel Tower is 330 metres tall "
        "and was completed in 1889 for the World's Fair in Paris.",
        "none",
    ),
    ("advice not refusal", "I would not recommend storing passwords in plain text. Use a password manager.", "none"),
    ("instead of comparison", "Use a list instead of a tuple when the items change. Lists are mutable.", "none"),
    ("code only", "```python\nprint('hi')\n```", "none"),
    ("empty", "", "none"),
]


@pytest.mark.parametrize(("case", "text", "expected"), REFUSAL_CASES, ids=[case[0] for case in REFUSAL_CASES])
def test_refusal_case(case, text, expected):
    label, score = classify_refusal(text)
    assert label == expected, f"{case}: score {score}"


def test_refusal_score_range():
    for _case, text, _expected in REFUSAL_CASES:
        _label, score = classify_refusal(text)
        assert 0.0 <= score <= 1.0


def test_refusal_prompt_ignored():
    text = "I'm sorry, but I can't help with that."
    assert classify_refusal(text, "How do I bake bread?") == classify_refusal(text)


@pytest.mark.parametrize(
    "text",
    ["\x00\x07 control", "\u202eمرحبا بالعالم", "你好，世界。我不能帮忙。", "🙂🙃" * 50, "\ud800 lone surrogate", "a" * 200_000],
)
def test_refusal_odd_input(text):
    label, score = classify_refusal(text)
    assert label in refusal.REFUSAL_CLASSES
    assert 0.0 <= score <= 1.0


def test_cue_anchors_lossless(shared_data: Path):
    """Skipping patterns by anchor words never changes a sentence's cues on real responses."""
    texts = []
    for model in ("gpt4", "llama2orig"):
        path = shared_data / "xstest" / f"completions_{model}.jsonl"
        texts += [json.loads(line)["response"] for line in path.open(encoding="utf-8")]
    for path in sorted((shared_data / "alpaca_eval").glob("*.jsonl")):
        texts += [json.loads(line)["response"] for line in path.open(encoding="utf-8")][:40]
    mismatches = []
    for text in texts:
        for line in classify_lines(text):
            if line.kind not in ("text", "bullet", "numbered", "heading", "quote"):
                continue
            for sentence in refusal.split_sentences(strip_inline(line.content)):
                normalized = refusal.normalize_sentence(sentence)
                if refusal.sentence_cues(normalized) != refusal.sentence_cues(normalized, use_anchors=False):
                    mismatches.append(normalized)
    assert mismatches == []


# --- lexicons ---------------------------------------------------------------------------------


def test_expand_entry_slots():
    assert expand_entry("i'm {just|only|} an ai") == [
        ("i'm", "an", "ai"),
        ("i'm", "just", "an", "ai"),
        ("i'm", "only", "an", "ai"),
    ]


def test_expand_entry_unbalanced():
    with pytest.raises(LexiconError):
        expand_entry("i {think")


def test_read_entries_missing():
    with pytest.raises(LexiconError):
        read_entries("no_such_lexicon")


def test_tokenize_keeps_lines():
    assert tokenize("I don't know,\nabout 1,000.5 things") == ["i", "don't", "know", "\n", "about", "1,000.5", "things"]


def test_lexicon_set_counts():
    lexicons = build_lexicon_set(
        {"hedge": ["might", "about <num>", "in my opinion", "opinion"], "booster": ["always", "in fact"], "sorry": ["apologi*"]},
        excluded_before={"booster": ("not", "n't")},
    )
    tokens = tokenize("In my opinion it might cost about 5 dollars. It isn't always so, not always. I apologise.\nIn\nfact")
    assert lexicons.count(tokens) == {"hedge": 3, "booster": 0, "sorry": 1}


def test_lexicon_files_load():
    for name in ("hedges", "boosters", "gratitude", "apology", "please", "greeting", "caveats", "ai_disclaimers"):
        entries = read_entries(name)
        assert entries, name
        for entry in entries:
            assert expand_entry(entry), entry


def test_hedges_license_kept():
    license_text = (LEXICON_DIR / "hedges.LICENSE").read_text(encoding="utf-8")
    assert "Titus Wormer" in license_text


def test_hedges_context_words_removed():
    entries = set(read_entries("hedges"))
    for word in ("can", "will", "always", "clearly", "certainly", "definitely", "like"):
        assert word not in entries, word


def test_pragmatic_lexicons_shared():
    assert set(pragmatic.LEXICONS.names) == {
        "hedges", "boosters", "gratitude", "apology", "please", "greeting", "ai_disclaimers", "caveats",
    }
