"""Output shared by the ``bsb`` commands: tables that print user text as is, and output files."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, TypeVar

import click
from rich.console import Console
from rich.table import Table

from bsb_core.atomic_write import write_atomically

T = TypeVar("T")


def print_table(table: Table, width: int | None = None) -> None:
    """Print ``table`` to standard output with Rich markup off.

    Model names, scopes and other user text may contain brackets (``acme/[bold]x``,
    ``[run:1]``) that Rich would otherwise read as style tags and drop.
    """
    Console(markup=False, width=width).print(table)


def check_output_folder(output: Path) -> None:
    """End the command with an error when the folder of ``output`` does not exist."""
    if not output.parent.is_dir():
        raise click.ClickException(f"cannot write {output}: the folder {output.parent} does not exist; create it first")


def write_error(output: Path, error: OSError) -> click.ClickException:
    """Return the command error for an OSError raised while writing ``output``."""
    if isinstance(error, FileNotFoundError) and not output.parent.is_dir():
        return click.ClickException(f"cannot write {output}: the folder {output.parent} does not exist; create it first")
    reason = error.strerror or str(error)
    if isinstance(error, PermissionError):
        return click.ClickException(f"cannot write {output}: {reason}; check the folder's permissions")
    return click.ClickException(f"cannot write {output}: {reason}")


def write_output_file(output: Path, write: Callable[[IO[Any]], T], *, binary: bool = False) -> T:
    """Write ``output`` atomically with ``write`` (see :func:`write_atomically`); OSError ends the command."""
    check_output_folder(output)
    try:
        return write_atomically(output, write, binary=binary)
    except OSError as error:
        raise write_error(output, error) from None


__all__ = ["check_output_folder", "print_table", "write_error", "write_output_file"]
