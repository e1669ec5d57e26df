"""Markdown layout of a response: line kinds, blocks, and the prose text that spaCy parses.

Fenced code, display math and tables are kept out of the prose. List items, headings and
paragraph lines each become their own line of prose, and the sentence component treats every
line start as a sentence start, so a bullet list never merges into one sentence.

The rules follow CommonMark and GitHub-flavoured markdown where chat models use them. Three
departures suit model output, and each is marked where it is applied. Fences may be indented
any amount, because models indent them inside list items. Pipe rows without a separator row
still form a table. A line break inside a paragraph starts a new prose line unless it looks
like hard-wrapped prose.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# A list item marker followed by whitespace and content. Bullets: "-", "*", "+" and the
# Unicode bullets models print ("•", "‣", "◦", "·", "–", "▪", "●", "○", "■").
BULLET_RE = re.compile(r"^(\s*)([-*+•‣◦·–▪●○■])\s+(?=\S)")
# "1." or "1)" (at most three digits, so a year like "2023." at a line start is not a list item).
NUMBERED_RE = re.compile(r"^(\s*)(\d{1,3}[.)])\s+(?=\S)")
# "a)", "(a)", "A)", lowercase "a.", and roman numerals "iv." / "IV)". Uppercase single
# letters with a period ("J. Smith") are not list markers.
LETTERED_RE = re.compile(r"^(\s*)(\(?[a-zA-Z]\)|[a-z]\.|\(?(?:[ivx]{1,4}|[IVX]{1,4})[.)])\s+(?=\S)")
HEADING_RE = re.compile(r"^\s{0,3}(#{1,6})(?:[ \t]+|$)")
SETEXT_RE = re.compile(r"^\s{0,3}(=+|-+)[ \t]*$")
RULE_RE = re.compile(r"^\s{0,3}(?:(?:\*[ \t]*){3,}|(?:-[ \t]*){3,}|(?:_[ \t]*){3,})$")
# NOTE: CommonMark allows at most three spaces before a fence. Models indent fences inside
# list items by four or more, so any indentation is accepted here.
FENCE_RE = re.compile(r"^\s*(`{3,}|~{3,})(.*)$")
# Display math on its own lines: "$$ ... $$", "\[ ... \]" or a LaTeX environment
# "\begin{align} ... \end{align}". It is kept out of the prose.
MATH_OPEN_RE = re.compile(r"^\s*(\$\$|\\\[|\\begin\{[A-Za-z]+\*?\})")
TABLE_SEPARATOR_RE = re.compile(r"^\s*\|?\s*:?-+:?\s*(?:\|\s*:?-+:?\s*)*\|?\s*$")
# A row that starts with a pipe and has another one: "| a | b |".
PIPE_ROW_RE = re.compile(r"^\s*\|.*\|")
QUOTE_RE = re.compile(r"^\s{0,3}(?:>\s?)+")
# Bold and italic spans within one line. The bold body cannot contain its own delimiter pair,
# so every match attempt stops at the next "**" and a long line is scanned in linear time.
BOLD_RE = re.compile(r"\*\*(?=\S)((?:[^*\n]|\*(?!\*))+?)(?<=\S)\*\*|__(?=\S)((?:[^_\n]|_(?!_))+?)(?<=\S)__")
ITALIC_RE = re.compile(r"(?<![*\w])([*_])(?=[^\s*_])([^*_\n]+?)(?<=[^\s*_])\1(?![*\w])")
STRIKE_RE = re.compile(r"~~(?=\S)([^~\n]+?)(?<=\S)~~")
# Neither the link text nor the target may contain a bracket, and both are bounded, so each
# match attempt stops at the next "[" and a line full of "[" or "](" is scanned in linear time.
LINK_RE = re.compile(r"!?\[([^\[\]\n]{0,500})\]\([^)\[\]\n]{0,2000}\)")
FOOTNOTE_REF_RE = re.compile(r"\[\^[^\]\n]*\]")
INLINE_CODE_RE = re.compile(r"`([^`\n]*)`")
HTML_BREAK_RE = re.compile(r"<br\s*/?>", re.IGNORECASE)
# A line that is only a bold phrase, optionally followed by a colon: "**Step 1: Install**".
BOLD_LINE_RE = re.compile(r"^(?:\*\*[^*\n]+\*\*|__[^_\n]+__)\s*:?\s*$")
# End of a prose line that closes a sentence or introduces what follows.
LINE_END_PUNCT = ".!?:;…"

LINE_KINDS = ("blank", "text", "heading", "bullet", "numbered", "rule", "fence", "code", "math", "table", "quote")
# Kinds of the lines of `Layout.prose_lines`: a list item is "bullet" or "numbered", a line
# that is only a bold phrase is "bold_heading".
PROSE_LINE_KINDS = ("text", "heading", "bold_heading", "bullet", "numbered", "quote")


@dataclass
class Line:
    """One source line and what it is."""

    number: int  # 1-based
    text: str
    kind: str  # one of LINE_KINDS
    content: str = ""  # the line with its marker removed (list items, headings, quotes)


@dataclass
class Layout:
    """A response's markdown layout and its prose."""

    lines: list[Line]
    prose: str
    prose_lines: list[str] = field(default_factory=list)
    prose_line_kinds: list[str] = field(default_factory=list)  # parallel to prose_lines; PROSE_LINE_KINDS
    code_blocks: int = 0
    math_blocks: int = 0
    tables: int = 0
    headings: int = 0  # ATX ("## Title") and setext (underlined) headings
    bold_headings: int = 0  # lines that are only a bold phrase, used as headings
    bullet_items: int = 0  # all list items, numbered included
    numbered_items: int = 0
    paragraphs: int = 0  # blocks separated by blank lines (code and tables included)
    bold: int = 0
    italic: int = 0
    links: int = 0
    rules: int = 0
    quotes: int = 0

    @property
    def nonblank_lines(self) -> int:
        """Number of lines that are not blank."""
        return sum(1 for line in self.lines if line.kind != "blank")

    @property
    def nonblank_lines_outside_code(self) -> int:
        """Number of non-blank lines that are not fenced code or fence markers."""
        return sum(1 for line in self.lines if line.kind not in ("blank", "fence", "code"))


def strip_inline(text: str) -> str:
    """Remove inline markdown (emphasis markers, link targets, code backticks, <br>) from a line."""
    text = LINK_RE.sub(r"\1", text)
    text = FOOTNOTE_REF_RE.sub("", text)
    text = INLINE_CODE_RE.sub(r"\1", text)
    text = HTML_BREAK_RE.sub(" ", text)
    text = BOLD_RE.sub(lambda match: match.group(1) or match.group(2), text)
    text = ITALIC_RE.sub(r"\2", text)
    text = STRIKE_RE.sub(r"\1", text)
    return text


def _is_closing_fence(raw: str, fence: str) -> bool:
    """Return True when ``raw`` closes a block opened by ``fence`` (same character, at least as long, no info string)."""
    match = FENCE_RE.match(raw)
    if not match:
        return False
    marker, rest = match.group(1), match.group(2)
    return marker[0] == fence[0] and len(marker) >= len(fence) and not rest.strip()


def _opens_fence(raw: str) -> str | None:
    """Return the fence marker when ``raw`` opens a fenced code block, else None."""
    match = FENCE_RE.match(raw)
    if not match:
        return None
    marker, info = match.group(1), match.group(2)
    # A backtick fence's info string cannot contain a backtick ("```x```" is inline code).
    if marker[0] == "`" and "`" in info:
        return None
    return marker


def _math_closes(raw: str, opener: str) -> bool:
    """Return True when ``raw`` contains the closing delimiter of the display math opened by ``opener``."""
    if opener == "$$":
        closer = "$$"
    elif opener == "\\[":
        closer = "\\]"
    else:
        closer = "\\end" + opener[len("\\begin"):]
    return closer in raw


def classify_lines(text: str) -> list[Line]:
    """Split ``text`` into lines and give each its markdown kind."""
    lines: list[Line] = []
    fence: str | None = None
    math: str | None = None
    for index, raw in enumerate(text.split("\n")):
        number = index + 1
        if fence is not None:
            if _is_closing_fence(raw, fence):
                lines.append(Line(number, raw, "fence"))
                fence = None
            else:
                lines.append(Line(number, raw, "code"))
            continue
        if math is not None:
            lines.append(Line(number, raw, "math"))
            if _math_closes(raw, math):
                math = None
            continue
        marker = _opens_fence(raw)
        if marker is not None:
            fence = marker
            lines.append(Line(number, raw, "fence"))
            continue
        lines.append(_classify_outside_blocks(number, raw))
        if lines[-1].kind == "math":
            opener = MATH_OPEN_RE.match(raw).group(1)  # type: ignore[union-attr]
            rest = raw.strip()[len(opener):]
            if not _math_closes(rest, opener):
                math = opener
    _mark_tables(lines)
    _mark_setext_headings(lines)
    return lines


def _classify_outside_blocks(number: int, raw: str) -> Line:
    """Classify a line that is not inside a fenced code or display math block."""
    if not raw.strip():
        return Line(number, raw, "blank")
    if MATH_OPEN_RE.match(raw):
        return Line(number, raw, "math")
    if RULE_RE.match(raw):
        return Line(number, raw, "rule")
    match = HEADING_RE.match(raw)
    if match:
        content = raw[match.end():].strip()
        content = re.sub(r"(?:^|\s+)#+\s*$", "", content)  # optional closing hashes
        return Line(number, raw, "heading", content.strip())
    match = NUMBERED_RE.match(raw) or LETTERED_RE.match(raw)
    if match:
        return Line(number, raw, "numbered", raw[match.end():])
    match = BULLET_RE.match(raw)
    if match:
        return Line(number, raw, "bullet", raw[match.end():])
    match = QUOTE_RE.match(raw)
    if match:
        content = raw[match.end():]
        item = NUMBERED_RE.match(content) or LETTERED_RE.match(content) or BULLET_RE.match(content)
        return Line(number, raw, "quote", content[item.end():] if item else content)
    return Line(number, raw, "text", raw.strip())


def _is_table_separator(text: str) -> bool:
    return "-" in text and bool(TABLE_SEPARATOR_RE.match(text))


def _mark_tables(lines: list[Line]) -> None:
    """Mark table rows.

    A GitHub-flavoured table is a pipe row followed by a separator row ("| --- | --- |") and
    the pipe rows after it. NOTE: two or more consecutive rows of the form "| a | b |" also
    count as a table without a separator row, because models print such grids (e.g. Gherkin
    data tables) and their cells are not prose.
    """
    index = 0
    while index < len(lines):
        line = lines[index]
        candidate = line.kind in ("text", "quote") and "|" in line.text
        if not candidate:
            index += 1
            continue
        end = index
        if index + 1 < len(lines) and _is_table_separator(lines[index + 1].text):
            end = index + 2
            while end < len(lines) and lines[end].kind not in ("blank", "fence", "code", "math") and "|" in lines[end].text:
                end += 1
        elif PIPE_ROW_RE.match(line.text):
            end = index
            while end < len(lines) and lines[end].kind in ("text", "quote") and PIPE_ROW_RE.match(lines[end].text):
                end += 1
            if end - index < 2:
                end = index
        if end > index:
            for row in lines[index:end]:
                row.kind = "table"
                row.content = ""
            index = end
        else:
            index += 1


def _mark_setext_headings(lines: list[Line]) -> None:
    """Turn text underlined by '===' or '---' into a heading; the underline is markup, not a rule."""
    for index in range(1, len(lines)):
        line, previous = lines[index], lines[index - 1]
        if previous.kind == "text" and line.kind in ("rule", "text") and SETEXT_RE.match(line.text):
            previous.kind = "heading"
            line.kind = "blank"
            line.content = ""


def _joins_previous(previous: str, content: str) -> bool:
    """Return True when ``content`` continues a hard-wrapped prose line instead of starting a new one.

    Models rarely wrap prose by hand, and their line breaks inside a paragraph usually separate
    items (lyrics, "key: value" lines, equations). So a line break starts a new prose line unless
    the previous line ends without punctuation and this one starts with a lowercase letter.
    """
    if not previous or not content:
        return False
    return previous[-1] not in LINE_END_PUNCT and content[0].islower()


def parse_layout(text: str) -> Layout:
    """Return the markdown layout of ``text`` and the prose extracted from it."""
    lines = classify_lines(text)
    layout = Layout(lines=lines, prose="")
    prose: list[str] = []
    kinds: list[str] = []
    in_block = False
    joinable = False  # whether the last prose line may take a hard-wrapped continuation

    for line in lines:
        kind = line.kind
        if kind == "blank":
            in_block = False
            joinable = False
            continue
        if not in_block:
            layout.paragraphs += 1
            in_block = True

        if kind in ("fence", "code", "math", "table", "rule"):
            joinable = False
            layout.rules += kind == "rule"
            continue

        _count_inline(layout, line.text)
        content = strip_inline(line.content).strip()
        if kind == "text":
            if joinable and _joins_previous(prose[-1], content):
                prose[-1] = f"{prose[-1]} {content}"
                continue
            prose_kind = "text"
            if BOLD_LINE_RE.match(line.content):
                prose_kind = "bold_heading"
                layout.bold_headings += 1
        else:
            prose_kind = kind
            if kind == "heading":
                layout.headings += 1
            elif kind in ("bullet", "numbered"):
                layout.bullet_items += 1
                layout.numbered_items += kind == "numbered"
            else:
                layout.quotes += 1
        if content:
            prose.append(content)
            kinds.append(prose_kind)
            joinable = prose_kind in ("text", "bullet", "numbered", "quote")
        else:
            joinable = False

    layout.code_blocks = _count_code_blocks(lines)
    layout.math_blocks = _count_runs(lines, "math")
    layout.tables = _count_runs(lines, "table")
    layout.prose_lines = prose
    layout.prose_line_kinds = kinds
    layout.prose = "\n".join(prose)
    return layout


def _count_inline(layout: Layout, text: str) -> None:
    """Add the bold, italic and link spans of one non-code line to ``layout``."""
    if "`" in text:
        text = INLINE_CODE_RE.sub("", text)
    if "*" in text or "_" in text:
        layout.bold += sum(1 for _ in BOLD_RE.finditer(text))
        layout.italic += sum(1 for _ in ITALIC_RE.finditer(BOLD_RE.sub(" ", text)))
    if "](" in text:
        layout.links += sum(1 for _ in LINK_RE.finditer(text))


def _count_code_blocks(lines: list[Line]) -> int:
    """Count fenced code blocks: every other fence line opens one (an unclosed fence counts too)."""
    fences = sum(1 for line in lines if line.kind == "fence")
    return (fences + 1) // 2


def _count_runs(lines: list[Line], kind: str) -> int:
    """Count maximal runs of consecutive lines of ``kind``."""
    runs = 0
    previous = None
    for line in lines:
        if line.kind == kind and previous != kind:
            runs += 1
        previous = line.kind
    return runs
