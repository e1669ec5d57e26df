"""The ``bsb`` command line: thin commands over the library."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])

from bsb_core import __version__


class PluginGroup(click.Group):
    """A click group that also offers commands declared under the ``bsb.commands`` entry point.

    ``flows`` contributes ``bsb run`` this way, so ``bsb_core`` itself never imports it. The
    entry points load on first use, not at import, which keeps ``flows.cli`` importable on its own.
    """

    plugins_loaded = False

    def load_plugins(self) -> None:
        """Add every entry-point command not already defined here."""
        if self.plugins_loaded:
            return
        self.plugins_loaded = True
        for entry_point in entry_points(group="bsb.commands"):
            if entry_point.name in self.commands:
                continue
            try:
                self.add_command(entry_point.load(), entry_point.name)
            except ImportError as error:
                logging.getLogger(__name__).warning("command %s is unavailable: %s", entry_point.name, error)

    def list_commands(self, ctx: click.Context) -> list[str]:
        self.load_plugins()
        return super().list_commands(ctx)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        self.load_plugins()
        return super().get_command(ctx, cmd_name)


@click.group(cls=PluginGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="bsb")
@click.option("-v", "--verbose", count=True, help="Log more: -v for info, -vv for debug.")
def main(verbose: int) -> None:
    """BSB, the Behavioral Signature Benchmark: measure how language models answer."""
    levels = {0: logging.WARNING, 1: logging.INFO}
    level = levels.get(verbose, logging.DEBUG)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)


def resolve_db_option(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """Resolve ``--db`` the same way for every command (see :func:`bsb_core.config.store_path`).

    A command with its own ``--config`` option gets the raw value and resolves the path with
    that config itself.
    """
    from bsb_core.config import ConfigError, store_path

    if any(other.name == "config_file" for other in ctx.command.params):
        return value
    try:
        return str(store_path(value))
    except ConfigError as error:
        raise click.UsageError(f"cannot tell which store to use: {error}") from None


def db_option(fn: F) -> F:
    """Add ``--db PATH`` to a command; the value passed on is the resolved store path."""
    return click.option(
        "--db",
        "db",
        type=click.Path(dir_okay=False),
        default=None,
        callback=resolve_db_option,
        help="SQLite store to use. Default: $BSB_DB, else the config's `database`, else ./bsb.db.",
    )(fn)


# Command modules register themselves on `main`; keep one import per module here.
from bsb_core import cli_core  # noqa: E402,F401
from bsb_core import cli_collect  # noqa
from bsb_core import cli_signature  # noqa
from bsb_core import cli_cards  # noqa
