"""The request-log writer: a bounded buffer drained in batches by one thread, off the request path.

Nothing is dropped: when the queue is full or the database fails, rows are appended to a spill file
(JSON lines) and replayed into the database once it accepts writes again. `close()` flushes everything;
the server calls it on shutdown (SIGTERM included).
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import orjson
from sqlalchemy import Engine

from onegate.store.logs import LogRow, insert_rows

log = logging.getLogger("onegate.writer")


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
        interval: float = 0.1,
    ) -> None:
        self._engine = engine
        self._spill_path = spill_path
        # A deque, not a queue.Queue: append is atomic under the GIL and wakes no thread, so handing a
        # row over costs the request path about 100 ns. The writer polls it every `interval`.
        self._rows: deque[LogRow] = deque()
        self._max_queue = max_queue
        self._stop = threading.Event()
        self._batch_size = batch_size
        self._interval = interval
        self._spill_lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="onegate-log-writer", daemon=True)
        self.stats = WriterStats()

    def start(self) -> None:
        self._replay_spill()
        self._thread.start()

    def submit(self, row: LogRow) -> None:
        """Hand a row over without waiting; never loses it."""
        if len(self._rows) < self._max_queue:
            self._rows.append(row)
        else:
            self._spill([row])

    @property
    def depth(self) -> int:
        return len(self._rows)

    def close(self, timeout: float = 30.0) -> None:
        """Write every queued row, then stop the thread."""
        if not self._thread.is_alive():
            return
        self._stop.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            while self._rows:
                self._write(self._take(self._batch_size))
        while self._rows:  # stopping: everything submitted so far, late finishers included
            self._write(self._take(self._batch_size))

    def _take(self, limit: int) -> list[LogRow]:
        batch: list[LogRow] = []
        rows = self._rows
        while rows and len(batch) < limit:
            batch.append(rows.popleft())
        return batch

    def _write(self, batch: list[LogRow]) -> None:
        if not batch:
            return
        try:
            with self._engine.begin() as conn:
                insert_rows(conn, batch)
            self.stats.written += len(batch)
        except Exception:  # the database is down or locked: keep the rows on disk
            log.exception("request-log write failed; spilling %d rows to %s", len(batch), self._spill_path)
            self.stats.failures += 1
            self._spill(batch)
            return
        if self._spill_path.exists():
            self._replay_spill()

    def _spill(self, rows: list[LogRow]) -> None:
        with self._spill_lock:
            self._spill_path.parent.mkdir(parents=True, exist_ok=True)
            with self._spill_path.open("ab") as fh:
                for row in rows:
                    fh.write(orjson.dumps(row) + b"\n")
                fh.flush()
            self.stats.spilled += len(rows)

    def _replay_spill(self) -> None:
        with self._spill_lock:
            if not self._spill_path.exists():
                return
            rows = [orjson.loads(line) for line in self._spill_path.read_bytes().splitlines() if line.strip()]
            try:
                with self._engine.begin() as conn:
                    for start in range(0, len(rows), self._batch_size):
                        insert_rows(conn, rows[start : start + self._batch_size])
            except Exception:
                log.warning("spill replay failed; %d rows stay in %s", len(rows), self._spill_path)
                return
            self._spill_path.unlink()
            self.stats.replayed += len(rows)
