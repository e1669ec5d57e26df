"""Text parts of a card: the paraphrase of the rules and two short response excerpts."""

from __future__ import annotations

import logging
import re
import warnings
from typing import Any

import numpy as np
import pandas as pd
from spacy.lang.en.stop_words import STOP_WORDS

log = logging.getLogger(__name__)

# Characters of a response kept in an excerpt; the cut falls on a word boundary.
EXCERPT_CHARS = 420
PROMPT_CHARS = 200
# A rule counts as covered when at least this share of its key content words appears. A third,
# not a half, because a paraphrase replaces many words with synonyms.
RULE_COVERAGE_SHARE = 1 / 3
# Key content words are compared by their first STEM_CHARS letters, a crude stemmer that
# matches "sources"/"source" and "uncertainty"/"uncertain" without a lemmatiser.
STEM_CHARS = 6
_WORD = re.compile(r"[a-z][a-z'-]+")


def content_stems(text: str) -> list[str]:
    """Return the distinct stems of ``text``'s content words (4+ letters, not spaCy English stop words)."""
    seen: list[str] = []
    for word in _WORD.findall(text.lower()):
        word = word.strip("'-")
        if len(word) < 4 or word in STOP_WORDS:
            continue
        stem = word[:STEM_CHARS]
        if stem not in seen:
            seen.append(stem)
    return seen


def rule_coverage(rules: list[str], paraphrase: str) -> list[bool]:
    """Return, per rule, whether at least RULE_COVERAGE_SHARE of its key content words appear in ``paraphrase``."""
    present = set(content_stems(paraphrase))
    covered = []
    for rule in rules:
        stems = content_stems(rule)
        share = sum(stem in present for stem in stems) / len(stems) if stems else 0.0
        covered.append(share >= RULE_COVERAGE_SHARE)
    return covered


def paraphrase_section(paraphrase_ids: list[int], texts: dict[int, dict[str, Any]], rules: list[str] | None, rules_reason: str | None) -> dict[str, Any]:
    """Return the paraphrase section: the newest paraphrase, its length ratio and rule coverage."""
    empty = {"available": False, "text": None, "length_ratio": None, "rule_coverage": None, "n_rules": 0, "rules_covered": []}
    if not paraphrase_ids:
        return {**empty, "reason": "no paraphrase response in scope: the double-instruction step was not run (e.g. imported data)"}
    text = texts.get(max(paraphrase_ids), {}).get("text", "")
    section = {**empty, "available": True, "reason": None, "text": text}
    if rules is None:
        section["reason"] = rules_reason or "the suite's rules could not be loaded"
        return section
    rule_words = sum(len(rule.split()) for rule in rules)
    covered = rule_coverage(rules, text)
    section.update(
        length_ratio=len(text.split()) / rule_words if rule_words else None,
        rule_coverage=sum(covered) / len(covered) if covered else None,
        n_rules=len(rules),
        rules_covered=covered,
    )
    return section


def load_rules(suite_names: list[str]) -> tuple[list[str] | None, str | None]:
    """Return the rules of the first loadable suite in ``suite_names``, or None and the reason."""
    if not suite_names:
        return None, "the runs in scope name no prompt suite"
    from bsb_core.suites import SuiteError, load_suite

    errors = []
    for name in suite_names:
        try:
            return list(load_suite(name).rules), None
        except (SuiteError, OSError) as error:
            log.warning("could not load suite %s for the paraphrase coverage: %s", name, error)
            errors.append(f"{name}: {error}")
    return None, "suite not loadable (" + "; ".join(errors) + ")"


def typical_responses(baseline: pd.DataFrame, features: list[str], count: int = 2) -> list[int]:
    """Return ids of ``count`` baseline responses closest to the model's mean profile, one per prompt.

    Distance is Euclidean on the model's own standardised metrics, so the excerpts show
    what the model usually does, not its extremes.
    """
    if baseline.empty:
        return []
    values = baseline[features].to_numpy(dtype=float)
    # A metric with no value in any response gives an all-NaN column; its z-score becomes 0 below.
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        centre = np.nanmean(values, axis=0)
        spread = np.nanstd(values, axis=0)
        z = (values - centre) / np.where(spread > 0, spread, np.nan)
    z = np.where(np.isnan(z), 0.0, z)
    distance = np.sqrt((z**2).mean(axis=1)) if z.shape[1] else np.zeros(len(values))
    order = np.argsort(distance, kind="stable")
    chosen: list[int] = []
    prompts_seen: set[str] = set()
    for position in order:
        row = baseline.iloc[int(position)]
        if row["prompt_id"] in prompts_seen:
            continue
        prompts_seen.add(row["prompt_id"])
        chosen.append(int(baseline.index[int(position)]))
        if len(chosen) == count:
            break
    return chosen


def excerpt(response_id: int, entry: dict[str, Any]) -> dict[str, Any]:
    """Return a card excerpt of one response: shortened prompt and response."""
    text = entry.get("text", "")
    short = shorten(text, EXCERPT_CHARS)
    return {
        "response_id": int(response_id),
        "stream": entry.get("stream") or "baseline",
        "variant": entry.get("variant"),
        "prompt": shorten(entry.get("prompt", ""), PROMPT_CHARS),
        "response": short,
        "truncated": short != text,
    }


def shorten(text: str, limit: int) -> str:
    """Cut ``text`` to at most ``limit`` characters on a word boundary, marking the cut with an ellipsis."""
    text = text.strip()
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(None, 1)[0] if " " in text[:limit] else text[:limit]
    return cut.rstrip() + " …"
