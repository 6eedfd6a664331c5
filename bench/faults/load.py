"""Load on one `cspm-bot serve`: concurrent scans and a stream of Slack requests."""

from __future__ import annotations

from pathlib import Path

from bench.faults.report import Row


def run(url: str, label: str, tmp: Path, quick: bool) -> Row:
    """Not measured yet: see the module docstring."""
    return Row("Load", label, "skipped: not measured yet", "", None)
