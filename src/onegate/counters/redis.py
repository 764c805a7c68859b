"""Counters in Redis, shared by every instance: each operation is one Lua script (lua/*.lua), so it is
atomic however many instances call it at once.

Admission is one round trip on the request path. Settlements and commits never wait: they leave on the
same connection right away (counters/resp.py keeps them in order) and are checked in the background.
All keys of a team (and its keys) carry the team's hash tag, so a script only touches one cluster slot:
a Redis Cluster works as well as a single Redis (counters/cluster.py routes by slot).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Callable, Sequence
from importlib import resources
from typing import Any

from onegate.counters.cluster import ClusterClient
from onegate.counters.protocol import Admit, Capped, Headroom, Lease, Reason, Refusal, Settle, TeamState
from onegate.counters.windows import minute_of, second_of

log = logging.getLogger("onegate.counters")
RESEND_SECONDS = 1.0  # a commit that did not reach Redis is tried again this often
KEY_LISTS_KEPT = 4096  # key-name lists of recent (team, key, period[, minute]) kept built; then started afresh


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
    def __init__(
        self, url: str, prefix: str = "onegate:", spend_minutes_kept: int = 24 * 60, timeout: float = 0.25
    ) -> None:
        self.url = url
        self.prefix = prefix
        self._redis = ClusterClient(url, timeout)
        self._spend_ttl = spend_minutes_kept * 60
        self._admit = self._redis.script(_script("admit"))
        self._settle = self._redis.script(_script("settle"))
        self._commit = self._redis.script(_script("commit"))
        self._in_flight: set[asyncio.Future[Any]] = set()
        self._unsent_commits: dict[int, tuple[int, int, tuple[str, ...]]] = {}  # team id -> newest, rids
        self._resend: asyncio.TimerHandle | None = None
        self._closing = False
        # the same few keys and teams ask again and again: their 14 key names are built once, not per request
        self._admit_keys: dict[tuple[int | None, int, str], list[str]] = {}
        self._settle_keys: dict[tuple[int | None, int, str, int], list[str]] = {}
        # (key, team) -> what its last admission left: a request may go upstream before its own admission
        # answers while this is wide and fresh (accounting/speculation.py). Bounded like the key lists.
        self._headroom: dict[tuple[int, int | None], Headroom] = {}

    @property
    def client(self) -> ClusterClient:
        return self._redis

    # request path --------------------------------------------------------------------------------
    async def admit(self, request: Admit) -> Refusal | Capped | None:
        keys = self._admit_keys.get((request.team_id, request.key_id, request.period))
        if keys is None:
            keys = self._keys_to_admit(request.team_id, request.key_id, request.period)
        tl, kl = request.team_limits, request.key_limits
        args = [
            repr(request.now), request.rid, repr(request.expires), request.amount, request.tokens,
            1 if request.team_id is not None else 0, tl.rpm, tl.tpm, tl.concurrent, kl.rpm, kl.tpm, kl.concurrent,
            request.budget if request.budget is not None else -1,
            request.least if request.least is not None else -1, request.overdraft,
        ]  # fmt: skip
        pair = (request.key_id, request.team_id)
        try:
            result = await self._redis.evalsha(self._admit, keys, args)
        except BaseException:
            self._headroom.pop(pair, None)  # unknown now: the next request waits for its admission
            raise
        if result[0] == 1:
            if len(self._headroom) >= KEY_LISTS_KEPT and pair not in self._headroom:
                self._headroom.clear()
            self._headroom[pair] = Headroom(result[2], result[3], result[4], time.monotonic())
            return None if result[1] >= request.amount else Capped(result[1])
        self._headroom.pop(pair, None)
        return Refusal(Reason(result[1].decode()), float(result[2]))  # parsed once, here

    def headroom(self, key_id: int, team_id: int | None) -> Headroom | None:
        return self._headroom.get((key_id, team_id))

    def settle(self, settle: Settle) -> None:
        minute = minute_of(settle.now)
        keys = self._settle_keys.get((settle.team_id, settle.key_id, settle.period, minute))
        if keys is None:
            keys = self._keys_to_settle(settle.team_id, settle.key_id, settle.period, minute)
        args = [
            settle.rid, settle.cost, settle.token_delta, repr(settle.hold_until), self._spend_ttl,
            repr(settle.period_ttl if settle.period else 0), 1 if settle.team_id is not None else 0,
            second_of(settle.admitted_at),
        ]  # fmt: skip
        self._send_later(self._settle, keys, args)

    def _keys_to_admit(self, team_id: int | None, key_id: int, period: str) -> list[str]:
        names = _Names(self.prefix, team_id, key_id)
        t, k = names.team, names.key
        keys = [
            t + "bal", *names.team_reservations(), t + "slots", t + "rq", t + "tk",
            k + "res", k + "amt", k + "reserved", k + "slots", k + "rq", k + "tk",
            f"{k}spend:{period}",
        ]  # fmt: skip
        if len(self._admit_keys) >= KEY_LISTS_KEPT:
            self._admit_keys.clear()
        self._admit_keys[(team_id, key_id, period)] = keys
        return keys

    def _keys_to_settle(self, team_id: int | None, key_id: int, period: str, minute: int) -> list[str]:
        names = _Names(self.prefix, team_id, key_id)
        t, k = names.team, names.key
        keys = [
            *names.team_reservations(), t + "slots", t + "tk", f"{t}sp:{minute}",
            k + "res", k + "amt", k + "reserved", k + "slots", k + "tk", f"{k}sp:{minute}",
            f"{k}spend:{period}",
        ]  # fmt: skip
        if len(self._settle_keys) >= KEY_LISTS_KEPT:
            self._settle_keys.clear()
        self._settle_keys[(team_id, key_id, period, minute)] = keys
        return keys

    def commit(self, team_id: int, balance: int, version: int, rids: Sequence[str]) -> None:
        names = _Names(self.prefix, team_id, 0)
        keys = [names.team + "bal", *names.team_reservations()]
        retry = functools.partial(self._commit_later, team_id, balance, version, rids)
        self._send_later(self._commit, keys, [balance, version, *rids], retry)

    def _commit_later(self, team_id: int, balance: int, version: int, rids: Sequence[str]) -> None:
        """A commit that did not reach Redis is sent again until it does (it is idempotent): else its
        charges would stay held on top of a balance that already has them."""
        _, newest, held = self._unsent_commits.get(team_id, (0, -1, ()))
        if version < newest:
            balance, version = self._unsent_commits[team_id][:2]
        self._unsent_commits[team_id] = (balance, version, (*held, *rids))
        if self._resend is None:
            self._resend = asyncio.get_running_loop().call_later(RESEND_SECONDS, self._resend_commits)

    def _resend_commits(self) -> None:
        self._resend = None
        unsent, self._unsent_commits = self._unsent_commits, {}
        for team_id, (balance, version, rids) in unsent.items():
            self.commit(team_id, balance, version, rids)

    def _send_later(self, sha: str, keys: list[str], args: list[Any], retry: Callable[[], None] | None = None) -> None:
        # in order, behind everything sent to the same node before (connecting first, if need be)
        future: asyncio.Future[Any] = self._redis.send("EVALSHA", sha, len(keys), *keys, *args)
        self._in_flight.add(future)
        future.add_done_callback(functools.partial(self._sent, retry))

    def _sent(self, retry: Callable[[], None] | None, future: asyncio.Future[Any]) -> None:
        self._in_flight.discard(future)
        if not future.cancelled() and future.exception() is not None:
            # Redis away (its client logs the outage once): a settlement's leases expire by themselves
            log.debug("a settlement or commit did not reach Redis: %s", future.exception())
            if retry is not None and not self._closing:
                retry()

    async def flush(self) -> None:
        if self._in_flight:
            await asyncio.gather(*list(self._in_flight), return_exceptions=True)

    # the rest --------------------------------------------------------------------------------------
    async def set_balance(self, team_id: int, balance: int, version: int) -> None:
        names = _Names(self.prefix, team_id, 0)
        await self._redis.evalsha(self._commit, [names.team + "bal", *names.team_reservations()], [balance, version])

    async def renew(self, leases: Sequence[Lease], expires: float) -> None:
        calls = []
        for lease in leases:
            names = _Names(self.prefix, lease.team_id, lease.key_id)
            zsets = [names.key + "slots", names.key + "res"]
            if lease.team_id is not None:
                zsets += [names.team + "slots", names.team + "res"]
            calls += [self._redis.call("ZADD", zset, "XX", repr(expires), lease.rid) for zset in zsets]
        await asyncio.gather(*calls)

    async def load_key_spend(self, key_id: int, team_id: int | None, period: str, amount: int, ttl: float) -> None:
        name = _Names(self.prefix, team_id, key_id).key + f"spend:{period}"
        await self._redis.call("SET", name, amount, "NX", "EX", max(1, int(ttl)))

    async def key_spend(self, key_id: int, team_id: int | None, period: str) -> int:
        value = await self._redis.call("GET", _Names(self.prefix, team_id, key_id).key + f"spend:{period}")
        return int(value or 0)

    async def spend_minutes(
        self, scope: str, subject_id: int, team_id: int | None, minutes: Sequence[int]
    ) -> list[int]:
        names = _Names(self.prefix, team_id, subject_id if scope == "key" else 0)
        base = names.team if scope == "team" else names.key
        values = await self._redis.call("MGET", *(f"{base}sp:{m}" for m in minutes))
        return [int(v or 0) for v in values]

    async def claim(self, name: str, now: float, ttl: float) -> bool:
        reply = await self._redis.call("SET", f"{self.prefix}claim:{name}", repr(now), "NX", "EX", max(1, int(ttl)))
        return reply is not None

    async def team_state(self, team_id: int, now: float) -> TeamState:
        t = _Names(self.prefix, team_id, 0).team
        call = self._redis.call
        (balance, version), reserved, live, slots, expired = await asyncio.gather(
            call("HMGET", t + "bal", "b", "v"),
            call("GET", t + "reserved"),
            call("ZCOUNT", t + "res", f"({now!r}", "+inf"),
            call("ZCOUNT", t + "slots", f"({now!r}", "+inf"),
            call("ZRANGEBYSCORE", t + "res", "-inf", repr(now)),
        )
        reserved = int(reserved or 0)
        if expired:  # leases that ran out and no admission has purged yet do not count
            amounts = await call("HMGET", t + "amt", *expired)
            reserved -= sum(int(a) for a in amounts if a)
        return TeamState(
            int(balance) if balance is not None else None,
            int(version) if version is not None else -1,
            reserved,
            int(live),
            int(slots),
        )

    async def close(self) -> None:
        if self._resend is not None:  # one last try for commits that did not get through
            self._resend.cancel()
            self._resend_commits()
        self._closing = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.flush(), 10)
        await self._redis.close()
