"""Ordered, named migrations for SQLite and PostgreSQL alike.

A fresh database gets the latest schema from `schema.metadata` and is stamped with the last version;
an older database runs the steps after its version, in order. Each step is a function of a connection.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy import Connection, Engine, inspect, select, text

from onegate.store.schema import metadata, schema_migrations

Step = Callable[[Connection], None]


# (version, name, step). Append only; never edit a step that has shipped.
def _add_request_log_notes(conn: Connection) -> None:
    conn.execute(text("ALTER TABLE request_logs ADD COLUMN notes TEXT"))


STEPS: list[tuple[int, str, Step | None]] = [
    (1, "initial: api_keys, request_logs", None),
    (2, "request_logs.notes", _add_request_log_notes),
]


def migrate(engine: Engine) -> int:
    """Bring the database to the latest version; returns that version."""
    with engine.begin() as conn:
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
