"""Cache invalidation across instances: whoever changes keys, teams or prices in the database publishes
the topic on Redis; every instance reloads that part of its memory at once."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

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
        await _listen(client, prefix, on_change)
    finally:
        await client.aclose()


async def _listen(client: Any, prefix: str, on_change: Callable[[str | None], Awaitable[None]]) -> None:
    while True:
        pubsub = client.pubsub()
        try:
            await pubsub.subscribe(channel(prefix))
            await on_change(None)
            async for message in pubsub.listen():
                if message["type"] == "message":
                    topic = message["data"].decode()
                    await on_change(topic if topic in TOPICS else None)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.warning("Redis pub/sub lost; resubscribing in 1 s", exc_info=True)
            await asyncio.sleep(1)
        finally:
            await pubsub.aclose()
