"""Counters in this process's memory: one instance, no network. Used from the event loop thread only."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from onegate.counters.protocol import Admit, Lease, Limits, Refusal, Settle, TeamState
from onegate.counters.windows import minute_of, over_limit, position, retry_after


@dataclass(slots=True)
class _Window:
    """Counts of the current and the previous minute."""

    minute: int = 0
    cur: int = 0
    prev: int = 0

    def at(self, minute: int) -> _Window:
        if minute != self.minute:
            self.prev = self.cur if minute == self.minute + 1 else 0
            self.cur = 0
            self.minute = minute
        return self

    def add(self, minute: int, amount: int) -> None:
        if minute == self.minute:
            self.cur += amount
        elif minute == self.minute - 1:
            self.prev += amount


@dataclass(slots=True)
class _Leases:
    """Reservations or slots: rid -> (amount, expires), with their total."""

    items: dict[str, list] = field(default_factory=dict)
    total: int = 0
    earliest: float = float("inf")

    def purge(self, now: float) -> None:
        if self.earliest > now:
            return
        for rid in [rid for rid, (_, exp) in self.items.items() if exp <= now]:
            self.total -= self.items.pop(rid)[0]
        self.earliest = min((exp for _, exp in self.items.values()), default=float("inf"))

    def add(self, rid: str, amount: int, expires: float) -> None:
        self.items[rid] = [amount, expires]
        self.total += amount
        self.earliest = min(self.earliest, expires)

    def drop(self, rid: str) -> int | None:
        item = self.items.pop(rid, None)
        if item is None:
            return None
        self.total -= item[0]
        return item[0]

    def renew(self, rid: str, expires: float) -> None:
        item = self.items.get(rid)
        if item is not None:
            item[1] = expires


@dataclass(slots=True)
class _Subject:
    """What is counted for one key or team."""

    requests: _Window = field(default_factory=_Window)
    tokens: _Window = field(default_factory=_Window)
    slots: _Leases = field(default_factory=_Leases)
    reserved: _Leases = field(default_factory=_Leases)
    spend: dict[int, int] = field(default_factory=dict)  # minute -> micro-units


class MemoryCounters:
    def __init__(self, spend_minutes_kept: int = 24 * 60) -> None:
        self._spend_kept = spend_minutes_kept
        self._keys: dict[int, _Subject] = {}
        self._teams: dict[int, _Subject] = {}
        self._balances: dict[int, tuple[int, int]] = {}
        self._key_spend: dict[tuple[int, str], int] = {}
        self._claims: dict[str, float] = {}

    def _key(self, key_id: int) -> _Subject:
        subject = self._keys.get(key_id)
        if subject is None:
            subject = self._keys[key_id] = _Subject()
        return subject

    def _team(self, team_id: int) -> _Subject:
        subject = self._teams.get(team_id)
        if subject is None:
            subject = self._teams[team_id] = _Subject()
        return subject

    async def admit(self, request: Admit) -> Refusal | None:
        now, minute, frac = request.now, minute_of(request.now), position(request.now)
        scopes: list[tuple[str, _Subject, Limits]] = [("key", self._key(request.key_id), request.key_limits)]
        team = None
        if request.team_id is not None:
            team = self._team(request.team_id)
            scopes.insert(0, ("team", team, request.team_limits))
        for name, subject, limits in scopes:
            subject.slots.purge(now)
            subject.reserved.purge(now)
            refusal = _check(name, subject, limits, request.tokens, minute, frac)
            if refusal is not None:
                return refusal
        key = scopes[-1][1]
        spent_key = (request.key_id, request.period)
        if request.budget is not None and request.amount > 0:
            spent = self._key_spend.get(spent_key, 0)
            if spent + key.reserved.total + request.amount > request.budget:
                return Refusal("key_budget")
        if team is not None and request.amount > 0:
            copy = self._balances.get(request.team_id)  # type: ignore[arg-type]
            if copy is None:
                return Refusal("team_unknown")
            if copy[0] - team.reserved.total < request.amount:
                return Refusal("team_balance")
        for _, subject, limits in scopes:  # only what a limit needs, as in lua/admit.lua
            if limits.concurrent:
                subject.slots.add(request.rid, 0, request.expires)
            if limits.rpm or limits.tpm:
                subject.requests.at(minute).cur += 1
                subject.tokens.at(minute).cur += request.tokens
        if request.amount > 0:
            if team is not None:
                team.reserved.add(request.rid, request.amount, request.expires)
            if request.budget is not None:
                key.reserved.add(request.rid, request.amount, request.expires)
        return None

    def settle(self, settle: Settle) -> None:
        minute, admitted = minute_of(settle.now), minute_of(settle.admitted_at)
        subjects = [self._key(settle.key_id)]
        if settle.team_id is not None:
            subjects.append(self._team(settle.team_id))
        for subject in subjects:
            subject.slots.drop(settle.rid)
            subject.tokens.add(admitted, settle.token_delta)
            if settle.cost:
                subject.spend[minute] = subject.spend.get(minute, 0) + settle.cost
                if len(subject.spend) > self._spend_kept:
                    for old in [m for m in subject.spend if m < minute - self._spend_kept]:
                        del subject.spend[old]
        subjects[0].reserved.drop(settle.rid)
        if settle.cost and settle.period:
            spent_key = (settle.key_id, settle.period)
            self._key_spend[spent_key] = self._key_spend.get(spent_key, 0) + settle.cost
        if settle.team_id is not None:
            reserved = subjects[1].reserved
            held = reserved.drop(settle.rid)
            if held is not None and settle.cost:
                reserved.add(settle.rid, settle.cost, settle.hold_until)

    def commit(self, team_id: int, balance: int, version: int, rids: Sequence[str]) -> None:
        self._take_balance(team_id, balance, version)
        reserved = self._team(team_id).reserved
        for rid in rids:
            reserved.drop(rid)

    def _take_balance(self, team_id: int, balance: int, version: int) -> None:
        copy = self._balances.get(team_id)
        if copy is None or version > copy[1]:
            self._balances[team_id] = (balance, version)

    async def set_balance(self, team_id: int, balance: int, version: int) -> None:
        self._take_balance(team_id, balance, version)

    async def renew(self, leases: Sequence[Lease], expires: float) -> None:
        for lease in leases:
            subjects = [self._key(lease.key_id)]
            if lease.team_id is not None:
                subjects.append(self._team(lease.team_id))
            for subject in subjects:
                subject.slots.renew(lease.rid, expires)
                subject.reserved.renew(lease.rid, expires)

    async def load_key_spend(self, key_id: int, team_id: int | None, period: str, amount: int, ttl: float) -> None:
        self._key_spend.setdefault((key_id, period), amount)

    async def key_spend(self, key_id: int, team_id: int | None, period: str) -> int:
        return self._key_spend.get((key_id, period), 0)

    async def spend_minutes(
        self, scope: str, subject_id: int, team_id: int | None, minutes: Sequence[int]
    ) -> list[int]:
        subject = (self._teams if scope == "team" else self._keys).get(subject_id)
        if subject is None:
            return [0] * len(minutes)
        return [subject.spend.get(m, 0) for m in minutes]

    async def claim(self, name: str, now: float, ttl: float) -> bool:
        if self._claims.get(name, 0.0) > now:
            return False
        self._claims[name] = now + ttl
        return True

    async def team_state(self, team_id: int, now: float) -> TeamState:
        team = self._team(team_id)
        team.slots.purge(now)
        team.reserved.purge(now)
        balance, version = self._balances.get(team_id, (None, -1))
        return TeamState(balance, version, team.reserved.total, len(team.reserved.items), len(team.slots.items))

    async def flush(self) -> None:
        return None

    async def close(self) -> None:
        return None


def _check(scope: str, subject: _Subject, limits: Limits, tokens: int, minute: int, frac: float) -> Refusal | None:
    if limits.concurrent and len(subject.slots.items) >= limits.concurrent:
        return Refusal(f"{scope}_concurrent", 1.0)
    for name, window, limit, need in (
        ("rpm", subject.requests, limits.rpm, 1),
        ("tpm", subject.tokens, limits.tpm, tokens),
    ):
        if not limit:
            continue
        window.at(minute)
        if over_limit(window.prev, window.cur, need, limit, frac):
            return Refusal(f"{scope}_{name}", retry_after(window.prev, window.cur, need, limit, frac))
    return None
