"""Reservations from admission to commit: reserve the estimated cost, settle the actual one, drop the
hold once the writer has stored the charge, and keep every lease alive meanwhile.

A reservation has three lives, each ending in the counters (counters/protocol.py explains the money):
reserved at admission → settled by the record step (always: it runs in the request's `finally`) →
committed when its charge is in the database. Free or teamless requests end at settlement.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from onegate.counters.protocol import Admit, Capped, Counters, Lease, Limits, Refusal, Settle
from onegate.settings import LimitsConfig
from onegate.store.rows import Committed

if TYPE_CHECKING:
    from onegate.apikeys import KeyRecord
    from onegate.store.rows import TeamRecord

log = logging.getLogger("onegate.accounting")


@dataclass(slots=True)
class Reservation:
    rid: str
    key_id: int
    team_id: int | None
    amount: int
    tokens: int
    admitted_at: float
    period: str
    period_ttl: float


def limits_of(own: KeyRecord | TeamRecord | None, defaults: LimitsConfig) -> Limits:
    """A key's or team's own limits, else the configured defaults (0 = unlimited)."""
    if own is None:
        return _limits(None, None, None, defaults)
    return _limits(own.rpm, own.tpm, own.concurrent, defaults)


# Two per request: building a frozen Limits each time cost more than looking up the few that exist
@functools.lru_cache(maxsize=1024)
def _limits(rpm: int | None, tpm: int | None, concurrent: int | None, defaults: LimitsConfig) -> Limits:
    return Limits(
        rpm=rpm or defaults.rpm or 0, tpm=tpm or defaults.tpm or 0, concurrent=concurrent or defaults.concurrent or 0
    )


class Reservations:
    def __init__(
        self,
        counters: Counters,
        ttl: float,
        on_spend: Callable[[KeyRecord, float], None] | None = None,
        hold: float = 7 * 86400.0,
    ) -> None:
        self.counters = counters
        self.ttl = ttl
        # A settled charge is held against its team until the database has it, for at most `hold` seconds:
        # not a renewed lease, so it stays visible to every instance when this one stops with the charge
        # still in its spill file (the database was down), until a replay commits it.
        self.hold = hold
        self._on_spend = on_spend  # told of every request that cost something (spend alerts watch it)
        self._leases: dict[str, Lease] = {}  # running: renewed until settled
        self._held: set[str] = set()  # settled, held until their charge is committed
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def open(self) -> int:
        return len(self._leases) + len(self._held)

    async def reserve(self, request: Admit) -> Refusal | Capped | None:
        outcome = await self.counters.admit(request)
        if not isinstance(outcome, Refusal):
            self._leases[request.rid] = Lease(request.rid, request.key_id, request.team_id)
        return outcome

    def hand_over(self, rid: str) -> None:
        """Stop renewing a reservation here: a longer-lived owner renews it now (an open video task)."""
        self._leases.pop(rid, None)

    def adopt(self, lease: Lease) -> None:
        """Renew a reservation made elsewhere until it is settled here (and, if held, committed)."""
        self._leases[lease.rid] = lease

    def settle(self, reservation: Reservation, cost: int, used_tokens: int, key: KeyRecord | None = None) -> None:
        """Replace the estimate by the actual `cost` (micro-units) and the estimated tokens by `used_tokens`;
        `key` spent it (spend alerts watch it)."""
        now = time.time()
        hold = cost > 0 and reservation.team_id is not None
        self.counters.settle(
            Settle(
                rid=reservation.rid,
                now=now,
                key_id=reservation.key_id,
                team_id=reservation.team_id,
                cost=cost,
                token_delta=used_tokens - reservation.tokens,
                admitted_at=reservation.admitted_at,
                hold_until=now + self.hold if hold else 0.0,
                period=reservation.period,
                period_ttl=reservation.period_ttl,
            )
        )
        self._leases.pop(reservation.rid, None)
        if hold:
            self._held.add(reservation.rid)
        if cost and key is not None and self._on_spend is not None:
            self._on_spend(key, now)

    # commits arrive on the writer's thread --------------------------------------------------------
    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def committed(self, committed: Committed) -> threading.Event | None:
        """Called by the writer after each batch: hand it to the event loop, where the counters live. The
        event is set once the counters have it (sent to Redis): until then the writer keeps the batch's
        journal segment, so a process killed in between replays the batch and its holds still end."""
        if self._loop is not None and not self._loop.is_closed():
            done = threading.Event()
            with contextlib.suppress(RuntimeError):  # the loop is gone: the leases expire by themselves
                self._loop.call_soon_threadsafe(self._apply, committed, done)
                return done
        return None

    def _apply(self, committed: Committed, done: threading.Event) -> None:
        try:
            rids: dict[int, list[str]] = defaultdict(list)
            for charge in (*committed.charges, *committed.already):
                self._held.discard(charge.request_id)
                if charge.team_id is not None:
                    rids[charge.team_id].append(charge.request_id)
            for team_id, (balance, version) in (committed.balances | committed.current).items():
                self.counters.commit(team_id, balance, version, rids.get(team_id, ()))
        finally:
            done.set()

    async def renew_forever(self) -> None:
        """Extend every lease still in use, well before it runs out."""
        while True:
            await asyncio.sleep(self.ttl / 3)
            try:
                await self.counters.renew(list(self._leases.values()), time.time() + self.ttl)
            except Exception:
                # the outage is logged once by the counters' client; the leases simply run out meanwhile
                log.debug("renewing %d reservations failed", len(self._leases), exc_info=True)
