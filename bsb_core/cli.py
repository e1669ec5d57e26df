"""The ``bsb`` command line: thin commands over the library."""

from __future__ import annotations

import logging
import sys

import click

from bsb_core import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="bsb")
@click.option("-v", "--verbose", count=True, help="Log more: -v for info, -vv for debug.")
def main(verbose: int) -> None:
    """BSB, the Behavioral Signature Benchmark: measure how language models answer."""
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)


def db_option(fn):
    """Add ``--db PATH`` (default: ``BSB_DB`` or ``./bsb.db``) to a command."""
    return click.option(
        "--db",
        "db",
        type=click.Path(dir_okay=False),
        default=None,
        help="SQLite store to use. Default: $BSB_DB, else ./bsb.db.",
    )(fn)


# Command modules register themselves on `main`; keep one import per module here.
from bsb_core import cli_core  # noqa: E402,F401
