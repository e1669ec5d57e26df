"""Stylistic metrics: lexical diversity, readability, voice, modality and word classes of the prose.

All metrics read the prose only (fenced code, display math and tables excluded). Words are
the prose tokens that contain a letter or digit, lowercased for diversity measures. Part of
speech tags and dependency labels come from the spaCy English pipeline (Universal POS in
``pos_``, Penn Treebank tags in ``tag_``, ClearNLP labels in ``dep_``).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections import Counter

from bsb_core.metrics.document import Parsed
from bsb_core.metrics.registry import REGISTRY, Null, Value

FAMILY = "stylistic"

# MTLD factor threshold (McCarthy & Jarvis 2010, "MTLD, vocd-D, and HD-D", Behavior Research
# Methods 42(2)): a factor ends when the running type-token ratio falls to 0.72.
MTLD_THRESHOLD = 0.72
# NOTE: McCarthy & Jarvis validate MTLD on texts of 100 words or more; below that the value
# is noisier. Under 10 words it is Null because a single partial factor decides it.
MTLD_MIN_WORDS = 10
# MATTR window (Covington & McFall 2010, "Cutting the Gordian knot", Journal of Quantitative
# Linguistics 17(2)). A response shorter than one window gets Null rather than a plain TTR, so
# values stay comparable across lengths; type_token_ratio is reported separately.
MATTR_WINDOW = 50
# Nominalisation suffixes (singular or plural) after at least three letters, so "city",
# "nation" and "unity" do not count. NOTE: some nouns with these endings are not derived from
# verbs or adjectives ("station", "science"); the count is a surface estimate.
NOMINALISATION_RE = re.compile(r"^[a-z]{3,}(?:tion|sion|ment|ness|ity|ance|ence|ism)s?$")
# Clitics spaCy splits off contractions ("do|n't", "I|'m", "we|'ll"). "'s" counts only when
# it is not the possessive marker (Penn tag POS).
CONTRACTION_PARTS = frozenset({"n't", "'m", "'re", "'ve", "'ll", "'d", "'s"})
# Dependency labels of a passive subject or auxiliary; the token's head is the passive verb.
PASSIVE_DEPS = frozenset({"nsubjpass", "csubjpass", "auxpass"})
AUXILIARY_DEPS = frozenset({"aux", "auxpass"})
# Penn Treebank tags of finite verbs: past, present non-3rd and 3rd person singular, modal.
FINITE_VERB_TAGS = frozenset({"VBD", "VBP", "VBZ", "MD"})
# Universal POS tags counted as content words for lexical density (AUX is a function word).
CONTENT_POS = frozenset({"NOUN", "PROPN", "VERB", "ADJ", "ADV"})
VOWELS = "aeiouy"
VOWEL_GROUP_RE = re.compile(r"[aeiouy]+")
NON_LETTER_RE = re.compile(r"[^a-z]+")
# Spelling patterns for the syllable estimate; count_syllables documents each.
SILENT_VOWEL_RE = re.compile(
    r"(?<=[aeiouy][^aeiouyl])e(?=(?:ment|ness|ful|fully|less|lessly|ly|ty)s?$)"
    r"|^som(?=e[^aeiouy][a-z]{2})e"
    r"|(?<=ic)a(?=lly$)"
)
SPLIT_VOWELS_RE = re.compile(
    r"(?<=[^aeiouycgstl])i(?=a|o(?!n)|u)"
    r"|iet"
    r"|(?<!p)eo(?!us)"
    r"|(?<![aeiouyct])ien(?!d)"
    r"|(?<![aeiougq])ua(?!ble)"
    r"|(?<![aeiouq])uen"
    r"|(?<=cr)ea(?=t)"
    r"|(?<=[aeiou])(?<!^e)y(?=[aeiou])(?!ings?$|eds?$|es$)"
    r"|(?<=[aeiouy])ing(?=s?$)"
    r"|(?<=[aeiouy])(?:th|s)m(?=s?$)"
)
# "-ea" at the end of a word with an earlier vowel ("idea", "area", not "sea").
FINAL_EA_RE = re.compile(r"[aeiouy][^aeiouy]+eas?$")


def _register() -> None:
    add = REGISTRY.add
    add("mtld", FAMILY, "words per factor", "higher = more varied vocabulary", f"Measure of textual lexical diversity (McCarthy & Jarvis 2010): mean of forward and backward passes, factor threshold {MTLD_THRESHOLD}; Null under {MTLD_MIN_WORDS} words.")
    add("mattr", FAMILY, "share 0-1", "higher = more varied vocabulary", f"Moving-average type-token ratio over {MATTR_WINDOW}-word windows; Null under {MATTR_WINDOW} words.")
    add("type_token_ratio", FAMILY, "share 0-1", "higher = more varied vocabulary", "Distinct lowercased words divided by words (falls with length; compare like lengths).")
    add("passive_share", FAMILY, "share 0-1", "higher = more passive voice", "Passive clauses (a verb with a passive subject or auxiliary) divided by clauses (finite verbs and sentence roots).")
    add("modal_rate", FAMILY, "per 100 words", "higher = more modal verbs", "Modal verbs (Penn tag MD: can, could, may, might, must, shall, should, will, would) per 100 words.")
    add("flesch_reading_ease", FAMILY, "score", "higher = easier to read", "206.835 - 1.015 x words per sentence - 84.6 x syllables per word, on the prose; syllables by a vowel-group heuristic.")
    add("flesch_kincaid_grade", FAMILY, "US grade", "higher = harder to read", "0.39 x words per sentence + 11.8 x syllables per word - 15.59, on the prose; syllables by a vowel-group heuristic.")
    add("mean_word_length", FAMILY, "characters", "higher = longer words", "Mean characters per prose word.")
    add("nominalisation_rate", FAMILY, "per 100 words", "higher = more nominal style", "Nouns ending in -tion, -sion, -ment, -ness, -ity, -ance, -ence or -ism (singular or plural, after three or more letters) per 100 words.")
    add("adjective_share", FAMILY, "share 0-1", "higher = more adjectives", "Words tagged ADJ divided by words.")
    add("adverb_share", FAMILY, "share 0-1", "higher = more adverbs", "Words tagged ADV divided by words.")
    add("lexical_density", FAMILY, "share 0-1", "higher = denser content", "Content words (nouns, proper nouns, verbs, adjectives, adverbs; auxiliaries excluded) divided by words.")
    add("contraction_rate", FAMILY, "per 100 words", "higher = more informal", "Contractions (n't, 'm, 're, 've, 'll, 'd, and 's when not possessive) per 100 words.")
    add("exclamation_share", FAMILY, "share 0-1", "higher = more exclamations", "Prose sentences ending in '!' divided by sentences.")


_register()


@functools.lru_cache(maxsize=65536)
def count_syllables(word: str) -> int:
    """Estimate the syllables of an English word from its spelling.

    The word is lowercased and stripped of diacritics and non-letters. Each run of vowels
    (a, e, i, o, u, y) is one syllable, then:

    - a silent final "e" is dropped ("make" 1), but not a final "é" ("café" 2), nor after a
      consonant + "l" ("table" 2), nor in "-ee", "-ye" and a "-ue" not after "q" or "g"
      ("value" 2, "unique" 2);
    - a final "-ed" is silent unless it follows "t" or "d" ("walked" 1, "wanted" 2);
    - a final "-es" is silent unless it follows a sibilant ("makes" 1, "boxes" 2);
    - a final "-es" after a consonant + "l" is not silent ("examples" 3);
    - a silent "e" after a vowel + consonant and before "-ment", "-ness", "-ful", "-less",
      "-ly" or "-ty" is dropped ("statement" 2, "safety" 2), so are the "e" of a leading
      "some" ("something" 2) and the "a" of "-ically" ("typically" 3);
    - spellings that are two syllables add one: "ia", "io" (not in "-ion"), "iu" after a
      letter other than c, g, s, t, l ("media", "period"); "iet" ("society"); "ien" not after
      c or t and not in "-iend" ("client"); "eo" not after p and not in "-eous" ("video");
      "ua" not after g or q and not in "-uable" ("visual"); "uen" not after q ("influence");
      "creat" ("create"); a final "-ea" after another vowel ("idea"); "y" between vowels
      ("player", not "played" or "eye"); "-ing" after a vowel ("being"); and "-sm" or "-thm"
      after a vowel ("algorithm").

    Every word, including numbers and non-Latin words, has at least one syllable. Against the
    CMU Pronouncing Dictionary the estimate matches for about 98% of the word tokens and 94% of
    the distinct words of real model responses (a test writes the measured figures to
    docs/validation.md). NOTE: abbreviations ("html", "etc") and compounds ("therefore") are
    the usual misses.
    """
    lowered = word.lower()
    letters = unicodedata.normalize("NFKD", lowered).encode("ascii", "ignore").decode("ascii")
    letters = NON_LETTER_RE.sub("", letters)
    count = len(VOWEL_GROUP_RE.findall(letters))
    if count > 1 and not lowered.endswith("\u00e9"):  # a final "é" is spoken ("café")
        count -= _silent_ending(letters)
    count -= len(SILENT_VOWEL_RE.findall(letters))
    count += len(SPLIT_VOWELS_RE.findall(letters))
    count += 1 if FINAL_EA_RE.search(letters) else 0
    return max(count, 1)


def _silent_ending(letters: str) -> int:
    """Return 1 when the word ends in a silent "e", "-ed" or "-es" (see :func:`count_syllables`)."""
    before = letters[-3] if len(letters) > 2 else ""
    if letters.endswith("e"):
        if letters.endswith("le") and before and before not in VOWELS:
            return 0
        if letters.endswith(("ee", "ye")):
            return 0
        if letters.endswith("ue") and before not in ("q", "g"):
            return 0
        return 1
    if letters.endswith("ed"):
        return int(bool(before) and before not in "td" and before not in VOWELS)
    if letters.endswith("es"):
        sibilant = letters.endswith(("ses", "xes", "zes", "ces", "ges", "ches", "shes"))
        consonant_les = letters.endswith("les") and len(letters) > 3 and letters[-4] not in VOWELS
        return int(bool(before) and before not in VOWELS and not sibilant and not consonant_les)
    return 0


def _mtld_pass(words: list[str]) -> float | None:
    """Return the words-per-factor of one MTLD pass, or None when no factor is completed or started."""
    factors = 0.0
    types: set[str] = set()
    tokens = 0
    for word in words:
        tokens += 1
        types.add(word)
        if len(types) / tokens <= MTLD_THRESHOLD:
            factors += 1
            types = set()
            tokens = 0
    if tokens:
        factors += (1 - len(types) / tokens) / (1 - MTLD_THRESHOLD)
    if factors == 0:
        return None
    return len(words) / factors


def mtld(words: list[str]) -> Value:
    """Return the bidirectional MTLD of ``words`` (mean of forward and backward passes)."""
    if len(words) < MTLD_MIN_WORDS:
        return Null(f"fewer than {MTLD_MIN_WORDS} words")
    forward = _mtld_pass(words)
    backward = _mtld_pass(words[::-1])
    if forward is None or backward is None:
        # Every word is distinct, so the type-token ratio never drops and MTLD is unbounded.
        return Null("every word is distinct")
    return (forward + backward) / 2


def mattr(words: list[str], window: int = MATTR_WINDOW) -> Value:
    """Return the moving-average type-token ratio of ``words`` over windows of ``window`` words."""
    if len(words) < window:
        return Null(f"fewer than {window} words")
    counts = Counter(words[:window])
    total = len(counts)
    for index in range(window, len(words)):
        incoming, outgoing = words[index], words[index - window]
        counts[incoming] += 1
        counts[outgoing] -= 1
        if counts[outgoing] == 0:
            del counts[outgoing]
        total += len(counts)
    return total / (len(words) - window + 1) / window


def compute(parsed: Parsed) -> dict[str, Value]:
    """Return this family's metric values for one response."""
    words = parsed.words
    word_count = parsed.word_count
    sentence_count = len(parsed.sentences)

    adjectives = adverbs = content = modals = nominalisations = contractions = 0
    syllables = characters = 0
    clauses: set[int] = set()
    passives: set[int] = set()
    for token, is_word_token in zip(parsed.tokens, parsed.word_mask):
        dep = token.dep_
        tag = token.tag_
        if dep == "ROOT":
            clauses.add(token.i)
        if tag in FINITE_VERB_TAGS:
            clauses.add(token.head.i if dep in AUXILIARY_DEPS else token.i)
        if dep in PASSIVE_DEPS:
            passives.add(token.head.i)
        if not is_word_token:
            continue
        pos = token.pos_
        text = token.lower_
        characters += len(token.text)
        syllables += count_syllables(text)
        if pos == "ADJ":
            adjectives += 1
        elif pos == "ADV":
            adverbs += 1
        if pos in CONTENT_POS:
            content += 1
        if tag == "MD":
            modals += 1
        if pos == "NOUN" and NOMINALISATION_RE.match(text):
            nominalisations += 1
        if text.replace("\u2019", "'") in CONTRACTION_PARTS and tag != "POS":
            contractions += 1

    no_words = Null("no words")
    values: dict[str, Value] = {
        "mtld": mtld(words),
        "mattr": mattr(words),
        "type_token_ratio": len(set(words)) / word_count if word_count else no_words,
        "passive_share": len(passives) / len(clauses | passives) if clauses or passives else Null("no clauses"),
        "modal_rate": 100.0 * modals / word_count if word_count else no_words,
        "mean_word_length": characters / word_count if word_count else no_words,
        "nominalisation_rate": 100.0 * nominalisations / word_count if word_count else no_words,
        "adjective_share": adjectives / word_count if word_count else no_words,
        "adverb_share": adverbs / word_count if word_count else no_words,
        "lexical_density": content / word_count if word_count else no_words,
        "contraction_rate": 100.0 * contractions / word_count if word_count else no_words,
        "exclamation_share": (
            sum(1 for mark in parsed.sentence_end_marks if mark == "!") / sentence_count
            if sentence_count
            else Null("no sentences")
        ),
    }
    if word_count and sentence_count:
        words_per_sentence = word_count / sentence_count
        syllables_per_word = syllables / word_count
        values["flesch_reading_ease"] = 206.835 - 1.015 * words_per_sentence - 84.6 * syllables_per_word
        values["flesch_kincaid_grade"] = 0.39 * words_per_sentence + 11.8 * syllables_per_word - 15.59
    else:
        values["flesch_reading_ease"] = values["flesch_kincaid_grade"] = Null("no sentences")
    return {name: values[name] for name in REGISTRY.names(FAMILY)}
