"""Version diff on synthetic per-response values: finds the shifted metric and nothing else."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bsb_core.metrics.engine import REGISTRY
from bsb_core.signature import Signature, diff_signatures
from bsb_core.signature_diff import benjamini_hochberg

SHIFTED = "hedges_per_100w"
N_RESPONSES = 300


def synthetic_signature(model: str, seed: int, shift: float = 0.0) -> Signature:
    """A signature of N_RESPONSES baseline responses; every style metric ~ N(5, 1), SHIFTED moved by ``shift`` SD."""
    rng = np.random.default_rng(seed)
    metrics = [name for name in REGISTRY.names() if REGISTRY.get(name).family != "compliance"]
    values = {name: rng.normal(5.0, 1.0, N_RESPONSES) for name in metrics}
    values[SHIFTED] = values[SHIFTED] + shift
    return Signature.from_responses(model, pd.DataFrame(values))


@pytest.fixture(scope="module")
def diffs():
    before = synthetic_signature("sim/model@v1", seed=11)
    after = synthetic_signature("sim/model@v2", seed=12, shift=0.5)
    return diff_signatures(before, after, alpha=0.05)


def test_diff_finds_shifted_metric(diffs):
    assert diffs[0].metric == SHIFTED


def test_diff_shifted_is_significant(diffs):
    assert diffs[0].significant


def test_diff_no_false_positives(diffs):
    assert [d.metric for d in diffs if d.significant] == [SHIFTED]


def test_diff_effect_size_near_shift(diffs):
    assert diffs[0].effect_size == pytest.approx(0.5, abs=0.2)


def test_diff_covers_every_metric(diffs):
    assert len(diffs) == len([n for n in REGISTRY.names() if REGISTRY.get(n).family != "compliance"])


def test_diff_reproducible():
    a = synthetic_signature("a", seed=1)
    b = synthetic_signature("b", seed=2, shift=0.3)
    first = [d.p_value for d in diff_signatures(a, b)]
    assert first == [d.p_value for d in diff_signatures(a, b)]


def test_diff_identical_signatures_unchanged():
    a = synthetic_signature("a", seed=3)
    assert not any(d.significant for d in diff_signatures(a, a))


def test_diff_alpha_out_of_range():
    a = synthetic_signature("a", seed=3)
    with pytest.raises(ValueError, match="alpha"):
        diff_signatures(a, a, alpha=1.5)


def test_benjamini_hochberg_known_values():
    adjusted = benjamini_hochberg(np.array([0.01, 0.04, 0.03, np.nan]))
    assert adjusted[:3].tolist() == pytest.approx([0.03, 0.04, 0.04])


def test_benjamini_hochberg_keeps_nan():
    assert np.isnan(benjamini_hochberg(np.array([0.2, np.nan]))[1])
