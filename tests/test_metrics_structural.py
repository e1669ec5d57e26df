"""Structural metrics: golden texts with hand-checked values, and per-model figures on AlpacaEval."""

from __future__ import annotations

import json
import random
import statistics

import pytest

from bsb_core.metrics import structural
from bsb_core.metrics.document import Parsed, prepare
from bsb_core.metrics.engine import score_items, score_text
from bsb_core.metrics.registry import Null
from validation_doc import update_section


def score(text: str, nlp) -> dict:
    cleaned, layout = prepare(text)
    doc = nlp(layout.prose) if layout.prose.strip() else None
    return structural.compute(Parsed(text=cleaned, layout=layout, doc=doc))


# Hand-checked: 3 prose lines ("Here is the plan." and two bullets), a fenced block with one
# code line, and a 3-line table.
LIST_TEXT = """Here is the plan.

- Buy milk
- Walk the dog

```python
x = 1
```

| a | b |
| - | - |
| 1 | 2 |
"""


def test_list_text_counts(nlp):
    values = score(LIST_TEXT, nlp)
    assert values["word_count"] == 9.0
    assert values["sentence_count"] == 3.0
    assert values["bullet_items"] == 2.0
    assert values["has_list"] == 1.0
    assert values["code_block_count"] == 1.0
    assert values["table_count"] == 1.0
    assert values["paragraph_count"] == 4.0


def test_list_text_line_shares(nlp):
    values = score(LIST_TEXT, nlp)
    # Non-blank lines outside code: 1 text + 2 bullets + 3 table rows = 6.
    assert values["bullet_line_share"] == pytest.approx(2 / 6)
    assert values["numbered_line_share"] == 0.0


def test_sentence_length_stats(nlp):
    values = score("One two three. One two three four five. One.", nlp)
    lengths = [3, 5, 1]
    assert values["mean_sentence_length"] == pytest.approx(3.0)
    assert values["sentence_length_sd"] == pytest.approx(statistics.pstdev(lengths))
    assert values["sentence_length_cv"] == pytest.approx(statistics.pstdev(lengths) / 3.0)


def test_single_sentence_sd_null(nlp):
    values = score("Just one sentence here.", nlp)
    assert values["mean_sentence_length"] == 4.0
    assert isinstance(values["sentence_length_sd"], Null)
    assert isinstance(values["sentence_length_cv"], Null)


def test_numbered_share(nlp):
    values = score("Steps:\n1. Open it.\n2. Close it.\n- Note", nlp)
    assert values["bullet_line_share"] == pytest.approx(3 / 4)
    assert values["numbered_line_share"] == pytest.approx(2 / 4)


def test_rule_not_bullet(nlp):
    values = score("First part.\n\n---\n\nSecond part.", nlp)
    assert values["bullet_items"] == 0.0
    assert values["has_list"] == 0.0


def test_headings_and_emphasis(nlp):
    values = score("# Title\n\n**Summary:**\n\nThis is **very** *important* and _subtle_.", nlp)
    assert values["heading_count"] == 1.0
    assert values["bold_heading_count"] == 1.0
    assert values["bold_count"] == 2.0
    assert values["italic_count"] == 2.0


def test_markdown_density(nlp):
    # 1 heading + 2 list items + 1 bold span = 4 elements over 4 prose words.
    values = score("# Notes\n\n- **one** thing\n- two", nlp)
    assert values["word_count"] == 4.0
    assert values["markdown_density"] == pytest.approx(100.0)


@pytest.mark.parametrize(
    ("text", "present", "strict", "lenient"),
    [
        ('{"a": 1}', 1.0, 1.0, 1.0),
        ('  [1, 2, 3]\n', 1.0, 1.0, 1.0),
        ('Here you go:\n```json\n{"a": 1}\n```', 1.0, 0.0, 1.0),
        ('The answer is {"a": 1} as requested.', 1.0, 0.0, 1.0),
        ('{"a": 1,}', 1.0, 0.0, 0.0),
        ("No JSON at all.", 0.0, 0.0, 0.0),
        ("42", 0.0, 0.0, 0.0),
    ],
)
def test_json_flags(nlp, text, present, strict, lenient):
    values = score(text, nlp)
    assert values["json_present"] == present
    assert values["json_strict"] == strict
    assert values["json_lenient"] == lenient


def test_emoji_rate(nlp):
    # Four emoji (a face, a flag, a keycap, a ZWJ sequence); "©" and "™" are not emoji. The
    # keycap's digit makes it a word token, so there are 5 words.
    values = score("Great work 😀 🇫🇷 1️⃣ 👩‍💻 © ™ all done", nlp)
    assert values["word_count"] == 5.0
    assert values["emoji_rate"] == pytest.approx(80.0)


def test_emoji_in_code_ignored(nlp):
    values = score("Plain words only.\n\n```\nprint('😀')\n```", nlp)
    assert values["emoji_rate"] == 0.0


def test_em_dash_rate(nlp):
    # Two em dashes (one U+2014, one " -- ") over 11 words.
    values = score("The plan \u2014 simple as it is -- works well for small teams.", nlp)
    assert values["word_count"] == 11.0
    assert values["em_dash_rate"] == pytest.approx(200 / 11)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Sure! Here is the list.", 1.0),
        ("Certainly. The answer is 4.", 1.0),
        ("**Absolutely!** Let's start.", 1.0),
        ("Of course, here it is.", 1.0),
        ("Great question! It depends.", 1.0),
        ("What a fascinating question! Let us see.", 1.0),
        ("I'd be happy to help with that.", 1.0),
        ("I\u2019d be glad to explain.", 1.0),
        ("# Sure thing\nText.", 1.0),
        ("Surely this is wrong.", 0.0),
        ("The answer is sure to surprise you.", 0.0),
        ("Here is the list.", 0.0),
    ],
)
def test_opening_affirmation(nlp, text, expected):
    assert score(text, nlp)["opening_affirmation"] == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The capital is Paris. Let me know if you need more.", 1.0),
        ("The capital is Paris. I hope this helps! Good luck.", 1.0),
        ("Paris. Feel free to ask follow-up questions.", 1.0),
        ("Paris. Happy to help anytime.", 1.0),
        ("Paris. Would you like me to list other capitals?", 1.0),
        ("Paris. If you have any other questions, just ask.", 1.0),
        ("Let me know if that works. Then we go on. It is Paris. That is all.", 0.0),
        ("The capital is Paris.", 0.0),
    ],
)
def test_closing_offer(nlp, text, expected):
    assert score(text, nlp)["closing_offer"] == expected


def test_questions_counted(nlp):
    values = score("What is your budget? Do you prefer red?\n\nI can help either way.", nlp)
    assert values["question_count"] == 2.0
    assert values["question_rate"] == pytest.approx(100.0 * 2 / 13)


def test_heading_question_not_counted(nlp):
    values = score("## Why does it fail?\n\n**What now?**\n\nIt fails because of X. Is that clear?", nlp)
    assert values["question_count"] == 1.0


def test_question_with_closing_markup(nlp):
    values = score('He asked "why not?" Would you "agree?"', nlp)
    assert values["question_count"] == 2.0


def test_code_only_response(nlp):
    values = score("```python\nprint(1)\n```", nlp)
    assert values["word_count"] == 0.0
    assert values["code_block_count"] == 1.0
    assert isinstance(values["emoji_rate"], Null)
    assert isinstance(values["mean_sentence_length"], Null)
    assert isinstance(values["bullet_line_share"], Null)


def test_empty_response(nlp):
    values = score("", nlp)
    assert values["char_count"] == 0.0
    assert values["word_count"] == 0.0
    assert isinstance(values["question_rate"], Null)
    assert values["opening_affirmation"] == 0.0


def load_alpaca_sample(shared_data, per_model: int) -> dict[str, list[str]]:
    by_model: dict[str, list[str]] = {}
    for path in sorted((shared_data / "alpaca_eval").glob("*.jsonl")):
        with path.open(encoding="utf-8") as handle:
            rows = [json.loads(line) for line in handle]
        rows.sort(key=lambda row: row["prompt_id"])
        chosen = random.Random(11).sample(rows, per_model)
        by_model[rows[0]["model"]] = [row["response"] for row in chosen]
    return by_model


def mean_of(values: list) -> float:
    numbers = [value for value in values if not isinstance(value, Null)]
    return statistics.fmean(numbers) if numbers else float("nan")


@pytest.mark.slow
def test_alpaca_eval_figures(shared_data, nlp):
    """Per-model means of selected structural metrics on the same AlpacaEval prompts."""
    columns = ("word_count", "bullet_line_share", "bold_count", "emoji_rate", "opening_affirmation", "closing_offer", "question_rate")
    sample = load_alpaca_sample(shared_data, per_model=60)
    rows = []
    means: dict[str, dict[str, float]] = {}
    for model, responses in sample.items():
        scored = list(score_items(((text, None, None) for text in responses), nlp=nlp))
        means[model] = {name: mean_of([values[name] for values in scored]) for name in columns}
        cells = " | ".join(f"{means[model][name]:.2f}" for name in columns)
        rows.append(f"| {model} | {cells} |")

    header = " | ".join(columns)
    update_section(
        "structural-alpaca-eval",
        f"""## Structural metrics by model on AlpacaEval

Written by `tests/test_metrics_structural.py::test_alpaca_eval_figures`: means over the same
60 AlpacaEval prompts per model (Null values left out). Rates are per 100 prose words; 0/1
metrics are shares of responses.

| model | {header} |
| --- | {" | ".join("---" for _ in columns)} |
{chr(10).join(rows)}
""",
    )
    # Known contrasts in this data: GPT-4 Turbo uses bold emphasis and GPT-3.5 Turbo does not,
    # and Llama-2-70B-chat opens with a stock affirmation far more often than Claude 3 Opus.
    assert means["gpt4_1106_preview"]["bold_count"] > means["gpt-3.5-turbo-0613"]["bold_count"]
    assert means["llama-2-70b-chat-hf"]["opening_affirmation"] > means["claude-3-opus-20240229"]["opening_affirmation"]


HABITS_TEXT = "Here is a list:\n\n* one\n* two\n- three\n\nIn conclusion, \u201cquotes\u201d matter."


def test_star_bullet_share():
    assert score_text(HABITS_TEXT)["star_bullet_share"] == pytest.approx(2 / 3)


def test_colon_line_share():
    assert score_text(HABITS_TEXT)["colon_line_share"] == pytest.approx(1 / 5)


def test_blank_line_share():
    # Seven lines from first to last non-blank: six line breaks, two of them blank lines.
    assert score_text(HABITS_TEXT)["blank_line_share"] == pytest.approx(2 / 6)


def test_curly_quote_rate():
    # Two typographic quotes over eleven prose words.
    assert score_text(HABITS_TEXT)["curly_quote_rate"] == pytest.approx(200 / 11)


def test_here_is_opening():
    assert score_text(HABITS_TEXT)["here_is_opening"] == 1.0
    assert score_text("There is a list.")["here_is_opening"] == 0.0


def test_conclusion_phrase():
    assert score_text(HABITS_TEXT)["conclusion_phrase"] == 1.0
    assert score_text("Overall the plan works.")["conclusion_phrase"] == 0.0


def test_habits_null_without_layout():
    values = score_text("One line only.")
    assert isinstance(values["blank_line_share"], Null)
    assert isinstance(values["star_bullet_share"], Null)
