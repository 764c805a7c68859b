"""The writer's batch on PostgreSQL (store/pg_batch.py): one round trip for a fresh batch, directly and
through a transaction-mode PgBouncer, counted from libpq's own trace of the connection's messages."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, event

from onegate.store.db import open_engine
from onegate.store.ledger import Settlement, SettlementStore
from onegate.store.migrations import migrate
from onegate.store.teams import create_team, get_team
from tests.conftest import require_service
from tests.records import charge, count_logs, ledger_total, log_row
from tests.services import POSTGRES_HOST, POSTGRES_PORT, pgbouncer_schema, postgres_schema


@pytest.fixture(params=["postgresql", "pgbouncer"])
def traced(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Engine, Path, list[int]]]:
    """An engine whose every connection writes libpq's trace to one file, and their server process ids."""
    import psycopg

    require_service("PostgreSQL", POSTGRES_HOST, POSTGRES_PORT)
    trace = tmp_path / "libpq.trace"
    with trace.open("w") as out, postgres_schema() if request.param == "postgresql" else pgbouncer_schema() as url:
        engine = open_engine(url)
        pids: list[int] = []

        @event.listens_for(engine, "connect")
        def _trace(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
            dbapi_connection.pgconn.trace(out.fileno())
            dbapi_connection.pgconn.set_trace_flags(psycopg.pq.Trace.SUPPRESS_TIMESTAMPS)
            pids.append(dbapi_connection.info.backend_pid)

        migrate(engine)
        yield engine, trace, pids
        engine.dispose()


def _round_trips(trace: Path, since: int) -> tuple[int, list[str]]:
    """Times the client sent and then waited for the server (F lines followed by B lines), and the statements."""
    trips, last, statements = 0, "B", []
    for line in trace.read_text()[since:].splitlines():
        fields = line.split("\t")
        if len(fields) < 3 or fields[0] not in ("F", "B"):
            continue
        if fields[0] == "F" and last == "B":
            trips += 1
        last = fields[0]
        if fields[0] == "F" and fields[2] in ("Query", "Parse"):
            statements.append(fields[3][:60])
    return trips, statements


def _batch(prefix: str, teams: list[int], count: int = 8) -> list[Settlement]:
    return [
        Settlement(
            log_row(f"req_{prefix}{i}", 7, 1, teams[i % len(teams)]),
            charge(f"req_{prefix}{i}", 7, 1, teams[i % len(teams)]),
        )
        for i in range(count)
    ]


def test_a_fresh_batch_is_one_round_trip_and_a_replay_a_few(traced):
    engine, trace, _pids = traced
    teams = [create_team(engine, name).id for name in ("acme", "beta")]
    batches = SettlementStore(engine)
    batches.store(_batch("warm", teams))  # connects
    since = trace.stat().st_size
    committed = batches.store(_batch("a", teams))
    trips, statements = _round_trips(trace, since)
    # one statement: log rows, charges, four rollups and both teams' balances (it was 16 + 1 a team)
    assert (trips, len(statements)) == (1, 1), statements
    assert len(committed.charges) == 8 and sorted(committed.balances) == sorted(teams)

    since = trace.stat().st_size
    replayed = batches.store(_batch("a", teams) + _batch("b", teams, 2))  # a replayed journal, and two new
    trips, statements = _round_trips(trace, since)
    # the fresh statement fails whole; then BEGIN, rows and charges ON CONFLICT, totals, COMMIT (+ a ping)
    assert trips <= 7, statements
    assert len(replayed.charges) == 2 and len(replayed.already) == 8
    batches.close()
    assert count_logs(engine) == 18 and ledger_total(engine) == -126
    assert get_team(engine, "acme").balance_micros + get_team(engine, "beta").balance_micros == -126


@pytest.mark.parametrize("traced", ["postgresql"], indirect=True)  # PgBouncer: one server connection here
def test_a_connection_the_server_dropped_costs_no_batch(traced):
    """The batch connection is kept without the pool's ping: a server-side drop (a restart, an idle
    timeout) is found by the next batch, which runs again on a new connection."""
    engine, _trace, pids = traced
    team = create_team(engine, "acme").id
    batches = SettlementStore(engine)
    batches.store(_batch("a", [team]))
    with engine.connect() as conn:  # end this engine's other sessions: the batch connection among them
        ended = conn.exec_driver_sql(
            "SELECT pg_terminate_backend(pid) FROM unnest(%(pids)s::int[]) AS pid WHERE pid <> pg_backend_pid()",
            {"pids": pids},
        ).scalars()
        assert any(ended)
    committed = batches.store(_batch("b", [team]))
    batches.close()
    assert len(committed.charges) == 8 and count_logs(engine) == 16 and ledger_total(engine) == -112
