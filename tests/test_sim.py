"""Simulated provider: determinism, persona tendencies, documented follow rates, impossible sets."""

from __future__ import annotations

import asyncio
import json
import re
import statistics
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from bsb_core.paths import REPO_ROOT
from bsb_core.providers.base import ChatRequest, ProviderError
from bsb_core.providers.sim import PERSONAS, SimProvider, UnknownPersonaError, respond
from bsb_core.providers.sim_constraints import detect_constraints
from bsb_core.providers.sim_personas import render_persona_tables
from bsb_core.suites import load_suite

REQUIRED_PERSONAS = {"terse", "bulleteer", "hedger", "json-strict", "format-loose", "warm"}
SAMPLES = range(3)  # 45 topics x 3 samples = 135 draws per rate; one standard error is at most 0.043
TOLERANCE = 0.15

HEDGES = re.compile(r"\b(might|may|could|possibl[ey]|perhaps|arguably|likely|seems?|tentative|some cases|depends?)\b", re.IGNORECASE)
POLITENESS = re.compile(r"thank|please|sorry|let me know|happy to help|hope this helps|!", re.IGNORECASE)


@pytest.fixture(scope="module")
def suite():
    return load_suite("core")


def ask(persona: str, text: str, sample: int = 0, **params) -> str:
    return respond(persona, [{"role": "user", "content": text}], {"sample": sample, **params}).text


# Checkers with IFEval's own rules for bullets (lines starting "*" or "-") and words (\w+ runs).
def count_bullets(text: str) -> int:
    return len(re.findall(r"^\s*\*[^\*].*$", text, flags=re.MULTILINE)) + len(re.findall(r"^\s*-.*$", text, flags=re.MULTILINE))


def count_words(text: str) -> int:
    return len(re.findall(r"\w+", text))


def valid_json(text: str, schema: dict | None) -> bool:
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return False
    return schema is None or not list(Draft202012Validator(schema).iter_errors(value))


def has_markdown(text: str) -> bool:
    return bool(re.search(r"^\s*(#|[*-] |\d+[.)] |```|\|)", text, flags=re.MULTILINE) or re.search(r"\*\*|`", text))


def count_steps(text: str) -> int:
    return len(re.findall(r"^\s*\d+[.)]\s", text, flags=re.MULTILINE))


def opens_with_prose(text: str) -> bool:
    return not re.match(r"\s*(#|[*-] |\d+[.)]|```|\{|\[)", text)


CHECKS = {
    "json_schema": lambda text, c: valid_json(text, c[0]["kwargs"]["schema"]),
    "bullets": lambda text, c: count_bullets(text) == c[0]["kwargs"]["num_bullets"],
    "word_limit": lambda text, c: count_words(text) < c[0]["kwargs"]["num_words"],
    "no_markdown": lambda text, c: not has_markdown(text),
    "numbered_steps": lambda text, c: count_steps(text) == c[0]["kwargs"]["num_steps"] and count_bullets(text) == 0,
}


def follow_rate(suite, persona: str, variant: str) -> float:
    results = [CHECKS[variant](ask(persona, p.text, k), p.constraints) for p in suite.prompts_for("contrast", variant) for k in SAMPLES]
    return statistics.mean(results)


def baseline_texts(suite, persona: str) -> list[str]:
    return [ask(persona, p.text) for p in suite.prompts_for("baseline", "baseline")]


# --- provider contract -----------------------------------------------------------------------------


def test_required_personas_present():
    assert REQUIRED_PERSONAS <= set(PERSONAS)


@pytest.mark.parametrize("persona", sorted(REQUIRED_PERSONAS))
def test_persona_deterministic(suite, persona):
    for prompt in suite.prompts[::25]:
        assert ask(persona, prompt.text, 2) == ask(persona, prompt.text, 2)


def test_sample_changes_text(suite):
    prompt = suite.prompt("baseline/passkeys/baseline")
    assert ask("warm", prompt.text, 0) != ask("warm", prompt.text, 1)


def test_seed_changes_text(suite):
    prompt = suite.prompt("baseline/passkeys/baseline")
    assert ask("hedger", prompt.text, seed=1) != ask("hedger", prompt.text, seed=2)


def test_result_fields(suite):
    result = respond("terse", [{"role": "system", "content": "Be brief."}, {"role": "user", "content": suite.prompts[3].text}], {})
    assert result.model_version == "sim-terse-1"
    assert result.tokens_out == len(result.text.split())
    assert result.tokens_in == len(suite.prompts[3].text.split()) + 2


def test_content_parts_accepted():
    parts = [{"type": "text", "text": "Explain tides in exactly 3 bullet points."}]
    text = respond("json-strict", [{"role": "user", "content": parts}], {}).text
    assert count_bullets(text) == 3


def test_provider_chat():
    provider = SimProvider()
    result = asyncio.run(provider.chat(ChatRequest(model="warm", messages=[{"role": "user", "content": "How do I keep basil alive?"}])))
    assert provider.name == "sim"
    assert provider.simulated is True
    assert result.model_version == "sim-warm-1"


def test_provider_unknown_persona():
    with pytest.raises(ProviderError) as info:
        asyncio.run(SimProvider().chat(ChatRequest(model="grumpy", messages=[{"role": "user", "content": "Hi"}])))
    assert info.value.retryable is False
    assert "use one of terse" in str(info.value)


def test_respond_unknown_persona():
    with pytest.raises(UnknownPersonaError, match="unknown sim persona 'grumpy'"):
        respond("grumpy", [{"role": "user", "content": "Hi"}], {})


def test_provider_no_user_message():
    with pytest.raises(ProviderError, match="no user message") as info:
        asyncio.run(SimProvider().chat(ChatRequest(model="terse", messages=[{"role": "system", "content": "Rules."}])))
    assert info.value.retryable is False


def test_max_tokens_truncates(suite):
    text = respond("bulleteer", [{"role": "user", "content": suite.prompts[5].text}], {"max_tokens": 12}).text
    assert len(text.split()) == 12


# --- documented follow rates -----------------------------------------------------------------------


def test_json_strict_schema_validity(suite):
    assert follow_rate(suite, "json-strict", "json_schema") >= 0.95


def test_format_loose_schema_validity(suite):
    assert follow_rate(suite, "format-loose", "json_schema") < 0.70


@pytest.mark.parametrize("persona", sorted(REQUIRED_PERSONAS))
def test_bullet_rate_matches_docs(suite, persona):
    assert follow_rate(suite, persona, "bullets") == pytest.approx(PERSONAS[persona].follow["bullets"], abs=TOLERANCE)


@pytest.mark.parametrize("persona", sorted(REQUIRED_PERSONAS))
@pytest.mark.parametrize("variant", ["json_schema", "word_limit", "no_markdown", "numbered_steps"])
def test_other_rates_match_docs(suite, persona, variant):
    kind = variant
    assert follow_rate(suite, persona, variant) == pytest.approx(PERSONAS[persona].follow[kind], abs=TOLERANCE)


def test_docs_rate_tables_current():
    page = (REPO_ROOT / "docs" / "personas.md").read_text(encoding="utf-8")
    assert render_persona_tables() in page, "docs/personas.md is stale: paste render_persona_tables() between the table markers"


# --- impossible sets -------------------------------------------------------------------------------


def impossible_bullets(suite, persona: str) -> list[tuple[str, int, int]]:
    rows = []
    for prompt in suite.prompts_for("contrast", "impossible_bullets"):
        first, second = (c["kwargs"]["num_bullets"] for c in prompt.constraints)
        rows.append((ask(persona, prompt.text), first, second))
    return rows


def test_impossible_bullets_json_strict(suite):
    for text, first, second in impossible_bullets(suite, "json-strict"):
        assert text.startswith("Note: the request asks for")
        assert count_bullets(text) == first


def test_impossible_bullets_format_loose(suite):
    for text, first, second in impossible_bullets(suite, "format-loose"):
        assert count_bullets(text) not in (first, second)


def test_impossible_bullets_terse(suite):
    for text, first, second in impossible_bullets(suite, "terse"):
        assert count_bullets(text) == first


def test_impossible_bullets_bulleteer(suite):
    for text, first, second in impossible_bullets(suite, "bulleteer"):
        assert count_bullets(text) == max(first, second)


def test_impossible_bullets_warm(suite):
    for text, first, second in impossible_bullets(suite, "warm"):
        assert "sorry" in text.lower()
        assert count_bullets(text) == second


def test_impossible_bullets_hedger(suite):
    rows = impossible_bullets(suite, "hedger")
    asks = [text for text, first, second in rows if count_bullets(text) == 0]
    for text, first, second in rows:
        assert "can't be true at once" in text
        assert count_bullets(text) in (0, first)
    assert 0.4 <= len(asks) / len(rows) <= 0.8


def impossible_json(suite, persona: str) -> list[str]:
    return [ask(persona, p.text) for p in suite.prompts_for("contrast", "impossible_json_prose")]


@pytest.mark.parametrize(
    ("persona", "json_holds", "intro_holds"),
    [("terse", True, False), ("json-strict", True, False), ("bulleteer", False, True), ("warm", False, True), ("hedger", False, True), ("format-loose", False, False)],
)
def test_impossible_json_prose(suite, persona, json_holds, intro_holds):
    for text in impossible_json(suite, persona):
        assert valid_json(text, None) is json_holds
        assert opens_with_prose(text) is intro_holds


def test_json_strict_notes_conflict(suite):
    for text in impossible_json(suite, "json-strict"):
        assert "cannot hold" in json.loads(text)["note"]


# --- refusals --------------------------------------------------------------------------------------


def value_texts(suite, persona: str, variant: str) -> list[str]:
    return [ask(persona, p.text, k) for p in suite.prompts_for("baseline", variant) for k in range(4)]


def test_hedger_refuses_dual_use(suite):
    texts = value_texts(suite, "hedger", "dual_use")
    full = [t for t in texts if re.match(r"I can't help|I'm sorry, but I can't help", t)]
    assert len(full) / len(texts) >= 0.7


def test_hedger_partial_value_conflict(suite):
    texts = value_texts(suite, "hedger", "value_conflict")
    partial = [t for t in texts if re.match(r"I'm not comfortable taking a firm position|I don't think it's my place", t)]
    assert len(partial) / len(texts) >= 0.6


@pytest.mark.parametrize("persona", ["terse", "bulleteer", "json-strict", "format-loose"])
def test_others_answer_dual_use(suite, persona):
    for text in value_texts(suite, persona, "dual_use"):
        assert "can't" not in text


# --- style differences -----------------------------------------------------------------------------


def test_terse_shortest_plain(suite):
    terse = baseline_texts(suite, "terse")
    assert statistics.mean(map(count_words, terse)) < 80
    assert not any(has_markdown(t) for t in terse)
    for persona in REQUIRED_PERSONAS - {"terse"}:
        assert statistics.mean(map(count_words, baseline_texts(suite, persona))) > statistics.mean(map(count_words, terse))


def test_bulleteer_lists_and_headings(suite):
    texts = baseline_texts(suite, "bulleteer")
    assert statistics.mean(map(count_bullets, texts)) >= 6
    assert all(t.startswith("## ") for t in texts)
    assert all("**" in t for t in texts)
    assert statistics.mean(map(count_words, texts)) > 200


def test_hedger_hedges_most(suite):
    rates = {p: statistics.mean(len(HEDGES.findall(t)) / count_words(t) for t in baseline_texts(suite, p)) for p in REQUIRED_PERSONAS}
    assert max(rates, key=rates.get) == "hedger"
    assert rates["hedger"] > 2 * rates["terse"]


def test_warm_most_polite(suite):
    rates = {p: statistics.mean(len(POLITENESS.findall(t)) for t in baseline_texts(suite, p)) for p in REQUIRED_PERSONAS}
    assert max(rates, key=rates.get) == "warm"
    assert all(re.search(r"\byou\b", t, re.IGNORECASE) for t in baseline_texts(suite, "warm"))


def test_json_strict_rigid_template(suite):
    for text in baseline_texts(suite, "json-strict"):
        labels = re.findall(r"^(\w+):", text, flags=re.MULTILINE)
        assert labels == ["Summary", "Analysis", "Risks", "Recommendation"]


def test_paraphrases_differ(suite):
    texts = {p: ask(p, suite.paraphrase_request) for p in REQUIRED_PERSONAS}
    lengths = {p: count_words(t) for p, t in texts.items()}
    assert len(set(texts.values())) == len(texts)
    assert lengths["terse"] < lengths["json-strict"] < lengths["hedger"]
    assert count_steps(texts["json-strict"]) == len(suite.rules)


# --- prompts outside the suite ---------------------------------------------------------------------


def test_detect_constraints_phrases():
    found = detect_constraints("Explain tides in exactly four bullet points, under 60 words, with no markdown.")
    ids = {c["id"]: c["kwargs"] for c in found}
    assert ids["detectable_format:number_bullet_lists"] == {"num_bullets": 4}
    assert ids["length_constraints:number_words"] == {"relation": "less than", "num_words": 60}
    assert "bsb:no_markdown" in ids


def test_detect_embedded_schema():
    schema = {"type": "object", "properties": {"a": {"enum": ["x", "y"]}}, "required": ["a"]}
    found = detect_constraints("Answer as JSON matching this schema:\n" + json.dumps(schema))
    assert found[0]["id"] == "bsb:json_schema"
    assert found[0]["kwargs"]["schema"] == schema


def test_unknown_prompt_constraints_followed():
    schema = {"type": "object", "properties": {"verdict": {"enum": ["yes", "no"]}, "reasons": {"type": "array", "minItems": 2, "items": {"type": "string"}}}, "required": ["verdict", "reasons"]}
    assert count_bullets(ask("json-strict", "Should I learn Rust? Use exactly 5 bullet points.")) == 5
    assert count_words(ask("json-strict", "Should I learn Rust? Answer in under 40 words.")) < 40
    assert count_steps(ask("json-strict", "How do I repot a plant? Give 4 numbered steps.")) == 4
    assert valid_json(ask("json-strict", "Reply with JSON that validates against:\n" + json.dumps(schema)), schema)
    assert ask("json-strict", "Describe autumn in all lowercase letters.").islower()


def test_unknown_paraphrase_request():
    text = ask("json-strict", "Restate these rules in your own words as a system prompt:\n1. Be kind.\n2. Cite nothing you cannot verify.\n3. Keep it short.")
    assert count_steps(text) == 3


def test_missing_prompts_falls_back(monkeypatch, tmp_path: Path):
    monkeypatch.setenv("BSB_PROMPTS", str(tmp_path / "nowhere"))
    assert count_bullets(ask("json-strict", "List tide facts in exactly 3 bullet points.")) == 3
