"""Attribution: which model's signature does a text (or a set of texts) resemble most?

The texts are scored with the same metrics as the store, mapped into the identification
feature space (bsb_core.identify) and compared with every model's centroid by Mahalanobis
distance. Several texts attributed together are taken as one source and compared through
their mean feature vector. For genuine texts of a model that vector approaches the model's
centroid as the group grows, and it ranks models as the sum of the texts' squared distances does.

Two thresholds come from a held-out calibration on the store itself (centroids fitted on
one half of the prompts, distances measured on the other half), computed for the number of
texts n being attributed. For n > 1, the mean vectors of CALIBRATION_GROUPS random groups of
n held-out responses per model play the role of the held-out texts:

- ``far``: the FAR_QUANTILE quantile of the held-out texts' squared distance to their own
  model's centroid. Text beyond it from every model is "no clear match" (about 1% of
  genuine responses, or groups, of known models are also beyond it).
- ``margin``: the smallest gap between the nearest and second-nearest squared distance
  at which held-out attributions were right at least MARGIN_PRECISION of the time. A nearer
  gap is "ambiguous".
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from bsb_core.identify import CentroidModel, fit_centroids, identification_frame, prompt_halves
from bsb_core.store import Store

log = logging.getLogger(__name__)

FAR_QUANTILE = 0.99
MARGIN_PRECISION = 0.9
# Random held-out groups per model when calibrating attribution of several texts.
CALIBRATION_GROUPS = 100
CALIBRATION_SEED = 20240604
TOP_MODELS = 3
TOP_FEATURES = 5


@dataclass
class Thresholds:
    """The calibrated limits for attributing n texts together."""

    n_texts: int
    far: float
    margin: float | None  # None when no gap reaches MARGIN_PRECISION
    accuracy: float  # share of held-out texts (or groups) whose nearest centroid was right


@dataclass
class Calibration:
    """Held-out feature rows with their true models, and the centroids fitted without them."""

    model: CentroidModel
    features: np.ndarray  # held-out responses × features
    truth: np.ndarray
    _cache: dict[int, Thresholds] = field(default_factory=dict, repr=False)

    @property
    def n_held_out(self) -> int:
        """Return the number of held-out responses."""
        return int(len(self.truth))

    def thresholds(self, n_texts: int) -> Thresholds:
        """Return the thresholds for ``n_texts`` texts attributed together (cached)."""
        if n_texts not in self._cache:
            rows, truth = self._groups(n_texts)
            squared = self.model.squared_distances(rows)
            own = squared[np.arange(len(truth)), truth]
            ordered = np.sort(squared, axis=1)
            correct = np.argmin(squared, axis=1) == truth
            self._cache[n_texts] = Thresholds(
                n_texts=n_texts,
                far=float(np.quantile(own, FAR_QUANTILE)),
                margin=_margin_for_precision(ordered[:, 1] - ordered[:, 0], correct, MARGIN_PRECISION),
                accuracy=float(correct.mean()),
            )
        return self._cache[n_texts]

    def _groups(self, size: int) -> tuple[np.ndarray, np.ndarray]:
        """Return the mean feature rows of random held-out groups of ``size`` responses per model."""
        if size == 1:
            return self.features, self.truth
        rng = np.random.default_rng(CALIBRATION_SEED + size)
        means, labels = [], []
        for label in np.unique(self.truth):
            rows = np.flatnonzero(self.truth == label)
            take = min(size, len(rows))
            for _ in range(CALIBRATION_GROUPS):
                means.append(self.features[rng.choice(rows, size=take, replace=False)].mean(axis=0))
                labels.append(label)
        return np.vstack(means), np.array(labels)


@dataclass
class Attributor:
    """Centroids fitted on every response of the store plus the calibrated thresholds."""

    model: CentroidModel
    calibration: Calibration
    means: pd.DataFrame  # per model, raw metric means (for explaining matches)

    def attribute(self, metric_rows: list[dict[str, Any]]) -> Attribution:
        """Attribute the scored texts ``metric_rows`` (one {metric: value} dict per text) as one source."""
        if not metric_rows:
            raise ValueError("no text to attribute: pass at least one non-empty text")
        frame = pd.DataFrame(metric_rows).astype(float)
        x = self.model.features.transform(frame)
        centre = x.mean(axis=0)
        mean_squared = self.model.squared_distances(centre[None, :])[0]
        order = np.argsort(mean_squared)
        best, second = int(order[0]), int(order[1]) if len(order) > 1 else int(order[0])
        gap = float(mean_squared[second] - mean_squared[best])

        limits = self.calibration.thresholds(len(metric_rows))
        if mean_squared[best] > limits.far:
            verdict = "no clear match"
        elif limits.margin is None or gap < limits.margin:
            verdict = "ambiguous"
        else:
            verdict = "match"

        feature_terms = self.model.contributions(centre, best, second)
        count = len(self.model.features.metrics)
        terms = feature_terms[:count] + feature_terms[count:]  # z and z² terms of each metric
        drivers = []
        for index in np.argsort(-terms)[:TOP_FEATURES]:
            if terms[index] <= 0:
                break
            metric = self.model.features.metrics[index]
            drivers.append(
                {
                    "metric": metric,
                    "text_value": _mean_or_none(frame, metric),
                    "model_mean": _finite(self.means.loc[self.model.labels[best], metric]),
                    "runner_up_mean": _finite(self.means.loc[self.model.labels[second], metric]),
                    "contribution": float(terms[index]),
                }
            )
        return Attribution(
            verdict=verdict,
            n_texts=len(metric_rows),
            nearest=[
                {"model": self.model.labels[int(i)], "distance": float(np.sqrt(mean_squared[int(i)]))}
                for i in order[:TOP_MODELS]
            ],
            margin=gap,
            drivers=drivers,
            thresholds=limits,
        )


@dataclass
class Attribution:
    """The outcome for one text or one group of texts."""

    verdict: str  # match | ambiguous | no clear match
    n_texts: int
    nearest: list[dict[str, Any]]  # model and Mahalanobis distance of the texts' mean features, nearest first
    margin: float  # squared-distance gap between the two nearest models
    drivers: list[dict[str, Any]] = field(default_factory=list)
    thresholds: Thresholds | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the attribution as a JSON-ready dict."""
        limits = self.thresholds
        return {
            "verdict": self.verdict,
            "n_texts": self.n_texts,
            "nearest": self.nearest,
            "margin": self.margin,
            "drivers": self.drivers,
            "thresholds": None
            if limits is None
            else {
                "far_distance": float(np.sqrt(limits.far)),
                "margin": limits.margin,
                "held_out_accuracy": limits.accuracy,
            },
        }

    def summary(self) -> str:
        """Return one line for the terminal."""
        top = self.nearest[0]
        if self.verdict == "no clear match":
            return f"no clear match: the nearest signature, {top['model']}, is at distance {top['distance']:.2f}, beyond the calibrated limit"
        if self.verdict == "ambiguous":
            return f"ambiguous: nearest {top['model']} (distance {top['distance']:.2f}), but the runner-up is almost as close"
        return f"match: {top['model']} (distance {top['distance']:.2f})"


def calibrate(wide: pd.DataFrame, seed: int | None = None) -> Calibration:
    """Fit centroids on one half of the prompts of ``wide`` and keep the other half's features for calibration."""
    train = prompt_halves(wide["prompt_id"]) if seed is None else prompt_halves(wide["prompt_id"], seed)
    fitted = fit_centroids(wide[train], wide.loc[train, "model"])
    test = wide[~train]
    truth = test["model"].map({name: i for i, name in enumerate(fitted.labels)}).to_numpy()
    return Calibration(fitted, fitted.features.transform(test), truth)


def _margin_for_precision(gaps: np.ndarray, correct: np.ndarray, precision: float) -> float | None:
    """Return the smallest gap g such that attributions with gap ≥ g are right ≥ ``precision`` of the time."""
    order = np.argsort(-gaps)
    hits = np.cumsum(correct[order])
    shares = hits / np.arange(1, len(order) + 1)
    reaching = np.flatnonzero(shares >= precision)
    # Require at least 20 attributions above the gap so one lucky response cannot set it.
    reaching = reaching[reaching >= 19]
    if not reaching.size:
        return None
    return float(gaps[order][reaching.max()])


def build_attributor(store: Store, scope: str = "all") -> Attributor:
    """Fit centroids on every baseline response of ``scope`` and calibrate the thresholds."""
    return fit_attributor(identification_frame(store, scope))


def fit_attributor(wide: pd.DataFrame) -> Attributor:
    """Fit centroids on every response of ``wide`` (``model``, ``prompt_id``, metric columns) and calibrate."""
    if wide["model"].nunique() < 2:
        raise ValueError("attribution needs at least two models with scored responses in the store")
    calibration = calibrate(wide)
    fitted = fit_centroids(wide, wide["model"])
    means = wide.groupby("model")[fitted.features.metrics].mean()
    single = calibration.thresholds(1)
    log.info("attribution calibrated on %d held-out responses: far distance %.2f, margin %s", calibration.n_held_out, np.sqrt(single.far), single.margin)
    return Attributor(fitted, calibration, means)


def score_texts(texts: list[str]) -> list[dict[str, Any]]:
    """Score ``texts`` with every registered metric; nulls become NaN."""
    from bsb_core.metrics.engine import score_items
    from bsb_core.metrics.registry import Null

    rows = []
    for values in score_items((text, None, None) for text in texts):
        rows.append({name: (np.nan if isinstance(value, Null) else float(value)) for name, value in values.items()})
    return rows


def read_texts(raw: str) -> list[str]:
    """Split input into texts: JSONL (``response`` or ``text`` field, or a JSON string per line) or one plain text."""
    lines = [line for line in raw.splitlines() if line.strip()]
    if lines and all(line.lstrip().startswith(("{", '"')) for line in lines):
        texts = []
        for number, line in enumerate(lines, start=1):
            try:
                item = json.loads(line)
            except json.JSONDecodeError as error:
                raise ValueError(f"line {number} is not valid JSON ({error.msg}); pass plain text or one JSON object per line") from None
            if isinstance(item, str):
                texts.append(item)
            elif isinstance(item, dict) and isinstance(item.get("response", item.get("text")), str):
                texts.append(item.get("response", item.get("text")))
            else:
                raise ValueError(f"line {number} has no 'response' or 'text' string field; add one or pass plain text")
        return texts
    return [raw] if raw.strip() else []


def _mean_or_none(frame: pd.DataFrame, metric: str) -> float | None:
    if metric not in frame.columns:
        return None
    return _finite(frame[metric].mean())


def _finite(value: Any) -> float | None:
    value = float(value)
    return value if np.isfinite(value) else None
