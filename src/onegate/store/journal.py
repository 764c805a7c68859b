"""Files of JSON lines that outlive a killed process: the durable journal and the spill file.

The journal (`durable_writes: true`): each process appends every request's record to a segment file it
holds an exclusive `flock` on, before the record enters the writer's queue. A write() that returned is
in the kernel's page cache, so it survives `kill -9` (not a power cut: that would need an fsync per
request). The writer rotates the segment at each batch and deletes the old one once its rows are in
the database. A segment nobody holds a lock on belongs to a dead process: whoever starts next replays
it (inserts are idempotent) and deletes it.

The spill file: rows the database refused, shared by every process of one data directory, appended
and replayed under an `flock`.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from onegate.redaction import storable
from onegate.store.private import private_dir


@dataclass(slots=True)
class Segment:
    path: Path
    fd: int


def _try_lock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def read_lines(path: Path) -> list[dict]:
    """The records in a file; a torn last line (the process died mid-write) is skipped."""
    records = []
    for line in path.read_bytes().splitlines():
        if not line.strip():
            continue
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue
        records.append(_without_nul(record) if b"\\u0000" in line else record)
    return records


def _without_nul(value: Any) -> Any:
    """A record written before caller text lost its NUL characters on the way into a row: PostgreSQL
    refuses them, and the whole file's replay with them, forever. Replaced as new rows are."""
    if isinstance(value, str):
        return storable(value)
    if isinstance(value, dict):
        return {k: _without_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_nul(v) for v in value]
    return value


class Journal:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._tag = f"{os.getpid()}-{secrets.token_hex(4)}"
        self._serial = 0
        self._current: Segment | None = None

    def open(self) -> None:
        private_dir(self.directory)
        self._current = self._new_segment()

    def _new_segment(self) -> Segment:
        self._serial += 1
        path = self.directory / f"{self._tag}-{self._serial:06d}.jsonl"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        return Segment(path, fd)

    def append(self, line: bytes) -> None:
        assert self._current is not None, "journal not open"
        os.write(self._current.fd, line)  # O_APPEND, one write: a whole line or (killed mid-call) a torn one

    def rotate(self) -> Segment:
        """Start a new segment; the old one stays locked until `release`."""
        assert self._current is not None, "journal not open"
        old, self._current = self._current, self._new_segment()
        return old

    @staticmethod
    def release(segment: Segment) -> None:
        """Its records are in the database: delete it."""
        with contextlib.suppress(FileNotFoundError):
            segment.path.unlink()
        os.close(segment.fd)

    def close(self) -> None:
        if self._current is not None:
            self.release(self._current)
            self._current = None

    def orphans(self) -> Iterator[tuple[list[dict], Segment]]:
        """Segments left by dead processes, locked for us: replay the records, then `release`."""
        if not self.directory.exists():
            return
        for path in sorted(self.directory.glob("*.jsonl")):
            if path.name.startswith(self._tag):
                continue
            try:
                fd = os.open(path, os.O_RDONLY)
            except FileNotFoundError:
                continue  # another process replayed it a moment ago
            if not _try_lock(fd) or not path.exists():
                os.close(fd)
                continue
            yield read_lines(path), Segment(path, fd)


@contextlib.contextmanager
def locked_file(path: Path) -> Iterator[int]:
    """An exclusive lock on `path` (created if missing), safe against a concurrent unlink by another
    process: the lock is retaken until it is held on the file the path names now."""
    private_dir(path.parent)
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    try:
        yield fd
    finally:
        os.close(fd)
