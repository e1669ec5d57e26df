"""Attribution: nearest signatures, the metrics behind a match, and "no clear match"."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner
from test_identify import gaussian_frame

from validation_doc import update_section

from bsb_core.attribute import build_attributor, fit_attributor, read_texts, score_texts
from bsb_core.cli import main

ARENA_MODELS = ("claude-3-opus-20240229", "llama-3-70b-instruct", "gpt-4-0314", "gemini-1.5-pro-api-0514")
ARENA_GROUP = 50


@pytest.fixture(scope="module")
def attributor():
    return fit_attributor(gaussian_frame(gap=2.0))


def centroid_row(attributor, model: str) -> dict[str, float]:
    return attributor.means.loc[model].to_dict()


def test_read_plain_text_is_one_text():
    assert read_texts("One answer.\nSecond line of it.") == ["One answer.\nSecond line of it."]


def test_read_jsonl_response_field():
    assert read_texts('{"response": "a"}\n{"text": "b"}\n') == ["a", "b"]


def test_read_jsonl_strings():
    assert read_texts('"a"\n"b"') == ["a", "b"]


def test_read_jsonl_missing_field_names_line():
    with pytest.raises(ValueError, match="line 2"):
        read_texts('{"response": "a"}\n{"other": 1}')


def test_read_empty_is_no_text():
    assert read_texts("  \n") == []


def test_attribute_centroid_matches(attributor):
    result = attributor.attribute([centroid_row(attributor, "model-2")])
    assert result.nearest[0]["model"] == "model-2"


def test_attribute_centroid_verdict(attributor):
    result = attributor.attribute([centroid_row(attributor, "model-2")])
    assert result.verdict == "match"


def test_attribute_far_text_no_match(attributor):
    result = attributor.attribute([{"word_count": 5000.0, "hedges_per_100w": 40.0, "mtld": 500.0}])
    assert result.verdict == "no clear match"


def test_attribute_drivers_favour_nearest(attributor):
    result = attributor.attribute([centroid_row(attributor, "model-3")])
    assert all(driver["contribution"] > 0 for driver in result.drivers)


def test_attribute_group_of_texts(attributor):
    rows = [centroid_row(attributor, "model-1")] * 5
    assert attributor.attribute(rows).n_texts == 5


def test_attribute_no_rows_fails(attributor):
    with pytest.raises(ValueError, match="no text"):
        attributor.attribute([])


def test_calibration_far_positive(attributor):
    assert attributor.calibration.thresholds(1).far > 0


def test_calibration_groups_more_accurate(attributor):
    calibration = attributor.calibration
    assert calibration.thresholds(10).accuracy > calibration.thresholds(1).accuracy


@pytest.mark.slow
def test_attribute_cli_group_matches_model(alpaca_store, tmp_path):  # noqa: F811
    rows = alpaca_store.db.execute(
        "SELECT r.text FROM responses r JOIN models m ON m.id = r.model_id WHERE m.name = 'cohere' ORDER BY r.id LIMIT 40"
    ).fetchall()
    source = tmp_path / "texts.jsonl"
    source.write_text("\n".join(json.dumps({"response": text}) for (text,) in rows), encoding="utf-8")
    result = CliRunner().invoke(main, ["attribute", str(source), "--db", str(alpaca_store.path), "--json"])
    assert json.loads(result.output)[0]["nearest"][0]["model"] == "cohere"


@pytest.mark.slow
def test_attribute_cli_code_dump_no_match(alpaca_store, tmp_path):  # noqa: F811
    source = tmp_path / "dump.txt"
    source.write_text("\n".join(f"x{i} = [{i}] * {i} ;; !!! ??? ###" for i in range(300)), encoding="utf-8")
    result = CliRunner().invoke(main, ["attribute", str(source), "--db", str(alpaca_store.path), "--json"])
    assert json.loads(result.output)[0]["verdict"] == "no clear match"


@pytest.mark.slow
def test_attribute_cli_prints_distances(alpaca_store, tmp_path):  # noqa: F811
    source = tmp_path / "one.txt"
    source.write_text("Sure! Here are three tips:\n\n- Sleep well\n- Eat well\n- Move daily\n\nLet me know if you need more.", encoding="utf-8")
    result = CliRunner().invoke(main, ["attribute", str(source), "--db", str(alpaca_store.path)])
    assert "distance" in result.output


@pytest.mark.slow
def test_attribute_alpaca_calibration(alpaca_store, shared_data):  # noqa: F811
    attributor = build_attributor(alpaca_store)
    lines = [
        "## Attribution thresholds (`bsb attribute`)",
        "",
        "Written by `tests/test_attribute.py::test_attribute_alpaca_calibration`. Centroids fitted on one half of",
        "the AlpacaEval prompts; held-out responses (n = 1) or mean vectors of random held-out groups of n",
        "responses of one model (100 groups per model). Method in bsb_core/attribute.py.",
        "",
        "| texts n | no-clear-match distance (99th percentile) | ambiguity margin (90% precision) | held-out top-1 |",
        "| --- | --- | --- | --- |",
    ]
    for n in (1, 10, 25, 50):
        limits = attributor.calibration.thresholds(n)
        margin = "none" if limits.margin is None else f"{limits.margin:.2f}"
        lines.append(f"| {n} | {limits.far ** 0.5:.2f} | {margin} | {limits.accuracy:.3f} |")

    lines += [
        "",
        f"Cross-domain check: the first {ARENA_GROUP} Arena-Hard responses (coding-heavy prompts, not in the store)",
        "of four models, attributed as one group against the AlpacaEval signatures. Only the first two models",
        "have a signature in the store (under the names claude-3-opus-20240229 and Meta-Llama-3-70B-Instruct).",
        "",
        "| Arena-Hard model | verdict | nearest (distance) | runner-up (distance) |",
        "| --- | --- | --- | --- |",
    ]
    for model in ARENA_MODELS:
        with (shared_data / "arena_hard" / f"{model}.jsonl").open(encoding="utf-8") as handle:
            texts = [json.loads(line)["response"] for _, line in zip(range(ARENA_GROUP), handle)]
        result = attributor.attribute(score_texts(texts))
        first, second = result.nearest[0], result.nearest[1]
        lines.append(
            f"| {model} | {result.verdict} | {first['model']} ({first['distance']:.2f}) | {second['model']} ({second['distance']:.2f}) |"
        )
    update_section("attribution", "\n".join(lines))
    assert attributor.calibration.thresholds(25).accuracy >= 0.95


def test_gaussian_frame_has_models():
    assert np.unique(gaussian_frame()["model"]).size == 4
