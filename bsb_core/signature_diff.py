"""Version diff: which metrics changed between two signatures beyond sampling noise.

Each metric is compared with a two-sided permutation test of the difference of means on the
per-response values, because responses are exchangeable under the null of no change. The
p-values of all metrics are then adjusted with the Benjamini-Hochberg procedure, which keeps
the expected share of false discoveries among the reported changes at ``alpha``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from bsb_core.metrics.engine import REGISTRY
from bsb_core.signature_stats import stable_seed

if TYPE_CHECKING:
    from bsb_core.signature import Signature

PERMUTATIONS = 2000
# Minimum values per side for a test. A metric with fewer is reported untested (p = None).
MIN_VALUES = 5


@dataclass(frozen=True)
class Diff:
    """The comparison of one metric between signature ``a`` and signature ``b``."""

    metric: str
    family: str
    stream: str
    n_a: int
    n_b: int
    mean_a: float | None
    mean_b: float | None
    difference: float | None  # mean_b - mean_a
    effect_size: float | None  # difference / pooled SD (Cohen's d)
    p_value: float | None
    q_value: float | None  # Benjamini-Hochberg adjusted p-value
    significant: bool

    def to_dict(self) -> dict[str, Any]:
        """Return the diff as a JSON-ready dict."""
        return asdict(self)


def metric_stream(metric: str) -> str:
    """Return the stream a metric is compared on: contrast for compliance metrics, else baseline."""
    family = REGISTRY.get(metric).family if metric in REGISTRY else "unknown"
    return "contrast" if family == "compliance" else "baseline"


def diff_signatures(
    a: Signature,
    b: Signature,
    alpha: float = 0.05,
    *,
    permutations: int = PERMUTATIONS,
    metrics: list[str] | None = None,
) -> list[Diff]:
    """Compare every shared metric of ``a`` and ``b``; return diffs, significant first, by |effect size|.

    A metric is ``significant`` when its Benjamini-Hochberg adjusted p-value is at most
    ``alpha``. Seeds derive from the sample sizes, so the result is reproducible.
    """
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be between 0 and 1, got {alpha}")
    names = metrics or [m for m in a.metric_names() if m in set(b.metric_names())]
    shared = _Permutations(permutations)
    rows = []
    for metric in names:
        stream = metric_stream(metric)
        x = _values(a, metric, stream)
        y = _values(b, metric, stream)
        rows.append((metric, stream, x, y, _permutation_p(x, y, shared)))

    p_values = np.array([np.nan if p is None else p for *_, p in rows], dtype=float)
    q_values = benjamini_hochberg(p_values)
    diffs = []
    for (metric, stream, x, y, p), q in zip(rows, q_values):
        mean_a = float(np.mean(x)) if x.size else None
        mean_b = float(np.mean(y)) if y.size else None
        difference = None if mean_a is None or mean_b is None else mean_b - mean_a
        diffs.append(
            Diff(
                metric=metric,
                family=REGISTRY.get(metric).family if metric in REGISTRY else "unknown",
                stream=stream,
                n_a=int(x.size),
                n_b=int(y.size),
                mean_a=mean_a,
                mean_b=mean_b,
                difference=difference,
                effect_size=_cohens_d(x, y),
                p_value=p,
                q_value=None if np.isnan(q) else float(q),
                significant=bool(not np.isnan(q) and q <= alpha),
            )
        )
    return sorted(diffs, key=lambda d: (not d.significant, -abs(d.effect_size or 0.0), d.metric))


def _values(signature: Signature, metric: str, stream: str) -> np.ndarray:
    frame = signature.responses
    if metric not in frame.columns:
        return np.array([])
    if "stream" in frame.columns and (frame["stream"] == stream).any():
        frame = frame[frame["stream"] == stream]
    values = frame[metric].to_numpy(dtype=float)
    return values[~np.isnan(values)]


class _Permutations:
    """Permutation index matrices, one per pair of sample sizes, shared by the metrics of one diff.

    Metrics with the same numbers of values on both sides reuse one matrix, which keeps a diff
    of sixty metrics fast. The seed derives from the sizes, so results are reproducible.
    """

    def __init__(self, count: int) -> None:
        self.count = count
        self._cache: dict[tuple[int, int], np.ndarray] = {}

    def first_group(self, nx: int, ny: int) -> np.ndarray:
        """Return a (count, nx) matrix: row i contains the indices drawn as group x in permutation i."""
        key = (nx, ny)
        if key not in self._cache:
            rng = np.random.default_rng(stable_seed("diff", nx, ny))
            order = np.argsort(rng.random((self.count, nx + ny)), axis=1)
            self._cache[key] = order[:, :nx]
        return self._cache[key]


def _permutation_p(x: np.ndarray, y: np.ndarray, permutations: _Permutations) -> float | None:
    """Return the two-sided permutation p-value of mean(y) - mean(x), (hits + 1) / (permutations + 1)."""
    if x.size < MIN_VALUES or y.size < MIN_VALUES:
        return None
    pooled = np.concatenate([x, y])
    if np.all(pooled == pooled[0]):
        return 1.0
    observed = abs(y.mean() - x.mean())
    sum_x = pooled[permutations.first_group(x.size, y.size)].sum(axis=1)
    differences = np.abs((pooled.sum() - sum_x) / y.size - sum_x / x.size)
    # A small tolerance keeps floating-point ties with the observed value counted as hits.
    hits = int((differences >= observed - 1e-12 * max(1.0, observed)).sum())
    return (hits + 1) / (permutations.count + 1)


def _cohens_d(x: np.ndarray, y: np.ndarray) -> float | None:
    if x.size < 2 or y.size < 2:
        return None
    pooled_var = ((x.size - 1) * x.var(ddof=1) + (y.size - 1) * y.var(ddof=1)) / (x.size + y.size - 2)
    if pooled_var <= 0:
        return 0.0 if x.mean() == y.mean() else None
    return float((y.mean() - x.mean()) / np.sqrt(pooled_var))


def benjamini_hochberg(p_values: np.ndarray) -> np.ndarray:
    """Return Benjamini-Hochberg adjusted p-values; NaN entries stay NaN and do not count as tests."""
    adjusted = np.full(p_values.shape, np.nan)
    tested = np.flatnonzero(~np.isnan(p_values))
    if tested.size == 0:
        return adjusted
    order = tested[np.argsort(p_values[tested], kind="stable")]
    ranked = p_values[order] * tested.size / np.arange(1, tested.size + 1)
    adjusted[order] = np.minimum(1.0, np.minimum.accumulate(ranked[::-1])[::-1])
    return adjusted
