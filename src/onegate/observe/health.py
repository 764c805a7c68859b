"""Readiness: can this instance serve? For load balancers and Kubernetes readiness probes (`GET /readyz`).

Ready when every check passes:
- `database`: a fresh connection runs a query on the schema within `timeout` (a pooled connection would
  keep working on a SQLite file that is gone, and would not notice a server refusing new connections);
- `redis` (only when `redis_url` is set): PING answered within `timeout`;
- `writer`: the log-writer thread is alive and went round within `STALL_SECONDS`;
- `channels`: at least one configured channel is not open or disabled (none configured: the self-test
  model still answers).
The result is cached for `CACHE_SECONDS` and only one check runs at a time, so probes from many load
balancers cost the database at most one connection a second. `/healthz` (alive) checks nothing.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from onegate.store.writer import LogWriter

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from onegate.counters.resp import RespClient

CACHE_SECONDS = 1.0
STALL_SECONDS = 30.0
_UNROUTABLE = frozenset({"open", "disabled"})


@dataclass(frozen=True, slots=True)
class Check:
    ok: bool
    seconds: float
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Readiness:
    ready: bool
    checks: dict[str, Check] = field(default_factory=dict)

    def as_json(self) -> dict[str, object]:
        return {
            "status": "ready" if self.ready else "not ready",
            "checks": {
                name: {"ok": c.ok, "ms": round(c.seconds * 1000, 1), **({"detail": c.detail} if c.detail else {})}
                for name, c in self.checks.items()
            },
        }


class ReadinessProbe:
    def __init__(
        self,
        database_url: str,
        writer: LogWriter,
        channel_states: Callable[[], dict[str, str]],
        redis: RespClient | None = None,
        timeout: float = 1.0,
    ) -> None:
        self._database_url = database_url
        self._engine: Engine | None = None
        self._writer = writer
        self._channel_states = channel_states
        self._redis = redis
        self.timeout = timeout
        self._last: Readiness | None = None
        self._at = 0.0
        self._running: asyncio.Future[Readiness] | None = None

    async def check(self) -> Readiness:
        """The cached result when fresh, else a new one (callers arriving meanwhile share it)."""
        if self._last is not None and time.monotonic() - self._at < CACHE_SECONDS:
            return self._last
        if self._running is None:
            self._running = asyncio.ensure_future(self._check_all())
        running = self._running
        try:
            return await asyncio.shield(running)
        finally:
            if running.done() and self._running is running:
                self._running = None

    async def _check_all(self) -> Readiness:
        checks = {"database": await self._timed(asyncio.to_thread(self._query_database))}
        if self._redis is not None:
            checks["redis"] = await self._timed(self._redis.call("PING"))
        checks["writer"] = self._writer_check()
        checks["channels"] = self._channels_check()
        result = Readiness(all(c.ok for c in checks.values()), checks)
        self._last, self._at = result, time.monotonic()
        return result

    async def _timed(self, work: Awaitable[object]) -> Check:
        began = time.perf_counter()
        try:
            async with asyncio.timeout(self.timeout):
                await work
        except TimeoutError:
            return Check(False, time.perf_counter() - began, f"no answer within {self.timeout:g} s")
        except Exception as exc:  # what failed, not its text: a URL in it may carry a password
            return Check(False, time.perf_counter() - began, exc.__class__.__name__)
        return Check(True, time.perf_counter() - began)

    def _query_database(self) -> None:  # on a worker thread, which imports SQLAlchemy if nothing has yet
        from sqlalchemy import create_engine, make_url, text
        from sqlalchemy.pool import NullPool

        if self._engine is None:
            url = make_url(self._database_url)
            args: dict[str, object] = {"timeout": self.timeout}  # SQLite: seconds to wait for a lock
            if url.get_backend_name() == "postgresql":
                url = url.set(drivername="postgresql+psycopg")
                args = {"connect_timeout": max(1, round(self.timeout))}
            self._engine = create_engine(url, poolclass=NullPool, connect_args=args)
        with self._engine.connect() as conn:
            conn.execute(text("SELECT version FROM schema_migrations LIMIT 1")).first()

    def _writer_check(self) -> Check:
        writer = self._writer
        if not writer.alive:
            return Check(False, 0.0, "the log writer is not running")
        idle = time.monotonic() - writer.stats.beat
        if idle > STALL_SECONDS:
            return Check(False, 0.0, f"the log writer has not gone round for {idle:.0f} s")
        return Check(True, 0.0)

    def _channels_check(self) -> Check:
        states = self._channel_states()
        if not states or any(s not in _UNROUTABLE for s in states.values()):
            return Check(True, 0.0)
        return Check(False, 0.0, "every channel is open or disabled")

    async def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
        if self._redis is not None:
            await self._redis.close()
