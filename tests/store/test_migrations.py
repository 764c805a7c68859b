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


def test_a_database_from_before_the_task_list_indexes_gains_them(tmp_path):
    from sqlalchemy import inspect, text

    engine = open_engine(f"sqlite:///{tmp_path / 'v6.sqlite'}")
    migrate(engine)
    wanted = {"ix_media_tasks_created", "ix_media_tasks_team_created"}
    with engine.begin() as conn:
        for name in wanted:
            conn.execute(text(f"DROP INDEX {name}"))
        conn.execute(text("DELETE FROM schema_migrations WHERE version >= 7"))
    assert wanted.isdisjoint(i["name"] for i in inspect(engine).get_indexes("media_tasks"))
    assert migrate(engine) >= 7
    assert wanted <= {i["name"] for i in inspect(engine).get_indexes("media_tasks")}
