"""Hourly and daily totals of the request log, for charts and totals that never scan raw rows.

Two pairs of tables: `usage_*` keep every dimension a log filter uses (exact totals for any filter),
`chart_*` only key, team, model and channel (a few times fewer rows: what charts group and filter by).
The log writer calls `add_to_rollups` with the rows a batch newly inserted, in the batch's transaction:
a replayed spill file or journal inserts nothing new and so adds nothing, and a failed batch rolls its
rollup changes back with its rows. Each bucket row is an upsert (`+=`), taken in one sorted order so two
instances writing at once never deadlock. Rollups outlive log retention: pruning raw rows keeps them.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import Any

from sqlalchemy import BigInteger, Connection, Integer, Table, case, cast, func, literal_column, select
from sqlalchemy.sql.elements import ColumnElement

from onegate.store.logs import LogRow
from onegate.store.schema import (
    CHART_DIMENSIONS,
    FULL_DIMENSIONS,
    chart_daily,
    chart_hourly,
    request_logs,
    usage_daily,
    usage_hourly,
)

HOUR = 3600
DAY = 86400
MEASURES = (
    "requests",
    "failed",
    "input_tokens",
    "cached_tokens",
    "output_tokens",
    "cost_micros",
    "latency_ms",
    "ttfb_ms",
)
ROLLUPS: tuple[tuple[Table, int, tuple[str, ...]], ...] = (
    (usage_hourly, HOUR, FULL_DIMENSIONS),
    (usage_daily, DAY, FULL_DIMENSIONS),
    (chart_hourly, HOUR, CHART_DIMENSIONS),
    (chart_daily, DAY, CHART_DIMENSIONS),
)
_LOG_COLUMN = {"model": "model_requested"}  # rollup dimension → request_logs column, where they differ
_ZERO: dict[str, int | str] = {"key_id": 0, "team_id": 0, "status": 0}  # "none" for integer dimensions; '' for text


# a refusal of the caller's request before any model was resolved: the name it sent may be anything
_UNRESOLVED = frozenset({400, 401, 403, 404, 405, 413, 426})


def _model(row: LogRow, status: int) -> str:
    """The model dimension: the requested name, except where it was never resolved to a served model (a
    refused request's name is the caller's free text: keyed by it, rollups would grow with every made-up name)."""
    if status in _UNRESOLVED and not row.model_routed:
        return ""
    return row.model_requested or ""


def _hourly(rows: Sequence[LogRow]) -> dict[tuple[Any, ...], list[float]]:
    """One pass over the rows: totals per hour and full dimensions (every other rollup derives from these)."""
    totals: dict[tuple[Any, ...], list[float]] = {}
    for row in rows:
        status = row.status
        key = (
            int(row.created_at // HOUR) * HOUR,
            row.key_id or 0,
            row.team_id or 0,
            _model(row, status),
            row.channel or "",
            status,
            row.error_code or "",
            row.client_name or "",
        )
        add = (
            1,
            1 if status >= 400 else 0,
            row.input_tokens,
            row.cached_tokens,
            row.output_tokens,
            row.cost_micros,
            row.latency_ms,
            row.ttfb_ms or 0.0,
        )
        current = totals.get(key)
        if current is None:
            totals[key] = list(add)
        else:
            for i, value in enumerate(add):
                current[i] += value
    return totals


def _regroup(
    hourly: dict[tuple[Any, ...], list[float]], size: int, dimensions: tuple[str, ...]
) -> list[dict[str, Any]]:
    """The hourly totals summed into `size` buckets over `dimensions`, as rows, in one sorted order."""
    picks = [FULL_DIMENSIONS.index(d) + 1 for d in dimensions]
    totals: dict[tuple[Any, ...], list[float]] = {}
    for full, values in hourly.items():
        key = (full[0] // size * size, *(full[i] for i in picks))
        current = totals.get(key)
        if current is None:
            totals[key] = list(values)
        else:
            for i, value in enumerate(values):
                current[i] += value
    out = []
    for key in sorted(totals):  # one lock order for every writer
        record: dict[str, Any] = dict(zip(("bucket", *dimensions), key, strict=True))
        for name, value in zip(MEASURES, totals[key], strict=True):
            record[name] = value if name in ("latency_ms", "ttfb_ms") else int(value)
        out.append(record)
    return out


# Built once per (dialect, table): building one (its `excluded` alias, eight `+` expressions, its cache key)
# cost about twice as much CPU as executing it, on the writer thread that shares the GIL with the event loop.
_UPSERTS: dict[tuple[str, str], Any] = {}


def _upsert_statement(dialect: str, table: Table, dimensions: tuple[str, ...]) -> Any:
    stmt = _UPSERTS.get((dialect, table.name))
    if stmt is None:
        # only the dialect in use: PostgreSQL's costs ~45 ms of imports that a SQLite server never needs
        module = importlib.import_module(f"sqlalchemy.dialects.{'postgresql' if dialect == 'postgresql' else 'sqlite'}")
        insert: Any = module.insert(table)
        stmt = _UPSERTS[dialect, table.name] = insert.on_conflict_do_update(
            index_elements=["bucket", *dimensions],
            set_={m: table.c[m] + insert.excluded[m] for m in MEASURES},
        )
    return stmt


def _upsert(conn: Connection, table: Table, dimensions: tuple[str, ...], records: list[dict[str, Any]]) -> None:
    if records:
        conn.execute(_upsert_statement(conn.dialect.name, table, dimensions), records)


def rollup_records(rows: Sequence[LogRow]) -> list[tuple[Table, list[dict[str, Any]]]]:
    """Each rollup table with the bucket rows to add to it for `rows`, each list in one sorted order."""
    hourly = _hourly(rows)
    return [(table, _regroup(hourly, size, dimensions)) for table, size, dimensions in ROLLUPS]


def add_to_rollups(conn: Connection, rows: Sequence[LogRow]) -> None:
    """Add newly inserted request-log rows to every rollup (inside the caller's transaction). PostgreSQL's
    writer adds them in its batch statement instead (store/pg_batch.py)."""
    if not rows:
        return
    for (table, _size, dimensions), (_table, records) in zip(ROLLUPS, rollup_records(rows), strict=True):
        _upsert(conn, table, dimensions, records)


def _bucket_expr(conn: Connection, size: int) -> ColumnElement[Any]:
    t = request_logs.c.created_at
    if conn.dialect.name == "postgresql":
        return cast(func.floor(t / size), BigInteger) * size
    return cast(t / size, Integer) * size  # SQLite truncates toward zero: the floor, for times after 1970


def rebuild_rollups(conn: Connection) -> None:
    """Recompute every rollup from the raw rows still kept (a migration, or after a repair)."""
    c = request_logs.c
    for table, size, dimensions in ROLLUPS:
        conn.execute(table.delete())
        dims: list[ColumnElement[Any]] = [_bucket_expr(conn, size).label("bucket")]
        for d in dimensions:
            column = c[_LOG_COLUMN.get(d, d)]
            dims.append(func.coalesce(column, _ZERO.get(d, "")).label(d))
        measures = [
            func.count().label("requests"),
            func.sum(case((c.status >= 400, 1), else_=0)),
            func.coalesce(func.sum(c.input_tokens), 0),
            func.coalesce(func.sum(c.cached_tokens), 0),
            func.coalesce(func.sum(c.output_tokens), 0),
            func.coalesce(func.sum(c.cost_micros), 0),
            func.coalesce(func.sum(c.latency_ms), 0.0),
            func.coalesce(func.sum(c.ttfb_ms), 0.0),
        ]
        grouped = select(*dims, *measures).group_by(*(literal_column(str(i + 1)) for i in range(len(dims))))
        conn.execute(table.insert().from_select(["bucket", *dimensions, *MEASURES], grouped))
