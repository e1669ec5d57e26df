"""One collection per model and scope on a store at a time, across processes.

Two ``bsb collect`` processes (or a flow and a command) that collect the same model in the same
scope on one store would both send every pending request and pay for it twice, because each
finds the other's responses only after they are stored. The second one therefore waits here
until the first has finished. It then finds everything stored and sends only what is missing.

The lock is a POSIX record lock (``fcntl.lockf``) on one byte of a file next to the store
(``<store>.collect-lock``), at an offset derived from the model and scope. The operating
system releases it when the process ends, so a killed run leaves no stale lock. Collections of
different models proceed in parallel.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from bsb_core.store import content_hash

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

LOCK_SUFFIX = ".collect-lock"

# Seconds between attempts to take a lock that another process holds.
POLL_INTERVAL_S = 0.2

# Lock offsets are drawn from this many bytes of the lock file (record locks need no real data there).
OFFSET_RANGE = 2**31 - 1

# POSIX record locks belong to the process, and closing any descriptor of the file releases all of
# them, so each lock file stays open on one descriptor for the life of the process.
_descriptors: dict[str, int] = {}
_held_locks: set[tuple[str, int]] = set()  # (lock file, offset) held by this process
_guard = threading.Lock()


def lock_path(store_path: str | os.PathLike[str]) -> Path | None:
    """Return the lock file of a store, or None for an in-memory store."""
    if str(store_path) == ":memory:":
        return None
    return Path(f"{store_path}{LOCK_SUFFIX}")


def _offset(spec: str, scope_key: str) -> int:
    return int(content_hash(spec, scope_key), 16) % OFFSET_RANGE


def _try_lock(path: str, offset: int) -> bool:
    # Returns True when this process now holds (path, offset).
    with _guard:
        if (path, offset) in _held_locks:
            return False  # another task of this process collects the same model and scope
        descriptor = _descriptors.get(path)
        if descriptor is None:
            descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)  # OSError goes to model_lock
            _descriptors[path] = descriptor
        try:
            fcntl.lockf(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, offset)
        except OSError:  # EACCES or EAGAIN: another process holds it
            return False
        _held_locks.add((path, offset))
        return True


def _unlock(path: str, offset: int) -> None:
    with _guard:
        _held_locks.discard((path, offset))
        fcntl.lockf(_descriptors[path], fcntl.LOCK_UN, 1, offset)


@asynccontextmanager
async def model_lock(store_path: str | os.PathLike[str], spec: str, scope_key: str) -> AsyncIterator[None]:
    """Hold the collection lock of ``spec`` in ``scope_key`` on the store, waiting while another run holds it."""
    path = lock_path(store_path)
    if path is None or fcntl is None:
        # NOTE: without fcntl (Windows) two processes can collect one model at once and send its requests twice.
        yield
        return

    key = str(path)
    offset = _offset(spec, scope_key)
    waited = False
    while True:
        try:
            locked = _try_lock(key, offset)
        except OSError as exc:
            # A store in a folder without write access for the lock file still collects, unguarded.
            log.warning("cannot create the lock file %s (%s); collecting %s without it", key, exc.strerror, spec)
            yield
            return
        if locked:
            break
        if not waited:
            log.warning("another collection of %s (scope %r) is running on %s; waiting for it to finish", spec, scope_key, store_path)
            waited = True
        await asyncio.sleep(POLL_INTERVAL_S)
    if waited:
        log.info("the other collection of %s finished; sending only what it did not store", spec)
    try:
        yield
    finally:
        _unlock(key, offset)


__all__ = ["LOCK_SUFFIX", "lock_path", "model_lock"]
