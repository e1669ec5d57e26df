"""Helpers for the flow tests: a reduced copy of the core suite and process bookkeeping.

The reduced suite keeps the first topics of ``prompts/core`` with every contrast variant and
drops the value prompts, so a flow run exercises both streams in a few seconds per model.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from bsb_core.paths import REPO_ROOT


def reduced_prompts(destination: Path, topics: int = 2) -> Path:
    """Copy ``prompts/`` to ``destination`` with the core suite cut to ``topics`` topics; return the folder."""
    shutil.copytree(REPO_ROOT / "prompts", destination)
    topics_path = destination / "core" / "topics.json"
    data = json.loads(topics_path.read_text(encoding="utf-8"))
    data["topics"] = data["topics"][:topics]
    topics_path.write_text(json.dumps(data, indent=1), encoding="utf-8")
    (destination / "core" / "value_prompts.json").unlink(missing_ok=True)
    return destination


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def processes_with_marker(marker: str) -> list[int]:
    """Return the ids of live processes whose environment contains ``marker`` (this process excluded)."""
    needle = marker.encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            state = (entry / "stat").read_text().split(")")[-1].split()[0]
        except OSError:
            continue
        if needle in environ and state != "Z":
            found.append(int(entry.name))
    return found


def group_members(pgid: int) -> list[int]:
    """Return the ids of live (not zombie) processes in process group ``pgid``."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        state, group = fields[0], int(fields[2])
        if group == pgid and state != "Z":
            members.append(int(entry.name))
    return members


def stop_process_group(process: subprocess.Popen[bytes], timeout_s: float = 15.0) -> None:
    """Send SIGTERM to the process group that ``process`` leads, then SIGKILL what is left after ``timeout_s``."""
    pgid = process.pid
    try:
        os.killpg(pgid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        pass
    deadline = time.monotonic() + timeout_s
    while group_members(pgid) and time.monotonic() < deadline:
        time.sleep(0.2)
    for pid in group_members(pgid):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    if process.poll() is None:
        process.kill()
        process.wait()


def kill_marked(marker: str, timeout_s: float = 10.0) -> list[int]:
    """Stop every process whose environment contains ``marker``; return the ids that were still alive."""
    leftover = processes_with_marker(marker)
    for pid in leftover:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + timeout_s
    while processes_with_marker(marker) and time.monotonic() < deadline:
        time.sleep(0.2)
    for pid in processes_with_marker(marker):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return leftover
