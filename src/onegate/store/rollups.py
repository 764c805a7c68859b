"""Hourly and daily totals of the request log, for charts and totals that never scan raw rows.

The log writer calls `add_to_rollups` with the rows a batch newly inserted, in the batch's transaction:
a replayed spill file or journal inserts nothing new and so adds nothing, and a failed batch rolls its
rollup changes back with its rows. Each bucket row is an upsert (`+=`), taken in one sorted order so two
instances writing at once never deadlock. Rollups outlive log retention: pruning raw rows keeps them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import BigInteger, Connection, Integer, Table, cast, func, literal_column, select
from sqlalchemy.sql.elements import ColumnElement

from onegate.store.schema import request_logs, usage_daily, usage_hourly

HOUR = 3600
DAY = 86400
DIMENSIONS = ("key_id", "team_id", "model", "channel", "status", "error_code", "client_name")
MEASURES = ("requests", "input_tokens", "cached_tokens", "output_tokens", "cost_micros", "latency_ms", "ttfb_ms")
Dims = tuple[int, int, int, str, str, int, str, str]  # bucket first, then DIMENSIONS


def _dims(row: dict[str, Any], size: int) -> Dims:
    return (
        int(row["created_at"] // size) * size,
        row.get("key_id") or 0,
        row.get("team_id") or 0,
        row.get("model_requested") or "",
        row.get("channel") or "",
        int(row["status"]),
        row.get("error_code") or "",
        row.get("client_name") or "",
    )


def _measures(row: dict[str, Any]) -> list[float]:
    return [
        1,
        row.get("input_tokens") or 0,
        row.get("cached_tokens") or 0,
        row.get("output_tokens") or 0,
        row.get("cost_micros") or 0,
        row.get("latency_ms") or 0.0,
        row.get("ttfb_ms") or 0.0,
    ]


def _group(rows: Iterable[dict[str, Any]], size: int) -> list[dict[str, Any]]:
    totals: dict[Dims, list[float]] = {}
    for row in rows:
        dims = _dims(row, size)
        add = _measures(row)
        current = totals.get(dims)
        if current is None:
            totals[dims] = add
        else:
            for i, value in enumerate(add):
                current[i] += value
    out = []
    for dims in sorted(totals):  # one lock order for every writer
        values = totals[dims]
        record: dict[str, Any] = {"bucket": dims[0], **dict(zip(DIMENSIONS, dims[1:], strict=True))}
        for name, value in zip(MEASURES, values, strict=True):
            record[name] = value if name in ("latency_ms", "ttfb_ms") else int(value)
        out.append(record)
    return out


def _upsert(conn: Connection, table: Table, records: list[dict[str, Any]]) -> None:
    if not records:
        return
    from sqlalchemy.dialects import postgresql, sqlite

    stmt: Any = (postgresql if conn.dialect.name == "postgresql" else sqlite).insert(table)
    stmt = stmt.on_conflict_do_update(
        index_elements=["bucket", *DIMENSIONS],
        set_={m: table.c[m] + stmt.excluded[m] for m in MEASURES},
    )
    conn.execute(stmt, records)


def add_to_rollups(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Add newly inserted request-log rows to the hourly and daily totals (inside the caller's transaction)."""
    if not rows:
        return
    _upsert(conn, usage_hourly, _group(rows, HOUR))
    _upsert(conn, usage_daily, _group(rows, DAY))


def _bucket_expr(conn: Connection, size: int) -> ColumnElement[Any]:
    t = request_logs.c.created_at
    if conn.dialect.name == "postgresql":
        return cast(func.floor(t / size), BigInteger) * size
    return cast(t / size, Integer) * size  # SQLite truncates toward zero: the floor, for times after 1970


def rebuild_rollups(conn: Connection) -> None:
    """Recompute both rollups from the raw rows still kept (a migration, or after a repair)."""
    for table, size in ((usage_hourly, HOUR), (usage_daily, DAY)):
        conn.execute(table.delete())
        c = request_logs.c
        dims: list[ColumnElement[Any]] = [
            _bucket_expr(conn, size).label("bucket"),
            func.coalesce(c.key_id, 0).label("key_id"),
            func.coalesce(c.team_id, 0).label("team_id"),
            func.coalesce(c.model_requested, "").label("model"),
            func.coalesce(c.channel, "").label("channel"),
            c.status.label("status"),
            func.coalesce(c.error_code, "").label("error_code"),
            c.client_name.label("client_name"),
        ]
        measures = [
            func.count().label("requests"),
            func.coalesce(func.sum(c.input_tokens), 0),
            func.coalesce(func.sum(c.cached_tokens), 0),
            func.coalesce(func.sum(c.output_tokens), 0),
            func.coalesce(func.sum(c.cost_micros), 0),
            func.coalesce(func.sum(c.latency_ms), 0.0),
            func.coalesce(func.sum(c.ttfb_ms), 0.0),
        ]
        grouped = select(*dims, *measures).group_by(*(literal_column(str(i + 1)) for i in range(len(dims))))
        conn.execute(table.insert().from_select(["bucket", *DIMENSIONS, *MEASURES], grouped))
