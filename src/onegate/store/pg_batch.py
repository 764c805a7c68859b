"""The log writer's batch on PostgreSQL as one statement: log rows, charges, the four rollups and the
balances of the batch's teams, each as a data-modifying CTE over a JSON array of the batch.

Why one statement: the writer thread shares the GIL with the event loop, and on PostgreSQL its cost was
per statement, not per row. A batch was 16 round trips with one team (pool ping, BEGIN, two savepoints
with their releases, two COPYs of two round trips each, four rollup upserts, a balance UPDATE per team,
COMMIT), each paying psycopg's and SQLAlchemy's Python. Now it is one round trip (counted from libpq's
trace: tests/store/test_pg_batch.py); the rows travel as JSON that msgspec encodes in C and the server
parses, not values psycopg dumps one by one. Writer cost per row with a charge (`bench/writer_cost.py`
against the COPY version): 8-row batches (concurrency 1) 480k -> 99k instructions (callgrind), thread CPU
about 400 -> 50-85 µs (interleaved runs); 120-row batches 103k -> 56k instructions, 36-50 -> 8-9 µs.

Lock order, so that instances writing at once never deadlock: both statements here (the fresh batch and the
replay's totals) take the teams' rows in id order (`locked`, sorted before FOR UPDATE) and then the rollup
rows in the order the writer sorted them (WITH ORDINALITY); the CTEs are the same in both, so PostgreSQL
runs them in the same order. Log rows and charges are new unique keys, which wait on nobody.
Nothing here keeps session state or prepares statements: it works through a transaction-mode PgBouncer.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

import msgspec
from sqlalchemy import Connection, Engine

from onegate.store.logs import LogRow
from onegate.store.rollups import MEASURES, ROLLUPS, rollup_records
from onegate.store.schema import ledger

Balances = dict[int, tuple[int, int]]  # team id -> (balance, version) after the batch

_ENCODER = msgspec.json.Encoder()


class AlreadyStored(Exception):
    """A fresh batch found a row already stored (a replayed journal or spill file): it changed nothing."""


class BatchConnection:
    """The writer's own connection for fresh batches, kept between them, in autocommit: a statement is its
    own transaction. Not a pool checkout per batch, and no SQLAlchemy around the call: checkout, the pool's
    ping and `exec_driver_sql` cost 3-5x the CPU of the statement's own round trip (about 350 against 75 µs
    a batch, thread time). Without the ping, a connection the server dropped (a restart) fails the first
    batch: it is closed and the batch tried once more on a new one. Replaying that batch is safe either way:
    if it did commit, the retry finds its rows and goes the replay way, which adds nothing twice."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._conn: Any = None  # a detached pool connection (SQLAlchemy's proxy around psycopg's)

    def write(
        self, rows: Sequence[LogRow], charges: Sequence[msgspec.Struct], deltas: dict[int, int], now: float
    ) -> Balances:
        """Insert `rows` and `charges` (all new, or AlreadyStored and nothing changed), add the rows to the
        rollups and `deltas` (team id -> micro-units) to the balances: one statement."""
        import psycopg  # only with PostgreSQL, whose driver it is

        params = _totals_params(rows, deltas, now)
        params["logs"] = _ENCODER.encode(rows).decode()
        params["charges"] = _ENCODER.encode(charges).decode()
        for attempt in (1, 2):
            driver = self._driver()
            try:
                with driver.cursor() as cursor:
                    cursor.execute(_statement(True), params)
                    return _balances(cursor.fetchall())
            except psycopg.IntegrityError as exc:
                raise AlreadyStored(str(exc)) from exc
            except psycopg.OperationalError:
                if attempt == 2 or not driver.closed:  # retry only on a connection that was gone
                    raise
            finally:
                if driver.closed or driver.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                    self.close()  # never keep a connection that is gone or in an unknown state
        raise AssertionError("unreachable")

    def _driver(self) -> Any:
        if self._conn is None:
            conn = self._engine.raw_connection()
            conn.detach()  # ours until closed: not back in the pool, not counted in its size
            conn.dbapi_connection.autocommit = True  # type: ignore[union-attr]
            self._conn = conn
        return self._conn.dbapi_connection  # psycopg's own connection

    def close(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            conn.close()


def add_totals(conn: Connection, rows: Sequence[LogRow], deltas: dict[int, int], now: float) -> Balances:
    """Add rows already inserted (those new to the log) to the rollups and `deltas` to the balances, in the
    caller's transaction: a replayed batch, whose inserts had to ask which rows were new."""
    if not rows and not deltas:
        return {}
    return _balances(conn.exec_driver_sql(_statement(False), _totals_params(rows, deltas, now)))


def _totals_params(rows: Sequence[LogRow], deltas: dict[int, int], now: float) -> dict[str, Any]:
    params: dict[str, Any] = {table.name: _ENCODER.encode(records).decode() for table, records in rollup_records(rows)}
    params["deltas"] = _ENCODER.encode([{"team_id": t, "delta": d} for t, d in deltas.items()]).decode()
    params["now"] = now
    return params


def _balances(result: Any) -> Balances:
    return {int(team): (int(balance), int(version)) for team, balance, version in result}


@cache
def _statement(inserts: bool) -> str:
    ctes = []
    if inserts:
        ctes += [_insert("logs", "request_logs", LogRow.__struct_fields__), _insert("charges", "ledger", _LEDGER)]
    for i, (table, _size, dimensions) in enumerate(ROLLUPS):
        ctes.append(_upsert(f"rollup{i}", table.name, ("bucket", *dimensions)))
    ctes += [
        "deltas AS (SELECT * FROM json_to_recordset(%(deltas)s::json) AS d(team_id integer, delta bigint))",
        # ORDER BY then FOR UPDATE: PostgreSQL sorts first, so the rows are locked in id order
        "locked AS (SELECT id FROM teams WHERE id IN (SELECT team_id FROM deltas) ORDER BY id FOR UPDATE)",
        "balances AS (UPDATE teams SET balance_micros = teams.balance_micros + deltas.delta, "
        "balance_version = teams.balance_version + 1, updated_at = %(now)s "
        "FROM deltas JOIN locked ON locked.id = deltas.team_id WHERE teams.id = deltas.team_id "
        "RETURNING teams.id, teams.balance_micros, teams.balance_version)",
    ]
    return "WITH " + ",\n".join(ctes) + "\nSELECT id, balance_micros, balance_version FROM balances"


# `ledger`'s columns but its id (from the sequence): those a charge leaves out are NULL, as in an INSERT of it
_LEDGER = tuple(c.name for c in ledger.columns if c.name != "id")


def _insert(name: str, table: str, columns: tuple[str, ...]) -> str:
    cols = ", ".join(columns)
    rows = f"json_populate_recordset(NULL::{table}, %({name})s::json)"
    return f"{name} AS (INSERT INTO {table} ({cols}) SELECT {cols} FROM {rows})"


def _upsert(name: str, table: str, key: tuple[str, ...]) -> str:
    cols = ", ".join((*key, *MEASURES))
    add = ", ".join(f"{m} = {table}.{m} + excluded.{m}" for m in MEASURES)
    return (
        f"{name} AS (INSERT INTO {table} ({cols}) SELECT {cols} "
        f"FROM json_populate_recordset(NULL::{table}, %({table})s::json) WITH ORDINALITY AS r ORDER BY r.ordinality "
        f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET {add})"
    )
