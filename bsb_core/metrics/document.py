"""The parsed response every metric reads: clean text, markdown layout, spaCy doc, word lists."""

from __future__ import annotations

import bisect
import functools
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from spacy.tokens import Doc, Token

from bsb_core.metrics.jsontext import JsonFinding, find_json
from bsb_core.metrics.markdown import Layout, parse_layout

# C0/C1 control characters except tab, newline and carriage return.
CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# Letters or digits inside a token: what makes a token a word.
WORD_CHAR_RE = re.compile(r"[^\W_]", re.UNICODE)
# Runs of this many characters that are neither word characters nor whitespace are split into
# chunks of SYMBOL_CHUNK before parsing (see split_symbol_runs).
SYMBOL_RUN_MIN = 64
SYMBOL_CHUNK = 32
SYMBOL_RUN_RE = re.compile(r"[^\w\s]{%d,}" % SYMBOL_RUN_MIN)
# Characters skipped when looking for a sentence's final punctuation mark: closing quotes and
# brackets, markdown emphasis, and emoji or other symbols ("Enjoy! 😊" ends with "!").
SENTENCE_TAIL_CATEGORIES = frozenset({"Pe", "Pf", "Pi", "So", "Sk", "Sm", "Sc", "Mn", "Me", "Cf", "Co", "Cn"})
SENTENCE_TAIL_CHARS = frozenset("\"'*_`~)]}>\ufe0f\u200d")


def clean_text(text: Any) -> str:
    """Return ``text`` as a str safe to parse and store.

    Lone surrogates become U+FFFD, control characters other than tab and newlines are
    dropped, CRLF becomes LF, and ``None`` or a non-string becomes its string form.
    """
    if text is None:
        return ""
    if not isinstance(text, str):
        text = str(text)
    if any("\ud800" <= ch <= "\udfff" for ch in text):
        text = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return CONTROL_RE.sub("", text)


def sentence_end_mark(text: str) -> str:
    """Return the final punctuation mark of a sentence ("?", "!", "." ...), or "" when it ends otherwise.

    Trailing whitespace, closing quotes and brackets, emphasis markers and emoji are skipped,
    so "Ready?**" and "Enjoy! 😊" end with "?" and "!". "?!" and "!?" count as their last mark.
    """
    for char in reversed(text):
        if char.isspace() or char in SENTENCE_TAIL_CHARS:
            continue
        if unicodedata.category(char) in SENTENCE_TAIL_CATEGORIES:
            continue
        if char in "?!.…:;":
            return "." if char == "…" else char
        if char in "？！。":  # full-width forms used in CJK text
            return {"？": "?", "！": "!", "。": "."}[char]
        return ""
    return ""


def is_word(token: Token) -> bool:
    """Return True for a token that contains a letter or digit (not punctuation, space or symbol)."""
    return not token.is_space and bool(WORD_CHAR_RE.search(token.text))


@dataclass
class Parsed:
    """One response, parsed once and shared by every metric family."""

    text: str  # cleaned full text, code and tables included
    layout: Layout
    doc: Doc | None  # spaCy doc of layout.prose; None when the prose is empty
    constraints: list[dict[str, Any]] = field(default_factory=list)
    prompt: str | None = None

    @functools.cached_property
    def tokens(self) -> list[Token]:
        """All tokens of the prose doc, created once (iterating a Doc builds new Token objects)."""
        if self.doc is None:
            return []
        return list(self.doc)

    @functools.cached_property
    def word_mask(self) -> list[bool]:
        """For each token index, whether that token is a word (see :func:`is_word`)."""
        return [is_word(token) for token in self.tokens]

    @functools.cached_property
    def word_tokens(self) -> list[Token]:
        """Tokens of the prose that are words."""
        return [token for token, word in zip(self.tokens, self.word_mask) if word]

    @functools.cached_property
    def words(self) -> list[str]:
        """Prose words, lowercased."""
        return [token.lower_ for token in self.word_tokens]

    @functools.cached_property
    def word_count(self) -> int:
        """Number of prose words."""
        return len(self.word_tokens)

    @functools.cached_property
    def sentences(self) -> list[Any]:
        """Prose sentences that contain at least one word."""
        if self.doc is None:
            return []
        mask = self.word_mask
        return [sent for sent in self.doc.sents if any(mask[sent.start:sent.end])]

    @functools.cached_property
    def sentence_lengths(self) -> list[int]:
        """Words per prose sentence."""
        mask = self.word_mask
        return [sum(mask[sent.start:sent.end]) for sent in self.sentences]

    @functools.cached_property
    def prose_line_starts(self) -> list[int]:
        """Character offset in ``layout.prose`` where each prose line starts."""
        starts: list[int] = []
        offset = 0
        for line in self.layout.prose_lines:
            starts.append(offset)
            offset += len(line) + 1  # the joining newline
        return starts

    @functools.cached_property
    def sentence_kinds(self) -> list[str]:
        """Kind of the prose line each sentence starts in ("text", "heading", "bullet" ...)."""
        starts = self.prose_line_starts
        kinds = self.layout.prose_line_kinds
        if not starts:
            return ["text"] * len(self.sentences)
        result = []
        for sent in self.sentences:
            index = bisect.bisect_right(starts, sent.start_char) - 1
            result.append(kinds[max(index, 0)])
        return result

    @functools.cached_property
    def sentence_end_marks(self) -> list[str]:
        """Final punctuation mark of each sentence (see :func:`sentence_end_mark`)."""
        return [sentence_end_mark(sent.text) for sent in self.sentences]

    @functools.cached_property
    def json_finding(self) -> JsonFinding:
        """The JSON found in the full text (strict, inside a fence, or embedded in prose)."""
        return find_json(self.text)

    @functools.cached_property
    def prose_lower(self) -> str:
        """The prose, lowercased, with curly apostrophes straightened (for phrase matching)."""
        return self.layout.prose.lower().replace("\u2019", "'").replace("\u2018", "'")

    @functools.cached_property
    def text_lower(self) -> str:
        """The full text, lowercased, with curly apostrophes straightened."""
        return self.text.lower().replace("\u2019", "'").replace("\u2018", "'")

    @functools.cached_property
    def normalized_text(self) -> str:
        """The full text in Unicode NFC."""
        return unicodedata.normalize("NFC", self.text)


def split_symbol_runs(line: str) -> str:
    """Insert a space every SYMBOL_CHUNK characters into runs of SYMBOL_RUN_MIN or more symbols.

    spaCy's tokenizer strips prefix and suffix characters one at a time, which takes quadratic
    time on a long run of brackets, quotes or emoji. Such a run contains no letter or digit, so
    breaking it changes no word count. NOTE: a flag or joined emoji sequence that straddles a
    break is counted as two emoji.
    """
    if len(line) < SYMBOL_RUN_MIN:
        return line
    return SYMBOL_RUN_RE.sub(_chunk_run, line)


def _chunk_run(match: re.Match[str]) -> str:
    run = match.group(0)
    return " ".join(run[start:start + SYMBOL_CHUNK] for start in range(0, len(run), SYMBOL_CHUNK))


def prepare(text: Any, constraints: list[dict[str, Any]] | None = None, prompt: str | None = None) -> tuple[str, Layout]:
    """Clean ``text`` and compute its layout; the layout's prose is what spaCy parses.

    Long runs of symbols in the prose are broken up first (see :func:`split_symbol_runs`).
    """
    cleaned = clean_text(text)
    layout = parse_layout(cleaned)
    if any(len(line) >= SYMBOL_RUN_MIN for line in layout.prose_lines):
        layout.prose_lines = [split_symbol_runs(line) for line in layout.prose_lines]
        layout.prose = "\n".join(layout.prose_lines)
    return cleaned, layout
