"""Migrations bring an older database up to date, idempotently."""

from __future__ import annotations

from onegate.store.db import open_engine
from onegate.store.migrations import migrate


def test_migrations_bring_an_older_database_up_to_date(tmp_path):
    from sqlalchemy import inspect, text

    engine = open_engine(f"sqlite:///{tmp_path / 'old.sqlite'}")
    migrate(engine)
    with engine.begin() as conn:  # make it look like a version-1 database
        conn.execute(text("ALTER TABLE request_logs DROP COLUMN notes"))
        conn.execute(text("DELETE FROM schema_migrations WHERE version > 1"))
    assert migrate(engine) >= 2
    assert "notes" in {c["name"] for c in inspect(engine).get_columns("request_logs")}
    assert migrate(engine) >= 2  # idempotent
