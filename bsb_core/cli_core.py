"""Core ``bsb`` commands: import, score, models, metrics, export."""

from __future__ import annotations

from bsb_core.cli import main  # noqa: F401
