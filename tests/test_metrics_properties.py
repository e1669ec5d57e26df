"""Property tests: every metric of every family returns a finite float or a Null on any text.

Inputs go through ``bsb_core.metrics.engine.score_text``, so all four families are covered,
and the engine's "internal error" safety net must never be taken.
"""

from __future__ import annotations

import logging
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bsb_core.metrics.engine import score_text
from bsb_core.metrics.registry import REGISTRY, Null

PROPERTY_SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Every Unicode category, surrogates (Cs), private use and unassigned code points included.
ANY_CHARACTER = st.characters(exclude_categories=())

MARKDOWN_FRAGMENTS = st.sampled_from(
    [
        "# Heading", "## Why?", "Title\n===", "- item", "* item", "1. step", "a) option", "---", "* * *",
        "> quote", "```python", "```", "~~~", "| a | b |", "|---|---|", "$$", "\\[", "\\begin{align}",
        "**bold**", "*it*", "__b__", "`code`", "[link](http://x)", "Sure!", "Let me know if you need more.",
        "Is that clear?", "Wow!", "{\"a\": [1, 2]}", "[", "{", "\u2014", "😀", "🇫🇷", "1️⃣", "👩‍💻",
        "", " ", "\t", "The results were reviewed.", "I don't think so.",
    ]
)
MARKDOWN_TEXT = st.lists(st.one_of(MARKDOWN_FRAGMENTS, st.text(max_size=30)), max_size=40).map("\n".join)


def check_values(text, nlp, constraints=None) -> None:
    values = score_text(text, constraints, nlp=nlp)
    assert sorted(values) == sorted(REGISTRY.names())
    for name, value in values.items():
        if isinstance(value, Null):
            assert not value.reason.startswith(("internal error", "not computed")), f"{name}: {value.reason}"
        else:
            assert isinstance(value, float), f"{name}: {value!r}"
            assert math.isfinite(value), f"{name}: {value!r}"


@pytest.fixture(autouse=True)
def no_engine_errors(caplog):
    """Fail a test when the engine logged a family failure (its safety net)."""
    with caplog.at_level(logging.ERROR, logger="bsb_core.metrics.engine"):
        yield
    failures = [record.getMessage() for record in caplog.records if record.name == "bsb_core.metrics.engine"]
    assert not failures


EXPLICIT_TEXTS = {
    "empty": "",
    "whitespace": " \t\n\n   \n\t",
    "control": "a\x00b\x01c\x07d\x1b[31m\x7f\x85\x9f\u200b\u200e\ufeff end.",
    "rtl": "مرحبا بالعالم! كيف حالك؟\n\nשלום עולם. \u202eoverride\u202c done.",
    "cjk": "你好，世界。这是一个测试！\n- 第一项\n- 第二项\n日本語のテキストです。",
    "emoji": "😀👩‍💻🇫🇷1️⃣ " * 50 + "\n\n- 🎉 party\n- ✅ done!",
    "lone_surrogates": "start \ud800 middle \udfff end \udbff\udc00 pair.",
    "combining": "e\u0301\u0301\u0301\u0301 a\u0308 " * 30,
    "long_word": "a" * 100_000,
    "long_line_markup": "**a " * 2_000 + "*b " * 2_000 + "[x](" * 2_000 + "- - " * 500,
    "deep_brackets": "[" * 3_000 + "{" * 3_000,
    "emoji_run": "\U0001f600" * 5_000 + "\U0001f1eb\U0001f1f7" * 500,
    "nested_json": '{"a": ' * 500 + "1" + "}" * 500,
    "unclosed_fence": "Intro.\n```python\nprint(1)\n",
    "unclosed_math": "Intro.\n$$\nx = 1\n",
    "only_table": "| a | b |\n|---|---|\n| 1 | 2 |",
    "only_rules": "---\n***\n___",
    "many_bullets": "\n".join(f"- item {index}" for index in range(2_000)),
    "numbers_only": "1 2 3 4 5 6 7 8 9 10 11 12.",
    "punctuation_only": "?!?!... ??? !!!",
    "mixed_newlines": "one\r\ntwo\rthree\u2028four\u2029five\x0cSix.",
    "none_like": None,
}


@pytest.mark.parametrize("text", list(EXPLICIT_TEXTS.values()), ids=list(EXPLICIT_TEXTS))
def test_explicit_inputs(nlp, text):
    check_values(text, nlp)


def test_non_string_input(nlp):
    check_values(12345, nlp)


@pytest.mark.slow
def test_one_megabyte(nlp):
    # A code-heavy response repeated to 1 MB; about a fifth of it is prose, so spaCy parses
    # roughly 40,000 tokens and every line kind appears thousands of times.
    code = "".join(f"    value_{index} = compute(data[{index}], mode='fast')  # step {index}\n" for index in range(8))
    block = (
        "## Section\n\nThe committee reviewed the proposal \u2014 carefully! Could we do better? "
        "I'd say so.\n\n- point one \U0001f600\n- point two\n\n"
        f"```python\ndef run(data):\n{code}```\n\n"
        "| key | value |\n|---|---|\n| alpha | 1 |\n| beta | 2 |\n\n"
    )
    text = block * (1_000_000 // len(block) + 1)
    assert len(text.encode("utf-8")) >= 1_000_000
    check_values(text, nlp)


@PROPERTY_SETTINGS
@given(text=st.text(max_size=500))
def test_any_text(nlp, text):
    check_values(text, nlp)


@PROPERTY_SETTINGS
@given(text=st.text(alphabet=ANY_CHARACTER, max_size=300))
def test_any_code_points(nlp, text):
    check_values(text, nlp)


@PROPERTY_SETTINGS
@given(text=MARKDOWN_TEXT)
def test_markdown_like_text(nlp, text):
    check_values(text, nlp)


CONSTRAINTS = st.lists(
    st.fixed_dictionaries(
        {"id": st.sampled_from(["bsb:no_markdown", "bsb:numbered_steps", "bsb:prose_intro", "bsb:json_schema",
                                "detectable_format:number_bullet_lists", "length_constraints:number_words",
                                "change_case:english_lowercase", "unknown:constraint"]),
         "kwargs": st.dictionaries(st.sampled_from(["num_bullets", "num_words", "relation", "num_steps", "schema"]),
                                   st.one_of(st.integers(-3, 50), st.sampled_from(["less than", "at least"]), st.none()),
                                   max_size=3)}
    ),
    max_size=3,
)


@settings(max_examples=100, deadline=None)
@given(text=MARKDOWN_TEXT, constraints=CONSTRAINTS)
def test_text_with_constraints(nlp, text, constraints):
    check_values(text, nlp, constraints)
