"""The ``bsb`` command line: thin commands over the library."""

from __future__ import annotations

import logging
import sys
from importlib.metadata import entry_points

import click

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
from bsb_core import cli_collect  # noqa
from bsb_core import cli_signature  # noqa
from bsb_core import cli_cards  # noqa
