"""`KeyCache`: every key record in memory, so authenticating a request never waits on the database."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from onegate.apikeys import KeyRecord
from onegate.keys.failures import FailurePenalty

if TYPE_CHECKING:
    from sqlalchemy import Engine


class KeyCache:
    """Every key record in memory, reloaded when the keys table changes (accounting/directory.py checks)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._by_hash: dict[str, KeyRecord] = {}
        self._revision: tuple[float, int] | None = None
        self.failures = FailurePenalty()

    def load(self) -> None:
        """Blocking reload; called from a worker thread (SQLAlchemy is imported there)."""
        from onegate.store.keys import keys_revision, list_keys

        revision = keys_revision(self._engine)
        if revision == self._revision:
            return
        self._by_hash = {k.key_hash: k for k in list_keys(self._engine)}
        self._revision = revision

    def preload(self, keys: list[KeyRecord], revision: tuple[float, int]) -> None:
        """The keys as start-up read them (store/quickread.py), `revision` their `keys_revision`."""
        self._by_hash = {k.key_hash: k for k in keys}
        self._revision = revision

    @property
    def revision(self) -> tuple[float, int] | None:
        return self._revision

    def all(self) -> list[KeyRecord]:
        return list(self._by_hash.values())

    async def lookup(self, key_hash: str) -> KeyRecord | None:
        record = self._by_hash.get(key_hash)
        if record is not None:
            return record
        # A key created a moment ago by the CLI is accepted at once.
        record = await asyncio.to_thread(_find_by_hash, self._engine, key_hash)
        if record is not None:
            self._by_hash[key_hash] = record
        return record


def _find_by_hash(engine: Engine, key_hash: str) -> KeyRecord | None:
    from onegate.store.keys import find_key_by_hash  # SQLAlchemy: imported on the worker thread, not the loop's

    return find_key_by_hash(engine, key_hash)
