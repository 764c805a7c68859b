"""Redis or Redis Cluster behind one client: commands go to the node that owns their key's slot.

`redis_url` names any one node. Until a node answers `MOVED`, everything goes to that node over one
connection (counters/resp.py), exactly as for a single Redis. The first `MOVED` says it is a cluster: the
client reads the slot map (`CLUSTER SLOTS`), keeps one lean connection per node and routes each command by
its first key's slot from then on; another `MOVED` (slots moved) updates the map, an `ASK` (a slot being
migrated) sends that one command to the named node after `ASKING`, and a `TRYAGAIN` (a script whose keys
are split between the two nodes of a slot being migrated) is tried again every 20 ms for up to the timeout.
While a slot migrates, a command sent without waiting that had to follow a redirect may land after one sent
later for the same team (a settlement after a commit): harmless, as a commit only drops the holds it
names and a settlement of an already committed charge finds no hold. Every command of the counters touches
one slot (each team's keys share its hash tag), so routing by the first key is exact, and the commands for
one team leave in order on one connection.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from redis.crc import key_slot  # CRC16 with hash tags, as the cluster computes it

from onegate.counters.resp import RedisError, RespClient

log = logging.getLogger("onegate.counters")
SLOTS = 16384
REDIRECTS = 3  # MOVED/ASK followed at most this often for one command (a resharding in progress)
TRYAGAIN_PAUSE = 0.02  # seconds between tries of a script whose slot is half moved (up to the timeout)


class ClusterClient:
    def __init__(self, url: str, timeout: float = 0.25) -> None:
        self._url = urlsplit(url)
        self.timeout = timeout
        self._seed = RespClient(url, timeout)
        self._nodes: dict[str, RespClient] = {}
        self._slots: list[RespClient | None] | None = None  # None: not a cluster (so far)
        self._refreshing: asyncio.Task[None] | None = None
        self._scripts: dict[str, str] = {}
        self._on_answer: Callable[[float], None] | None = None

    # what RedisCounters and the metrics use -------------------------------------------------------------
    @property
    def cluster(self) -> bool:
        return self._slots is not None

    @property
    def on_answer(self) -> Callable[[float], None] | None:
        return self._on_answer

    @on_answer.setter
    def on_answer(self, callback: Callable[[float], None] | None) -> None:
        self._on_answer = callback
        for node in (self._seed, *self._nodes.values()):
            node.on_answer = callback

    def script(self, source: str) -> str:
        sha = self._seed.script(source)
        self._scripts[sha] = source
        for node in self._nodes.values():
            node.script(source)
        return sha

    async def call(self, *args: Any) -> Any:
        node, asking, redirects, deadline = self._node_for(args), False, 0, 0.0
        while True:
            if asking:  # ASKING and the command leave together: call() does not yield once connected
                if not node.connected:
                    await node.call("PING")
                node.send("ASKING")
            try:
                return await node.call(*args)
            except RedisError as exc:
                if str(exc).startswith("TRYAGAIN"):
                    # a script's keys are split between two nodes while their slot moves: soon they are not
                    now = asyncio.get_running_loop().time()
                    deadline = deadline or now + self.timeout
                    if now >= deadline:
                        raise
                    await asyncio.sleep(TRYAGAIN_PAUSE)
                    node, asking, redirects = self._node_for(args), False, 0
                    continue
                redirect = self._redirect(exc)
                if redirect is None or redirects >= REDIRECTS:
                    raise
                node, asking = redirect
                redirects += 1

    def send(self, *args: Any, lazy: bool = False) -> asyncio.Future[Any]:
        """Send without waiting, in order behind what went to the same node before; the future says how it
        went (after following a redirect, if there was one). `lazy`: with the node's next write (resp.py)."""
        node = self._node_for(args)
        if not node.connected:
            return asyncio.ensure_future(self._connect_and_call(args))
        sent = node.send(*args, lazy=lazy)
        outcome: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        sent.add_done_callback(functools.partial(self._settled, args, outcome))
        return outcome

    async def evalsha(self, sha: str, keys: list[str], args: list[Any]) -> Any:
        try:
            return await self.call("EVALSHA", sha, len(keys), *keys, *args)
        except RedisError as exc:
            if not str(exc).startswith("NOSCRIPT"):
                raise
        return await self.call("EVAL", self._scripts[sha], len(keys), *keys, *args)

    async def _connect_and_call(self, args: tuple[Any, ...]) -> Any:
        if args[0] == "EVALSHA":  # after a reconnect: the script may have to be sent (NOSCRIPT)
            keys = int(args[2])
            return await self.evalsha(args[1], list(args[3 : 3 + keys]), list(args[3 + keys :]))
        return await self.call(*args)

    async def close(self) -> None:
        if self._refreshing is not None:
            self._refreshing.cancel()
        for node in (self._seed, *self._nodes.values()):
            await node.close()

    # routing ----------------------------------------------------------------------------------------------
    def _node_for(self, args: tuple[Any, ...]) -> RespClient:
        if self._slots is None:
            return self._seed
        key = _first_key(args)
        if key is None:
            return self._seed
        return self._slots[_slot(key)] or self._seed

    def _settled(self, args: tuple[Any, ...], outcome: asyncio.Future[Any], sent: asyncio.Future[Any]) -> None:
        if outcome.done():
            return
        exc = sent.exception()
        if exc is None:
            outcome.set_result(sent.result())
        elif isinstance(exc, RedisError) and (_redirect_of(exc) is not None or str(exc).startswith("TRYAGAIN")):
            follow = asyncio.ensure_future(self.call(*args))  # the redirect is taken in call()
            follow.add_done_callback(functools.partial(_copy, outcome))
            self._redirect(exc)
        else:
            outcome.set_exception(exc)
            outcome.exception()  # a fire-and-forget command's failure is reported by its owner, if at all

    def _redirect(self, exc: RedisError) -> tuple[RespClient, bool] | None:
        """For a MOVED or ASK reply: the node to ask, and whether it needs ASKING first."""
        found = _redirect_of(exc)
        if found is None:
            return None
        kind, slot, address = found
        node = self._node(address)
        if kind == "MOVED":
            if self._slots is None:
                log.info("Redis at %s is a cluster: routing commands by slot", self._url.netloc)
                self._slots = [None] * SLOTS
            self._slots[slot] = node
            self._refresh_soon()
        return node, kind == "ASK"

    def _refresh_soon(self) -> None:
        if self._refreshing is None or self._refreshing.done():
            self._refreshing = asyncio.ensure_future(self._refresh())

    async def _refresh(self) -> None:
        """Read the whole slot map from any node that answers."""
        for node in (*self._nodes.values(), self._seed):
            try:
                ranges = await node.call("CLUSTER", "SLOTS")
            except RedisError:
                continue
            slots: list[RespClient | None] = [None] * SLOTS
            for start, end, owner, *_replicas in ranges:
                host = owner[0].decode() if isinstance(owner[0], bytes) else str(owner[0])
                target = self._node(f"{host}:{owner[1]}")
                slots[start : end + 1] = [target] * (end - start + 1)
            self._slots = slots
            return
        log.debug("no Redis Cluster node answered CLUSTER SLOTS; routing by MOVED replies only")

    def _node(self, address: str) -> RespClient:
        node = self._nodes.get(address)
        if node is None:
            url = self._url
            credentials = url.netloc.rpartition("@")[0]
            netloc = f"{credentials}@{address}" if credentials else address
            node = RespClient(urlunsplit((url.scheme, netloc, "", "", "")), self.timeout)
            for source in self._scripts.values():
                node.script(source)
            node.on_answer = self._on_answer
            self._nodes[address] = node
        return node


def _first_key(args: tuple[Any, ...]) -> Any:
    if not args:
        return None
    command = str(args[0]).upper()
    if command in ("EVALSHA", "EVAL"):
        return args[3] if len(args) > 3 and int(args[2]) > 0 else None
    if command in ("SCRIPT", "PING", "CLUSTER", "AUTH", "SELECT", "ASKING", "PUBLISH"):
        return None
    return args[1] if len(args) > 1 else None


def _slot(key: Any) -> int:
    return int(key_slot(key.encode() if isinstance(key, str) else key))


def _redirect_of(exc: RedisError) -> tuple[str, int, str] | None:
    parts = str(exc).split()
    if len(parts) == 3 and parts[0] in ("MOVED", "ASK"):
        return parts[0], int(parts[1]), parts[2]
    return None


def _copy(outcome: asyncio.Future[Any], follow: asyncio.Future[Any]) -> None:
    if outcome.done():
        return
    if follow.exception() is not None:
        outcome.set_exception(follow.exception())  # type: ignore[arg-type]
        outcome.exception()
    else:
        outcome.set_result(follow.result())
