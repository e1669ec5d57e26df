"""The parsed response every metric reads: clean text, markdown layout, spaCy doc, word lists."""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from spacy.tokens import Doc, Token

from bsb_core.metrics.markdown import Layout, parse_layout

# C0/C1 control characters except tab, newline and carriage return.
CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# Letters or digits inside a token: what makes a token a word.
WORD_CHAR_RE = re.compile(r"[^\W_]", re.UNICODE)


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
    def word_tokens(self) -> list[Token]:
        """Tokens of the prose that are words."""
        if self.doc is None:
            return []
        return [token for token in self.doc if is_word(token)]

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
        return [sent for sent in self.doc.sents if any(is_word(token) for token in sent)]

    @functools.cached_property
    def sentence_lengths(self) -> list[int]:
        """Words per prose sentence."""
        return [sum(1 for token in sent if is_word(token)) for sent in self.sentences]

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


def prepare(text: Any, constraints: list[dict[str, Any]] | None = None, prompt: str | None = None) -> tuple[str, Layout]:
    """Clean ``text`` and compute its layout; the layout's prose is what spaCy parses."""
    cleaned = clean_text(text)
    return cleaned, parse_layout(cleaned)
