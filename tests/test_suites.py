"""Prompt suite loader: the core suite's content, validation errors, hashing and locations."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from bsb_core.paths import REPO_ROOT
from bsb_core.suites import SuiteError, list_suites, load_suite, prompt_text_hash, prompts_dir

# The 25 instruction ids of IFEval (Zhou et al. 2023), the same as in its input_data.jsonl.
IFEVAL_IDS = {
    "change_case:capital_word_frequency", "change_case:english_capital", "change_case:english_lowercase",
    "combination:repeat_prompt", "combination:two_responses", "detectable_content:number_placeholders",
    "detectable_content:postscript", "detectable_format:constrained_response", "detectable_format:json_format",
    "detectable_format:multiple_sections", "detectable_format:number_bullet_lists", "detectable_format:number_highlighted_sections",
    "detectable_format:title", "keywords:existence", "keywords:forbidden_words", "keywords:frequency",
    "keywords:letter_frequency", "language:response_language", "length_constraints:nth_paragraph_first_word",
    "length_constraints:number_paragraphs", "length_constraints:number_sentences", "length_constraints:number_words",
    "punctuation:no_comma", "startend:end_checker", "startend:quotation",
}  # fmt: skip
BSB_IDS = {"bsb:json_schema", "bsb:no_markdown", "bsb:numbered_steps", "bsb:prose_intro"}
REQUIRED_VARIANTS = {"json_schema", "bullets", "word_limit", "no_markdown", "numbered_steps", "impossible_bullets", "impossible_json_prose"}
REQUIRED_DOMAINS = {"business", "science", "technology", "health", "ethics and policy", "finance", "education", "everyday advice", "creative"}


@pytest.fixture(scope="module")
def suite():
    return load_suite("core")


@pytest.fixture
def suite_copy(tmp_path: Path) -> Path:
    """Copy the core suite, its schemas and the suite schema into tmp_path/prompts and return the suite folder."""
    source = REPO_ROOT / "prompts"
    target = tmp_path / "prompts"
    shutil.copytree(source / "core", target / "core")
    shutil.copytree(source / "schemas", target / "schemas")
    shutil.copy(source / "suite.schema.json", target / "suite.schema.json")
    return target / "core"


def edit_json(path: Path, change) -> None:
    document = json.loads(path.read_text(encoding="utf-8"))
    change(document)
    path.write_text(json.dumps(document, indent=2), encoding="utf-8")


# --- content of the core suite -------------------------------------------------------------------


def test_core_suite_loads(suite):
    assert suite.name == "core"
    assert len(suite.hash) == 16
    assert "core" in list_suites()


def test_topic_and_domain_counts(suite):
    assert len(suite.topics) >= 40
    assert len({t.domain for t in suite.topics}) >= 8
    assert REQUIRED_DOMAINS <= {t.domain for t in suite.topics}


def test_every_topic_has_all_variants(suite):
    variants = {}
    for prompt in suite.prompts_for("contrast"):
        variants.setdefault(prompt.topic, set()).add(prompt.variant)
    for topic in suite.topics:
        missing = REQUIRED_VARIANTS - variants.get(topic.id, set())
        assert not missing, f"topic {topic.id} lacks {missing}"


def test_baseline_topics_unconstrained(suite):
    baseline = suite.prompts_for("baseline", "baseline")
    assert len(baseline) == len(suite.topics)
    assert all(p.constraints == [] for p in baseline)


def test_contrast_repeats_baseline_task(suite):
    for topic in suite.topics:
        for prompt in suite.prompts_for("contrast"):
            if prompt.topic == topic.id:
                assert prompt.text.startswith(topic.task)


def test_impossible_sets(suite):
    impossible = {p.variant for p in suite.prompts_for("contrast") if p.variant.startswith("impossible_")}
    assert len(impossible) >= 2
    for prompt in suite.prompts_for("contrast"):
        if prompt.variant.startswith("impossible_"):
            assert len(prompt.constraints) >= 2


def test_impossible_bullets_counts_differ(suite):
    for prompt in suite.prompts_for("contrast", "impossible_bullets"):
        counts = [c["kwargs"]["num_bullets"] for c in prompt.constraints]
        assert len(set(counts)) == 2


def test_bullet_counts_vary(suite):
    counts = {p.constraints[0]["kwargs"]["num_bullets"] for p in suite.prompts_for("contrast", "bullets")}
    assert {3, 4, 5, 6, 7} <= counts


def test_constraint_ids_known(suite):
    for prompt in suite.prompts:
        for constraint in prompt.constraints:
            assert constraint["id"] in IFEVAL_IDS | BSB_IDS
            assert isinstance(constraint["kwargs"], dict)


def test_kwargs_have_values(suite):
    for prompt in suite.prompts_for("contrast"):
        for constraint in prompt.constraints:
            for value in constraint["kwargs"].values():
                assert not (isinstance(value, str) and value.startswith("$")), prompt.key


def test_schema_constraints_inline_schema(suite):
    for prompt in suite.prompts_for("contrast", "json_schema"):
        kwargs = prompt.constraints[0]["kwargs"]
        assert prompt.constraints[0]["id"] == "bsb:json_schema"
        Draft202012Validator.check_schema(kwargs["schema"])
        assert (REPO_ROOT / "prompts" / "schemas" / f"{kwargs['schema_name']}.json").is_file()


def test_schemas_varied(suite):
    schemas = {p.constraints[0]["kwargs"]["schema_name"]: p.constraints[0]["kwargs"]["schema"] for p in suite.prompts_for("contrast", "json_schema")}
    text = json.dumps(list(schemas.values()))
    assert len(schemas) >= 5
    assert '"enum"' in text
    assert '"minItems"' in text
    assert '"required"' in text
    nested = [s for s in schemas.values() if any(sub.get("type") == "object" for sub in s["properties"].values())]
    assert nested


def test_rules_and_paraphrase(suite):
    paraphrase = suite.prompts_for("paraphrase")
    assert 6 <= len(suite.rules) <= 10
    assert len(paraphrase) == 1
    assert paraphrase[0].text == suite.paraphrase_request
    for rule in suite.rules:
        assert rule in suite.paraphrase_request
    assert "own words" in suite.paraphrase_request


def test_value_prompts(suite):
    values = [p for p in suite.prompts_for("baseline") if p.variant in {"dual_use", "value_conflict"}]
    assert len(values) >= 10
    assert {p.variant for p in values} == {"dual_use", "value_conflict"}
    assert {p.domain for p in values} == {"ethics and policy"}
    assert all(p.constraints == [] for p in values)


def test_keys_unique(suite):
    keys = [p.key for p in suite.prompts]
    assert len(keys) == len(set(keys))


def test_find_prompt_ignores_whitespace(suite):
    prompt = suite.prompt("contrast/passkeys/bullets")
    assert suite.find_prompt("  " + prompt.text.replace("\n\n", "\r\n\r\n") + "\n") is prompt
    assert suite.find_prompt("an unrelated question") is None
    assert prompt_text_hash("a  b\n") == prompt_text_hash("a b")


def test_prompt_key_missing(suite):
    with pytest.raises(KeyError, match="no prompt with key"):
        suite.prompt("contrast/nope/bullets")


def test_prompts_for_bad_stream(suite):
    with pytest.raises(ValueError, match="unknown stream"):
        suite.prompts_for("contrasts")


def test_load_is_cached(suite):
    assert load_suite("core") is suite


# --- hashing ---------------------------------------------------------------------------------------


def test_hash_same_for_copy(suite, suite_copy):
    assert load_suite(suite_copy).hash == suite.hash


def test_hash_ignores_line_endings(suite, suite_copy):
    for path in suite_copy.glob("*.json"):
        path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    assert load_suite(str(suite_copy)).hash == suite.hash


def test_hash_changes_with_topic(suite, suite_copy):
    edit_json(suite_copy / "topics.json", lambda d: d["topics"][0].update(task=d["topics"][0]["task"] + " Be specific."))
    changed = load_suite(suite_copy)
    assert changed.hash != suite.hash
    assert changed.prompts_for("baseline")[0].text.endswith("Be specific.")


def test_hash_changes_with_schema(suite, suite_copy):
    edit_json(suite_copy.parent / "schemas" / "risk_register.json", lambda d: d.update(description="Changed."))
    assert load_suite(suite_copy).hash != suite.hash


# --- validation errors -----------------------------------------------------------------------------


def test_error_wrong_type(suite_copy):
    edit_json(suite_copy / "topics.json", lambda d: d["topics"][3].update(domain=123))
    with pytest.raises(SuiteError) as info:
        load_suite(suite_copy)
    message = str(info.value)
    assert "topics.json" in message
    assert "/topics/3/domain" in message
    assert "change the value" in message


def test_error_missing_field(suite_copy):
    edit_json(suite_copy / "topics.json", lambda d: d["topics"][0].pop("task"))
    with pytest.raises(SuiteError, match=r"topics\.json: /topics/0/task: 'task' is a required property\. Fix: add this required field"):
        load_suite(suite_copy)


def test_error_unknown_field(suite_copy):
    edit_json(suite_copy / "templates.json", lambda d: d["contrast"][1].update(templte="x"))
    with pytest.raises(SuiteError, match=r"templates\.json: /contrast/1/templte: .*remove this field"):
        load_suite(suite_copy)


def test_error_bad_enum(suite_copy):
    edit_json(suite_copy / "value_prompts.json", lambda d: d["prompts"][2].update(variant="dual-use"))
    with pytest.raises(SuiteError, match=r"value_prompts\.json: /prompts/2/variant: .*use one of 'dual_use', 'value_conflict'"):
        load_suite(suite_copy)


def test_error_unlisted_domain(suite_copy):
    edit_json(suite_copy / "topics.json", lambda d: d["topics"][5].update(domain="sciense"))
    with pytest.raises(SuiteError, match=r"topics\.json: /topics/5/domain: domain 'sciense' is not listed"):
        load_suite(suite_copy)


def test_error_unknown_schema(suite_copy):
    edit_json(suite_copy / "topics.json", lambda d: d["topics"][2]["contrast"].update(schema="risk_registr"))
    with pytest.raises(SuiteError, match=r"topics\.json: /topics/2/contrast/schema: JSON Schema 'risk_registr' not found.*use one of"):
        load_suite(suite_copy)


def test_error_invalid_schema_file(suite_copy):
    edit_json(suite_copy.parent / "schemas" / "explainer.json", lambda d: d.update(type="objekt"))
    with pytest.raises(SuiteError, match=r"explainer\.json: .*not a valid JSON Schema"):
        load_suite(suite_copy)


def test_error_unknown_placeholder(suite_copy):
    edit_json(suite_copy / "templates.json", lambda d: d["contrast"][0].update(template="{task} {bulets}"))
    with pytest.raises(SuiteError, match=r"templates\.json: /contrast/0/template: unknown placeholder \{bulets\}"):
        load_suite(suite_copy)


def test_error_unknown_kwarg_parameter(suite_copy):
    edit_json(suite_copy / "templates.json", lambda d: d["contrast"][1]["constraints"][0]["kwargs"].update(num_bullets="$bulets"))
    with pytest.raises(SuiteError, match=r"templates\.json: /contrast/1/constraints/0/kwargs/num_bullets: unknown parameter"):
        load_suite(suite_copy)


def test_error_equal_conflicting_counts(suite_copy):
    edit_json(suite_copy / "topics.json", lambda d: d["topics"][1]["contrast"].update(conflicting_bullets=[4, 4]))
    with pytest.raises(SuiteError, match=r"/topics/1/contrast/conflicting_bullets: both counts are 4"):
        load_suite(suite_copy)


def test_error_duplicate_topic(suite_copy):
    edit_json(suite_copy / "topics.json", lambda d: d["topics"][1].update(id=d["topics"][0]["id"]))
    with pytest.raises(SuiteError, match=r"/topics/1/id: duplicate topic id"):
        load_suite(suite_copy)


def test_error_invalid_json(suite_copy):
    path = suite_copy / "suite.json"
    path.write_text(path.read_text(encoding="utf-8").replace('"version": 1,', '"version": 1'), encoding="utf-8")
    with pytest.raises(SuiteError, match=r"suite\.json: invalid JSON at line \d+, column \d+"):
        load_suite(suite_copy)


def test_error_missing_file(suite_copy):
    (suite_copy / "templates.json").unlink()
    with pytest.raises(SuiteError, match=r"templates\.json: file missing"):
        load_suite(suite_copy)


def test_error_name_mismatch(suite_copy):
    renamed = suite_copy.with_name("other")
    suite_copy.rename(renamed)
    with pytest.raises(SuiteError, match=r"suite\.json: /name: name 'core' differs from the folder name 'other'"):
        load_suite(renamed)


# --- locations -------------------------------------------------------------------------------------


def test_env_overrides_prompts_dir(suite_copy, monkeypatch):
    monkeypatch.setenv("BSB_PROMPTS", str(suite_copy.parent))
    assert prompts_dir() == suite_copy.parent
    assert load_suite("core").path == suite_copy.resolve()


def test_missing_prompts_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("BSB_PROMPTS", str(tmp_path / "nowhere"))
    with pytest.raises(SuiteError, match="prompts folder not found.*Set BSB_PROMPTS"):
        load_suite("core")


def test_unknown_suite_name():
    with pytest.raises(SuiteError, match="suite not found.*Known suites in .*: core"):
        load_suite("nope")


def test_domains_balanced(suite):
    counts = Counter(t.domain for t in suite.topics)
    assert min(counts.values()) >= 4
