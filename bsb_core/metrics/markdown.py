"""Markdown layout of a response: line kinds, blocks, and the prose text that spaCy parses.

Fenced code and tables are kept out of the prose. List items, headings and paragraphs each
become their own line of prose, and the sentence component treats every line start as a
sentence start, so a bullet list never merges into one sentence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# A list item: "-", "*", "+", "•", "‣", "◦", "·", "–" bullets, "1." / "1)" numbers, "a)" / "(a)" letters.
BULLET_RE = re.compile(r"^(\s*)([-*+•‣◦·–])\s+(?=\S)")
NUMBERED_RE = re.compile(r"^(\s*)(\d{1,3}[.)])\s+(?=\S)")
LETTERED_RE = re.compile(r"^(\s*)(\(?[a-zA-Z][)])\s+(?=\S)")
HEADING_RE = re.compile(r"^\s{0,3}(#{1,6})\s+(?=\S)")
SETEXT_RE = re.compile(r"^\s{0,3}(=+|-+)\s*$")
RULE_RE = re.compile(r"^\s{0,3}((\*\s*){3,}|(-\s*){3,}|(_\s*){3,})$")
FENCE_RE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")
TABLE_SEPARATOR_RE = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")
QUOTE_RE = re.compile(r"^\s{0,3}>\s?")
BOLD_RE = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
ITALIC_RE = re.compile(r"(?<![*\w])([*_])(?=[^\s*_])([^*_\n]+?)(?<=[^\s*_])\1(?![*\w])")
LINK_RE = re.compile(r"!?\[([^\]\n]*)\]\([^)\n]*\)")
INLINE_CODE_RE = re.compile(r"`([^`\n]*)`")

LINE_KINDS = ("blank", "text", "heading", "bullet", "numbered", "rule", "fence", "code", "table", "quote")


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
    code_blocks: int = 0
    tables: int = 0
    headings: int = 0
    bullet_items: int = 0  # all list items, numbered included
    numbered_items: int = 0
    paragraphs: int = 0  # blocks separated by blank lines (code and tables included)
    bold: int = 0
    italic: int = 0
    rules: int = 0
    quotes: int = 0

    @property
    def nonblank_lines(self) -> int:
        """Number of lines that are not blank."""
        return sum(1 for line in self.lines if line.kind != "blank")


def strip_inline(text: str) -> str:
    """Remove inline markdown (emphasis markers, link targets, code backticks) from a line."""
    text = LINK_RE.sub(r"\1", text)
    text = INLINE_CODE_RE.sub(r"\1", text)
    text = BOLD_RE.sub(r"\2", text)
    text = ITALIC_RE.sub(r"\2", text)
    return text


def classify_lines(text: str) -> list[Line]:
    """Split ``text`` into lines and give each its markdown kind."""
    raw_lines = text.split("\n")
    lines: list[Line] = []
    fence: str | None = None
    for index, raw in enumerate(raw_lines):
        raw = raw.rstrip("\r")
        number = index + 1
        fence_match = FENCE_RE.match(raw)
        if fence is not None:
            if fence_match and fence_match.group(1)[0] == fence[0] and len(fence_match.group(1)) >= len(fence):
                lines.append(Line(number, raw, "fence"))
                fence = None
            else:
                lines.append(Line(number, raw, "code"))
            continue
        if fence_match:
            fence = fence_match.group(1)
            lines.append(Line(number, raw, "fence"))
            continue
        if not raw.strip():
            lines.append(Line(number, raw, "blank"))
            continue
        if RULE_RE.match(raw):
            lines.append(Line(number, raw, "rule"))
            continue
        match = HEADING_RE.match(raw)
        if match:
            lines.append(Line(number, raw, "heading", raw[match.end():].strip().rstrip("#").strip()))
            continue
        match = NUMBERED_RE.match(raw) or LETTERED_RE.match(raw)
        if match:
            lines.append(Line(number, raw, "numbered", raw[match.end():]))
            continue
        match = BULLET_RE.match(raw)
        if match:
            lines.append(Line(number, raw, "bullet", raw[match.end():]))
            continue
        match = QUOTE_RE.match(raw)
        if match:
            lines.append(Line(number, raw, "quote", raw[match.end():]))
            continue
        lines.append(Line(number, raw, "text", raw.strip()))
    _mark_tables(lines)
    _mark_setext_headings(lines)
    return lines


def _mark_tables(lines: list[Line]) -> None:
    """Mark runs of pipe rows that have a separator row as table lines."""
    index = 0
    while index < len(lines):
        line = lines[index]
        is_header = line.kind in ("text", "quote") and "|" in line.text
        if is_header and index + 1 < len(lines) and TABLE_SEPARATOR_RE.match(lines[index + 1].text) and "-" in lines[index + 1].text:
            end = index + 2
            while end < len(lines) and lines[end].kind not in ("blank", "fence", "code") and "|" in lines[end].text:
                end += 1
            for row in lines[index:end]:
                row.kind = "table"
                row.content = ""
            index = end
            continue
        index += 1


def _mark_setext_headings(lines: list[Line]) -> None:
    """Turn text underlined by '===' or '---' into a heading; the underline is markup, not a rule."""
    for index in range(1, len(lines)):
        line, previous = lines[index], lines[index - 1]
        if previous.kind == "text" and line.kind in ("rule", "text") and SETEXT_RE.match(line.text):
            previous.kind = "heading"
            line.kind = "blank"


def parse_layout(text: str) -> Layout:
    """Return the markdown layout of ``text`` and the prose extracted from it."""
    lines = classify_lines(text)
    prose_lines: list[str] = []
    paragraph: list[str] = []
    layout = Layout(lines=lines, prose="")
    in_block = False

    def flush() -> None:
        if paragraph:
            prose_lines.append(" ".join(paragraph))
            paragraph.clear()

    for line in lines:
        kind = line.kind
        if kind == "blank":
            flush()
            in_block = False
        else:
            if not in_block:
                layout.paragraphs += 1
                in_block = True
        if kind == "text":
            paragraph.append(strip_inline(line.content))
        elif kind in ("heading", "bullet", "numbered", "quote"):
            flush()
            content = strip_inline(line.content).strip()
            if content:
                prose_lines.append(content)
            if kind == "heading":
                layout.headings += 1
            elif kind in ("bullet", "numbered"):
                layout.bullet_items += 1
                layout.numbered_items += kind == "numbered"
            else:
                layout.quotes += 1
        elif kind in ("fence", "code", "table", "rule"):
            flush()
            layout.rules += kind == "rule"
        if kind not in ("fence", "code", "table"):
            layout.bold += len(BOLD_RE.findall(line.text))
            layout.italic += len(ITALIC_RE.findall(line.text))
    flush()

    layout.code_blocks = _count_code_blocks(lines)
    layout.tables = _count_runs(lines, "table")
    layout.prose_lines = [line for line in prose_lines if line.strip()]
    layout.prose = "\n".join(layout.prose_lines)
    return layout


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
