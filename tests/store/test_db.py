"""Engines (store/db.py) on SQLite, PostgreSQL and PostgreSQL behind a transaction-mode PgBouncer."""

from __future__ import annotations

import threading

from onegate.store.keys import KeyOptions, create_key
from onegate.store.ledger import Settlement, write_settlements
from onegate.store.teams import create_team, get_team
from tests.records import charge, ledger_total, log_row

THREADS, BATCHES = 4, 15  # each connection runs each statement well past psycopg's prepare threshold (5)


def test_the_ledger_from_several_connections_adds_up_behind_a_transaction_pooler(engine):
    """Behind PgBouncer in transaction mode each transaction may land on another server connection (the
    test's pooler hands them out round robin): a server-side prepared statement made on one is missing
    on the next ("prepared statement _pg3_0 does not exist"). Every charge must still be written once."""
    team = create_team(engine, "acme")
    key, _ = create_key(engine, "k", options=KeyOptions(team_id=team.id))
    failures: list[BaseException] = []

    def commit(prefix: str) -> None:
        try:
            for i in range(BATCHES):
                rid = f"req_{prefix}{i}"
                item = Settlement(log_row(rid, 3, key.id, team.id), charge(rid, 3, key.id, team.id))
                with engine.begin() as conn:
                    write_settlements(conn, [item])
        except BaseException as exc:  # reported below: a thread's exception would otherwise vanish
            failures.append(exc)

    threads = [threading.Thread(target=commit, args=(str(n),)) for n in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    team = get_team(engine, "acme")
    assert team.balance_micros == -3 * THREADS * BATCHES and team.balance_version == THREADS * BATCHES
    assert ledger_total(engine) == -3 * THREADS * BATCHES
