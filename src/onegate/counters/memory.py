"""Counters in this process's memory: one instance, no network. Used from the event loop thread only."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from onegate.counters.protocol import Admit, Capped, Headroom, Lease, Limits, Reason, Refusal, Settle, TeamState
from onegate.counters.windows import expired, minute_of, retry_after, second_of


@dataclass(slots=True)
class _Window:
    """What was admitted per second of the last minute (windows.py), oldest first, and its sum."""

    counts: dict[int, int] = field(default_factory=dict)
    total: int = 0

    def live(self, now: float) -> _Window:
        counts = self.counts
        while counts:
            oldest = next(iter(counts))
            if not expired(oldest, now):
                break
            self.total -= counts.pop(oldest)
        return self

    def add(self, second: int, amount: int) -> None:
        self.counts[second] = self.counts.get(second, 0) + amount
        self.total += amount

    def correct(self, second: int, amount: int) -> None:
        """Change a second's count if it is still in the window."""
        if second in self.counts:
            self.counts[second] += amount
            self.total += amount


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

    async def admit(self, request: Admit) -> Refusal | Capped | None:
        now = request.now
        scopes: list[tuple[str, _Subject, Limits]] = [("key", self._key(request.key_id), request.key_limits)]
        team = None
        if request.team_id is not None:
            team = self._team(request.team_id)
            scopes.insert(0, ("team", team, request.team_limits))
        for name, subject, limits in scopes:
            subject.slots.purge(now)
            subject.reserved.purge(now)
            refusal = _check(name, subject, limits, request.tokens, now)
            if refusal is not None:
                return refusal
        key = scopes[-1][1]
        grant, short, amount = request.amount, Reason.KEY_BUDGET, request.amount  # short: set where grant shrinks
        if request.budget is not None and amount > 0:
            spent = self._key_spend.get((request.key_id, request.period))
            if spent is None:
                return Refusal(Reason.KEY_UNKNOWN)
            room = request.budget + request.overdraft - spent - key.reserved.total
            if room < grant:
                grant, short = room, Reason.KEY_BUDGET
        if team is not None and amount > 0:
            copy = self._balances.get(request.team_id)  # type: ignore[arg-type]
            if copy is None:
                return Refusal(Reason.TEAM_UNKNOWN)
            room = copy[0] + request.overdraft - team.reserved.total
            if room < grant:
                grant, short = room, Reason.TEAM_BALANCE
        if grant < amount and (request.least is None or grant < request.least):
            return Refusal(short)
        second = second_of(now)
        for _, subject, limits in scopes:  # only what a limit needs, as in lua/admit.lua
            if limits.concurrent:
                subject.slots.add(request.rid, 0, request.expires)
            if limits.rpm:  # a window is kept only while its limit is set: it is also only purged then
                subject.requests.add(second, 1)
            if limits.tpm:
                subject.tokens.add(second, request.tokens)
        if amount > 0:
            if team is not None:
                team.reserved.add(request.rid, grant, request.expires)
            if request.budget is not None:
                key.reserved.add(request.rid, grant, request.expires)
        return None if grant >= amount else Capped(grant)

    def headroom(self, key_id: int, team_id: int | None) -> Headroom | None:
        return None  # no round trip to save: admission answers before the request could be sent

    def settle(self, settle: Settle) -> None:
        minute, admitted = minute_of(settle.now), second_of(settle.admitted_at)
        subjects = [self._key(settle.key_id)]
        if settle.team_id is not None:
            subjects.append(self._team(settle.team_id))
        for subject in subjects:
            subject.slots.drop(settle.rid)
            subject.tokens.correct(admitted, settle.token_delta)
            if settle.cost:
                subject.spend[minute] = subject.spend.get(minute, 0) + settle.cost
                if len(subject.spend) > self._spend_kept:
                    for old in [m for m in subject.spend if m < minute - self._spend_kept]:
                        del subject.spend[old]
        subjects[0].reserved.drop(settle.rid)
        spent_key = (settle.key_id, settle.period)
        if settle.cost and settle.period and spent_key in self._key_spend:
            self._key_spend[spent_key] += settle.cost
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


def _check(scope: str, subject: _Subject, limits: Limits, tokens: int, now: float) -> Refusal | None:
    if limits.concurrent and len(subject.slots.items) >= limits.concurrent:
        return Refusal(Reason(f"{scope}_concurrent"), 1.0)
    for name, window, limit, need in (
        ("rpm", subject.requests, limits.rpm, 1),
        ("tpm", subject.tokens, limits.tpm, tokens),
    ):
        if not limit:
            continue
        window.live(now)
        if window.total + need > limit:
            wait = retry_after(window.counts.items(), window.total, need, limit, now)
            return Refusal(Reason(f"{scope}_{name}"), wait)
    return None
