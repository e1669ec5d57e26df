"""A process-wide progress sink, so ``bsb run`` can draw progress bars for flows it runs in-process.

Flow runs started by a worker have no sink, and every report is dropped.
"""

from __future__ import annotations

import threading
from typing import Protocol


class ProgressSink(Protocol):
    """Receives progress reports: ``done`` of ``total`` items for the step named ``label``."""

    def update(self, label: str, done: int, total: int | None) -> None: ...


_lock = threading.Lock()
_sink: ProgressSink | None = None


def set_progress_sink(sink: ProgressSink | None) -> None:
    """Install ``sink`` for this process (None removes it)."""
    global _sink
    with _lock:
        _sink = sink


def report_progress(label: str, done: int, total: int | None) -> None:
    """Pass a progress report to the installed sink, if any."""
    with _lock:
        sink = _sink
    if sink is not None:
        sink.update(label, done, total)
