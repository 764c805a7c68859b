"""Ordered, named migrations for SQLite and PostgreSQL alike.

A fresh database gets the latest schema from `schema.metadata` and is stamped with the last version;
an older database runs the steps after its version, in order. Each step is a function of a connection.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy import Connection, Engine, inspect, select, text

from onegate.store import quickread, schema
from onegate.store.schema import metadata, schema_migrations

Step = Callable[[Connection], None]


# (version, name, step). Append only; never edit a step that has shipped.
def _add_request_log_notes(conn: Connection) -> None:
    conn.execute(text("ALTER TABLE request_logs ADD COLUMN notes TEXT"))


def _add_columns(conn: Connection, table: str, columns: dict[str, str]) -> None:
    """ALTER TABLE … ADD COLUMN for each column the table does not have yet (safe to run twice)."""
    present = {c["name"] for c in inspect(conn).get_columns(table)}
    for name, sql_type in columns.items():
        if name not in present:
            conn.execute(text(f"ALTER TABLE {table} ADD COLUMN {name} {sql_type}"))


def _add_teams_and_ledger(conn: Connection) -> None:
    # New tables are created from schema.py: from now on they change only through appended steps, which
    # (like _add_columns) must tolerate finding the change already made by a fresh create_all.
    for table in (schema.teams, schema.ledger, schema.model_prices, schema.spend_alerts):
        table.create(conn, checkfirst=True)
    _add_columns(
        conn,
        "api_keys",
        {
            "budget_micros": "BIGINT",
            "budget_period": "VARCHAR(8)",
            "rpm": "INTEGER",
            "tpm": "INTEGER",
            "concurrent": "INTEGER",
        },
    )


def _add_media_tasks(conn: Connection) -> None:
    for table in (schema.media_tasks, schema.webhook_deliveries, schema.key_webhooks):
        table.create(conn, checkfirst=True)


def _add_management(conn: Connection) -> None:
    rollups = (schema.usage_hourly, schema.usage_daily, schema.chart_hourly, schema.chart_daily)
    for table in (*rollups, schema.admins, schema.admin_sessions, schema.audit_log):
        table.create(conn, checkfirst=True)
    present = {i["name"] for i in inspect(conn).get_indexes("request_logs")}
    for index in schema.request_logs.indexes:
        if index.name not in present:
            index.create(conn)
    # rows written before the rollups existed are added once, here; the writer keeps them from now on
    from onegate.store.rollups import rebuild_rollups

    rebuild_rollups(conn)


def _add_request_log_timings(conn: Connection) -> None:
    _add_columns(conn, "request_logs", {"timings": "TEXT"})


def _add_media_task_list_indexes(conn: Connection) -> None:
    present = {i["name"] for i in inspect(conn).get_indexes("media_tasks")}
    for index in schema.media_tasks.indexes:
        if index.name not in present:
            index.create(conn)


STEPS: list[tuple[int, str, Step | None]] = [
    (1, "initial: api_keys, request_logs", None),
    (2, "request_logs.notes", _add_request_log_notes),
    (3, "teams, ledger, model_prices, spend_alerts; key budgets and limits", _add_teams_and_ledger),
    (4, "media_tasks, webhook_deliveries, key_webhooks", _add_media_tasks),
    (5, "usage rollups, admins, sessions, audit log; request_logs filter indexes", _add_management),
    (6, "request_logs.timings", _add_request_log_timings),
    (7, "media_tasks list indexes (all, by team)", _add_media_task_list_indexes),
]
# start-up reads a database at this version without SQLAlchemy: a new step moves it on
assert STEPS[-1][0] == quickread.SCHEMA_VERSION, "store/quickread.py's SCHEMA_VERSION is the last step's"


def migrate(engine: Engine) -> int:
    """Bring the database to the latest version; returns that version."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # instances starting together on one database migrate one after the other
            conn.execute(text("SELECT pg_advisory_xact_lock(4242001)"))
        if not inspect(conn).has_table(schema_migrations.name):
            metadata.create_all(conn)
            conn.execute(
                schema_migrations.insert(),
                [{"version": v, "name": n, "applied_at": time.time()} for v, n, _ in STEPS],
            )
            return STEPS[-1][0]
        done = set(conn.scalars(select(schema_migrations.c.version)))
        for version, name, step in STEPS:
            if version in done:
                continue
            if step is not None:
                step(conn)
            conn.execute(schema_migrations.insert().values(version=version, name=name, applied_at=time.time()))
    return STEPS[-1][0]
