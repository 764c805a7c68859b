"""Channel state in Redis, shared by every onegate instance that points at the same server.

Keys (under the configured prefix):
  channel:<name>:window  hash, fields "<slice>:s|f|l" (successes, failures, latency sum) per time slice
  channel-marks          hash, channel name → JSON marks
  claim:<token>          SET NX PX: one half-open probe (or background probe) at a time across instances

Redis trouble never fails a request: the store logs it (one line per outage, shared with the counters'
client) and answers as if the channel had no history, so routing carries on with each instance's own view.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any, cast

import orjson
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from onegate.channels.memory import BUCKETS
from onegate.channels.state import Marks, Window
from onegate.counters.cluster import ClusterClient
from onegate.counters.resp import RedisError as LeanRedisError
from onegate.outages import outage_of, redis_name

log = logging.getLogger("onegate.channels")
_FIELDS = {"s": 0, "f": 1, "l": 2}


class RedisChannelStore:
    shared = True

    def __init__(
        self, url: str, prefix: str, window_seconds: float, timeout: float = 2.0, lean: ClusterClient | None = None
    ) -> None:
        self._redis = aioredis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
        # every answered request counts a success: sent without waiting on the counters' lean client (one
        # buffered write; redis-py's awaited pipeline cost more CPU than the rest of the Redis work of a request).
        # `lean`: the counters' own connection (then its owner closes it), so the counts leave with the settlement
        self._own_lean = lean is None
        self._lean = lean or ClusterClient(url, timeout)
        self._prefix = prefix
        self._width = window_seconds / BUCKETS
        self._ttl_ms = int(window_seconds * 2000)
        self._renewed: dict[str, int] = {}  # channel -> the slice whose success last renewed its window's TTL
        self._outage = outage_of(redis_name(url), log)

    def _window_key(self, channel: str) -> str:
        return f"{self._prefix}channel:{channel}:window"

    def _warn(self, exc: Exception) -> None:
        self._outage.failed(f"channel state: {exc}; routing on this instance's view")
        log.debug("channel state: Redis call failed", exc_info=True)

    async def add_success(self, channel: str, latency_ms: float, now: float) -> None:
        """Not waited for: a success only thins a window's failure ratio, read by the next breaker check."""
        key, number = self._window_key(channel), int(now // self._width)
        send = self._lean.send  # lazy: with the request's settlement (or within a few ms), no write of their own
        send("HINCRBY", key, f"{number}:s", 1, lazy=True).add_done_callback(self._sent)
        send("HINCRBYFLOAT", key, f"{number}:l", repr(latency_ms), lazy=True).add_done_callback(self._sent)
        # the TTL (two windows) is renewed once per slice, not per success: one command less per request
        if self._renewed.get(channel) != number:
            self._renewed[channel] = number
            send("PEXPIRE", key, self._ttl_ms, lazy=True).add_done_callback(self._sent)

    def _sent(self, sent: Any) -> None:
        if not sent.cancelled() and sent.exception() is not None:
            self._warn(sent.exception())

    async def add_failure(self, channel: str, now: float) -> Window:
        """On the same lean connection as the successes, so the window read back has every one sent before."""
        key, number = self._window_key(channel), int(now // self._width)
        send = self._lean.send
        try:
            for sent in (send("HINCRBY", key, f"{number}:f", 1), send("PEXPIRE", key, self._ttl_ms)):
                sent.add_done_callback(_retrieved)  # a failure shows in the HGETALL that follows them
            flat = await send("HGETALL", key)
            return await self._total(key, dict(zip(flat[::2], flat[1::2], strict=True)), now)
        except (RedisError, LeanRedisError, OSError) as exc:
            self._warn(exc)
            return Window(failures=1)

    async def windows(self, channels: Iterable[str], now: float) -> dict[str, Window]:
        names = list(channels)
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for name in names:
                    pipe.hgetall(self._window_key(name))
                raws = await pipe.execute()
            return {
                name: await self._total(self._window_key(name), raw, now) for name, raw in zip(names, raws, strict=True)
            }
        except (RedisError, OSError) as exc:
            self._warn(exc)
            return dict.fromkeys(names, Window())

    async def _total(self, key: str, raw: dict[bytes, bytes], now: float) -> Window:
        oldest = int(now // self._width) - BUCKETS + 1
        sums: list[float] = [0, 0, 0.0]
        stale = []
        for field, value in raw.items():
            number, kind = field.decode().split(":")
            if int(number) < oldest:
                stale.append(field)
            else:
                sums[_FIELDS[kind]] += float(value)
        if stale:
            await self._redis.hdel(key, *stale)
        return Window(int(sums[0]), int(sums[1]), sums[2])

    async def clear_window(self, channel: str) -> None:
        try:
            await self._redis.delete(self._window_key(channel))
        except (RedisError, OSError) as exc:
            self._warn(exc)

    async def load_marks(self) -> dict[str, Marks]:
        try:
            # bytes: the client is made without decode_responses (redis-py's stubs cannot tell)
            raw = cast(dict[bytes, bytes], await self._redis.hgetall(self._prefix + "channel-marks"))
        except (RedisError, OSError) as exc:
            self._warn(exc)
            return {}
        self._outage.ok()  # read every sync interval: where a recovery shows
        return {name.decode(): Marks.from_dict(_loads(value)) for name, value in raw.items()}

    async def save_marks(self, channel: str, marks: Marks) -> None:
        try:
            await self._redis.hset(self._prefix + "channel-marks", channel, orjson.dumps(marks.as_dict()))
        except (RedisError, OSError) as exc:
            self._warn(exc)

    async def claim(self, token: str, seconds: float) -> bool:
        try:
            ms = max(1, int(seconds * 1000))
            return bool(await self._redis.set(f"{self._prefix}claim:{token}", b"1", nx=True, px=ms))
        except (RedisError, OSError) as exc:
            self._warn(exc)
            return True  # without Redis each instance probes for itself

    async def close(self) -> None:
        if self._own_lean:
            await self._lean.close()
        await self._redis.aclose()


def _retrieved(sent: Any) -> None:
    if not sent.cancelled():
        sent.exception()


def _loads(value: bytes) -> dict[str, Any]:
    data = orjson.loads(value)
    return data if isinstance(data, dict) else {}
