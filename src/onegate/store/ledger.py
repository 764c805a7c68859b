"""The ledger in the database: charges written in batches with their request-log rows, and the spend
queries behind `onegate teams show` and key budgets.

A batch is one transaction: log rows, charge rows (ignored when their entry id is already there, so a
replayed journal never charges twice) and one balance update per team from the charges that were new.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import msgspec
from sqlalchemy import Connection, Engine, func, select
from sqlalchemy.dialects import sqlite
from sqlalchemy.exc import IntegrityError

from onegate.store import pg_batch
from onegate.store.db import insert_many, write_transaction
from onegate.store.logs import insert_rows
from onegate.store.rollups import add_to_rollups
from onegate.store.rows import Charge as Charge
from onegate.store.rows import Committed as Committed
from onegate.store.rows import Settlement as Settlement
from onegate.store.schema import api_keys, ledger
from onegate.store.teams import apply_balance_delta, team_balance

log = logging.getLogger("onegate.ledger")


class SettlementStore:
    """Stores the writer's batches, each one transaction. PostgreSQL: one statement on a connection of its
    own (store/pg_batch.py says why); when it finds a row already stored (a replayed journal or spill file)
    it changes nothing, and the batch is written again in replay mode, which asks which rows are new.
    SQLite: `write_settlements` in a `BEGIN IMMEDIATE` transaction. Used by one thread at a time."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._fresh = pg_batch.BatchConnection(engine) if engine.dialect.name == "postgresql" else None

    def store(self, items: Sequence[Settlement]) -> Committed:
        replay = False
        if self._fresh is not None:
            charges = [item.charge for item in items if item.charge is not None]
            deltas = _per_team(charges)
            try:
                balances = self._fresh.write([item.log for item in items], charges, deltas, time.time())
                return _committed(charges, deltas, balances)
            except pg_batch.AlreadyStored:
                replay = True
        with write_transaction(self._engine) as conn:
            return write_settlements(conn, items, replay)

    def close(self) -> None:
        if self._fresh is not None:
            self._fresh.close()


def write_settlements(conn: Connection, items: Sequence[Settlement], replay: bool = False) -> Committed:
    """A batch in the caller's transaction. `replay`: rows are known to be stored already, so skip the plain
    insert and go straight to the one that ignores them."""
    new_rows = insert_rows(conn, [item.log for item in items], replay)  # only rows new to the log count
    charges = [item.charge for item in items if item.charge is not None]
    new = _insert_new_charges(conn, charges, replay) if charges else []
    deltas = _per_team(new)
    now = time.time()
    if conn.dialect.name == "postgresql":  # in one statement, in the fresh batch's lock order
        balances = pg_batch.add_totals(conn, new_rows, deltas, now)
    else:
        add_to_rollups(conn, new_rows)
        balances = {}
        for team_id in sorted(deltas):  # one order everywhere: instances never deadlock on team rows
            if (after := apply_balance_delta(conn, team_id, deltas[team_id], now)) is not None:
                balances[team_id] = after
    committed = _committed(new, deltas, balances)
    # A replay finds charges already there when the process died between the database's commit and the
    # counters': they are reported too (with their team's balance as it stands), so their holds end.
    if len(new) < len(charges):
        added = {charge.entry_id for charge in new}
        committed.already = [charge for charge in charges if charge.entry_id not in added]
        for team_id in sorted({c.team_id for c in committed.already if c.team_id is not None} - deltas.keys()):
            if (current := team_balance(conn, team_id)) is not None:
                committed.current[team_id] = current
    return committed


def _per_team(charges: list[Charge]) -> dict[int, int]:
    per_team: dict[int, int] = defaultdict(int)
    for charge in charges:
        if charge.team_id is not None:
            per_team[charge.team_id] += charge.amount_micros
    return dict(per_team)


def _committed(charges: list[Charge], deltas: dict[int, int], balances: dict[int, tuple[int, int]]) -> Committed:
    for team_id in sorted(deltas.keys() - balances.keys()):
        # the team was deleted meanwhile: keep the charge, never block the batch
        log.warning("charges of %d micro-units for team %s, which no longer exists", -deltas[team_id], team_id)
    return Committed(charges=charges, balances=balances)


_COLUMNS = Charge.__struct_fields__  # the `ledger` columns a charge fills, in order
_PG_TYPES = ("varchar", "varchar", "int", "int", "varchar", "varchar", "bigint", "float8")
# PostgreSQL, when a batch repeats charges (a replayed journal or spill file): the whole batch as one array per
# column, one statement, and RETURNING says which rows were new
_PG_INSERT = (
    f"INSERT INTO ledger ({', '.join(_COLUMNS)}) "
    f"SELECT * FROM unnest({', '.join(f'%s::{t}[]' for t in _PG_TYPES)}) "
    "ON CONFLICT (entry_id) DO NOTHING RETURNING entry_id"
)


def _insert_new_charges(conn: Connection, charges: list[Charge], replay: bool = False) -> list[Charge]:
    """Insert the charges not yet in the ledger; returns those. The normal case, all new: one plain batch
    insert (COPY on PostgreSQL: db.insert_many says why), several times cheaper than asking which rows are new.
    On a duplicate (a replay), the batch again with ON CONFLICT DO NOTHING, which says which rows were new."""
    if not replay:
        try:
            with conn.begin_nested():
                insert_many(conn, "ledger", _COLUMNS, [msgspec.structs.astuple(charge) for charge in charges])
            return charges
        except IntegrityError:
            pass
    if conn.dialect.name == "postgresql":
        columns = tuple([getattr(charge, c) for charge in charges] for c in _COLUMNS)
        return _the_new(charges, conn.exec_driver_sql(_PG_INSERT, columns))
    rows = [msgspec.structs.asdict(charge) for charge in charges]
    stmt = sqlite.insert(ledger).on_conflict_do_nothing(index_elements=["entry_id"])
    return _the_new(charges, conn.execute(stmt.returning(ledger.c.entry_id), rows))


def _the_new(charges: list[Charge], returned: Any) -> list[Charge]:
    """The charges whose entry ids an insert returned (the ones it did not find already there)."""
    new = {row[0] for row in returned}
    return [charge for charge in charges if charge.entry_id in new]


def key_spend_since(engine: Engine, key_ids: Sequence[int], since: float) -> dict[int, int]:
    """Charges per key since `since`, in micro-units (positive)."""
    if not key_ids:
        return {}
    stmt = (
        select(ledger.c.key_id, func.sum(ledger.c.amount_micros))
        .where(ledger.c.kind == "charge", ledger.c.key_id.in_(list(key_ids)), ledger.c.created_at >= since)
        .group_by(ledger.c.key_id)
    )
    with engine.connect() as conn:
        return {key_id: -int(total or 0) for key_id, total in conn.execute(stmt)}


@dataclass(frozen=True, slots=True)
class SpendReport:
    total_micros: int
    requests: int
    by_model: list[tuple[str, int, int]]  # (model, requests, micros), most spent first
    by_key: list[tuple[str, int, int]]  # (key name + mask, requests, micros)
    history: list[dict[str, Any]]  # top-ups, adjustments, refunds: newest first


def spend_report(
    engine: Engine, team_id: int, since: float, history: int = 20, until: float | None = None
) -> SpendReport:
    charged = (ledger.c.team_id == team_id) & (ledger.c.kind == "charge") & (ledger.c.created_at >= since)
    if until is not None:
        charged = charged & (ledger.c.created_at < until)
    spent = -func.sum(ledger.c.amount_micros)
    with engine.connect() as conn:
        total, count = conn.execute(select(spent, func.count()).where(charged)).one()
        by_model = conn.execute(
            select(ledger.c.model, func.count(), spent).where(charged).group_by(ledger.c.model).order_by(spent.desc())
        ).all()
        by_key = conn.execute(
            select(api_keys.c.name, api_keys.c.mask, func.count(), spent)
            .select_from(ledger.outerjoin(api_keys, api_keys.c.id == ledger.c.key_id))
            .where(charged)
            .group_by(api_keys.c.name, api_keys.c.mask)
            .order_by(spent.desc())
        ).all()
        manual = conn.execute(
            select(ledger)
            .where(ledger.c.team_id == team_id, ledger.c.kind != "charge")
            .order_by(ledger.c.created_at.desc())
            .limit(history)
        ).all()
    return SpendReport(
        total_micros=int(total or 0),
        requests=int(count),
        by_model=[(m or "-", int(n), int(s)) for m, n, s in by_model],
        by_key=[(f"{name} {mask}" if name else "(deleted key)", int(n), int(s)) for name, mask, n, s in by_key],
        history=[dict(r._mapping) for r in manual],
    )
