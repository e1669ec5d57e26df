"""Phrase lexicons stored as data files, matched in one pass over the words of a text.

A lexicon file in ``bsb_core/metrics/lexicons/`` contains one entry per line; blank lines and
lines starting with ``#`` are ignored. An entry is a lowercase phrase with three optional
constructs (see ``lexicons/README.md``):

- ``{a|b|c}`` one of several words or phrases; an empty option (``{just|only|}``) makes the
  slot optional;
- ``word*`` any word that starts with ``word`` (``apologi*`` matches "apologize", "apologies");
- ``<num>`` a number such as ``5``, ``2.5`` or ``1,000``.

Entries are expanded into word sequences and indexed by their first word, so counting every
lexicon in a text is one pass over its words with dictionary look-ups. That is several times
faster than one alternation regex per lexicon with Python's ``re``, which tries the
alternatives one by one at every position. Matching is on lowercased text with straight
apostrophes, whole words only, within one line. Each lexicon counts non-overlapping
matches, and at each word the longest entry wins, so "in my opinion" is one match.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

LEXICON_DIR = Path(__file__).resolve().parent / "lexicons"

_SLOT_RE = re.compile(r"\{([^{}]*)\}|\S+")
# Words of a text: numbers with separators, words with inner apostrophes, or a line break.
TOKEN_RE = re.compile(r"\n|\d[\d,]*(?:\.\d+)?|[^\W_]+(?:'[^\W_]+)*")
NUMBER_RE = re.compile(r"\d[\d,]*(?:\.\d+)?")
NUMBER = "<num>"


class LexiconError(ValueError):
    """A lexicon file is missing or contains an entry that cannot be parsed."""


def read_entries(name: str) -> list[str]:
    """Return the entries of ``lexicons/<name>.txt``, lowercased, without comments or blanks."""
    path = LEXICON_DIR / f"{name}.txt"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise LexiconError(f"lexicon {name!r} not found at {path}; expected a .txt file in {LEXICON_DIR}") from None
    entries = []
    for line in text.splitlines():
        entry = " ".join(line.strip().lower().replace("\u2019", "'").split())
        if entry and not entry.startswith("#"):
            entries.append(entry)
    return entries


def expand_entry(entry: str) -> list[tuple[str, ...]]:
    """Return every word sequence an entry stands for, e.g. ``"i {think|guess}"`` -> two sequences."""
    slots: list[list[tuple[str, ...]]] = []
    for match in _SLOT_RE.finditer(entry):
        if match.group(1) is None:
            slots.append([(match.group(0),)])
        else:
            slots.append([tuple(option.split()) for option in match.group(1).split("|")])
    sequences = {tuple(itertools.chain.from_iterable(choice)) for choice in itertools.product(*slots)}
    sequences.discard(())
    if not sequences:
        raise LexiconError(f"lexicon entry {entry!r} has no words; remove it or give it a word")
    for sequence in sequences:
        for word in sequence:
            if word.startswith("{") or word.endswith("}") or "|" in word:
                raise LexiconError(f"lexicon entry {entry!r} has an unbalanced or nested {{...}} slot")
    return sorted(sequences)


@dataclass
class _Node:
    """A trie node: the words that may follow, and the lexicons whose entries end here."""

    words: dict[str, _Node] = field(default_factory=dict)
    prefixes: dict[str, _Node] = field(default_factory=dict)  # "word*" patterns, keyed by the prefix
    number: _Node | None = None  # a <num> pattern
    ends: set[str] = field(default_factory=set)

    def child(self, pattern: str) -> _Node:
        """Return (creating it if needed) the child node for one word pattern."""
        if pattern == NUMBER:
            if self.number is None:
                self.number = _Node()
            return self.number
        if pattern.endswith("*"):
            return self.prefixes.setdefault(pattern[:-1], _Node())
        return self.words.setdefault(pattern, _Node())

    def next_nodes(self, token: str) -> list[_Node]:
        """Return the children that ``token`` matches."""
        found = []
        node = self.words.get(token)
        if node is not None:
            found.append(node)
        for prefix, prefixed in self.prefixes.items():
            if token.startswith(prefix):
                found.append(prefixed)
        if self.number is not None and NUMBER_RE.fullmatch(token):
            found.append(self.number)
        return found


@dataclass
class LexiconSet:
    """Several lexicons' word sequences in one trie, counted together in one pass over the words."""

    names: tuple[str, ...]
    root: _Node = field(default_factory=_Node)
    excluded_before: dict[str, frozenset[str]] = field(default_factory=dict)  # lexicon -> words that cancel a match

    def add(self, lexicon: str, sequence: tuple[str, ...]) -> None:
        """Add one word sequence of ``lexicon``."""
        node = self.root
        for pattern in sequence:
            node = node.child(pattern)
        node.ends.add(lexicon)

    def longest_matches(self, tokens: list[str], start: int) -> dict[str, int]:
        """Return, per lexicon, the length of its longest entry that matches at ``start``."""
        lengths: dict[str, int] = {}
        frontier = [self.root]
        index = start
        while frontier and index < len(tokens):
            token = tokens[index]
            frontier = [child for node in frontier for child in node.next_nodes(token)]
            index += 1
            for node in frontier:
                for lexicon in node.ends:
                    lengths[lexicon] = index - start
        return lengths

    def count(self, tokens: list[str]) -> dict[str, int]:
        """Count each lexicon's non-overlapping matches in ``tokens`` (from :func:`tokenize`)."""
        counts = dict.fromkeys(self.names, 0)
        next_free = dict.fromkeys(self.names, 0)  # per lexicon, the first token not inside a match
        root = self.root
        start_prefixes = tuple(root.prefixes)
        numbers_start = root.number is not None
        for index, token in enumerate(tokens):
            # Fast path: most words start no entry.
            if not (
                token in root.words
                or (start_prefixes and token.startswith(start_prefixes))
                or (numbers_start and token[:1].isdigit())
            ):
                continue
            for lexicon, length in self.longest_matches(tokens, index).items():
                if index < next_free[lexicon]:
                    continue
                if index and _is_excluded(tokens[index - 1], self.excluded_before.get(lexicon, frozenset())):
                    continue
                counts[lexicon] += 1
                next_free[lexicon] = index + length
        return counts


def _is_excluded(previous: str, excluded: frozenset[str]) -> bool:
    if not excluded:
        return False
    return previous in excluded or ("n't" in excluded and previous.endswith("n't"))


def tokenize(text: str) -> list[str]:
    """Split text into lowercased lexicon tokens; line breaks are kept as ``"\\n"`` so no match spans lines."""
    return TOKEN_RE.findall(text.lower().replace("\u2019", "'").replace("\u2018", "'"))


def build_lexicon_set(entries: dict[str, list[str]], excluded_before: dict[str, Iterable[str]] | None = None) -> LexiconSet:
    """Build a lexicon set from lexicon name -> entries in the file syntax.

    ``excluded_before`` maps a lexicon to words after which its matches do not count;
    ``"n't"`` stands for any word ending in "n't".
    """
    excluded = {name: frozenset(words) for name, words in (excluded_before or {}).items()}
    lexicons = LexiconSet(tuple(entries), excluded_before=excluded)
    for name, lines in entries.items():
        for entry in lines:
            for sequence in expand_entry(entry):
                lexicons.add(name, sequence)
    return lexicons


def load_lexicon_set(names: Iterable[str], excluded_before: dict[str, Iterable[str]] | None = None) -> LexiconSet:
    """Read ``lexicons/<name>.txt`` for each name and build one lexicon set."""
    return build_lexicon_set({name: read_entries(name) for name in names}, excluded_before)
