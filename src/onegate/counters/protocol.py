"""The one protocol every counter backend serves: rate limits, concurrency, reservations, balances and
spend windows, each operation atomic.

Money model: the team balance the backend holds is a copy of the database balance (with its version;
a newer version always wins). A request reserves its estimated cost; at settlement the reservation is
set to the actual cost and *held* until the writer has stored the charge, then `commit` drops it and
brings the new database balance, in one step. So at any moment every charge is either in the balance
copy or in a live reservation, and `available = balance - reserved` never counts one twice or misses
one. A reservation is a lease (`expires`), renewed while its request runs: a dead instance's
reservations go away by themselves.

Time is always passed in (`now`, epoch seconds), so both backends run the same tests deterministically.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

UNLIMITED = 0


@dataclass(frozen=True, slots=True)
class Limits:
    """Per-minute and concurrency limits; 0 = unlimited."""

    rpm: int = UNLIMITED
    tpm: int = UNLIMITED
    concurrent: int = UNLIMITED


@dataclass(frozen=True, slots=True)
class Admit:
    rid: str  # the request id; names its reservation and concurrency slot
    now: float
    expires: float  # lease end of the reservation and the slot
    amount: int  # estimated cost reserved, micro-units
    tokens: int  # estimated tokens counted against tokens-per-minute now
    key_id: int
    key_limits: Limits
    team_id: int | None
    team_limits: Limits
    budget: int | None = None  # the key's budget for the period; None = none
    period: str = ""  # the key's budget period ("d2026-11-27", "m2026-11"); names its spend window
    period_ttl: float = 0.0  # seconds the period's spend window must live
    # When the budget or balance cannot pay `amount` (the worst case), reserve what it can pay if that is
    # at least `least` (a minimal answer: the caller caps the output to it); None = all or nothing.
    least: int | None = None
    overdraft: int = 0  # how far below zero a budget or balance may be reserved into


class Reason(StrEnum):
    """Why a request may not run now, parsed once where the counters answer (a Redis reply carries the
    value). `team_unknown`: the backend has no balance copy for the team (load it); `key_unknown`: it has
    no spend for the key's budget period (load it)."""

    scope: str  # whose limit: key | team
    limit: str  # which: rpm | tpm | concurrent | budget | balance | unknown

    def __new__(cls, value: str) -> Reason:
        member = str.__new__(cls, value)
        member._value_ = value
        member.scope, _, member.limit = value.partition("_")
        return member

    KEY_RPM = "key_rpm"
    KEY_TPM = "key_tpm"
    KEY_CONCURRENT = "key_concurrent"
    KEY_BUDGET = "key_budget"
    KEY_UNKNOWN = "key_unknown"
    TEAM_RPM = "team_rpm"
    TEAM_TPM = "team_tpm"
    TEAM_CONCURRENT = "team_concurrent"
    TEAM_BALANCE = "team_balance"
    TEAM_UNKNOWN = "team_unknown"


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a request may not run now, and when retrying may help."""

    reason: Reason
    retry_after: float = 0.0  # seconds; 0 = retrying will not help

    @property
    def scope(self) -> str:
        return self.reason.scope


@dataclass(frozen=True, slots=True)
class Capped:
    """Admitted, but only `amount` (less than asked, at least `least`) could be reserved."""

    amount: int


@dataclass(frozen=True, slots=True)
class Headroom:
    """What the counters' last admission for a (key, team) left: more requests the rpm and concurrency
    limits take, tokens the tpm limits take, micro-units the budget and balance can reserve (-1: no limit),
    and when it was seen (`time.monotonic()`). Only a backend with a round trip keeps it (Redis): it lets
    a request go upstream while its admission is still on the way (accounting/speculation.py)."""

    requests: int
    tokens: int
    money: int
    seen: float


@dataclass(frozen=True, slots=True)
class Settle:
    rid: str
    now: float
    key_id: int
    team_id: int | None
    cost: int  # actual cost, micro-units
    token_delta: int  # actual tokens minus those counted at admission
    admitted_at: float  # the minute whose token count gets the correction
    hold_until: float  # with a cost and a team: the reservation is held at `cost` until commit
    period: str = ""
    period_ttl: float = 0.0


@dataclass(frozen=True, slots=True)
class TeamState:
    balance: int | None  # None: no copy loaded
    version: int
    reserved: int
    reservations: int
    in_flight: int  # requests holding a concurrency slot (kept only while a concurrency limit is set)


@dataclass(frozen=True, slots=True)
class Lease:
    """A reservation (and slot) to renew: it is still in use."""

    rid: str
    key_id: int
    team_id: int | None


class Counters(Protocol):
    async def admit(self, request: Admit) -> Refusal | Capped | None:
        """Check every limit and, only when all pass, count the request and reserve its cost (or, with
        `least`, as much of it as the budget and balance can pay)."""
        ...

    def headroom(self, key_id: int, team_id: int | None) -> Headroom | None:
        """The headroom the last admission of this key (and team) left here; None: none known, or the
        backend answers at once (memory) and there is nothing to win by not waiting."""
        ...

    def settle(self, settle: Settle) -> None:
        """Free the slot, correct the token count, add spend, and hold or release the reservation.
        Never waits: a remote backend sends it in the background, in order."""
        ...

    def commit(self, team_id: int, balance: int, version: int, rids: Sequence[str]) -> None:
        """The database now holds these charges and this balance: take it, and drop their holds."""
        ...

    async def set_balance(self, team_id: int, balance: int, version: int) -> None:
        """Take a database balance if it is newer than the copy (a top-up, a start-up load)."""
        ...

    async def renew(self, leases: Sequence[Lease], expires: float) -> None: ...

    async def load_key_spend(self, key_id: int, team_id: int | None, period: str, amount: int, ttl: float) -> None:
        """Set a key's spend in a budget period from the database, unless the backend already has it.
        Until then, admitting against its budget answers `key_unknown`."""
        ...

    async def key_spend(self, key_id: int, team_id: int | None, period: str) -> int: ...

    async def spend_minutes(
        self, scope: str, subject_id: int, team_id: int | None, minutes: Sequence[int]
    ) -> list[int]:
        """Spend per minute (epoch minute numbers) of a `team` or a `key`."""
        ...

    async def claim(self, name: str, now: float, ttl: float) -> bool:
        """True for exactly one caller per `ttl` seconds (across instances)."""
        ...

    async def team_state(self, team_id: int, now: float) -> TeamState: ...

    async def flush(self) -> None:
        """Wait until every settle and commit handed over so far has been applied."""
        ...

    async def close(self) -> None: ...
