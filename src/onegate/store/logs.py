"""Request-log rows: the typed row the record step builds, idempotent batch inserts, and the queries behind
`onegate logs`."""

from __future__ import annotations

from collections.abc import Sequence
from types import ModuleType
from typing import Any

import msgspec
from sqlalchemy import Connection, Engine, select
from sqlalchemy.dialects import sqlite
from sqlalchemy.exc import IntegrityError

from onegate.store.db import insert_many
from onegate.store.rows import LogRow as LogRow
from onegate.store.schema import request_logs

StoredLog = dict[str, Any]  # a row as `onegate logs` reads it back (every column, the id included)


def insert_rows(conn: Connection, rows: Sequence[LogRow], replay: bool = False) -> list[LogRow]:
    """Insert rows, ignoring ones already written (a replayed spill file may repeat some); returns the new ones.
    `replay`: some are known to be there, so skip the plain insert."""
    if not rows:
        return []
    if not replay:
        try:  # the normal case, all new: a plain batch insert of tuples is the cheapest (db.insert_many says why)
            with conn.begin_nested():
                columns = LogRow.__struct_fields__
                insert_many(conn, "request_logs", columns, [msgspec.structs.astuple(row) for row in rows])
            return list(rows)
        except IntegrityError:  # a replay: insert what is missing, and learn which rows those were
            pass
    values = [msgspec.structs.asdict(row) for row in rows]
    module = postgresql_dialect() if conn.dialect.name == "postgresql" else sqlite
    stmt = module.insert(request_logs).on_conflict_do_nothing(index_elements=["request_id"])
    new = set(conn.scalars(stmt.returning(request_logs.c.request_id), values))
    return list(rows) if len(new) == len(rows) else [r for r in rows if r.request_id in new]


def query_logs(
    engine: Engine,
    *,
    key_id: int | None = None,
    status: int | None = None,
    model: str | None = None,
    since: float | None = None,
    limit: int = 50,
) -> list[StoredLog]:
    stmt = select(request_logs).order_by(request_logs.c.created_at.desc()).limit(limit)
    if key_id is not None:
        stmt = stmt.where(request_logs.c.key_id == key_id)
    if status is not None:
        stmt = stmt.where(request_logs.c.status == status)
    if model is not None:
        stmt = stmt.where((request_logs.c.model_requested == model) | (request_logs.c.model_routed == model))
    if since is not None:
        stmt = stmt.where(request_logs.c.created_at >= since)
    with engine.connect() as conn:
        return [_plain(r._mapping) for r in conn.execute(stmt)]


def get_log(engine: Engine, request_id: str) -> StoredLog | None:
    with engine.connect() as conn:
        row = conn.execute(select(request_logs).where(request_logs.c.request_id == request_id)).first()
    return _plain(row._mapping) if row else None


def _plain(mapping: Any) -> StoredLog:
    # SQLAlchemy's keys are str subclasses (quoted_name); plain str keys serialise anywhere
    return {str(k): v for k, v in mapping.items()}


def postgresql_dialect() -> ModuleType:
    """PostgreSQL's dialect, imported only when a PostgreSQL database is in use (it costs start-up time)."""
    from sqlalchemy.dialects import postgresql

    return postgresql
