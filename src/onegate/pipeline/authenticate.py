"""Step 1: who is calling. The key is read from any header a known client uses, hashed, and looked up
in memory; only a cache miss touches the database. A refused key gets a diagnosis (diagnosis/keys.py) and,
when an address keeps failing, a growing delay (keys/failures.py)."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import NoReturn

from onegate import errors
from onegate.apikeys import KeyRecord, hash_key
from onegate.context import RequestContext
from onegate.diagnosis.keys import diagnose_key
from onegate.errors import GatewayError
from onegate.keys.cache import KeyCache

log = logging.getLogger("onegate.auth")

# In the order clients use them (docs/CLIENTS.md §4.2): OpenAI family, Anthropic, Azure/Continue, Gemini.
AUTH_HEADERS = ("authorization", "x-api-key", "api-key", "x-goog-api-key")


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


async def authenticate(ctx: RequestContext, cache: KeyCache) -> KeyRecord:
    token, header = extract_token(ctx.headers)
    record = await cache.lookup(hash_key(token)) if token is not None else None
    if record is None:
        await _refuse(ctx, cache, token, header)
    ctx.key = record
    ctx.authed_at = time.perf_counter()
    if record.status != "active":
        raise GatewayError(errors.KEY_DISABLED, f"API key {record.mask} ({record.name}) is disabled.")
    if record.expired(time.time()):
        when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(record.expires_at))
        raise GatewayError(errors.KEY_EXPIRED, f"API key {record.mask} ({record.name}) expired on {when}.")
    return record


async def _refuse(ctx: RequestContext, cache: KeyCache, token: str | None, header: str | None) -> NoReturn:
    finding = diagnose_key(ctx.headers, ctx.path.partition("?")[2], token, header, ctx.client)
    ctx.config_hint, ctx.config_fix = finding.code, finding.fix
    delay = cache.failures.record_failure(ctx.peer)
    if delay:
        await asyncio.sleep(delay)
    raise GatewayError(errors.MISSING_API_KEY if finding.missing else errors.INVALID_API_KEY, finding.message)
