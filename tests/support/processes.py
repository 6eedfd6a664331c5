"""What Linux says about a process the tests started."""

from __future__ import annotations

from pathlib import Path


def thread_priorities(pid: int) -> dict[int, tuple[int, int]]:
    """Every thread of process `pid`: thread id -> (nice value, scheduling policy)."""
    found = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        found[int(task.name)] = (int(fields[16]), int(fields[38]))  # stat fields 19 and 41
    return found
