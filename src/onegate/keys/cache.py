"""`KeyCache`: every key record in memory, so authenticating a request never waits on the database."""

from __future__ import annotations

import asyncio

from sqlalchemy import Engine

from onegate.apikeys import KeyRecord
from onegate.keys.failures import FailurePenalty
from onegate.store.keys import find_key_by_hash, keys_revision, list_keys


class KeyCache:
    """Every key record in memory, reloaded when the keys table changes (accounting/directory.py checks)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._by_hash: dict[str, KeyRecord] = {}
        self._revision: tuple[float, int] | None = None
        self.failures = FailurePenalty()

    def load(self) -> None:
        """Blocking reload; called at start and from a worker thread."""
        revision = keys_revision(self._engine)
        if revision == self._revision:
            return
        self._by_hash = {k.key_hash: k for k in list_keys(self._engine)}
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
        record = await asyncio.to_thread(find_key_by_hash, self._engine, key_hash)
        if record is not None:
            self._by_hash[key_hash] = record
        return record
