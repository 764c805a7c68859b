"""The writer: a bounded queue of request records (log row + charge) drained in batches by one thread,
off the request path. One transaction a batch: log rows, ledger charges, one balance update per team.

Nothing is dropped: when the queue is full or the database fails, records are appended to a spill file
(JSON lines) and replayed into the database once it accepts writes again. `close()` flushes everything;
the server calls it on shutdown (SIGTERM included). With a journal (`durable_writes`), every record is
also on disk before it is queued, so a killed process loses nothing either (store/journal.py).
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import orjson
from sqlalchemy import Engine

from onegate.store.journal import Journal, locked_file, read_lines
from onegate.store.ledger import Charge, Committed, Settlement, write_settlements
from onegate.store.logs import LogRow

log = logging.getLogger("onegate.writer")
_STOP = object()

OnCommit = Callable[[Committed], None]


@dataclass(slots=True)
class WriterStats:
    written: int = 0
    spilled: int = 0
    replayed: int = 0
    failures: int = 0


class LogWriter:
    def __init__(
        self,
        engine: Engine,
        spill_path: Path,
        max_queue: int = 50_000,
        batch_size: int = 1000,
        interval: float = 0.2,
        journal_dir: Path | None = None,
        on_commit: OnCommit | None = None,
    ) -> None:
        self._engine = engine
        self._spill_path = spill_path
        self._queue: queue.Queue[object] = queue.Queue(maxsize=max_queue)
        self._batch_size = batch_size
        self._interval = interval
        self._journal = Journal(journal_dir) if journal_dir else None
        self._journal_lock = threading.Lock()
        self._on_commit = on_commit
        self._thread = threading.Thread(target=self._run, name="onegate-log-writer", daemon=True)
        self.stats = WriterStats()

    def start(self) -> None:
        self._replay_spill()
        if self._journal is not None:
            self._journal.open()
            self._replay_orphans()
        self._thread.start()

    def submit(self, row: LogRow, charge: Charge | None = None) -> None:
        """Hand a request's record over without waiting; never loses it."""
        item = Settlement(row, charge)
        if self._journal is None:
            self._enqueue(item)
            return
        line = orjson.dumps(item.as_json()) + b"\n"
        with self._journal_lock:  # journal order = queue order, so a rotation splits them at one point
            self._journal.append(line)
            self._enqueue(item)

    def _enqueue(self, item: Settlement) -> None:
        try:
            self._queue.put_nowait(item)
        except queue.Full:
            self._spill([item])

    @property
    def depth(self) -> int:
        return self._queue.qsize()

    def close(self, timeout: float = 30.0) -> None:
        """Write every queued record, then stop the thread."""
        if not self._thread.is_alive():
            return
        self._queue.put(_STOP)
        self._thread.join(timeout)
        if self._journal is not None and not self._thread.is_alive():
            self._journal.close()

    def _run(self) -> None:
        stopping = False
        while not stopping:
            try:
                item = self._queue.get(timeout=1.0)
            except queue.Empty:
                continue
            batch: list[Settlement] = []
            # Collect for up to `interval` after the first record: one commit per batch, not per request,
            # keeps the writer's share of the CPU (and its GIL time) small at any request rate.
            deadline = time.monotonic() + self._interval
            while True:
                if item is _STOP:
                    stopping = True
                    break
                batch.append(item)  # type: ignore[arg-type]
                remaining = deadline - time.monotonic()
                if len(batch) >= self._batch_size or remaining <= 0:
                    break
                try:
                    item = self._queue.get(timeout=remaining)
                except queue.Empty:
                    break
            self._write_journaled(batch)
        self._write_journaled(self._drain())  # records submitted by late finishers after the stop marker

    def _write_journaled(self, batch: list[Settlement]) -> None:
        if self._journal is None:
            self._write(batch)
            return
        with self._journal_lock:
            # Everything in the old segment is now in `batch`: it can go once the batch is stored.
            segment = self._journal.rotate()
            batch.extend(self._drain())
        self._write(batch)
        Journal.release(segment)

    def _drain(self) -> list[Settlement]:
        rest: list[Settlement] = []
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return rest
            if item is not _STOP:
                rest.append(item)  # type: ignore[arg-type]

    def _store(self, batch: list[Settlement]) -> None:
        with self._engine.begin() as conn:
            committed = write_settlements(conn, batch)
        self.stats.written += len(batch)
        if self._on_commit is not None and (committed.charges or committed.balances):
            try:
                self._on_commit(committed)
            except Exception:  # the counters catch up from the database on their own
                log.exception("commit callback failed")

    def _write(self, batch: list[Settlement]) -> None:
        if not batch:
            return
        try:
            self._store(batch)
        except Exception:  # the database is down or locked: keep the records on disk
            log.exception("request-log write failed; spilling %d records to %s", len(batch), self._spill_path)
            self.stats.failures += 1
            self._spill(batch)
            return
        if self._spill_path.exists():
            self._replay_spill()

    def _spill(self, items: list[Settlement]) -> None:
        data = b"".join(orjson.dumps(item.as_json()) + b"\n" for item in items)
        with locked_file(self._spill_path) as fd:
            os.write(fd, data)
        self.stats.spilled += len(items)

    def _replay_spill(self) -> None:
        if not self._spill_path.exists():
            return
        with locked_file(self._spill_path) as _:
            items = [Settlement.from_json(r) for r in read_lines(self._spill_path)]
            try:
                for start in range(0, len(items), self._batch_size):
                    self._store(items[start : start + self._batch_size])
            except Exception:
                log.warning("spill replay failed; %d records stay in %s", len(items), self._spill_path)
                return
            self._spill_path.unlink()
        self.stats.replayed += len(items)

    def _replay_orphans(self) -> None:
        assert self._journal is not None
        for records, segment in self._journal.orphans():
            items = [Settlement.from_json(r) for r in records]
            log.warning("replaying %d records from %s, left by a process that died", len(items), segment.path)
            try:
                for start in range(0, len(items), self._batch_size):
                    self._store(items[start : start + self._batch_size])
            except Exception:
                log.warning("journal replay failed; %s stays for the next start", segment.path)
                os.close(segment.fd)
                continue
            self.stats.replayed += len(items)
            Journal.release(segment)
