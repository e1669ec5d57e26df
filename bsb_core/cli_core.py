"""Core ``bsb`` commands: import, score, models, metrics, export."""

from __future__ import annotations

import csv
import json
import sqlite3
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from bsb_core.cli import db_option, main
from bsb_core.cli_output import check_output_folder, print_table, write_output_file
from bsb_core.paths import db_path
from bsb_core.store import NotABsbStoreError, ReadOnlyStoreError, Store

if TYPE_CHECKING:
    from bsb_core.importers import ImportSummary

console = Console(stderr=True)


def progress_bar() -> Progress:
    """Return a rich progress bar that writes to stderr and hides itself when not a terminal."""
    return Progress(
        # The description contains file names, which may contain brackets that are not Rich markup.
        TextColumn("{task.description}", markup=False),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    )


@contextmanager
def open_store(db: str | None, must_exist: bool = False) -> Iterator[Store]:
    """Open the store for a command; a store SQLite cannot open or write ends the command with a clear error.

    With ``must_exist`` (commands that only read), a missing file is an error instead of a new
    empty store, and a store this process cannot write (or whose folder it cannot write) is
    opened read-only instead of failing.
    """
    path = db_path(db)
    if must_exist and str(path) != ":memory:" and not path.exists():
        raise click.ClickException(
            f"no store at {path.absolute()}: check the path (--db, BSB_DB or bsb.toml's database), or create one with"
            " `bsb run`, `bsb collect` or `bsb import FILE`"
        )
    try:
        store = Store.for_reading(db) if must_exist else Store(db)
    except (NotABsbStoreError, ReadOnlyStoreError) as error:
        raise click.ClickException(str(error)) from None
    except (sqlite3.Error, OSError) as error:
        raise click.ClickException(f"cannot open the store {path.absolute()}: {store_error_hint(path, error)}") from None
    with store:
        yield store


def store_error_hint(path: Path, error: BaseException) -> str:
    """Return ``error`` followed by what to do about it, for a store at ``path``."""
    text = str(error)
    if path.is_dir():
        return f"{text}; it is a folder: pass --db (or set BSB_DB) with a file path such as {path / 'bsb.db'}"
    if "not a database" in text:
        # SQLite's own text ("file is not a database") would only repeat this message.
        return "the file is not a SQLite database: pass --db with a BSB store or a new file name"
    if "readonly" in text or "unable to open" in text or isinstance(error, PermissionError):
        return (
            f"{text}; SQLite must be able to write the store and create its -wal and -shm files in the same folder:"
            " fix the permissions or copy the store to a writable folder"
        )
    if "locked" in text or "busy" in text:
        return f"{text}; another process holds a write lock for too long: wait for it to finish and run the command again"
    return text


def echo_import_summary(total: ImportSummary, failed_files: int) -> None:
    """Print the one-line import summary to standard output."""
    click.echo(
        f"imported {total.imported} responses, skipped {total.duplicates} duplicates, rejected {len(total.rejected)} rows"
        + (f", {total.prompts_only} prompts without responses" if total.prompts_only else "")
        + (f", kept {total.empty} empty responses (flagged)" if total.empty else "")
        + (f", {failed_files} unreadable files" if failed_files else "")
    )


@main.command("import")
# readable=False: an unreadable file gets its own error while the other files still import.
@click.argument("paths", nargs=-1, required=True, type=click.Path(readable=False, path_type=Path))
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
    status 1 when any row or file was rejected (all good rows are imported either way),
    and 130 on Ctrl-C; running the same command again then imports the rest.
    """
    from bsb_core.importers import ImportFormatError, ImportSummary, import_file

    total = ImportSummary()
    failed_files = 0
    with open_store(db) as store, progress_bar() as bar:
        for path in paths:
            task = bar.add_task(f"import {path.name}", total=None)
            summary = ImportSummary()
            try:
                import_file(store, path, fmt, progress=lambda n, task=task: bar.advance(task, n), summary=summary)
            except ImportFormatError as error:
                # Rows stored before a reader gave up (an llm logs.db that breaks mid-way) still count.
                _add_file_report(total, summary)
                click.echo(f"error: {error}", err=True)
                failed_files += 1
                continue
            except KeyboardInterrupt:
                _add_file_report(total, summary)
                echo_import_summary(total, failed_files)
                click.echo(f"interrupted while importing {path}; run the same command again to import the rest"
                           " (rows already imported are skipped as duplicates)", err=True)
                sys.exit(130)
            except sqlite3.Error as error:
                _add_file_report(total, summary)
                echo_import_summary(total, failed_files)
                raise click.ClickException(f"cannot write to the store {store.path}: {store_error_hint(store.path, error)}") from None
            _add_file_report(total, summary)
    echo_import_summary(total, failed_files)
    if total.rejected or failed_files:
        sys.exit(1)


def _add_file_report(total: ImportSummary, summary: ImportSummary) -> None:
    for reason in summary.rejected:
        click.echo(reason, err=True)
    for warning in summary.warnings:
        click.echo(f"warning: {warning}", err=True)
    total.add(summary)


@main.command("score")
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True, help="spaCy worker processes (n_process).")
@click.option("--batch-size", type=click.IntRange(min=1), default=32, show_default=True, help="Responses per spaCy batch.")
@db_option
def score_command(workers: int, batch_size: int, db: str | None) -> None:
    """Compute metric values for every response not yet scored with the current metric set.

    Values are saved every few hundred responses, so after Ctrl-C or a crash running the
    command again scores only what is left.
    """
    from bsb_core.metrics.engine import METRIC_SET_VERSION
    from bsb_core.scoring import score_store

    scored = 0

    def advance(count: int) -> None:
        nonlocal scored
        scored += count
        bar.advance(task, count)

    with open_store(db) as store:
        try:
            pending = store.count_responses_to_score(METRIC_SET_VERSION)
            with progress_bar() as bar:
                task = bar.add_task("score", total=pending)
                summary = score_store(store, workers=workers, batch_size=batch_size, progress=advance)
        except KeyboardInterrupt:
            click.echo(f"interrupted after scoring {scored} responses, whose values are saved; run `bsb score` again to score the rest", err=True)
            sys.exit(130)
        except sqlite3.Error as error:
            raise click.ClickException(f"cannot score the store {store.path}: {store_error_hint(store.path, error)}") from None
    click.echo(
        f"scored {summary.responses} responses ({summary.values} metric values, metric set {summary.metric_set_version},"
        f" pipeline {summary.pipeline})"
    )


@main.command("models")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@db_option
def models_command(as_json: bool, db: str | None) -> None:
    """List the models in the store with their response counts."""
    with open_store(db, must_exist=True) as store:
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
    print_table(table)


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
    print_table(table, width=200)


@main.command("export")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl", show_default=True, help="Output format.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Output file. Default: standard output.")
@db_option
def export_command(fmt: str, output: Path | None, db: str | None) -> None:
    """Export responses with their metadata and metric values (current metric set).

    With -o the file is written under a temporary name and renamed at the end, so an
    existing file is replaced only by a complete export.
    """
    from bsb_core.exporting import write_csv, write_jsonl
    from bsb_core.metrics.engine import METRIC_SET_VERSION

    if output:
        check_output_folder(output)
    with open_store(db, must_exist=True) as store, store.lenient_text(), store.read_snapshot():

        def rows() -> Iterator[dict[str, Any]]:
            return store.export_rows(METRIC_SET_VERSION)

        try:
            if output is None:
                count = write_jsonl(rows(), sys.stdout) if fmt == "jsonl" else write_csv(rows, sys.stdout)
            elif fmt == "jsonl":
                count = write_output_file(output, lambda stream: write_jsonl(rows(), stream))
            else:
                count = write_output_file(output, lambda stream: write_csv(rows, stream))
        except sqlite3.Error as error:
            raise click.ClickException(f"cannot read the store {store.path}: {store_error_hint(store.path, error)}") from None
    if output:
        click.echo(f"exported {count} responses to {output}", err=True)


__all__ = ["csv", "progress_bar"]
