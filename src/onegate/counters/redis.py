"""Counters in Redis, shared by every instance: each operation is one Lua script (lua/*.lua), so it is
atomic however many instances call it at once.

Admission is one round trip on the request path. Settlements and commits never wait: they queue here
and a background task sends them in order, many to a pipeline. All keys of a team (and its keys) carry
the team's hash tag, so a script only ever touches one cluster slot.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Sequence
from importlib import resources
from typing import Any

import redis.asyncio as aioredis

from onegate.counters.protocol import Admit, Lease, Refusal, Settle, TeamState
from onegate.counters.windows import minute_of, position

log = logging.getLogger("onegate.counters")


def _script(name: str) -> str:
    return resources.files("onegate.counters").joinpath(f"lua/{name}.lua").read_text()


class _Names:
    """Key names of one team (or teamless key) and one key."""

    __slots__ = ("team", "key")

    def __init__(self, prefix: str, team_id: int | None, key_id: int) -> None:
        tag = f"{{t{team_id}}}" if team_id is not None else f"{{k{key_id}}}"
        self.team = f"{prefix}{tag}:"
        self.key = f"{prefix}{tag}:k{key_id}:"

    def team_reservations(self) -> list[str]:
        t = self.team
        return [t + "res", t + "amt", t + "reserved"]


class RedisCounters:
    def __init__(self, url: str, prefix: str = "onegate:", spend_minutes_kept: int = 24 * 60) -> None:
        self.prefix = prefix
        # a bounded pool that waits for a free connection: a burst of admissions queues instead of failing
        pool = aioredis.BlockingConnectionPool.from_url(url, max_connections=64, timeout=10)
        self.client = aioredis.Redis(connection_pool=pool)
        self._spend_ttl = spend_minutes_kept * 60
        self._admit = self.client.register_script(_script("admit"))
        self._settle = self.client.register_script(_script("settle"))
        self._commit = self.client.register_script(_script("commit"))
        self._pending: deque[tuple[Any, list[str], list[Any]]] = deque()
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._sender: asyncio.Task[None] | None = None

    # request path --------------------------------------------------------------------------------
    async def admit(self, request: Admit) -> Refusal | None:
        names = _Names(self.prefix, request.team_id, request.key_id)
        minute = minute_of(request.now)
        t, k = names.team, names.key
        keys = [
            t + "bal", *names.team_reservations(), t + "slots",
            f"{t}rq:{minute}", f"{t}rq:{minute - 1}", f"{t}tk:{minute}", f"{t}tk:{minute - 1}",
            k + "res", k + "amt", k + "reserved", k + "slots",
            f"{k}rq:{minute}", f"{k}rq:{minute - 1}", f"{k}tk:{minute}", f"{k}tk:{minute - 1}",
            f"{k}spend:{request.period}",
        ]  # fmt: skip
        tl, kl = request.team_limits, request.key_limits
        args = [
            repr(request.now), request.rid, repr(request.expires), request.amount, request.tokens,
            1 if request.team_id is not None else 0, tl.rpm, tl.tpm, tl.concurrent, kl.rpm, kl.tpm, kl.concurrent,
            request.budget if request.budget is not None else -1, repr(position(request.now)),
        ]  # fmt: skip
        result = await self._admit(keys=keys, args=args)
        if result[0] == 1:
            return None
        return Refusal(result[1].decode(), float(result[2]))

    def settle(self, settle: Settle) -> None:
        names = _Names(self.prefix, settle.team_id, settle.key_id)
        admitted, minute = minute_of(settle.admitted_at), minute_of(settle.now)
        t, k = names.team, names.key
        keys = [
            *names.team_reservations(), t + "slots", f"{t}tk:{admitted}", f"{t}sp:{minute}",
            k + "res", k + "amt", k + "reserved", k + "slots", f"{k}tk:{admitted}", f"{k}sp:{minute}",
            f"{k}spend:{settle.period}",
        ]  # fmt: skip
        args = [
            settle.rid, settle.cost, settle.token_delta, repr(settle.hold_until), self._spend_ttl,
            repr(settle.period_ttl if settle.period else 0), 1 if settle.team_id is not None else 0,
        ]  # fmt: skip
        self._send_later(self._settle, keys, args)

    def commit(self, team_id: int, balance: int, version: int, rids: Sequence[str]) -> None:
        names = _Names(self.prefix, team_id, 0)
        self._send_later(self._commit, [names.team + "bal", *names.team_reservations()], [balance, version, *rids])

    # background sending ----------------------------------------------------------------------------
    def _send_later(self, script: Any, keys: list[str], args: list[Any]) -> None:
        self._pending.append((script, keys, args))
        self._idle.clear()
        self._wake.set()
        if self._sender is None:
            self._sender = asyncio.get_running_loop().create_task(self._send_forever())

    async def _send_forever(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                batch = [self._pending.popleft() for _ in range(min(len(self._pending), 500))]
                try:
                    async with self.client.pipeline(transaction=False) as pipe:
                        for script, keys, args in batch:
                            await script(keys=keys, args=args, client=pipe)  # queues it
                        await pipe.execute()
                except Exception:  # Redis away: leases expire on their own, commits are retaken from the database
                    log.exception("sending %d settlements to Redis failed", len(batch))
            self._idle.set()

    async def flush(self) -> None:
        if self._pending or not self._idle.is_set():
            await self._idle.wait()

    # the rest --------------------------------------------------------------------------------------
    async def set_balance(self, team_id: int, balance: int, version: int) -> None:
        names = _Names(self.prefix, team_id, 0)
        await self._commit(keys=[names.team + "bal", *names.team_reservations()], args=[balance, version])

    async def renew(self, leases: Sequence[Lease], expires: float) -> None:
        if not leases:
            return
        async with self.client.pipeline(transaction=False) as pipe:
            for lease in leases:
                names = _Names(self.prefix, lease.team_id, lease.key_id)
                zsets = [names.key + "slots", names.key + "res"]
                if lease.team_id is not None:
                    zsets += [names.team + "slots", names.team + "res"]
                for zset in zsets:
                    pipe.zadd(zset, {lease.rid: expires}, xx=True)
            await pipe.execute()

    async def load_key_spend(self, key_id: int, team_id: int | None, period: str, amount: int, ttl: float) -> None:
        name = _Names(self.prefix, team_id, key_id).key + f"spend:{period}"
        await self.client.set(name, amount, nx=True, ex=max(1, int(ttl)))

    async def key_spend(self, key_id: int, team_id: int | None, period: str) -> int:
        value = await self.client.get(_Names(self.prefix, team_id, key_id).key + f"spend:{period}")
        return int(value or 0)

    async def spend_minutes(
        self, scope: str, subject_id: int, team_id: int | None, minutes: Sequence[int]
    ) -> list[int]:
        names = _Names(self.prefix, team_id, subject_id if scope == "key" else 0)
        base = names.team if scope == "team" else names.key
        values = await self.client.mget([f"{base}sp:{m}" for m in minutes])
        return [int(v or 0) for v in values]

    async def claim(self, name: str, now: float, ttl: float) -> bool:
        return bool(await self.client.set(f"{self.prefix}claim:{name}", repr(now), nx=True, ex=max(1, int(ttl))))

    async def team_state(self, team_id: int, now: float) -> TeamState:
        names = _Names(self.prefix, team_id, 0)
        t = names.team
        async with self.client.pipeline(transaction=False) as pipe:
            pipe.hmget(t + "bal", ["b", "v"])
            pipe.get(t + "reserved")
            pipe.zcount(t + "res", f"({now!r}", "+inf")
            pipe.zcount(t + "slots", f"({now!r}", "+inf")
            pipe.zrangebyscore(t + "res", "-inf", repr(now))
            (balance, version), reserved, live, slots, expired = await pipe.execute()
        if expired:  # leases that ran out and no admission has purged yet do not count
            amounts = await self.client.hmget(t + "amt", expired)
            reserved = int(reserved or 0) - sum(int(a) for a in amounts if a)
        return TeamState(
            int(balance) if balance is not None else None,
            int(version) if version is not None else -1,
            int(reserved or 0),
            int(live),
            int(slots),
        )

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.flush(), 10)
        if self._sender is not None:
            self._sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sender
        await self.client.aclose(close_connection_pool=True)
