"""The process that owns a run, and whether that process has ended on this host.

A run row records its owner's host name, pid and start stamp, so a later process can tell a
run whose process was killed (SIGKILL, out-of-memory, power loss) from one still running.
"""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

PROC = Path("/proc")


@dataclass(frozen=True)
class RunOwner:
    """Host name, pid and start stamp of the process that runs a BSB run.

    ``start`` is ``"<boot id>:<pid namespace inode>:<start time in clock ticks since boot>"`` on
    Linux, so a pid that a later process reuses, or a run from before a reboot, is distinguished
    from the original process. It is None where ``/proc`` does not provide these values.
    """

    host: str
    pid: int
    start: str | None


def host_name() -> str:
    """Return the host name that run owners record (``socket.gethostname()``)."""
    return socket.gethostname()


def current_owner() -> RunOwner:
    """Return the owner record of this process."""
    pid = os.getpid()
    return RunOwner(host_name(), pid, process_start(pid))


def process_start(pid: int) -> str | None:
    """Return the start stamp of process ``pid`` (see :class:`RunOwner`), or None when it cannot be read.

    The stamp names this process's pid namespace, so ``pid`` must be a pid as seen from here.
    """
    boot_id = _boot_id()
    namespace = _pid_namespace()
    try:
        fields = _stat_fields(pid)
    except (FileNotFoundError, ProcessLookupError):
        return None
    if boot_id is None or namespace is None or fields is None:
        return None
    return f"{boot_id}:{namespace}:{fields[1]}"


def owner_has_ended(owner: RunOwner) -> bool:
    """Return True when ``owner`` ran on this host and that process no longer runs.

    Returns False (the run is left alone) when the owner ran on another host, in another
    pid namespace (another container with the same host name), or when this platform gives
    no way to check.
    """
    if owner.host != host_name():
        return False
    if not 0 < owner.pid < 2**31:
        # Not a pid this system can have (another tool's row): the owner cannot be checked.
        return False
    if owner.start is not None:
        ended = _linux_owner_has_ended(owner.pid, owner.start)
        if ended is not None:
            return ended
    return _signal_owner_has_ended(owner.pid)


def _linux_owner_has_ended(pid: int, start: str) -> bool | None:
    """Return whether the process with this start stamp has ended, per ``/proc``, or None when this process cannot tell."""
    parts = start.split(":")
    if len(parts) != 3:
        log.warning("unexpected owner start stamp %r of process %d", start, pid)
        return None
    recorded_boot, recorded_namespace, recorded_ticks = parts
    boot_id = _boot_id()
    if boot_id is None:
        return None
    if recorded_boot != boot_id:
        # The machine has restarted since the run started, which ended every process of that boot.
        return True
    if recorded_namespace != _pid_namespace():
        # The pid belongs to another pid namespace, so /proc here cannot show that process.
        return False
    try:
        fields = _stat_fields(pid)
    except (FileNotFoundError, ProcessLookupError):
        # A /proc mounted with hidepid=2 also hides other users' live processes, so ask the kernel.
        return _signal_owner_has_ended(pid)
    if fields is None:
        return None
    state, ticks = fields
    # A zombie (Z) or dead (X) process has exited and only waits for its parent to reap it.
    return state in ("Z", "X") or ticks != recorded_ticks


def _signal_owner_has_ended(pid: int) -> bool:
    if os.name == "nt":
        # On Windows os.kill(pid, 0) terminates the process instead of probing it.
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        # The process exists and belongs to another user.
        return False
    # NOTE: without /proc a zombie or a reused pid counts as the owner still running.
    return False


def _boot_id() -> str | None:
    try:
        return (PROC / "sys/kernel/random/boot_id").read_text(encoding="ascii").strip()
    except OSError:
        return None


def _pid_namespace() -> str | None:
    """Return the inode number that identifies this process's pid namespace."""
    try:
        return str(os.stat(PROC / "self/ns/pid").st_ino)
    except OSError:
        return None


def _stat_fields(pid: int) -> tuple[str, str] | None:
    """Return (state, start time in clock ticks) of ``pid`` from ``/proc/PID/stat``, or None when it cannot be read.

    Raises FileNotFoundError or ProcessLookupError when no process ``pid`` exists.
    """
    try:
        text = (PROC / str(pid) / "stat").read_text(encoding="utf-8", errors="replace")
    except (FileNotFoundError, ProcessLookupError):
        raise
    except OSError:
        # For example a /proc mounted with hidepid=1, which hides what other users' processes contain.
        return None
    # The command name (field 2) is in parentheses and may contain spaces or ")", so split after the last ")".
    fields = text.rpartition(")")[2].split()
    if len(fields) < 20:
        log.warning("unexpected /proc/%d/stat format: %r", pid, text[:200])
        return None
    # fields[0] is field 3 (state) of proc(5); field 22 (starttime) is fields[19].
    return fields[0], fields[19]


__all__ = ["RunOwner", "current_owner", "host_name", "owner_has_ended", "process_start"]
