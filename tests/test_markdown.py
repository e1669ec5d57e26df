"""Markdown layout: line kinds, counts, the prose handed to spaCy, and line-start sentences."""

from __future__ import annotations

import json
import random
import re

import pytest

from bsb_core.metrics.document import Parsed, prepare
from bsb_core.metrics.markdown import PROSE_LINE_KINDS, classify_lines, parse_layout, strip_inline
from validation_doc import update_section


def kinds(text: str) -> list[str]:
    return [line.kind for line in classify_lines(text)]


def parse(text: str, nlp) -> Parsed:
    cleaned, layout = prepare(text)
    doc = nlp(layout.prose) if layout.prose.strip() else None
    return Parsed(text=cleaned, layout=layout, doc=doc)


@pytest.mark.parametrize(
    ("line", "kind"),
    [
        ("- item", "bullet"),
        ("* item", "bullet"),
        ("+ item", "bullet"),
        ("• item", "bullet"),
        ("   - nested item", "bullet"),
        ("1. step", "numbered"),
        ("12) step", "numbered"),
        ("a) option", "numbered"),
        ("(b) option", "numbered"),
        ("c. option", "numbered"),
        ("iv. section", "numbered"),
        ("# Title", "heading"),
        ("### Sub title ###", "heading"),
        ("---", "rule"),
        ("* * *", "rule"),
        ("___", "rule"),
        ("> quoted", "quote"),
        ("Plain text.", "text"),
        ("-not a bullet", "text"),
        ("*emphasis* at the start", "text"),
        ("#hashtag", "text"),
        ("2023. A year.", "text"),
        ("J. Smith wrote it.", "text"),
        ("1.5 million people", "text"),
    ],
)
def test_line_kind(line, kind):
    assert kinds(line) == [kind]


def test_rule_is_not_bullet():
    layout = parse_layout("Intro.\n\n---\n\nOutro.")
    assert layout.bullet_items == 0
    assert layout.rules == 1


def test_fenced_code_excluded_from_prose():
    layout = parse_layout("Run this:\n\n```python\nprint('hi')\n# not a heading\n- not a bullet\n```\n\nDone.")
    assert layout.prose_lines == ["Run this:", "Done."]
    assert layout.code_blocks == 1
    assert layout.headings == 0
    assert layout.bullet_items == 0


def test_tilde_fence_and_unclosed_fence():
    layout = parse_layout("~~~\ncode\n~~~\nText.\n```js\nlet x = 1;")
    assert layout.code_blocks == 2
    assert layout.prose_lines == ["Text."]


def test_indented_fence_inside_list():
    text = "1. Install:\n\n     ```bash\n     pip install x\n     ```\n\n2. Run it."
    layout = parse_layout(text)
    assert layout.prose_lines == ["Install:", "Run it."]
    assert layout.code_blocks == 1


def test_closing_fence_has_no_info_string():
    layout = parse_layout("```\nline one\n```python\nstill code\n```\nAfter.")
    assert layout.prose_lines == ["After."]


def test_inline_triple_backticks_not_fence():
    layout = parse_layout("Use ```x``` here.\nNext line.")
    assert layout.code_blocks == 0
    assert len(layout.prose_lines) == 2


def test_table_excluded_from_prose():
    text = "Compare:\n\n| Model | Score |\n|-------|------:|\n| A | 1 |\n| B | 2 |\n\nA wins."
    layout = parse_layout(text)
    assert layout.tables == 1
    assert layout.prose_lines == ["Compare:", "A wins."]


def test_pipe_rows_without_separator_are_table():
    layout = parse_layout("Then these are shown:\n    | Marker | View |\n    | ES | Current |\nEnd.")
    assert layout.tables == 1
    assert layout.prose_lines == ["Then these are shown:", "End."]


def test_single_pipe_line_stays_prose():
    layout = parse_layout("Use a | b to pipe output.")
    assert layout.tables == 0
    assert layout.prose_lines == ["Use a | b to pipe output."]


def test_display_math_excluded():
    text = "The formula:\n$$\nE = mc^2\n$$\nthen\n\\[ a^2 \\]\nand\n\\begin{align}\nx &= 1\n\\end{align}\nEnd with $x$ inline."
    layout = parse_layout(text)
    assert layout.prose_lines == ["The formula:", "then", "and", "End with $x$ inline."]
    assert layout.math_blocks == 3


def test_setext_heading():
    layout = parse_layout("Title\n=====\n\nSection\n---\nBody text.")
    assert layout.headings == 2
    assert layout.rules == 0


def test_emphasis_counts():
    layout = parse_layout("**Bold** and __also bold__ and *italic* and _it_ but not snake_case_name or 2 * 3 * 4.")
    assert layout.bold == 2
    assert layout.italic == 2


def test_emphasis_in_inline_code_ignored():
    layout = parse_layout("Call `**kwargs` and `*args` here.")
    assert layout.bold == 0
    assert layout.italic == 0


def test_bold_line_is_bold_heading():
    layout = parse_layout("**Step 1: Install**\nRun the installer.\n**Note:**")
    assert layout.bold_headings == 2
    assert layout.prose_line_kinds == ["bold_heading", "text", "bold_heading"]


def test_strip_inline_markup():
    text = "See [the docs](https://x.y) and `code`, **bold**, *it*, ~~old~~<br>end[^1]."
    assert strip_inline(text) == "See the docs and code, bold, it, old end."


def test_prose_line_kinds_parallel():
    layout = parse_layout("# Head\n\nIntro text.\n\n- one\n- two\n\n1. first\n> quoted")
    assert layout.prose_line_kinds == ["heading", "text", "bullet", "bullet", "numbered", "quote"]
    assert set(layout.prose_line_kinds) <= set(PROSE_LINE_KINDS)


def test_hard_wrapped_prose_joins():
    layout = parse_layout("This sentence was wrapped\nby hand at the margin.\nA new sentence starts here.")
    assert layout.prose_lines == ["This sentence was wrapped by hand at the margin.", "A new sentence starts here."]


def test_list_item_continuation_joins():
    layout = parse_layout("- The first item continues\n  on the next line\n- Second")
    assert layout.prose_lines == ["The first item continues on the next line", "Second"]


def test_paragraphs_are_blank_separated_blocks():
    layout = parse_layout("One.\nStill one.\n\n- a\n- b\n\n```\ncode\n```\n\nFour.")
    assert layout.paragraphs == 4


def test_list_counts():
    layout = parse_layout("- a\n- b\n1. c\n2) d\na) e")
    assert layout.bullet_items == 5
    assert layout.numbered_items == 3


def test_quote_list_marker_stripped():
    layout = parse_layout("> - quoted item")
    assert layout.prose_lines == ["quoted item"]


def test_bullets_are_separate_sentences(nlp):
    parsed = parse("Benefits\n- faster builds\n- fewer bugs\n- happier users", nlp)
    assert [sent.text.strip() for sent in parsed.sentences] == ["Benefits", "faster builds", "fewer bugs", "happier users"]


def test_heading_is_own_sentence(nlp):
    parsed = parse("## Overview\nThe system has two parts. It is simple.", nlp)
    assert [sent.text.strip() for sent in parsed.sentences] == ["Overview", "The system has two parts.", "It is simple."]


def test_sentence_kinds_follow_lines(nlp):
    parsed = parse("# Title?\nWhy not? Because.\n- item one", nlp)
    assert parsed.sentence_kinds == ["heading", "text", "text", "bullet"]


def test_code_words_not_counted(nlp):
    parsed = parse("Two words.\n\n```\nmany many many code words here\n```", nlp)
    assert parsed.word_count == 2


@pytest.mark.parametrize("unit", ["[", "[](", "[a](", "**a ", "*a ", "~~a ", "`", "|-", "# a #", "$$\n", "```\n", "- a\n"])
def test_megabyte_line_completes(unit):
    # A megabyte of one repeated markup unit on one line (or in many short lines): the layout
    # regexes must stay linear, so the run finishes well inside the test timeout.
    text = unit * (1_000_000 // len(unit))
    layout = parse_layout(text)
    assert len(layout.lines) >= 1


def load_arena_responses(shared_data) -> list[str]:
    responses = []
    for path in sorted((shared_data / "arena_hard").glob("*.jsonl")):
        with path.open(encoding="utf-8") as handle:
            responses.extend(json.loads(line)["response"] for line in handle)
    return responses


# A prose line that looks like source code: a statement ending in ";" or "{", or a bare brace.
CODE_LINE_RE = re.compile(r"(?:;|\{)\s*$|^\s*[{}]\s*$|^\s*(?:def|import|#include)\s")


@pytest.mark.slow
def test_arena_hard_layout(shared_data, nlp):
    """On Arena-Hard answers: code stays out of the prose and no sentence spans two prose lines."""
    responses = load_arena_responses(shared_data)
    assert len(responses) > 1900

    prose_lines = code_like = fenced = with_tables = 0
    for text in responses:
        layout = parse_layout(text)
        fenced += layout.code_blocks > 0
        with_tables += layout.tables > 0
        prose_lines += len(layout.prose_lines)
        code_like += sum(1 for line in layout.prose_lines if CODE_LINE_RE.search(line))
    code_share = code_like / prose_lines

    sample = random.Random(7).sample(responses, 150)
    sentences = spanning = 0
    for text in sample:
        parsed = parse(text, nlp)
        for sent in parsed.sentences:
            sentences += 1
            spanning += "\n" in sent.text.strip()

    update_section(
        "markdown-arena-hard",
        f"""## Markdown layout on Arena-Hard answers

Written by `tests/test_markdown.py::test_arena_hard_layout` on {len(responses):,} Arena-Hard v0.1
answers of four models (code- and markdown-heavy).

| figure | value |
| --- | --- |
| answers with a fenced code block | {fenced / len(responses):.1%} |
| answers with a table | {with_tables / len(responses):.1%} |
| prose lines | {prose_lines:,} |
| prose lines that look like code (end in `;` or `{{`, a bare brace, `def`/`import`/`#include`) | {code_like:,} ({code_share:.2%}) |
| sentences that span two prose lines (150-answer sample, {sentences:,} sentences) | {spanning} |

Code-like prose lines are mostly code the model did not fence, or code quoted inline in a list item.
""",
    )
    assert code_share < 0.01
    assert spanning == 0
