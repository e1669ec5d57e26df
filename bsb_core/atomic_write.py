"""Atomic file writes: write under a temporary name in the target folder, then rename over the target."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, TypeVar

T = TypeVar("T")


def write_atomically(path: str | Path, write: Callable[[IO[Any]], T], *, binary: bool = False) -> T:
    """Call ``write`` with a stream on a temporary file beside ``path``, then rename it to ``path``.

    An existing file at ``path`` is replaced only when ``write`` returns, so an error or Ctrl-C
    leaves it as it was and removes the temporary file. Text streams are UTF-8 with newlines
    written as given. Returns what ``write`` returns; OSError from creating, writing or renaming
    the file propagates (FileNotFoundError when the folder does not exist).
    """
    path = Path(path)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        if binary:
            with os.fdopen(handle, "wb") as stream:
                result = write(stream)
        else:
            with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
                result = write(stream)
        # mkstemp creates the file as 0600; give it the mode a plain open() would.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return result


__all__ = ["write_atomically"]
