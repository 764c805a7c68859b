"""The records the request path and the log writer pass around, and the rows they are read from, without
SQLAlchemy: `onegate serve` answers its first requests before SQLAlchemy is imported (its import was ~45% of
start-up; store/quickread.py reads these rows at start with the stdlib's sqlite3). The modules that store
them (store/logs.py, ledger.py, teams.py, keys.py) re-export them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import msgspec
import orjson

from onegate.apikeys import KeyRecord

# Widths of the request_logs columns the caller's strings go into (store/schema.py declares them from here;
# pipeline/record.py cuts values to them: PostgreSQL enforces VARCHAR widths).
LOG_WIDTHS = {"client_version": 40, "user_agent": 300, "path": 500, "model_requested": 200, "model_routed": 200}


class LogRow(msgspec.Struct, frozen=True, gc=False):
    """One request's log row, as built on the request path (pipeline/record.py). A msgspec Struct, not a
    dict or a dataclass: built positionally it costs a fraction of the dict it replaces (keywords would
    cost msgspec more than the dict: it matches each of 32 names), and it encodes straight to the JSON
    lines of the journal and the spill file. Only scalars in it, so the garbage collector need not track
    it (gc=False). Field names, types and order are the `request_logs` columns'; every field is required
    (the record step fills them all, in this order)."""

    request_id: str
    created_at: float
    key_id: int | None
    key_mask: str | None
    team_id: int | None
    client_name: str
    client_version: str
    user_agent: str
    method: str
    path: str
    dialect: str
    model_requested: str | None
    model_routed: str | None
    channel: str | None
    status: int
    error_code: str | None
    error_message: str | None
    stream: bool
    latency_ms: float
    ttfb_ms: float | None
    input_tokens: int
    cached_tokens: int
    cache_write_tokens: int
    output_tokens: int
    reasoning_tokens: int
    cost_micros: int
    price: str | None  # the price's JSON ("why this price"), when it cost something
    usage_estimated: bool
    config_hint: str | None
    attempts: str | None  # JSON list of the attempts, when there were any
    notes: str | None
    timings: str | None = None  # JSON {phase: ms} (observe/timing.py); absent from rows spilled by older versions


class Charge(msgspec.Struct, frozen=True, gc=False):
    """A ledger row of kind "charge" (accounting/ledger.py builds it, positionally like `LogRow`); field
    names are `ledger` columns."""

    entry_id: str  # request id and serving attempt: a replay finds it already there
    kind: str  # "charge"
    team_id: int | None
    key_id: int
    request_id: str
    model: str | None
    amount_micros: int  # negative: a charge takes money
    created_at: float


class Settlement(msgspec.Struct, frozen=True, gc=False):
    """What the writer stores for one request: its log row and, when it cost something, its charge.
    Encoded as one JSON line `{"log": ..., "charge": ...}` in the journal and the spill file."""

    log: LogRow
    charge: Charge | None = None

    def encode(self) -> bytes:
        return _ENCODER.encode(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Settlement:
        if "log" not in data:  # a spill file from before charges: a bare log row
            return cls(msgspec.convert(data, LogRow))
        return msgspec.convert(data, cls)


_ENCODER = msgspec.json.Encoder()


@dataclass(slots=True)
class Committed:
    """What a batch changed: charges that were new, and each touched team's balance after it; and the
    charges a replay found already written, whose holds must end all the same."""

    charges: list[Charge] = field(default_factory=list)
    balances: dict[int, tuple[int, int]] = field(default_factory=dict)  # team id -> (balance, version)
    already: list[Charge] = field(default_factory=list)  # replayed charges the ledger had: not applied again
    current: dict[int, tuple[int, int]] = field(default_factory=dict)  # their teams' balances, unchanged


@dataclass(frozen=True, slots=True)
class TeamRecord:
    id: int
    name: str
    status: str  # active | disabled
    balance_micros: int
    balance_version: int
    model_groups: tuple[str, ...] | None  # None: every model
    rpm: int | None = None
    tpm: int | None = None
    concurrent: int | None = None


def team_record(row: Any) -> TeamRecord:
    return TeamRecord(
        id=row.id,
        name=row.name,
        status=row.status,
        balance_micros=row.balance_micros,
        balance_version=row.balance_version,
        model_groups=tuple(orjson.loads(row.model_groups)) if row.model_groups else None,
        rpm=row.rpm,
        tpm=row.tpm,
        concurrent=row.concurrent,
    )


def key_record(row: Any) -> KeyRecord:
    return KeyRecord(
        id=row.id,
        name=row.name,
        key_hash=row.key_hash,
        mask=row.mask,
        status=row.status,
        models=tuple(orjson.loads(row.models)) if row.models else None,
        expires_at=row.expires_at,
        created_at=row.created_at,
        team_id=row.team_id,
        budget_micros=row.budget_micros,
        budget_period=row.budget_period,
        rpm=row.rpm,
        tpm=row.tpm,
        concurrent=row.concurrent,
    )
