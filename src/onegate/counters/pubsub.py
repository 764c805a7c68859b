"""Cache invalidation across instances: whoever changes keys, teams or prices in the database publishes
the topic on Redis; every instance reloads that part of its memory at once."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from onegate.outages import Outage, outage_of, redis_name

log = logging.getLogger("onegate.pubsub")
TOPICS = ("keys", "teams", "prices")


def channel(prefix: str) -> str:
    return f"{prefix}changes"


def publish_change(url: str, prefix: str, topic: str) -> None:
    """From the CLI: tell every running instance to reload `topic` (blocking, short)."""
    import redis  # only with Redis configured: keeps a single-process start light

    client = redis.Redis.from_url(url, socket_timeout=2)
    try:
        client.publish(channel(prefix), topic)
    finally:
        client.close()


async def listen(url: str, prefix: str, on_change: Callable[[str | None], Awaitable[None]]) -> None:
    """Call `on_change(topic)` for every change published; on (re)subscribing, `on_change(None)`: a
    change may have been missed while the connection was down."""
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(url)
    try:
        await _listen(client, prefix, on_change, outage_of(redis_name(url), log))
    finally:
        await client.aclose()


async def _listen(client: Any, prefix: str, on_change: Callable[[str | None], Awaitable[None]], outage: Outage) -> None:
    while True:
        pubsub = client.pubsub()
        try:
            await pubsub.subscribe(channel(prefix))
            outage.ok()
            await _changed(on_change, None)
            async for message in pubsub.listen():
                if message["type"] == "message":
                    topic = message["data"].decode()
                    await _changed(on_change, topic if topic in TOPICS else None)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # one line per outage (shared with the counters' client), not one a second
            outage.failed(f"pub/sub: {exc}")
            log.debug("Redis pub/sub lost; resubscribing in 1 s", exc_info=True)
            await asyncio.sleep(1)
        finally:
            await pubsub.aclose()


async def _changed(on_change: Callable[[str | None], Awaitable[None]], topic: str | None) -> None:
    try:
        await on_change(topic)
    except Exception:  # the database or Redis is away (each logs that once); the directory's poll retries
        log.debug("reload after a published change failed", exc_info=True)
