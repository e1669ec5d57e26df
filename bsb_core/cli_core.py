"""Core ``bsb`` commands: import, score, models, metrics, export."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from bsb_core.cli import db_option, main
from bsb_core.store import Store

console = Console(stderr=True)


def progress_bar() -> Progress:
    """Return a rich progress bar that writes to stderr and hides itself when not a terminal."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    )


@main.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["auto", "jsonl", "csv", "alpaca-eval", "llm-logs"]),
    default="auto",
    show_default=True,
    help="Input format; auto guesses from the file name and first bytes.",
)
@db_option
def import_command(paths: tuple[Path, ...], fmt: str, db: str | None) -> None:
    """Import transcripts (JSONL, CSV, AlpacaEval model_outputs.json, llm's logs.db).

    JSONL/CSV rows need `model`, `prompt` and `response`; `prompt_id`, `stream`, `topic`,
    `constraints` and `sample` are optional and every other field is kept as metadata.
    Rows with a prompt but no model and no response import as prompts only. Exits with
    status 1 when any row was rejected; all good rows are imported either way.
    """
    from bsb_core.importers import ImportFormatError, ImportSummary, import_file

    total = ImportSummary()
    failed_files = 0
    with Store(db) as store, progress_bar() as bar:
        for path in paths:
            task = bar.add_task(f"import {path.name}", total=None)
            try:
                summary = import_file(store, path, fmt, progress=lambda n, task=task: bar.advance(task, n))
            except ImportFormatError as error:
                click.echo(f"error: {error}", err=True)
                failed_files += 1
                continue
            total.add(summary)
            for reason in summary.rejected:
                click.echo(reason, err=True)
    click.echo(
        f"imported {total.imported} responses, skipped {total.duplicates} duplicates, rejected {len(total.rejected)} rows"
        + (f", {total.prompts_only} prompts without responses" if total.prompts_only else "")
        + (f", kept {total.empty} empty responses (flagged)" if total.empty else "")
        + (f", {failed_files} unreadable files" if failed_files else "")
    )
    if total.rejected or failed_files:
        sys.exit(1)


@main.command("score")
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True, help="spaCy worker processes (n_process).")
@click.option("--batch-size", type=click.IntRange(min=1), default=32, show_default=True, help="Responses per spaCy batch.")
@db_option
def score_command(workers: int, batch_size: int, db: str | None) -> None:
    """Compute metric values for every response not yet scored with the current metric set."""
    from bsb_core.metrics.engine import METRIC_SET_VERSION
    from bsb_core.scoring import score_store

    with Store(db) as store:
        pending = store.count_responses_to_score(METRIC_SET_VERSION)
        with progress_bar() as bar:
            task = bar.add_task("score", total=pending)
            summary = score_store(store, workers=workers, batch_size=batch_size, progress=lambda n: bar.advance(task, n))
    click.echo(
        f"scored {summary.responses} responses ({summary.values} metric values, metric set {summary.metric_set_version},"
        f" pipeline {summary.pipeline})"
    )


@main.command("models")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@db_option
def models_command(as_json: bool, db: str | None) -> None:
    """List the models in the store with their response counts."""
    with Store(db) as store:
        rows = store.models()
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("no models yet: run `bsb run`, `bsb collect` or `bsb import FILE`")
        return
    table = Table("model", "provider", "responses", "failed", "simulated")
    for row in rows:
        table.add_row(row["name"], row["provider"], str(row["responses"]), str(row["failed"] or 0), "yes" if row["simulated"] else "")
    Console().print(table)


@main.command("metrics")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "markdown", "json"]),
    default="table",
    show_default=True,
    help="table for the terminal; markdown is docs/metrics.md.",
)
def metrics_command(fmt: str) -> None:
    """List the metric registry: name, family, unit, direction and definition."""
    from bsb_core.metrics.docs import registry_markdown
    from bsb_core.metrics.engine import REGISTRY

    if fmt == "markdown":
        click.echo(registry_markdown(), nl=False)
        return
    if fmt == "json":
        click.echo(json.dumps([metric.__dict__ for metric in REGISTRY], indent=2))
        return
    table = Table("metric", "family", "unit", "direction", "definition")
    for metric in REGISTRY:
        table.add_row(metric.name, metric.family, metric.unit, metric.direction, metric.definition)
    Console(width=200).print(table)


@main.command("export")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl", show_default=True, help="Output format.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Output file. Default: standard output.")
@db_option
def export_command(fmt: str, output: Path | None, db: str | None) -> None:
    """Export responses with their metadata and metric values (current metric set)."""
    from bsb_core.exporting import write_csv, write_jsonl
    from bsb_core.metrics.engine import METRIC_SET_VERSION

    handle = output.open("w", encoding="utf-8", newline="") if output else sys.stdout
    try:
        with Store(db) as store:
            rows = store.export_rows(METRIC_SET_VERSION)
            count = write_jsonl(rows, handle) if fmt == "jsonl" else write_csv(rows, handle)
    finally:
        if output:
            handle.close()
    if output:
        click.echo(f"exported {count} responses to {output}", err=True)


__all__ = ["csv", "progress_bar"]
