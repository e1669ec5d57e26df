"""Checkers for the 25 IFEval instruction ids, with IFEval's kwargs names and strict rules.

The rules follow IFEval (Zhou et al. 2023, "Instruction-Following Evaluation for Large
Language Models"; google-research ``instruction_following_eval/instructions.py``) and are
written anew here. BSB departs from IFEval where IFEval's rule is plainly wrong; each such
case is marked ``BSB:`` below and listed in docs/validation.md. Every checker here receives
a response that is not empty or whitespace (the dispatcher rejects those first, as IFEval's
strict evaluation does).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from bsb_core.metrics.compliance_text import count_capital_words, count_sentences, count_words, detect_language
from bsb_core.metrics.compliance_types import (
    Check,
    CheckContext,
    CheckerFactory,
    CheckResult,
    ConstraintArgumentError,
    counted,
    read_int,
    read_relation,
    read_str,
    read_str_list,
)

IFEVAL_CHECKERS: dict[str, CheckerFactory] = {}

# BSB: a bullet is a CommonMark bullet item ("-", "*" or "+", then a space). IFEval counts every
# line starting with "-" or with "*" not followed by "*", so it also counts rule lines ("---",
# "* * *"), negative numbers ("-5 degrees") and lines opening with italics ("*Note*: ...").
BULLET_LINE_RE = re.compile(r"^[ \t]*[-*+][ \t]+\S", re.MULTILINE)
RULE_LINE_RE = re.compile(r"^[ \t]*([-*_])([ \t]*\1){2,}[ \t]*$")
FENCE_LINE_RE = re.compile(r"^[ \t]{0,3}(```|~~~)")
PLACEHOLDER_RE = re.compile(r"\[.*?\]")
SINGLE_HIGHLIGHT_RE = re.compile(r"\*[^\n*]*\*")
DOUBLE_HIGHLIGHT_RE = re.compile(r"\*\*[^\n*]*\*\*")
TITLE_RE = re.compile(r"<<[^\n]+>>")
PARAGRAPH_DIVIDER_RE = re.compile(r"\s?\*\*\*\s?")
CONSTRAINED_OPTIONS = ("My answer is yes.", "My answer is no.", "My answer is maybe.")
JSON_FENCE_PREFIXES = ("```json", "```Json", "```JSON", "```")
# Characters that end the first word of a paragraph in IFEval's nth-paragraph rule.
FIRST_WORD_STOP = frozenset(".,?!'\"")


def ifeval_checker(instruction_id: str) -> Callable[[CheckerFactory], CheckerFactory]:
    """Register a checker factory under an IFEval instruction id."""

    def register(factory: CheckerFactory) -> CheckerFactory:
        IFEVAL_CHECKERS[instruction_id] = factory
        return factory

    return register


def _literal(pattern_text: str) -> re.Pattern[str]:
    """Compile a keyword as a case-insensitive literal.

    BSB: IFEval passes keywords to ``re`` unescaped, so "C++" raises and "e.g." matches "eXgY".
    """
    return re.compile(re.escape(pattern_text.strip()), re.IGNORECASE)


# --- change_case -----------------------------------------------------------------------------


@ifeval_checker("change_case:english_lowercase")
def _english_lowercase(kwargs: dict[str, Any]) -> Check:
    def check(ctx: CheckContext) -> CheckResult:
        if not ctx.text.islower():
            return CheckResult(False, "contains capital letters (or no letters at all)")
        return _english(ctx.text, "all lowercase")

    return check


@ifeval_checker("change_case:english_capital")
def _english_capital(kwargs: dict[str, Any]) -> Check:
    def check(ctx: CheckContext) -> CheckResult:
        if not ctx.text.isupper():
            return CheckResult(False, "contains lowercase letters (or no letters at all)")
        return _english(ctx.text, "all capitals")

    return check


def _english(text: str, case: str) -> CheckResult:
    language = detect_language(text)
    if language is None:
        # IFEval counts an undetectable language as followed.
        return CheckResult(True, f"{case}; language not detectable, counted as followed")
    return CheckResult(language == "en", f"{case}; detected language {language!r}")


@ifeval_checker("change_case:capital_word_frequency")
def _capital_word_frequency(kwargs: dict[str, Any]) -> Check:
    frequency = read_int(kwargs, "capital_frequency")
    relation = read_relation(kwargs, "capital_relation")
    return lambda ctx: counted("all-capital words", count_capital_words(ctx.text), relation, frequency)


# --- combination -----------------------------------------------------------------------------


@ifeval_checker("combination:repeat_prompt")
def _repeat_prompt(kwargs: dict[str, Any]) -> Check:
    prompt_to_repeat = read_str(kwargs, "prompt_to_repeat").strip().lower()

    def check(ctx: CheckContext) -> CheckResult:
        if ctx.text.strip().lower().startswith(prompt_to_repeat):
            return CheckResult(True, "starts with the request, repeated word for word")
        return CheckResult(False, "does not start with the request repeated word for word")

    return check


@ifeval_checker("combination:two_responses")
def _two_responses(kwargs: dict[str, Any]) -> Check:
    def check(ctx: CheckContext) -> CheckResult:
        parts = ctx.text.split("******")
        answers = []
        for index, part in enumerate(parts):
            if part.strip():
                answers.append(part.strip())
            elif 0 < index < len(parts) - 1:
                return CheckResult(False, "an empty response between two ****** separators")
        if len(answers) != 2:
            return CheckResult(False, f"{len(answers)} responses separated by ******; required 2")
        if answers[0] == answers[1]:
            return CheckResult(False, "the two responses are identical")
        return CheckResult(True, "two different responses separated by ******")

    return check


# --- detectable_content ----------------------------------------------------------------------


@ifeval_checker("detectable_content:number_placeholders")
def _number_placeholders(kwargs: dict[str, Any]) -> Check:
    minimum = read_int(kwargs, "num_placeholders")
    return lambda ctx: counted("[placeholders]", len(PLACEHOLDER_RE.findall(ctx.text)), "at least", minimum)


@ifeval_checker("detectable_content:postscript")
def _postscript(kwargs: dict[str, Any]) -> Check:
    marker = read_str(kwargs, "postscript_marker").strip()
    if marker == "P.P.S":
        pattern = re.compile(r"\s*p\.\s?p\.\s?s.*$", re.MULTILINE)
    elif marker == "P.S.":
        pattern = re.compile(r"\s*p\.\s?s\..*$", re.MULTILINE)
    else:
        pattern = re.compile(r"\s*" + re.escape(marker.lower()) + r".*$", re.MULTILINE)

    def check(ctx: CheckContext) -> CheckResult:
        if pattern.search(ctx.text.lower()):
            return CheckResult(True, f"contains a postscript starting with {marker!r}")
        return CheckResult(False, f"no postscript starting with {marker!r}")

    return check


# --- detectable_format -----------------------------------------------------------------------


@ifeval_checker("detectable_format:constrained_response")
def _constrained_response(kwargs: dict[str, Any]) -> Check:
    def check(ctx: CheckContext) -> CheckResult:
        for option in CONSTRAINED_OPTIONS:
            if option in ctx.text:
                return CheckResult(True, f"contains {option!r}")
        return CheckResult(False, "contains none of " + ", ".join(map(repr, CONSTRAINED_OPTIONS)))

    return check


@ifeval_checker("detectable_format:json_format")
def _json_format(kwargs: dict[str, Any]) -> Check:
    def check(ctx: CheckContext) -> CheckResult:
        body = ctx.text.strip()
        for prefix in JSON_FENCE_PREFIXES:
            body = body.removeprefix(prefix)
        body = body.removesuffix("```").strip()
        try:
            json.loads(body)
        except (ValueError, RecursionError):
            return CheckResult(False, "not JSON after removing an enclosing code fence")
        return CheckResult(True, "JSON (an enclosing code fence allowed)")

    return check


@ifeval_checker("detectable_format:multiple_sections")
def _multiple_sections(kwargs: dict[str, Any]) -> Check:
    minimum = read_int(kwargs, "num_sections")
    splitter = read_str(kwargs, "section_spliter").strip()
    # Case-sensitive, like IFEval: "Section 1" does not match the splitter "SECTION".
    pattern = re.compile(r"\s?" + re.escape(splitter) + r"\s?\d+\s?")
    return lambda ctx: counted(f"'{splitter} N' markers", len(pattern.findall(ctx.text)), "at least", minimum)


def count_bullets(text: str) -> int:
    """Return the number of markdown bullet items ("- ", "* ", "+ "), code blocks and rules excluded."""
    total = 0
    in_fence = False
    for line in text.split("\n"):
        if FENCE_LINE_RE.match(line):
            in_fence = not in_fence
            continue
        if in_fence or RULE_LINE_RE.match(line):
            continue
        if BULLET_LINE_RE.match(line):
            total += 1
    return total


@ifeval_checker("detectable_format:number_bullet_lists")
def _number_bullet_lists(kwargs: dict[str, Any]) -> Check:
    expected = read_int(kwargs, "num_bullets")

    def check(ctx: CheckContext) -> CheckResult:
        found = count_bullets(ctx.text)
        return CheckResult(found == expected, f"{found} bullet items; required exactly {expected}")

    return check


def count_highlights(text: str) -> int:
    """Return IFEval's highlight count: non-empty ``*text*`` spans plus non-empty ``**text**`` spans."""
    single = sum(1 for span in SINGLE_HIGHLIGHT_RE.findall(text) if span.strip("*").strip())
    double = sum(1 for span in DOUBLE_HIGHLIGHT_RE.findall(text) if span[2:-2].strip())
    return single + double


@ifeval_checker("detectable_format:number_highlighted_sections")
def _number_highlighted_sections(kwargs: dict[str, Any]) -> Check:
    minimum = read_int(kwargs, "num_highlights")
    return lambda ctx: counted("highlighted sections", count_highlights(ctx.text), "at least", minimum)


@ifeval_checker("detectable_format:title")
def _title(kwargs: dict[str, Any]) -> Check:
    def check(ctx: CheckContext) -> CheckResult:
        for title in TITLE_RE.findall(ctx.text):
            if title.lstrip("<").rstrip(">").strip():
                return CheckResult(True, f"title {title[:80]!r}")
        return CheckResult(False, "no title in <<double angular brackets>>")

    return check


# --- keywords --------------------------------------------------------------------------------


@ifeval_checker("keywords:existence")
def _existence(kwargs: dict[str, Any]) -> Check:
    keywords = read_str_list(kwargs, "keywords")
    patterns = [(keyword, _literal(keyword)) for keyword in keywords]

    def check(ctx: CheckContext) -> CheckResult:
        missing = [keyword for keyword, pattern in patterns if not pattern.search(ctx.text)]
        if missing:
            return CheckResult(False, "missing keywords: " + ", ".join(map(repr, missing)))
        return CheckResult(True, "all keywords present")

    return check


@ifeval_checker("keywords:forbidden_words")
def _forbidden_words(kwargs: dict[str, Any]) -> Check:
    words = read_str_list(kwargs, "forbidden_words")
    patterns = [(word, re.compile(r"\b" + re.escape(word.strip()) + r"\b", re.IGNORECASE)) for word in words]

    def check(ctx: CheckContext) -> CheckResult:
        found = [word for word, pattern in patterns if pattern.search(ctx.text)]
        if found:
            return CheckResult(False, "forbidden words used: " + ", ".join(map(repr, found)))
        return CheckResult(True, "no forbidden word used")

    return check


@ifeval_checker("keywords:frequency")
def _keyword_frequency(kwargs: dict[str, Any]) -> Check:
    keyword = read_str(kwargs, "keyword").strip()
    frequency = read_int(kwargs, "frequency")
    relation = read_relation(kwargs, "relation")
    # Substring matches, like IFEval: "cat" is counted inside "category".
    pattern = _literal(keyword)
    return lambda ctx: counted(f"occurrences of {keyword!r}", len(pattern.findall(ctx.text)), relation, frequency)


@ifeval_checker("keywords:letter_frequency")
def _letter_frequency(kwargs: dict[str, Any]) -> Check:
    letter = read_str(kwargs, "letter").strip().lower()
    if len(letter) != 1:
        raise ConstraintArgumentError(f"kwarg 'letter' must be a single letter, got {kwargs.get('letter')!r}")
    frequency = read_int(kwargs, "let_frequency")
    relation = read_relation(kwargs, "let_relation")
    return lambda ctx: counted(f"letters {letter!r}", ctx.text.lower().count(letter), relation, frequency)


# --- language --------------------------------------------------------------------------------


@ifeval_checker("language:response_language")
def _response_language(kwargs: dict[str, Any]) -> Check:
    expected = read_str(kwargs, "language").strip()

    def check(ctx: CheckContext) -> CheckResult:
        language = detect_language(ctx.text)
        if language is None:
            return CheckResult(True, "language not detectable, counted as followed (as IFEval does)")
        return CheckResult(language == expected, f"detected language {language!r}; required {expected!r}")

    return check


# --- length_constraints ----------------------------------------------------------------------


@ifeval_checker("length_constraints:number_words")
def _number_words(kwargs: dict[str, Any]) -> Check:
    threshold = read_int(kwargs, "num_words")
    relation = read_relation(kwargs, "relation")
    return lambda ctx: counted("words", count_words(ctx.text), relation, threshold)


@ifeval_checker("length_constraints:number_sentences")
def _number_sentences(kwargs: dict[str, Any]) -> Check:
    threshold = read_int(kwargs, "num_sentences")
    relation = read_relation(kwargs, "relation")
    return lambda ctx: counted("sentences", count_sentences(ctx.text), relation, threshold)


@ifeval_checker("length_constraints:number_paragraphs")
def _number_paragraphs(kwargs: dict[str, Any]) -> Check:
    expected = read_int(kwargs, "num_paragraphs")

    def check(ctx: CheckContext) -> CheckResult:
        parts = PARAGRAPH_DIVIDER_RE.split(ctx.text)
        found = len(parts)
        for index, part in enumerate(parts):
            if part.strip():
                continue
            if index in (0, len(parts) - 1):
                found -= 1
            else:
                return CheckResult(False, "an empty paragraph between two *** dividers")
        return CheckResult(found == expected, f"{found} paragraphs separated by ***; required exactly {expected}")

    return check


@ifeval_checker("length_constraints:nth_paragraph_first_word")
def _nth_paragraph_first_word(kwargs: dict[str, Any]) -> Check:
    expected = read_int(kwargs, "num_paragraphs", minimum=1)
    nth = read_int(kwargs, "nth_paragraph", minimum=1)
    first_word = read_str(kwargs, "first_word").strip().lower()

    def check(ctx: CheckContext) -> CheckResult:
        # As in IFEval, empty chunks lower the count but still take their place when indexing.
        parts = ctx.text.split("\n\n")
        found = sum(1 for part in parts if part.strip())
        if nth > found or not parts[nth - 1].strip():
            return CheckResult(False, f"{found} paragraphs; paragraph {nth} is missing or empty")
        word = parts[nth - 1].strip().split()[0].lstrip("'").lstrip('"')
        actual = ""
        for char in word:
            if char in FIRST_WORD_STOP:
                break
            actual += char.lower()
        followed = found == expected and actual == first_word
        return CheckResult(
            followed,
            f"{found} paragraphs (required {expected}); paragraph {nth} starts with {actual!r} (required {first_word!r})",
        )

    return check


# --- punctuation and startend ----------------------------------------------------------------


@ifeval_checker("punctuation:no_comma")
def _no_comma(kwargs: dict[str, Any]) -> Check:
    def check(ctx: CheckContext) -> CheckResult:
        commas = ctx.text.count(",")
        return CheckResult(commas == 0, f"{commas} commas")

    return check


@ifeval_checker("startend:end_checker")
def _end_checker(kwargs: dict[str, Any]) -> Check:
    end_phrase = read_str(kwargs, "end_phrase").strip().lower()

    def check(ctx: CheckContext) -> CheckResult:
        # A closing double quote after the phrase is allowed, as in IFEval.
        if ctx.text.strip().strip('"').lower().endswith(end_phrase):
            return CheckResult(True, "ends with the required phrase")
        return CheckResult(False, f"does not end with {end_phrase!r}")

    return check


@ifeval_checker("startend:quotation")
def _quotation(kwargs: dict[str, Any]) -> Check:
    def check(ctx: CheckContext) -> CheckResult:
        body = ctx.text.strip()
        if len(body) > 1 and body[0] == '"' and body[-1] == '"':
            return CheckResult(True, "wrapped in double quotation marks")
        return CheckResult(False, "not wrapped in double quotation marks")

    return check
