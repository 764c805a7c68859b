"""The writer: a bounded buffer of request records (log row + charge) drained in batches by one thread,
off the request path. One transaction a batch: log rows, ledger charges, one balance update per team.

Nothing is dropped: when the buffer is full or the database fails, records are appended to a spill file
(JSON lines) and replayed into the database once it accepts writes again, tried on a timer even when no
request comes (an idle instance must not sit on charges). `close()` flushes everything;
the server calls it on shutdown (SIGTERM included). With a journal (`durable_writes`), every record is
also on disk before it is buffered, so a killed process loses nothing either (store/journal.py).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from onegate.outages import Outage
from onegate.store.journal import Journal, Segment, locked_file, read_lines
from onegate.store.rows import Charge, Committed, LogRow, Settlement

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from onegate.store.ledger import SettlementStore

log = logging.getLogger("onegate.writer")

# told of each commit; may return an event set once the counters have it (the journal segment waits for it)
OnCommit = Callable[[Committed], "threading.Event | None"]
MAX_REPLAY_WAIT = 5.0  # seconds between replay attempts while the database stays down, at most
COUNTERS_WAIT = 2.0  # seconds, at shutdown, for the counters to take the last commits before leaving them


@dataclass(slots=True)
class WriterStats:
    written: int = 0
    spilled: int = 0
    replayed: int = 0
    failures: int = 0
    batches: int = 0  # committed transactions, and the seconds they took (metrics: mean batch latency)
    batch_seconds: float = 0.0
    beat: float = 0.0  # monotonic time of the writer thread's last round (readiness: is it stalled?)


class LogWriter:
    def __init__(
        self,
        engine: Engine,
        spill_path: Path,
        max_queue: int = 50_000,
        batch_size: int = 1000,
        interval: float = 0.1,
        journal_dir: Path | None = None,
        on_commit: OnCommit | None = None,
        database: Outage | None = None,
        replay_seconds: float = 1.0,
    ) -> None:
        self._engine = engine
        # made by the first batch stored, on the writer's thread: it imports SQLAlchemy (not before the first answer)
        self._batches: SettlementStore | None = None
        self._spill_path = spill_path
        # A deque, not a queue.Queue: append is atomic under the GIL and wakes no thread, so handing a
        # record over costs the request path about 100 ns. The writer polls it every `interval`.
        self._items: deque[Settlement] = deque()
        self._max_queue = max_queue
        self._stop = threading.Event()
        self._batch_size = batch_size
        self._interval = interval
        self._journal = Journal(journal_dir) if journal_dir else None
        self._journal_lock = threading.Lock()
        # segments whose records are stored, kept until the counters have taken their commits
        self._stored: deque[tuple[Segment, list[threading.Event]]] = deque()
        self._on_commit = on_commit
        self._database = database or Outage("the database", log)
        self._replay_seconds = replay_seconds
        self._replay_wait = replay_seconds
        self._next_replay = 0.0
        self._thread = threading.Thread(target=self._run, name="onegate-log-writer", daemon=True)
        self.stats = WriterStats()

    def start(self) -> None:
        self._replay_spill()
        if self._journal is not None:
            self._journal.open()
            self._replay_orphans()
        self.stats.beat = time.monotonic()
        self._thread.start()

    def submit(self, row: LogRow, charge: Charge | None = None) -> None:
        """Hand a request's record over without waiting; never loses it."""
        item = Settlement(row, charge)
        if self._journal is None:
            self._buffer(item)
            return
        line = item.encode() + b"\n"
        with self._journal_lock:  # journal order = buffer order, so a rotation splits them at one point
            self._journal.append(line)
            self._buffer(item)

    def _buffer(self, item: Settlement) -> None:
        if len(self._items) < self._max_queue:
            self._items.append(item)
        else:
            self._spill([item])

    @property
    def depth(self) -> int:
        return len(self._items)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def backlog_bytes(self) -> tuple[int, int]:
        """(spill file, journal) bytes on disk not yet known to be in the database."""
        spill = _size(self._spill_path)
        journal = 0
        if self._journal is not None:
            journal = sum(_size(p) for p in self._journal.directory.glob("*.jsonl"))
        return spill, journal

    def close(self, timeout: float = 30.0) -> None:
        """Write every buffered record, then stop the thread."""
        if not self._thread.is_alive():
            return
        self._stop.set()
        self._thread.join(timeout)
        if self._journal is not None and not self._thread.is_alive():
            self._release_stored(wait=COUNTERS_WAIT)
            self._journal.close()

    def _run(self) -> None:
        try:
            while not self._stop.wait(self._interval):
                self.stats.beat = time.monotonic()
                self._flush()
                self._release_stored()
                if time.monotonic() >= self._next_replay:
                    # while the database stays down, try less often (a replay reads the whole spill file)
                    wait = self._replay_seconds if self._replay_spill() else min(2 * self._replay_wait, MAX_REPLAY_WAIT)
                    self._replay_wait = wait
                    self._next_replay = time.monotonic() + wait
            self._flush()  # stopping: everything submitted so far, late finishers included
        finally:
            if self._batches is not None:
                self._batches.close()

    def _flush(self) -> None:
        if self._journal is None:
            while self._items:
                self._write(self._take(len(self._items)))
            return
        if not self._items:
            return
        with self._journal_lock:
            # Everything in the old segment is buffered now: it can go once these records are stored.
            segment = self._journal.rotate()
            items = self._take(len(self._items))
        self._stored.append((segment, self._write(items)))
        self._release_stored()

    def _release_stored(self, wait: float = 0.0) -> None:
        """Delete the journal segments whose commits the counters have taken. A segment deleted earlier
        would lose a kill -9 in between: the charges are in the database, but their holds never end (the
        fast PostgreSQL writer made that gap easy to hit: tests/multi's kill -9 test). `wait`: at shutdown,
        how long to give the counters; a segment still waiting is replayed at the next start (idempotent)."""
        deadline = time.monotonic() + wait
        while self._stored:
            segment, events = self._stored[0]
            if not all(e.wait(max(0.0, deadline - time.monotonic())) for e in events):
                if wait:  # shutting down: leave it to the next start's replay
                    os.close(segment.fd)
                    self._stored.popleft()
                    continue
                return
            Journal.release(segment)
            self._stored.popleft()

    def _take(self, count: int) -> list[Settlement]:
        items = self._items
        return [items.popleft() for _ in range(min(count, len(items)))]

    def _store(self, items: list[Settlement]) -> list[threading.Event]:
        """Batches of `batch_size`, a transaction each; the counters hear of every commit (the events: when
        they have taken them)."""
        events = []
        for start in range(0, len(items), self._batch_size):
            batch = items[start : start + self._batch_size]
            began = time.perf_counter()
            committed = self._settlements().store(batch)  # log rows, charges, balances: all or none
            self.stats.batch_seconds += time.perf_counter() - began
            self.stats.batches += 1
            self.stats.written += len(batch)
            if self._on_commit is not None and (committed.charges or committed.balances or committed.already):
                try:
                    if (taken := self._on_commit(committed)) is not None:
                        events.append(taken)
                except Exception:  # the counters catch up from the database on their own
                    log.exception("commit callback failed")
        return events

    def _settlements(self) -> SettlementStore:
        if self._batches is None:
            from onegate.store.ledger import SettlementStore

            self._batches = SettlementStore(self._engine)
        return self._batches

    def _write(self, items: list[Settlement]) -> list[threading.Event]:
        if not items:
            return []
        try:
            events = self._store(items)
        except Exception as exc:  # the database is down or locked: keep the records on disk
            self._database.failed(f"{exc.__class__.__name__}; request records wait in {self._spill_path}")
            log.debug("request-log write failed; spilling %d records", len(items), exc_info=True)
            self.stats.failures += 1
            self._spill(items)  # a batch stored before the failure is in it too: replays are idempotent
            return []
        self._database.ok()
        if self._spill_path.exists():
            self._replay_spill()
        return events

    def _spill(self, items: list[Settlement]) -> None:
        data = b"".join(item.encode() + b"\n" for item in items)
        with locked_file(self._spill_path) as fd:
            os.write(fd, data)
        self.stats.spilled += len(items)

    def _replay_spill(self) -> bool:
        """Store the spill file's records and remove it; False when the database refused them."""
        if not self._spill_path.exists():
            return True
        with locked_file(self._spill_path) as _:
            items = [Settlement.from_json(r) for r in read_lines(self._spill_path)]
            try:
                self._store(items)
            except Exception as exc:
                self._database.failed(f"{exc.__class__.__name__}; request records wait in {self._spill_path}")
                log.debug("spill replay failed; %d records stay in %s", len(items), self._spill_path)
                return False
            self._spill_path.unlink()
        self._database.ok()
        self.stats.replayed += len(items)
        return True

    def _replay_orphans(self) -> None:
        assert self._journal is not None
        for records, segment in self._journal.orphans():
            items = [Settlement.from_json(r) for r in records]
            log.warning("replaying %d records from %s, left by a process that died", len(items), segment.path)
            try:
                self._store(items)
            except Exception:
                log.warning("journal replay failed; %s stays for the next start", segment.path)
                os.close(segment.fd)
                continue
            self.stats.replayed += len(items)
            Journal.release(segment)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:  # gone (replayed) between listing and reading it
        return 0
