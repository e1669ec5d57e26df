"""Identification check: can a model be recognised from its metric signature alone?

Method (numpy only, every step inspectable):

1. Features are the model-independent style metrics (structural, stylistic, pragmatic; the
   compliance family is left out because it is null without constraints). A metric needs
   values on at least MIN_COVERAGE of the training responses. Each metric enters as its
   normal score z, the standard-normal quantile of its mid-rank among the training
   responses, which tames long tails and zero-inflated rates. It enters again as z² - 1, so
   a model's consistency (how often it is extreme) counts. A missing value gives 0.
2. Each model's centroid is its mean feature vector on the training half. Distances are
   Mahalanobis distances under the pooled within-model covariance (optionally shrunk towards
   its diagonal by SHRINKAGE): the nearest-centroid rule of linear discriminant analysis
   with equal priors.
3. The prompts are split at random into two halves, the same split for every model, so no
   test prompt was seen in training. Each test response is assigned to the nearest centroid
   (response level); for the signature level, each model's test responses are cut into
   disjoint random groups of g responses and the group's mean vector is assigned.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Any

import numpy as np
import pandas as pd

from bsb_core.metrics.engine import METRIC_SET_VERSION, REGISTRY
from bsb_core.store import Store

log = logging.getLogger(__name__)

FEATURE_FAMILIES = ("structural", "stylistic", "pragmatic")
MIN_COVERAGE = 0.5
SHRINKAGE = 0.0
_NORMAL = NormalDist()
GROUP_SIZES = (25, 50, 100)
SPLIT_SEED = 20240602


@dataclass
class FeatureSpace:
    """The map from metric values to features, fitted on training responses.

    Each metric becomes two features. The first is its normal score z: the standard-normal
    quantile of the value's mid-rank in the training responses, interpolated between training
    values. The second is z² - 1, large for extreme values, so a model's consistency counts as
    well as its typical level. A missing value gives 0 for both.
    """

    metrics: list[str]
    knots: list[np.ndarray]  # sorted distinct training values per metric
    scores: list[np.ndarray]  # normal score of each knot

    @property
    def names(self) -> list[str]:
        """Return the feature names: each metric, then each metric's ``^2`` feature."""
        return [*self.metrics, *[f"{name}^2" for name in self.metrics]]

    def normal_scores(self, frame: pd.DataFrame) -> np.ndarray:
        """Return the (responses × metrics) normal scores of ``frame``; missing values become NaN."""
        columns = []
        for name, knots, scores in zip(self.metrics, self.knots, self.scores):
            values = frame[name].to_numpy(dtype=float) if name in frame.columns else np.full(len(frame), np.nan)
            z = np.interp(values, knots, scores)
            columns.append(np.where(np.isnan(values), np.nan, z))
        return np.column_stack(columns) if columns else np.empty((len(frame), 0))

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        """Return the (responses × 2·metrics) feature matrix of ``frame``; missing values give 0."""
        z = self.normal_scores(frame)
        squared = z**2 - 1.0
        features = np.hstack([z, squared])
        return np.where(np.isnan(features), 0.0, features)

    def metric_of(self, feature: int) -> str:
        """Return the metric behind feature number ``feature``."""
        return self.metrics[feature % len(self.metrics)]


def fit_feature_space(frame: pd.DataFrame, metrics: list[str] | None = None) -> FeatureSpace:
    """Choose and fit the features on training ``frame`` (one row per response, one column per metric)."""
    if metrics is None:
        metrics = [
            name
            for name in frame.columns
            if name in REGISTRY and REGISTRY.get(name).family in FEATURE_FAMILIES
        ]
    chosen, all_knots, all_scores = [], [], []
    for name in metrics:
        if name not in frame.columns:
            continue
        values = np.sort(frame[name].to_numpy(dtype=float))
        values = values[~np.isnan(values)]
        if len(values) < MIN_COVERAGE * len(frame) or len(values) < 3:
            continue
        knots, first = np.unique(values, return_index=True)
        if len(knots) < 2:
            continue
        last = np.r_[first[1:], len(values)] - 1
        mid_rank_share = ((first + last) / 2.0 + 0.5) / len(values)
        chosen.append(name)
        all_knots.append(knots)
        all_scores.append(np.array([_NORMAL.inv_cdf(q) for q in mid_rank_share]))
    if not chosen:
        raise ValueError("no metric has enough values to identify models: score the store first (`bsb score`)")
    return FeatureSpace(chosen, all_knots, all_scores)


@dataclass
class CentroidModel:
    """Nearest-centroid classifier with a shared (shrunk) covariance over a FeatureSpace."""

    labels: list[str]
    features: FeatureSpace
    centroids: np.ndarray  # (models, features)
    precision: np.ndarray  # inverse of the shrunk pooled within-model covariance
    counts: np.ndarray  # training responses per model

    def squared_distances(self, x: np.ndarray) -> np.ndarray:
        """Return squared Mahalanobis distances (rows × models) of feature rows ``x``."""
        differences = x[:, None, :] - self.centroids[None, :, :]
        return np.einsum("nkf,fg,nkg->nk", differences, self.precision, differences)

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Return the index of the nearest centroid for each feature row."""
        return np.argmin(self.squared_distances(x), axis=1)

    def contributions(self, x: np.ndarray, first: int, second: int) -> np.ndarray:
        """Split d²(second) - d²(first) of one feature row into per-feature terms that sum to it.

        A positive term means the feature puts the row closer to model ``first`` than to ``second``.
        """
        to_first = x - self.centroids[first]
        to_second = x - self.centroids[second]
        return to_second * (self.precision @ to_second) - to_first * (self.precision @ to_first)


def fit_centroids(frame: pd.DataFrame, labels: pd.Series, features: FeatureSpace | None = None, shrinkage: float = SHRINKAGE) -> CentroidModel:
    """Fit centroids and the pooled within-model covariance on training ``frame`` labelled by model."""
    features = features or fit_feature_space(frame)
    x = features.transform(frame)
    names = sorted(labels.unique())
    codes = pd.Categorical(labels, categories=names).codes
    centroids = np.vstack([x[codes == k].mean(axis=0) for k in range(len(names))])
    residuals = x - centroids[codes]
    covariance = residuals.T @ residuals / max(len(x) - len(names), 1)
    shrunk = (1 - shrinkage) * covariance + shrinkage * np.diag(np.diag(covariance))
    shrunk += 1e-6 * np.eye(len(shrunk))
    counts = np.bincount(codes, minlength=len(names))
    return CentroidModel(names, features, centroids, np.linalg.inv(shrunk), counts)


def prompt_halves(prompts: pd.Series, seed: int = SPLIT_SEED) -> np.ndarray:
    """Return a boolean mask: True for responses whose prompt falls in the first (training) half."""
    unique = np.array(sorted(prompts.unique()))
    rng = np.random.default_rng(seed)
    first = set(rng.permutation(unique)[: len(unique) // 2])
    return prompts.isin(first).to_numpy()


@dataclass
class IdentificationReport:
    """Accuracy of assigning held-out responses (and groups of them) to the nearest model signature."""

    models: list[str]
    features: list[str]
    n_train: int
    n_test: int
    response_accuracy: float
    confusion: np.ndarray  # rows: true model, columns: assigned model (response level)
    group_accuracy: dict[int, float] = field(default_factory=dict)
    group_counts: dict[int, int] = field(default_factory=dict)
    group_confusion: dict[int, np.ndarray] = field(default_factory=dict)

    @property
    def chance(self) -> float:
        """Top-1 accuracy of guessing uniformly among the models."""
        return 1.0 / len(self.models) if self.models else 0.0

    def to_dict(self) -> dict[str, Any]:
        """Return the report as a JSON-ready dict."""
        return {
            "models": self.models,
            "features": self.features,
            "n_train": self.n_train,
            "n_test": self.n_test,
            "chance": self.chance,
            "response_accuracy": self.response_accuracy,
            "group_accuracy": {str(k): v for k, v in self.group_accuracy.items()},
            "group_counts": {str(k): v for k, v in self.group_counts.items()},
            "confusion": self.confusion.tolist(),
        }

    def to_markdown(self) -> str:
        """Return the accuracy table and the response-level confusion matrix as markdown."""
        lines = [
            f"{len(self.models)} models, {len(self.features)} metrics as features, {self.n_train} training and"
            f" {self.n_test} held-out responses (prompts split in halves). Chance: {self.chance:.2f}.",
            "",
            "| level | groups | top-1 accuracy |",
            "| --- | --- | --- |",
            f"| response | {self.n_test} | {self.response_accuracy:.3f} |",
        ]
        for size, accuracy in self.group_accuracy.items():
            lines.append(f"| signature, groups of {size} | {self.group_counts[size]} | {accuracy:.3f} |")
        short = [f"m{i + 1}" for i in range(len(self.models))]
        lines += ["", "Response-level confusion matrix (rows: true model, columns: assigned model):", ""]
        lines.append("| true \\ assigned | " + " | ".join(short) + " |")
        lines.append("| --- |" + " --- |" * len(short))
        for i, name in enumerate(self.models):
            lines.append(f"| {short[i]} {name} | " + " | ".join(str(int(v)) for v in self.confusion[i]) + " |")
        return "\n".join(lines)


def identification_check(
    wide: pd.DataFrame,
    group_sizes: tuple[int, ...] = GROUP_SIZES,
    seed: int = SPLIT_SEED,
    shrinkage: float = SHRINKAGE,
) -> IdentificationReport:
    """Run the held-out identification check on a wide response frame with a ``model`` column.

    ``wide`` has one row per response: ``model``, ``prompt_id`` and one column per metric.
    """
    if wide["model"].nunique() < 2:
        raise ValueError("the identification check needs at least two models with scored responses")
    train = prompt_halves(wide["prompt_id"], seed)
    train_frame, test_frame = wide[train], wide[~train]
    model = fit_centroids(train_frame, train_frame["model"], shrinkage=shrinkage)
    index = {name: i for i, name in enumerate(model.labels)}

    x_test = model.features.transform(test_frame)
    truth = test_frame["model"].map(index).to_numpy()
    predicted = model.predict(x_test)
    confusion = _confusion(truth, predicted, len(model.labels))

    report = IdentificationReport(
        models=model.labels,
        features=model.features.metrics,
        n_train=int(train.sum()),
        n_test=int(len(test_frame)),
        response_accuracy=float(np.mean(truth == predicted)),
        confusion=confusion,
    )
    rng = np.random.default_rng(seed + 1)
    for size in group_sizes:
        means, labels = _group_means(x_test, truth, size, rng)
        if not len(labels):
            continue
        assigned = model.predict(means)
        report.group_accuracy[size] = float(np.mean(assigned == labels))
        report.group_counts[size] = int(len(labels))
        report.group_confusion[size] = _confusion(labels, assigned, len(model.labels))
    log.info("identification: response top-1 %.3f over %d held-out responses", report.response_accuracy, report.n_test)
    return report


def _group_means(x: np.ndarray, truth: np.ndarray, size: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    means, labels = [], []
    for label in np.unique(truth):
        rows = rng.permutation(np.flatnonzero(truth == label))
        for start in range(0, len(rows) - size + 1, size):
            means.append(x[rows[start : start + size]].mean(axis=0))
            labels.append(label)
    return (np.vstack(means) if means else np.empty((0, x.shape[1]))), np.array(labels, dtype=int)


def _confusion(truth: np.ndarray, predicted: np.ndarray, k: int) -> np.ndarray:
    matrix = np.zeros((k, k), dtype=int)
    np.add.at(matrix, (truth, predicted), 1)
    return matrix


def identification_frame(store: Store, scope: str = "all", stream: str = "baseline") -> pd.DataFrame:
    """Return the wide response frame of ``stream`` in ``scope`` with a ``model`` name column."""
    from bsb_core.signature import wide_responses
    from bsb_core.scope import parse_scope

    long = store.metric_frame(METRIC_SET_VERSION, parse_scope(scope))
    if long.empty:
        raise ValueError(f"no scored responses in scope {scope!r}: run `bsb score` first")
    wide = wide_responses(long)
    wide = wide[wide["stream"] == stream]
    names = store.model_table()["name"]
    wide.insert(0, "model", wide["model_id"].map(names))
    return wide


def identify_store(store: Store, scope: str = "all", group_sizes: tuple[int, ...] = GROUP_SIZES, seed: int = SPLIT_SEED) -> IdentificationReport:
    """Run :func:`identification_check` on the baseline responses of ``scope`` in ``store``."""
    return identification_check(identification_frame(store, scope), group_sizes=group_sizes, seed=seed)
