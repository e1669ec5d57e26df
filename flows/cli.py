"""``bsb run``: run the nightly flow once, in-process, and print where the results are.

Prefect runs in ephemeral mode: a temporary local server on 127.0.0.1 whose database lives in
``./.prefect/`` (``PREFECT_HOME``), separate from BSB's store and from the user's global
Prefect home. Set ``PREFECT_API_URL`` to record the run on a Prefect server instead.

The command lives in ``flows`` because ``bsb_core`` never imports ``flows``: it reaches the
``bsb`` command line through the ``bsb.commands`` entry point declared in pyproject.toml.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from pathlib import Path
from typing import Any

import click

from bsb_core.cli import db_option
from bsb_core.cli_collect import split_models
from bsb_core.cli_core import progress_bar
from bsb_core.config import ConfigError
from bsb_core.paths import db_path

# Exit statuses of `bsb run`.
EXIT_PARTIAL = 3  # some models failed, the others were collected and scored (click uses 2 for usage errors)
EXIT_FAILED = 1  # every model failed, or the run could not start

# Seconds the temporary Prefect server may take to start. Its first start migrates a new
# database, which took 11 to 23 s on a shared 2-core machine, close to Prefect's 20 s default.
EPHEMERAL_STARTUP_TIMEOUT_S = 120

# Seconds Prefect's server waits on a locked SQLite database before it reports an error
# (Prefect's default is 10; concurrent task runs write state, logs and events at once).
PREFECT_DATABASE_TIMEOUT_S = 60


def prefect_environment(project_dir: Path, verbose: int) -> dict[str, str]:
    """Return the Prefect settings ``bsb run`` uses unless the environment already sets them.

    Telemetry and analytics are off, so a local run contacts no host other than 127.0.0.1.
    """
    return {
        "PREFECT_HOME": str(project_dir / ".prefect"),
        "PREFECT_SERVER_EPHEMERAL_ENABLED": "true",
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": str(EPHEMERAL_STARTUP_TIMEOUT_S),
        "PREFECT_SERVER_DATABASE_TIMEOUT": str(PREFECT_DATABASE_TIMEOUT_S),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "PREFECT_LOGGING_EXTRA_LOGGERS": "bsb_core",
        # Flow and task logs still reach the Prefect database; the terminal shows the progress bars.
        "PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL": "INFO" if verbose else "WARNING",
    }


class RichProgressSink:
    """Draws one progress bar per flow step (``collect <model>``, ``score``)."""

    def __init__(self, bar: Any) -> None:
        self.bar = bar
        self.tasks: dict[str, Any] = {}

    def update(self, label: str, done: int, total: int | None) -> None:
        if label not in self.tasks:
            self.tasks[label] = self.bar.add_task(label, total=total)
        self.bar.update(self.tasks[label], completed=done, total=total)


@click.command("run")
@click.option(
    "--models",
    multiple=True,
    metavar="SPEC[,SPEC...]",
    help="Models as provider/model, comma-separated or repeated. Default: the config's models, else the simulated personas.",
)
@click.option("--samples", type=click.IntRange(1, 100), default=None, help="Samples per prompt and model. Default: the config's samples (1).")
@click.option("--suite", default=None, help="Prompt suite name or folder. Default: the config's suite (core).")
@click.option(
    "--scope",
    "scope_key",
    default=None,
    help="Scope key: requests with a stored response under this key are not sent again. Default: today's UTC date.",
)
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help="Config file. Default: $BSB_CONFIG, else ./bsb.toml.")
@db_option
@click.pass_context
def run_command(
    ctx: click.Context,
    models: tuple[str, ...],
    samples: int | None,
    suite: str | None,
    scope_key: str | None,
    config_file: str | None,
    db: str | None,
) -> None:
    """Run the nightly job once: collect, score and refresh signatures, then print where the results are.

    Works with no API keys: without configured models it collects from the simulated personas.
    Exit status 0 when every model completed, 3 when some failed, 1 when all failed.
    """
    from bsb_core.store import Store
    from bsb_core.suites import SuiteError, load_suite

    verbose = int(ctx.find_root().params.get("verbose") or 0)
    for key, value in prefect_environment(Path.cwd(), verbose).items():
        os.environ.setdefault(key, value)

    from flows.collect import CollectionFailedError
    from flows.nightly import nightly
    from flows.progress import set_progress_sink
    from flows.run_options import resolve_config, resolve_db

    if not verbose:
        # Prefect's INFO records propagate to the root handler that `bsb` installs. Only warnings
        # and the progress bars go to the terminal, and every record still reaches Prefect's database.
        for handler in logging.getLogger().handlers:
            handler.setLevel(logging.WARNING)

    model_specs = split_models(models) or None
    try:
        settings = resolve_config(config_file, model_specs, suite, samples)
        load_suite(settings.suite)
    except (ConfigError, SuiteError) as exc:
        raise click.ClickException(str(exc)) from None
    db_file = resolve_db(db, settings)
    where = os.environ.get("PREFECT_API_URL") or f"a temporary local server, data in {os.environ['PREFECT_HOME']}"
    click.echo(f"running the nightly flow on {len(settings.model_specs())} models with Prefect on {where}", err=True)

    with progress_bar() as bar:
        set_progress_sink(RichProgressSink(bar))
        try:
            summary = asyncio.run(
                nightly(models=model_specs, suite=suite, samples=samples, db=db_file, config=config_file, scope_key=scope_key)
            )
        except CollectionFailedError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(EXIT_FAILED)
        finally:
            set_progress_sink(None)

    with Store(db_file) as store:
        counts = {table: store.count(table) for table in ("models", "responses", "metric_values", "signatures")}
    print_summary(summary, counts)
    if summary["status"] == "partial":
        sys.exit(EXIT_PARTIAL)


def print_summary(summary: dict[str, Any], counts: dict[str, int]) -> None:
    """Print the run's outcome, the store's contents and how to open the app."""
    totals = summary["totals"]
    click.echo(
        f"BSB run {summary['run_id']} {summary['status']}: {len(summary['models'])} models, "
        f"{totals['collected']} responses collected, {totals['cached']} already stored, {totals['failed']} failed; "
        f"{summary['scoring']['responses']} responses scored"
    )
    for row in summary["models"]:
        if row["error"]:
            click.echo(f"  failed {row['model']}: {row['error']}")
    click.echo(
        f"results: {summary['db']} ({counts['models']} models, {counts['responses']} responses, "
        f"{counts['metric_values']} metric values, {counts['signatures']} signatures)"
    )
    # The app opens $BSB_DB, else ./bsb.db; name the store only when that is a different file.
    prefix = "" if db_path(None).resolve() == Path(summary["db"]) else f"BSB_DB={summary['db']} "
    click.echo(f"open the app: {prefix}{app_command()}")


def app_command() -> str:
    """Return the command that serves the app with this interpreter, which works without an activated venv.

    The interpreter path is relative when it lies under the working folder (``.venv/bin/python``).
    """
    interpreter = Path(sys.executable)
    try:
        interpreter = interpreter.relative_to(Path.cwd())
    except ValueError:
        pass
    return f"{interpreter} -m ui.server"


__all__ = ["prefect_environment", "run_command"]
