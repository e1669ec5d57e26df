"""Vectorised statistics behind signatures: bootstrap CIs and split-half reliability."""

from __future__ import annotations

import zlib

import numpy as np
import pandas as pd

# Bootstrap settings recorded in every card's provenance.
BOOTSTRAP_RESAMPLES = 1000
BOOTSTRAP_SEED = 20240601
CONFIDENCE = 0.95
# Random prompt splits averaged in the split-half reliability.
RELIABILITY_SPLITS = 200
# Minimum models for a between-model correlation to mean anything.
MIN_MODELS_FOR_RELIABILITY = 3


def stable_seed(*parts: object) -> int:
    """Return a seed derived from ``parts`` that is the same on every run and machine."""
    text = "\x1f".join(str(part) for part in parts)
    return (BOOTSTRAP_SEED + zlib.crc32(text.encode("utf-8"))) % (2**32)


def bootstrap_weights(n: int, seed: int, resamples: int = BOOTSTRAP_RESAMPLES) -> np.ndarray:
    """Return a (resamples, n) matrix of multinomial counts: row b counts how often each item is drawn."""
    rng = np.random.default_rng(seed)
    if n == 0:
        return np.zeros((resamples, 0))
    return rng.multinomial(n, np.full(n, 1.0 / n), size=resamples).astype(float)


def bootstrap_mean_ci(values: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return per-column percentile CIs (low, high) of the mean of ``values`` (n, m; NaN = missing).

    Every column is resampled with the same draws of rows, so traits and metrics of one model
    share one bootstrap. A resample that draws no value of a column is ignored for that column.
    """
    present = ~np.isnan(values)
    filled = np.where(present, values, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = (weights @ filled) / (weights @ present.astype(float))
    alpha = (1.0 - CONFIDENCE) / 2.0
    if not means.size:
        return np.full(values.shape[1], np.nan), np.full(values.shape[1], np.nan)
    with _quiet():
        return np.nanquantile(means, alpha, axis=0), np.nanquantile(means, 1.0 - alpha, axis=0)


def summarise_columns(values: np.ndarray, weights: np.ndarray) -> dict[str, np.ndarray]:
    """Return n, n_null, mean, median, sd (ddof 1) and bootstrap CI per column of ``values``."""
    present = ~np.isnan(values)
    n = present.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"), _quiet():
        mean = np.nanmean(values, axis=0) if len(values) else np.full(values.shape[1], np.nan)
        median = np.nanmedian(values, axis=0) if len(values) else np.full(values.shape[1], np.nan)
        sd = np.nanstd(values, axis=0, ddof=1) if len(values) else np.full(values.shape[1], np.nan)
    sd = np.where(n >= 2, sd, np.nan)
    low, high = bootstrap_mean_ci(values, weights) if len(values) else (np.full(values.shape[1], np.nan),) * 2
    return {"n": n, "n_null": len(values) - n, "mean": mean, "median": median, "sd": sd, "ci_low": low, "ci_high": high}


def split_half_reliability(
    wide: pd.DataFrame,
    models: pd.Series,
    prompts: pd.Series,
    *,
    splits: int = RELIABILITY_SPLITS,
    seed: int = BOOTSTRAP_SEED,
    n_prompts: int | None = None,
) -> pd.Series:
    """Return the split-half reliability of model-level means for each column of ``wide``.

    Definition: the prompts are split at random into two halves, the same split for every
    model, and each model's mean is computed on each half. The Pearson correlation of the two
    half-means across models is averaged over ``splits`` random splits (through Fisher's z).
    The Spearman-Brown formula 2r / (1 + r) steps it up to the full sample, and a negative
    mean correlation counts as 0. It answers:
    would the models keep their order on this metric if we measured them again on other
    prompts of the same kind at this sample size? NaN when fewer than three models have the
    metric in both halves. ``n_prompts`` first draws that many prompts at random (seeded), to
    measure the reliability at a given sample size.
    """
    if n_prompts is not None:
        unique = np.array(sorted(prompts.unique()))
        if n_prompts > len(unique):
            raise ValueError(f"n_prompts is {n_prompts} but only {len(unique)} prompts have responses; pass at most {len(unique)}")
        chosen = np.random.default_rng(seed).choice(unique, size=n_prompts, replace=False)
        keep = prompts.isin(chosen).to_numpy()
        wide, models, prompts = wide[keep], models[keep], prompts[keep]
    columns = list(wide.columns)
    model_codes, model_names = pd.factorize(models, sort=True)
    prompt_codes, prompt_names = pd.factorize(prompts, sort=True)
    values = wide.to_numpy(dtype=float)
    present = ~np.isnan(values)
    filled = np.where(present, values, 0.0)
    k = len(model_names)
    if k < MIN_MODELS_FOR_RELIABILITY:
        return pd.Series(np.nan, index=columns)

    rng = np.random.default_rng(seed)
    halves = rng.random((splits, len(prompt_names))) < 0.5  # True = first half
    in_first = halves[:, prompt_codes].astype(float)  # (splits, responses)
    in_second = 1.0 - in_first

    half_means = np.full((2, splits, k, len(columns)), np.nan)
    for code in range(k):
        rows = model_codes == code
        for h, mask in enumerate((in_first, in_second)):
            with np.errstate(invalid="ignore", divide="ignore"):
                half_means[h, :, code, :] = (mask[:, rows] @ filled[rows]) / (mask[:, rows] @ present[rows].astype(float))

    correlations = _rowwise_correlation(half_means[0], half_means[1])  # (splits, columns)
    with np.errstate(invalid="ignore"), _quiet():
        clipped = np.clip(correlations, -0.999999, 0.999999)
        mean_r = np.tanh(np.nanmean(np.arctanh(clipped), axis=0))
    # Spearman-Brown is meaningless for a negative half correlation: such a metric does not
    # order the models reproducibly at all, so it gets reliability 0.
    mean_r = np.where(np.isnan(mean_r), np.nan, np.maximum(mean_r, 0.0))
    stepped_up = 2.0 * mean_r / (1.0 + mean_r)
    return pd.Series(stepped_up, index=columns)


def _rowwise_correlation(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson correlation over axis 1 of (splits, models, columns) arrays, ignoring NaN models."""
    both = ~np.isnan(a) & ~np.isnan(b)
    count = both.sum(axis=1)
    a = np.where(both, a, 0.0)
    b = np.where(both, b, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_a = a.sum(axis=1) / count
        mean_b = b.sum(axis=1) / count
        da = np.where(both, a - mean_a[:, None, :], 0.0)
        db = np.where(both, b - mean_b[:, None, :], 0.0)
        r = (da * db).sum(axis=1) / np.sqrt((da**2).sum(axis=1) * (db**2).sum(axis=1))
    r[count < MIN_MODELS_FOR_RELIABILITY] = np.nan
    return r


def percentile_among(values: pd.Series) -> pd.Series:
    """Return, per entry, the share (0-100) of the other entries with a lower value; ties count half.

    NaN entries get NaN; with fewer than two non-NaN entries every percentile is NaN.
    """
    valid = values.dropna()
    result = pd.Series(np.nan, index=values.index)
    if len(valid) < 2:
        return result
    array = valid.to_numpy(dtype=float)
    below = (array[None, :] < array[:, None]).sum(axis=1)
    ties = (array[None, :] == array[:, None]).sum(axis=1) - 1
    result.loc[valid.index] = 100.0 * (below + 0.5 * ties) / (len(valid) - 1)
    return result


class _quiet:
    """Silence numpy's RuntimeWarnings for all-NaN slices, which are expected here."""

    def __enter__(self) -> None:
        import warnings

        self._catcher = warnings.catch_warnings()
        self._catcher.__enter__()
        warnings.simplefilter("ignore", category=RuntimeWarning)

    def __exit__(self, *exc: object) -> None:
        self._catcher.__exit__(*exc)
