"""Files only their owner may read: the data folder (0700), the SQLite database and the key
file (0600). Modes are set when this process creates them; existing ones are left alone."""

from __future__ import annotations

import os
from pathlib import Path

FOLDER_MODE = 0o700
FILE_MODE = 0o600


def private_folder(path: Path) -> None:
    """Create `path` (and missing parents) if needed; a folder created here gets mode 0700
    whatever the umask. Missing parents get the usual mode (they are not ours alone)."""
    if path.is_dir():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        path.mkdir(mode=FOLDER_MODE)
    except FileExistsError:
        return  # another process made it first
    os.chmod(path, FOLDER_MODE)


def create_private_file(path: Path, content: bytes = b"") -> bool:
    """Create `path` with mode 0600 holding `content`, in a private folder; False (and
    nothing written) when it already exists."""
    private_folder(path.parent)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        return False
    with os.fdopen(fd, "wb") as fh:
        os.fchmod(fh.fileno(), FILE_MODE)
        fh.write(content)
    return True
