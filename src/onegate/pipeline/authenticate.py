"""Step 1: who is calling. The key is read from any header a known client uses, hashed, and looked up
in memory; only a cache miss touches the database."""

from __future__ import annotations

import asyncio
import logging
import time

from sqlalchemy import Engine

from onegate import errors
from onegate.apikeys import KeyRecord, hash_key
from onegate.context import RequestContext
from onegate.errors import GatewayError
from onegate.store.keys import find_key_by_hash, keys_revision, list_keys

log = logging.getLogger("onegate.auth")

# In the order clients use them (CLIENTS.md §4.2): OpenAI family, Anthropic, Azure/Continue, Gemini.
AUTH_HEADERS = ("authorization", "x-api-key", "api-key", "x-goog-api-key")
LOOKED_AT = "Authorization: Bearer, x-api-key, api-key and x-goog-api-key"


def extract_token(headers: dict[str, str]) -> tuple[str | None, str | None]:
    """(token, header it came from); (None, None) when no header carries one."""
    for name in AUTH_HEADERS:
        value = headers.get(name)
        if not value:
            continue
        value = value.strip()
        if name == "authorization":
            scheme, _, rest = value.partition(" ")
            if scheme.lower() != "bearer":
                continue
            value = rest.strip()
        if value:
            return value, name
    return None, None


class KeyCache:
    """Every key record in memory, reloaded when the keys table changes (accounting/directory.py checks)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._by_hash: dict[str, KeyRecord] = {}
        self._revision: tuple[float, int] | None = None

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


async def authenticate(ctx: RequestContext, cache: KeyCache) -> KeyRecord:
    token, header = extract_token(ctx.headers)
    if token is None:
        raise GatewayError(
            errors.MISSING_API_KEY,
            f"No API key was sent. onegate looked at the {LOOKED_AT} headers. "
            "Put your onegate key (sk-og-…) in your client's API key field.",
        )
    record = await cache.lookup(hash_key(token))
    if record is None:
        raise GatewayError(
            errors.INVALID_API_KEY,
            f"Incorrect API key provided in the {header} header (ends in …{token[-4:]}). "
            "Use a key created by this onegate server (onegate keys create).",
        )
    ctx.key = record
    if record.status != "active":
        raise GatewayError(errors.KEY_DISABLED, f"API key {record.mask} ({record.name}) is disabled.")
    if record.expired(time.time()):
        when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(record.expires_at))
        raise GatewayError(errors.KEY_EXPIRED, f"API key {record.mask} ({record.name}) expired on {when}.")
    return record
