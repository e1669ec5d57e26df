"""Structural metrics: length, sentences, markdown layout, JSON, emoji, and stock openers and closers.

Counts of markdown elements come from the layout of the full response; word, sentence and
rate metrics read the prose only (fenced code, display math and tables excluded), and rates
"per 100 words" are Null when the prose has no words.
"""

from __future__ import annotations

import statistics

import regex

from bsb_core.metrics.document import Parsed
from bsb_core.metrics.registry import REGISTRY, Null, Value

FAMILY = "structural"

# One emoji as a reader sees it: a flag (two regional indicators), a keycap ("1️⃣"), or a
# pictograph with emoji presentation (by default or through U+FE0F), with optional skin-tone
# modifiers and zero-width-joiner sequences ("👩‍💻" counts once). Text-style pictographs such as
# "©", "®", "™" and "‼" without U+FE0F are not emoji here, although Unicode lists them as
# Extended_Pictographic.
EMOJI_RE = regex.compile(
    r"\p{Regional_Indicator}{2}"
    r"|[#*0-9]\uFE0F?\u20E3"
    r"|(?:\p{Emoji_Presentation}|\p{Extended_Pictographic}\uFE0F)[\p{Emoji_Modifier}\uFE0F]*"
    r"(?:\u200D\p{Extended_Pictographic}\uFE0F?[\p{Emoji_Modifier}]*)*"
)
# An em dash (U+2014), or a double hyphen standing for one between spaces (" -- ").
EM_DASH_RE = regex.compile(r"\u2014| -- ")
# Markdown and quote characters that may precede the first word of a response.
LEADING_MARKUP = " \t\n#*_>\"'`\u201c\u2018-"
# Stock opening affirmations, matched at the start of the response (lowercased, curly
# apostrophes straightened): "Sure!", "Certainly.", "Great question!", "I'd be happy to help".
OPENING_AFFIRMATION_RE = regex.compile(
    r"(?:sure|certainly|absolutely|of course|definitely|gladly|no problem"
    r"|(?:great|good|excellent|fantastic|interesting) question"
    r"|what an? \w+ (?:question|topic|idea|request|prompt)"
    r"|i(?:'d| would) be (?:happy|glad|delighted) to|happy to help)\b"
)
# Stock closing offers of further help, searched in the last two prose sentences.
CLOSING_OFFER_RE = regex.compile(
    r"\blet me know (?:if|whether|what|how|when)"
    r"|\bfeel free to (?:ask|reach out|let me know|contact|get in touch|follow up)"
    r"|\bdon't hesitate to (?:ask|reach out|let me know|contact|get in touch)"
    r"|\bhope (?:this|that|these|it) (?:helps|was helpful|is helpful|has been helpful)"
    r"|\bhope (?:this|that|these) (?:\w+ )?(?:is|are|was|were) (?:helpful|useful)"
    r"|\b(?:happy|glad) to help"
    r"|\bif you have any (?:other |more |further |additional )?questions"
    r"|\bif you need (?:any )?(?:more|further|additional|other) (?:help|information|assistance|details|clarification)"
    r"|\bwould you like (?:me to|help|more|any)"
    r"|\bis there anything (?:else|specific)"
    r"|\bi'm here to help"
)

# "Here is ..." / "Here are ..." / "Here's ..." at the very start of a response.
HERE_IS_RE = regex.compile(r"here(?:'s| is| are)\b")
# Stock phrases that announce a conclusion or summary.
CONCLUSION_RE = regex.compile(r"\b(?:in conclusion|in summary|to summarize|to summarise|to sum up|all in all|overall,|in short,)")
# Typographic quotation marks and apostrophes (U+201C, U+201D, U+2018, U+2019).
CURLY_QUOTE_RE = regex.compile("[\u201c\u201d\u2018\u2019]")
# Lines that are code, not text a reader sees as layout.
CODE_KINDS = frozenset({"fence", "code", "math"})

# Prose lines whose sentences are headings, not questions put to the reader.
HEADING_KINDS = frozenset({"heading", "bold_heading"})


def _register() -> None:
    add = REGISTRY.add
    add("char_count", FAMILY, "count", "higher = longer response", "Characters in the full response, code and tables included.")
    add("word_count", FAMILY, "count", "higher = more prose", "Words in the prose (fenced code, display math and tables excluded); a word is a token with a letter or digit.")
    add("sentence_count", FAMILY, "count", "higher = more sentences", "Prose sentences that contain a word; every paragraph, list item and heading starts a new sentence.")
    add("mean_sentence_length", FAMILY, "words", "higher = longer sentences", "Mean words per prose sentence.")
    add("sentence_length_sd", FAMILY, "words", "higher = more varied sentence lengths", "Population standard deviation of words per sentence; Null below 2 sentences.")
    add("sentence_length_cv", FAMILY, "ratio", "higher = more varied sentence lengths", "Sentence-length standard deviation divided by the mean; Null below 2 sentences.")
    add("paragraph_count", FAMILY, "count", "higher = more blocks", "Blocks of non-blank lines separated by blank lines (code blocks and tables count as blocks).")
    add("bullet_items", FAMILY, "count", "higher = more list items", "List items of any kind: '-', '*', '+', '•' bullets, '1.' / '1)' numbers, 'a)' / 'a.' letters; a '---' rule is not one.")
    add("bullet_line_share", FAMILY, "share 0-1", "higher = more list-shaped", "List items divided by non-blank lines outside fenced code.")
    add("numbered_line_share", FAMILY, "share 0-1", "higher = more numbered lists", "Numbered or lettered list items divided by non-blank lines outside fenced code.")
    add("has_list", FAMILY, "0/1", "1 = uses a list", "1 when the response has at least one list item.")
    add("heading_count", FAMILY, "count", "higher = more sections", "Markdown headings: '#' (ATX) and underlined (setext) headings.")
    add("bold_heading_count", FAMILY, "count", "higher = more bold pseudo-headings", "Lines that consist only of a bold phrase (optionally followed by ':'), used as headings.")
    add("bold_count", FAMILY, "count", "higher = more bold emphasis", "Bold spans (**x** or __x__) outside code and tables.")
    add("italic_count", FAMILY, "count", "higher = more italic emphasis", "Italic spans (*x* or _x_) outside code and tables.")
    add("table_count", FAMILY, "count", "higher = more tables", "Markdown tables (a pipe row with a separator row, or two or more '| a | b |' rows).")
    add("code_block_count", FAMILY, "count", "higher = more code blocks", "Fenced code blocks (``` or ~~~); an unclosed fence counts.")
    add("markdown_density", FAMILY, "per 100 words", "higher = heavier markdown", "Headings, bold pseudo-headings, list items, bold and italic spans, links, quotes, rules, tables and code blocks per 100 prose words.")
    add("json_present", FAMILY, "0/1", "1 = contains JSON", "1 when something that looks like a JSON object or array is in the response.")
    add("json_strict", FAMILY, "0/1", "1 = the whole response is JSON", "1 when the whole response (trimmed) parses as a JSON object or array.")
    add("json_lenient", FAMILY, "0/1", "1 = JSON parses after stripping fences and prose", "1 when a JSON object or array parses from the whole response, a code fence, or a span inside prose.")
    add("emoji_rate", FAMILY, "per 100 words", "higher = more emoji", "Emoji in the prose per 100 words (flags, keycaps and joined sequences count once; text-style ©, ®, ™ do not count).")
    add("em_dash_rate", FAMILY, "per 100 words", "higher = more em dashes", "Em dashes (U+2014, or ' -- ') in the prose per 100 words.")
    add("opening_affirmation", FAMILY, "0/1", "1 = opens with a stock affirmation", "1 when the response starts with 'Sure', 'Certainly', 'Absolutely', 'Of course', 'Great question', 'I'd be happy to' or a close variant.")
    add("closing_offer", FAMILY, "0/1", "1 = ends with an offer of more help", "1 when one of the last two prose sentences offers more help ('Let me know if', 'Feel free to ask', 'I hope this helps', 'Would you like me to').")
    add("question_count", FAMILY, "count", "higher = asks more questions", "Prose sentences ending in '?', headings excluded; rhetorical questions count too.")
    add("star_bullet_share", FAMILY, "share 0-1", "higher = more '*' bullets", "Bullet items marked with '*' divided by all bullet items (numbered items excluded); Null without bullets.")
    add("colon_line_share", FAMILY, "share 0-1", "higher = more lines that introduce a list or block", "Non-blank lines outside code that end with ':' divided by all non-blank lines outside code.")
    add("blank_line_share", FAMILY, "share 0-1", "higher = more spaced-out layout", "Blank lines between the first and last non-blank line divided by all line breaks there, code excluded; Null for one line.")
    add("curly_quote_rate", FAMILY, "per 100 words", "higher = more typographic quotes", "Typographic quotation marks and apostrophes (\u201c \u201d \u2018 \u2019) in the prose per 100 words.")
    add("here_is_opening", FAMILY, "0/1", "1 = opens with 'Here is'", "1 when the response starts with 'Here is', 'Here are' or 'Here's'.")
    add("conclusion_phrase", FAMILY, "0/1", "1 = announces a conclusion", "1 when the prose contains 'In conclusion', 'In summary', 'To sum up', 'Overall,' or a close variant.")
    add("question_rate", FAMILY, "per 100 words", "higher = asks more questions", "Question sentences (as in question_count) per 100 prose words.")


_register()


def _per_100_words(count: float, words: int) -> Value:
    if words == 0:
        return Null("no words")
    return 100.0 * count / words


def _share(part: int, whole: int, reason: str) -> Value:
    if whole == 0:
        return Null(reason)
    return part / whole


def _sentence_values(lengths: list[int]) -> dict[str, Value]:
    """Mean, population SD and coefficient of variation of sentence lengths."""
    if not lengths:
        missing = Null("no sentences")
        return {"mean_sentence_length": missing, "sentence_length_sd": missing, "sentence_length_cv": missing}
    mean = statistics.fmean(lengths)
    if len(lengths) < 2:
        fewer = Null("fewer than 2 sentences")
        return {"mean_sentence_length": mean, "sentence_length_sd": fewer, "sentence_length_cv": fewer}
    sd = statistics.pstdev(lengths)
    return {"mean_sentence_length": mean, "sentence_length_sd": sd, "sentence_length_cv": sd / mean}


def _opening_affirmation(text_lower: str) -> float:
    start = text_lower[:200].lstrip(LEADING_MARKUP)
    return 1.0 if OPENING_AFFIRMATION_RE.match(start) else 0.0


def _closing_offer(parsed: Parsed) -> float:
    tail = " ".join(sent.text for sent in parsed.sentences[-2:])
    tail = tail.lower().replace("\u2019", "'")
    return 1.0 if CLOSING_OFFER_RE.search(tail) else 0.0


def _question_count(parsed: Parsed) -> int:
    return sum(
        1
        for mark, kind in zip(parsed.sentence_end_marks, parsed.sentence_kinds)
        if mark == "?" and kind not in HEADING_KINDS
    )


def _habit_values(parsed: Parsed) -> dict[str, Value]:
    """Layout and typography habits that tell models apart: bullet marker, colons, spacing, quotes."""
    lines = [line for line in parsed.layout.lines if line.kind not in CODE_KINDS]
    bullets = [line for line in lines if line.kind == "bullet"]
    stars = sum(1 for line in bullets if line.text.lstrip().startswith("*"))
    nonblank = [line for line in lines if line.kind != "blank"]
    colons = sum(1 for line in nonblank if line.text.rstrip().endswith(":"))

    numbers = [index for index, line in enumerate(lines) if line.kind != "blank"]
    if len(numbers) < 2:
        blank_share: Value = Null("fewer than 2 non-blank lines")
    else:
        inner = lines[numbers[0]:numbers[-1] + 1]
        blank_share = sum(1 for line in inner if line.kind == "blank") / (len(inner) - 1)

    start = parsed.text_lower[:200].lstrip(LEADING_MARKUP)
    return {
        "star_bullet_share": _share(stars, len(bullets), "no bullet items"),
        "colon_line_share": _share(colons, len(nonblank), "no non-blank lines outside code"),
        "blank_line_share": blank_share,
        "curly_quote_rate": _per_100_words(len(CURLY_QUOTE_RE.findall(parsed.layout.prose)), parsed.word_count),
        "here_is_opening": 1.0 if HERE_IS_RE.match(start) else 0.0,
        "conclusion_phrase": 1.0 if CONCLUSION_RE.search(parsed.prose_lower) else 0.0,
    }


def compute(parsed: Parsed) -> dict[str, Value]:
    """Return this family's metric values for one response."""
    layout = parsed.layout
    words = parsed.word_count
    lines_outside_code = layout.nonblank_lines_outside_code
    no_lines = "no non-blank lines outside code"
    finding = parsed.json_finding
    questions = _question_count(parsed)
    markdown_elements = (
        layout.headings + layout.bold_headings + layout.bullet_items + layout.bold + layout.italic
        + layout.links + layout.quotes + layout.rules + layout.tables + layout.code_blocks
    )

    values: dict[str, Value] = {
        "char_count": float(len(parsed.text)),
        "word_count": float(words),
        "sentence_count": float(len(parsed.sentences)),
    }
    values.update(_sentence_values(parsed.sentence_lengths))
    values.update(
        {
            "paragraph_count": float(layout.paragraphs),
            "bullet_items": float(layout.bullet_items),
            "bullet_line_share": _share(layout.bullet_items, lines_outside_code, no_lines),
            "numbered_line_share": _share(layout.numbered_items, lines_outside_code, no_lines),
            "has_list": 1.0 if layout.bullet_items else 0.0,
            "heading_count": float(layout.headings),
            "bold_heading_count": float(layout.bold_headings),
            "bold_count": float(layout.bold),
            "italic_count": float(layout.italic),
            "table_count": float(layout.tables),
            "code_block_count": float(layout.code_blocks),
            "markdown_density": _per_100_words(markdown_elements, words),
            "json_present": 1.0 if finding.present else 0.0,
            "json_strict": 1.0 if finding.strict else 0.0,
            "json_lenient": 1.0 if finding.lenient else 0.0,
            "emoji_rate": _per_100_words(len(EMOJI_RE.findall(layout.prose)), words),
            "em_dash_rate": _per_100_words(len(EM_DASH_RE.findall(layout.prose)), words),
            "opening_affirmation": _opening_affirmation(parsed.text_lower),
            "closing_offer": _closing_offer(parsed),
            "question_count": float(questions),
            "question_rate": _per_100_words(questions, words),
        }
    )
    values.update(_habit_values(parsed))
    return values
