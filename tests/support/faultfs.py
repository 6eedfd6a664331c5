"""File-system faults under a database, for tests and the fault benchmark.

- `read_only(folder)`: the folder becomes read-only. As root (who ignores file modes) it is
  bind-mounted read-only over itself; otherwise its and its files' write bits are removed.
- `small_disk(folder, kib)`: a tmpfs of `kib` KiB mounted on `folder` (root); `fill()` takes
  every free byte, `release()` gives it back. Where mounting is not allowed, the same folder
  on the ordinary disk and a file-size limit (RLIMIT_FSIZE, SIGXFSZ ignored) that `preexec`
  applies to a child process once `fill()` was called.
"""

from __future__ import annotations

import contextlib
import os
import resource
import signal
import stat
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path


def _mount(*args: str) -> bool:
    if os.geteuid() != 0:
        return False
    done = subprocess.run(["mount", *args], capture_output=True, text=True, check=False)
    return done.returncode == 0


def _umount(folder: Path) -> None:
    if subprocess.run(["umount", str(folder)], capture_output=True, check=False).returncode:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True, check=False)


@contextlib.contextmanager
def read_only(folder: Path) -> Iterator[str]:
    """Make `folder` read-only for the duration; yields how it was done."""
    if _mount("--bind", str(folder), str(folder)):
        try:
            if not _mount("-o", "remount,bind,ro", str(folder)):
                raise RuntimeError(f"could not remount {folder} read-only")
            yield "read-only bind mount"
        finally:
            _umount(folder)
        return
    modes = {p: p.stat().st_mode for p in [folder, *folder.iterdir()]}
    write = stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH
    try:
        for path, mode in modes.items():
            path.chmod(mode & ~write)
        yield "write permission removed"
    finally:
        for path, mode in modes.items():
            path.chmod(mode)


class SmallDisk:
    """A small disk under `folder` (see the module docstring)."""

    def __init__(self, folder: Path, kib: int) -> None:
        self.folder = folder
        self.kib = kib
        self.mounted = False
        self._limit: int | None = None
        self._filler = folder / "filler.bin"

    @property
    def how(self) -> str:
        """How the full disk is made, for printing."""
        return f"tmpfs of {self.kib} KiB" if self.mounted else "RLIMIT_FSIZE in the child"

    def __enter__(self) -> SmallDisk:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.mounted = _mount("-t", "tmpfs", "-o", f"size={self.kib}k", "tmpfs", str(self.folder))
        return self

    def __exit__(self, *exc: object) -> None:
        if self.mounted:
            _umount(self.folder)

    def fill(self) -> None:
        """Take every free byte (tmpfs), or forbid growing any file (the limit)."""
        if not self.mounted:
            self._limit = 4096
            return
        chunk = b"\0" * 65536
        with contextlib.suppress(OSError), self._filler.open("wb") as out:
            while True:
                out.write(chunk)
                out.flush()
        with contextlib.suppress(OSError), self._filler.open("ab") as out:
            while True:  # the last partial chunk
                out.write(b"\0" * 512)
                out.flush()

    def release(self) -> None:
        """Give the space back."""
        self._limit = None
        self._filler.unlink(missing_ok=True)

    @property
    def preexec(self) -> Callable[[], None] | None:
        """For `subprocess` children: apply the file-size limit (when that is the method)."""
        limit = self._limit
        if limit is None:
            return None

        def apply() -> None:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

        return apply
