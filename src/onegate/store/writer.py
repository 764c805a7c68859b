"""The request-log writer: a bounded queue drained in batches by one thread, off the request path.

Nothing is dropped: when the queue is full or the database fails, rows are appended to a spill file
(JSON lines) and replayed into the database once it accepts writes again. `close()` flushes everything;
the server calls it on shutdown (SIGTERM included).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import orjson
from sqlalchemy import Engine

from onegate.store.logs import LogRow, insert_rows

log = logging.getLogger("onegate.writer")
_STOP = object()


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
    ) -> None:
        self._engine = engine
        self._spill_path = spill_path
        self._queue: queue.Queue[object] = queue.Queue(maxsize=max_queue)
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
        try:
            self._queue.put_nowait(row)
        except queue.Full:
            self._spill([row])

    @property
    def depth(self) -> int:
        return self._queue.qsize()

    def close(self, timeout: float = 30.0) -> None:
        """Write every queued row, then stop the thread."""
        if not self._thread.is_alive():
            return
        self._queue.put(_STOP)
        self._thread.join(timeout)

    def _run(self) -> None:
        stopping = False
        while not stopping:
            try:
                item = self._queue.get(timeout=1.0)
            except queue.Empty:
                continue
            batch: list[LogRow] = []
            # Collect for up to `interval` after the first row: one commit per batch, not per request,
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
            self._write(batch)
        self._write(self._drain())  # rows submitted by late finishers after the stop marker

    def _drain(self) -> list[LogRow]:
        rest: list[LogRow] = []
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return rest
            if item is not _STOP:
                rest.append(item)  # type: ignore[arg-type]

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
