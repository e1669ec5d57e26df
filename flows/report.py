"""Markdown for the Prefect artifacts of BSB flow runs, built from the flows' summary dicts.

A collection summary has ``run_id``, ``status``, ``db``, ``suite``, ``suite_hash``,
``scope_key``, ``prefect_flow_run_id``, ``models`` (one dict per model, see
:data:`MODEL_COLUMNS`) and ``totals``; a scoring summary has ``responses``, ``values``,
``metric_set_version`` and ``pipeline``.
"""

from __future__ import annotations

from typing import Any

# (key in a model dict, column heading) of the per-model table.
MODEL_COLUMNS = (
    ("model", "model"),
    ("state", "task"),
    ("planned", "planned"),
    ("collected", "collected in this run"),
    ("cached", "already stored"),
    ("failed", "failed"),
    ("not_sent", "not sent"),
    ("scored", "scored"),
    ("tokens_in", "tokens in"),
    ("tokens_out", "tokens out"),
    ("cost_usd", "est. cost (USD)"),
)


def _cell(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value).replace("|", "\\|").replace("\n", " ")


def models_table(models: list[dict[str, Any]]) -> str:
    """Return the per-model Markdown table."""
    lines = [
        "| " + " | ".join(heading for _, heading in MODEL_COLUMNS) + " |",
        "|" + "|".join(" --- " for _ in MODEL_COLUMNS) + "|",
    ]
    for model in models:
        lines.append("| " + " | ".join(_cell(model.get(key)) for key, _ in MODEL_COLUMNS) + " |")
    return "\n".join(lines)


def failures_section(models: list[dict[str, Any]]) -> str:
    """Return a bullet list of the models whose task failed, with the task's message."""
    failed = [model for model in models if model.get("error")]
    if not failed:
        return "No model failed."
    return "\n".join(f"- `{model['model']}`: {_cell(model['error'])}" for model in failed)


def location_lines(collection: dict[str, Any]) -> list[str]:
    """Return the Markdown lines with the store path, run ids, suite, scope key and the app command."""
    return [
        f"- store: `{collection['db']}`",
        f"- BSB run id: {collection['run_id']} (status `{collection['status']}`)",
        f"- Prefect flow run id: `{collection.get('prefect_flow_run_id') or 'none'}`",
        f"- suite: `{collection['suite']}` (content hash `{collection['suite_hash']}`)",
        f"- scope key: `{collection['scope_key']}`",
        f"- open the app: `BSB_DB={collection['db']} python -m ui.server` (from the BSB checkout, with its venv active)",
    ]


def scoring_line(scoring: dict[str, Any] | None) -> str:
    """Return one sentence about the scoring pass, or a note that it did not run."""
    if not scoring:
        return "Scoring did not run."
    return (
        f"Scored {scoring['responses']} responses ({scoring['values']} metric values) with metric set "
        f"`{scoring['metric_set_version']}` and pipeline `{scoring['pipeline']}`."
    )


def signatures_line(signatures: int | None) -> str:
    """Return one sentence about the signature refresh."""
    if signatures is None:
        return "Signatures were not refreshed (the signature module is not installed)."
    return f"Refreshed {signatures} signatures."


def totals_line(collection: dict[str, Any]) -> str:
    """Return one sentence with the run's totals."""
    totals = collection["totals"]
    cost = totals.get("cost_usd")
    unpriced = sum(1 for model in collection["models"] if model.get("cost_usd") is None)
    if cost is None:
        cost_text = "unknown (no price in the price table)"
    elif unpriced:
        cost_text = f"{cost:.4f} USD (estimate from the price table; {unpriced} models without a price not included)"
    else:
        cost_text = f"{cost:.4f} USD (estimate from the price table)"
    return (
        f"{len(collection['models'])} models: {totals['collected']} responses collected in this run, "
        f"{totals['cached']} already stored, {totals['failed']} failed, {totals['not_sent']} not sent; "
        f"tokens {totals['tokens_in']} in / {totals['tokens_out']} out; cost {cost_text}."
    )


def collection_markdown(collection: dict[str, Any]) -> str:
    """Return the artifact of a collection flow run."""
    parts = [
        f"# BSB collection, run {collection['run_id']}: {collection['status']}",
        totals_line(collection),
        models_table(collection["models"]),
        "## Failures",
        failures_section(collection["models"]),
        "## Where the results are",
        "\n".join(location_lines(collection)),
    ]
    return "\n\n".join(parts) + "\n"


def scoring_markdown(scoring: dict[str, Any]) -> str:
    """Return the artifact of a scoring flow run."""
    return f"# BSB scoring\n\n{scoring_line(scoring)}\n\nStore: `{scoring['db']}`\n"


def nightly_markdown(collection: dict[str, Any], scoring: dict[str, Any] | None, signatures: int | None) -> str:
    """Return the artifact of a nightly flow run: collection, scoring and signatures together."""
    parts = [
        f"# BSB nightly run {collection['run_id']}: {collection['status']}",
        totals_line(collection),
        models_table(collection["models"]),
        "## Failures",
        failures_section(collection["models"]),
        "## Scoring and signatures",
        scoring_line(scoring) + "\n\n" + signatures_line(signatures),
        "## Where the results are",
        "\n".join(location_lines(collection)),
    ]
    return "\n\n".join(parts) + "\n"


__all__ = ["MODEL_COLUMNS", "collection_markdown", "models_table", "nightly_markdown", "scoring_markdown"]
