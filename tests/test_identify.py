"""Identification check: held-out responses go to their own model's signature."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from validation_doc import update_section

from bsb_core.identify import fit_feature_space, identification_check, identify_store, prompt_halves

# Acceptance on the eleven AlpacaEval models (chance is 1/11 = 0.09).
MIN_GROUP_25_ACCURACY = 0.95
MIN_RESPONSE_ACCURACY = 0.45


def gaussian_frame(models: int = 4, prompts: int = 120, gap: float = 1.0, seed: int = 9) -> pd.DataFrame:
    """Synthetic responses: each model's mean on three real metric names is shifted by ``gap`` SD."""
    rng = np.random.default_rng(seed)
    rows = []
    for m in range(models):
        for p in range(prompts):
            rows.append(
                {
                    "model": f"model-{m}",
                    "prompt_id": f"p{p}",
                    "word_count": rng.normal(200 + 40 * gap * m, 40),
                    "hedges_per_100w": rng.normal(1 + gap * (m % 2), 1),
                    "mtld": rng.normal(60 + 10 * gap * (m // 2), 10),
                }
            )
    return pd.DataFrame(rows)


def test_halves_split_prompts_not_responses():
    frame = gaussian_frame()
    train = prompt_halves(frame["prompt_id"])
    assert not set(frame.loc[train, "prompt_id"]) & set(frame.loc[~train, "prompt_id"])


def test_halves_reproducible():
    frame = gaussian_frame()
    assert (prompt_halves(frame["prompt_id"]) == prompt_halves(frame["prompt_id"])).all()


def test_feature_space_skips_constant():
    frame = gaussian_frame().assign(json_strict=0.0)
    assert "json_strict" not in fit_feature_space(frame).metrics


def test_normal_score_median_near_zero():
    frame = gaussian_frame()
    space = fit_feature_space(frame)
    median = frame[["word_count"]].median().to_frame().T
    assert abs(space.normal_scores(median)[0, space.metrics.index("word_count")]) < 0.05


def test_normal_score_tames_outlier():
    frame = gaussian_frame()
    space = fit_feature_space(frame)
    outlier = pd.DataFrame({"word_count": [1e9]})
    assert space.normal_scores(outlier)[0, space.metrics.index("word_count")] < 4


def test_features_missing_value_zero():
    space = fit_feature_space(gaussian_frame())
    assert not space.transform(pd.DataFrame({"mtld": [np.nan]})).any()


def test_check_separated_models_groups():
    report = identification_check(gaussian_frame(gap=1.0), group_sizes=(10,))
    assert report.group_accuracy[10] == 1.0


def test_check_separated_models_responses():
    report = identification_check(gaussian_frame(gap=1.0))
    assert report.response_accuracy > 0.5


def test_check_identical_models_near_chance():
    report = identification_check(gaussian_frame(gap=0.0), group_sizes=())
    assert report.response_accuracy < 0.4


def test_confusion_sums_to_test_size():
    report = identification_check(gaussian_frame())
    assert report.confusion.sum() == report.n_test


def test_check_needs_two_models():
    frame = gaussian_frame(models=1)
    with pytest.raises(ValueError, match="two models"):
        identification_check(frame)


@pytest.fixture(scope="module")
def alpaca_report(alpaca_store):  # noqa: F811
    report = identify_store(alpaca_store)
    update_section(
        "identify",
        "## Identification (`bsb validate identify`)\n\n"
        "Written by `tests/test_identify.py` (`alpaca_report`) on the eleven AlpacaEval models, baseline stream."
        " Method (bsb_core/identify.py): each metric as its normal score and squared normal score, nearest"
        " centroid under the pooled within-model covariance, prompts split in halves (the same split for every"
        " model). Acceptance: signature level with groups of 25 at least 0.95, response level at least 0.45.\n\n"
        + report.to_markdown(),
    )
    return report


@pytest.mark.slow
def test_identify_alpaca_groups_of_25(alpaca_report):
    assert alpaca_report.group_accuracy[25] >= MIN_GROUP_25_ACCURACY


@pytest.mark.slow
def test_identify_alpaca_single_responses(alpaca_report):
    assert alpaca_report.response_accuracy >= MIN_RESPONSE_ACCURACY
