"""What onegate keeps on disk is readable by its own user only: directories 0700, files 0600, whatever
the umask. The database holds key hashes, balances and request logs; the journal and spill files hold
log rows and charges; channel state holds upstream error text."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

DIR_MODE, FILE_MODE = 0o700, 0o600


def private_dir(path: Path) -> Path:
    """`mkdir -p` whose every new directory is 0700 (an existing one is left as its owner set it)."""
    if path.is_dir():
        return path
    for missing in reversed([p for p in (path, *path.parents) if not p.exists()]):
        with contextlib.suppress(FileExistsError):
            missing.mkdir(mode=DIR_MODE)
            os.chmod(missing, DIR_MODE)  # mkdir's mode is filtered by the umask
    return path


def private_file(path: Path) -> None:
    """Create `path` empty if missing; make it 0600 when this user owns it (it was created looser before)."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, FILE_MODE)
    try:
        with contextlib.suppress(PermissionError):  # someone else's file: not ours to change
            os.fchmod(fd, FILE_MODE)
    finally:
        os.close(fd)


def write_private(path: Path, data: bytes) -> None:
    """Write `data` as the whole of `path`, 0600."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)
