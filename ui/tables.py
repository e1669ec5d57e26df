"""Tables the pages show: pure functions from cards, runs and diffs to pandas DataFrames.

Nothing here imports Streamlit, so the tables are testable on their own and the benchmark can
build them. Simulated models carry a ``simulated`` column and the ``(simulated)`` suffix of
:func:`model_label` wherever a model is named.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from bsb_core import card_view

SIMULATED_SUFFIX = " (simulated)"
STREAMS = ("baseline", "contrast")


def model_label(name: str, simulated: bool) -> str:
    """Return the model name as shown in the app: simulated models get a visible ``(simulated)`` suffix."""
    return f"{name}{SIMULATED_SUFFIX}" if simulated else name


def card_label(card: Mapping[str, Any]) -> str:
    """Return :func:`model_label` of a card's model."""
    return model_label(card_view.model_name(card), card_view.is_simulated(card))


def filter_traits(card: Mapping[str, Any], streams: Iterable[str]) -> dict[str, Any]:
    """Return a shallow copy of ``card`` that keeps only the traits read from ``streams``."""
    wanted = set(streams)
    return {**card, "traits": [trait for trait in card.get("traits", []) if trait.get("stream") in wanted]}


def _ci_text(low: float | None, high: float | None) -> str:
    if low is None or high is None:
        return ""
    return f"[{low:.2f}, {high:.2f}]"


def overview_table(cards: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Return one row per model: provider, responses, then each trait's value and its 95% CI.

    Trait values are in standard deviations of the pooled per-response population (0 = the
    population mean), so the columns sort numerically; unavailable traits are empty.
    """
    rows = []
    value_columns: list[str] = []
    for card in cards:
        row: dict[str, Any] = {
            "model": card_view.model_name(card),
            "simulated": card_view.is_simulated(card),
            "provider": card.get("provider", ""),
            "responses": int(card.get("n_responses") or 0),
        }
        for trait in card_view.traits(card):
            row[trait.display_name] = trait.value
            row[f"{trait.display_name} 95% CI"] = _ci_text(trait.ci_low, trait.ci_high)
            if trait.display_name not in value_columns:
                value_columns.append(trait.display_name)
        rows.append(row)
    frame = pd.DataFrame(rows)
    # A column where no model has a value would stay of object dtype and sort as text.
    for column in value_columns:
        frame[column] = frame[column].astype(float)
    return frame


def distinctive_table(card: Mapping[str, Any]) -> pd.DataFrame:
    """Return the card's distinctive metrics: the sentence, the trait, the values and the effect size."""
    rows = [
        {
            "finding": entry.get("text", ""),
            "metric": entry.get("metric"),
            "trait": entry.get("trait") or "",
            "value": entry.get("value"),
            "median model": entry.get("population_median"),
            "effect size (SD)": entry.get("effect_size"),
        }
        for entry in card.get("distinctive") or []
    ]
    return pd.DataFrame(rows, columns=["finding", "metric", "trait", "value", "median model", "effect size (SD)"])


def impossible_table(card: Mapping[str, Any]) -> pd.DataFrame:
    """Return how the model handled impossible constraint sets: responses per class, per set and in total."""
    section = card_view.drift(card).impossible
    if not section.get("available"):
        return pd.DataFrame(columns=["constraint set", "refuses", "flags_conflict", "satisfies_one", "fails_both", "unclassified"])
    rows = [{"constraint set": name, **counts} for name, counts in sorted((section.get("by_constraint") or {}).items())]
    rows.append({"constraint set": "all impossible sets", **(section.get("counts") or {})})
    return pd.DataFrame(rows)


def drift_ranking(cards: Iterable[Mapping[str, Any]], constraint_type: str | None = None) -> pd.DataFrame:
    """Return models ranked by drift magnitude (root mean square standardised drift), largest first.

    With ``constraint_type`` the magnitude under that constraint type is used; models with no
    magnitude come last with the reason in ``note``.
    """
    rows = []
    for card in cards:
        drift = card_view.drift(card)
        section = card.get("drift") or {}
        magnitude = None
        low = high = None
        note = ""
        if not drift.available:
            note = drift.reason or "no drift data"
        elif constraint_type is None:
            magnitude = drift.magnitude
            low, high = (section.get("magnitude_ci") or (None, None))
        elif constraint_type in drift.magnitude_by_constraint:
            magnitude = drift.magnitude_by_constraint[constraint_type]
        else:
            note = f"no {constraint_type} prompts"
        if drift.available and magnitude is None and not note:
            note = "not computable"
        rows.append(
            {
                "model": card_view.model_name(card),
                "simulated": card_view.is_simulated(card),
                "magnitude": magnitude,
                "ci_low": low,
                "ci_high": high,
                "note": note,
            }
        )
    frame = pd.DataFrame(rows, columns=["model", "simulated", "magnitude", "ci_low", "ci_high", "note"])
    frame = frame.sort_values(["magnitude", "model"], ascending=[False, True], na_position="last").reset_index(drop=True)
    frame.insert(0, "rank", range(1, len(frame) + 1))
    frame.loc[frame["magnitude"].isna(), "rank"] = None
    return frame


def constraint_types(cards: Iterable[Mapping[str, Any]]) -> list[str]:
    """Return every constraint type with drift data in any card, sorted."""
    names: set[str] = set()
    for card in cards:
        names.update(card_view.drift(card).by_constraint)
    return sorted(names)


def diff_table(diffs: Iterable[Mapping[str, Any]], label_a: str, label_b: str) -> pd.DataFrame:
    """Return a version diff as a table: means of both sides, difference, effect size, q-value."""
    rows = [
        {
            "metric": diff["metric"],
            "family": diff["family"],
            "stream": diff["stream"],
            f"mean {label_a}": diff["mean_a"],
            f"mean {label_b}": diff["mean_b"],
            "difference (B − A)": diff["difference"],
            "effect size (d)": diff["effect_size"],
            "q-value": diff["q_value"],
            "significant": diff["significant"],
        }
        for diff in diffs
    ]
    columns = ["metric", "family", "stream", f"mean {label_a}", f"mean {label_b}", "difference (B − A)", "effect size (d)", "q-value", "significant"]
    return pd.DataFrame(rows, columns=columns)


# --- runs -------------------------------------------------------------------------------------


def _run_source(run: Mapping[str, Any]) -> str:
    if run.get("kind") == "import" and run.get("source"):
        return Path(str(run["source"])).name
    return str(run.get("suite") or run.get("source") or "")


# Keys of the responses a collection answered in run statistics: the Prefect flow writes
# "collected" (older flow runs "answered"), ``bsb collect`` writes "succeeded".
ANSWERED_KEYS = ("collected", "answered", "succeeded")


def answered_count(counts: Mapping[str, Any]) -> int | None:
    """Return the number of answered responses in a run's or a model's statistics, or None when absent."""
    for key in ANSWERED_KEYS:
        if key in counts:
            return int(counts[key] or 0)
    return None


def _answered(totals: Mapping[str, Any], stats: Mapping[str, Any]) -> int | None:
    count = answered_count(totals)
    if count is None and "imported" in stats:
        count = int(stats["imported"] or 0)
    return count


def _minute(timestamp: Any) -> str:
    """Return an ISO 8601 time as ``YYYY-MM-DD HH:MM`` (the runs table has no room for seconds and offsets)."""
    return str(timestamp or "")[:16].replace("T", " ")


def runs_table(runs: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Return one row per run: status, times, responses, failures, tokens, cost and Prefect flow-run id.

    Collection runs read their totals from the run's statistics (``bsb collect`` and the
    Prefect flow write slightly different keys); imports report imported and rejected rows.
    """
    rows = []
    for run in runs:
        stats = run.get("stats") or {}
        totals = stats.get("totals") or {}
        failed = totals.get("failed", stats.get("rejected"))
        rows.append(
            {
                "run": int(run["id"]),
                "kind": run.get("kind"),
                "status": run.get("status"),
                "started (UTC)": _minute(run.get("started_at")),
                "finished (UTC)": _minute(run.get("finished_at")),
                "suite or file": _run_source(run),
                "models": len(stats.get("models") or []) or None,
                "responses stored": int(run.get("responses") or 0),
                "answered or imported": _answered(totals, stats),
                "failed": None if failed is None else int(failed),
                "models failed": totals.get("models_failed"),
                "tokens in": totals.get("tokens_in"),
                "tokens out": totals.get("tokens_out"),
                "cost (USD)": totals.get("cost_usd"),
                "Prefect flow run": run.get("prefect_flow_run_id") or "",
                "error": stats.get("error") or "",
            }
        )
    columns = [
        "run", "kind", "status", "started (UTC)", "suite or file", "models", "responses stored", "answered or imported",
        "failed", "models failed", "tokens in", "tokens out", "cost (USD)", "Prefect flow run", "finished (UTC)", "error",
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=columns)


def run_models_table(run: Mapping[str, Any]) -> pd.DataFrame:
    """Return the per-model lines of a collection run: counts, tokens, cost and the error, if any."""
    rows = []
    for model in (run.get("stats") or {}).get("models") or []:
        rows.append(
            {
                "model": model_label(str(model.get("model")), bool(model.get("simulated"))),
                "state": model.get("state") or ("failed" if model.get("error") else "completed"),
                "planned": model.get("planned"),
                "answered": answered_count(model),
                "already stored": model.get("cached"),
                "failed": model.get("failed"),
                "not sent": model.get("not_sent", model.get("skipped")),
                "tokens in": model.get("tokens_in"),
                "tokens out": model.get("tokens_out"),
                "cost (USD)": model.get("cost_usd"),
                "error": model.get("error") or "",
            }
        )
    return pd.DataFrame(rows)


# --- recommender ------------------------------------------------------------------------------


def ranking_table(recommendations: Iterable[Any]) -> pd.DataFrame:
    """Return a ranking (``bsb_core.recommend.Recommendation`` objects) as rank, model, score and counts."""
    rows = [
        {
            "rank": rec.rank,
            "model": rec.model,
            "simulated": rec.simulated,
            "score": round(rec.score, 1),
            "targets matched": len(rec.matched),
            "targets missed": len(rec.missed),
            "warnings": len(rec.warnings),
        }
        for rec in recommendations
    ]
    return pd.DataFrame(rows, columns=["rank", "model", "simulated", "score", "targets matched", "targets missed", "warnings"])


__all__ = [
    "ANSWERED_KEYS",
    "SIMULATED_SUFFIX",
    "answered_count",
    "STREAMS",
    "card_label",
    "constraint_types",
    "diff_table",
    "distinctive_table",
    "drift_ranking",
    "filter_traits",
    "impossible_table",
    "model_label",
    "overview_table",
    "ranking_table",
    "run_models_table",
    "runs_table",
]
