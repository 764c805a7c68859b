"""`deferred_engine`: the server's SQLAlchemy engine, made (and SQLAlchemy imported) on first use.

SQLAlchemy's import was ~45% of the instructions `onegate serve` spent before its first answer (callgrind,
bench/startup.py). On SQLite, start-up reads what the hot path needs with the stdlib's sqlite3
(store/quickread.py), so nothing touches the engine before the first request; the store's modules are then
imported on a worker thread (`app.load_store`) while the event loop already answers.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from sqlalchemy import Engine


class DeferredEngine:
    """Stands for the `Engine` of `database_url`: every attribute is the real engine's, made on first use."""

    def __init__(self, database_url: str) -> None:
        self._url = database_url
        self._engine: Engine | None = None
        self._lock = threading.Lock()  # two threads asking at once make one engine

    def load(self) -> Engine:
        if self._engine is None:
            with self._lock:
                if self._engine is None:
                    from onegate.store.db import open_engine

                    self._engine = open_engine(self._url)
        return self._engine

    def __getattr__(self, name: str) -> Any:
        return getattr(self.load(), name)

    def dispose(self) -> None:
        """Close the pool's connections; nothing to do (and nothing imported) if it was never used."""
        if self._engine is not None:
            self._engine.dispose()


def deferred_engine(database_url: str) -> Engine:
    """An engine that imports SQLAlchemy and connects on first use (typed as what it stands for)."""
    return cast("Engine", DeferredEngine(database_url))


def loaded(engine: Engine) -> Engine:
    """The real engine, for SQLAlchemy calls that look at its type (`event.listen`)."""
    return engine.load() if isinstance(engine, DeferredEngine) else engine
