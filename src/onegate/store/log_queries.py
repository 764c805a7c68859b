"""The request log at scale: filtered keyset pages, totals from rollups, charts, retention.

Every page is an index range scan: newest first by (created_at, request_id), continued from a cursor (the
last row's pair), never an OFFSET. Totals and charts read the hourly/daily rollups for whole hours and days
and the raw rows only for the partial hours at the range's ends, so a year costs what a day costs.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, Select, Table, case, delete, func, literal, or_, select
from sqlalchemy.sql.elements import ColumnElement

from onegate.store.logs import StoredLog
from onegate.store.rollups import DAY, HOUR
from onegate.store.schema import chart_daily, chart_hourly, request_logs, usage_daily, usage_hourly

log = logging.getLogger("onegate.logs")
MAX_PAGE = 500
LIST_COLUMNS = tuple(c for c in request_logs.c if c.name not in ("attempts", "price", "notes", "user_agent"))


@dataclass(frozen=True, slots=True)
class LogFilter:
    since: float | None = None
    until: float | None = None  # exclusive
    key_id: int | None = None
    team_id: int | None = None
    model: str | None = None  # as requested
    channel: str | None = None
    status: int | None = None
    failed: bool | None = None  # True: status >= 400; False: below
    error_code: str | None = None
    client: str | None = None
    request_id: str | None = None


def _raw_where(f: LogFilter, since: float | None, until: float | None) -> list[ColumnElement[bool]]:
    c = request_logs.c
    where: list[ColumnElement[bool]] = []
    if since is not None:
        where.append(c.created_at >= since)
    if until is not None:
        where.append(c.created_at < until)
    for column, value in (
        (c.key_id, f.key_id),
        (c.team_id, f.team_id),
        (c.model_requested, f.model),
        (c.channel, f.channel),
        (c.status, f.status),
        (c.error_code, f.error_code),
        (c.client_name, f.client),
        (c.request_id, f.request_id),
    ):
        if value is not None:
            where.append(column == value)
    if f.failed is not None:
        where.append(c.status >= 400 if f.failed else c.status < 400)
    return where


def _page_stmt(f: LogFilter, limit: int, after: tuple[float, str] | None, columns: Any) -> Select[Any]:
    c = request_logs.c
    where = _raw_where(f, f.since, f.until)
    if after is not None:
        at, rid = after
        # `created_at <= at` alone is an index range condition; the OR only breaks ties inside it
        where += [c.created_at <= at, or_(c.created_at < at, c.request_id < rid)]
    return select(*columns).where(*where).order_by(c.created_at.desc(), c.request_id.desc()).limit(limit)


def page(engine: Engine, f: LogFilter, limit: int, after: tuple[float, str] | None) -> list[StoredLog]:
    """Up to `limit` rows, newest first, strictly after the cursor (created_at, request_id)."""
    with engine.connect() as conn:
        result = conn.execute(_page_stmt(f, limit, after, LIST_COLUMNS))
        keys = [str(c.name) for c in LIST_COLUMNS]
        return [dict(zip(keys, r, strict=True)) for r in result]


def page_tuples(
    engine: Engine, f: LogFilter, limit: int, after: tuple[float, str] | None, columns: tuple[str, ...]
) -> list[tuple[Any, ...]]:
    """The same page as plain tuples of `columns` (created_at and request_id last), for a fast export."""
    wanted = [request_logs.c[name] for name in columns] + [request_logs.c.created_at, request_logs.c.request_id]
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(_page_stmt(f, limit, after, wanted))]


def iter_rows(engine: Engine, f: LogFilter, cap: int, chunk: int = 1000) -> Iterator[list[StoredLog]]:
    """Pages of rows for an export, at most `cap` in all; memory holds one page at a time."""
    after: tuple[float, str] | None = None
    left = cap
    while left > 0:
        rows = page(engine, f, min(chunk, left), after)
        if not rows:
            return
        yield rows
        left -= len(rows)
        after = (rows[-1]["created_at"], rows[-1]["request_id"])


@dataclass(frozen=True, slots=True)
class Segments:
    """A time range split into raw edges, whole hours and whole days."""

    raw: list[tuple[float | None, float | None]]
    hourly: list[tuple[int, int]]
    daily: list[tuple[int, int]]


def split_range(since: float | None, until: float | None, now: float) -> Segments:
    lo = since if since is not None else 0.0
    hi = until if until is not None else now
    h_lo, h_hi = math.ceil(lo / HOUR) * HOUR, math.floor(hi / HOUR) * HOUR
    if h_lo >= h_hi:
        return Segments([(since, until)], [], [])
    raw: list[tuple[float | None, float | None]] = []
    if since is not None and since < h_lo:
        raw.append((since, h_lo))
    raw.append((h_hi, until))  # until None: everything from the last whole hour on
    d_lo, d_hi = math.ceil(h_lo / DAY) * DAY, math.floor(h_hi / DAY) * DAY
    if d_lo >= d_hi:
        return Segments(raw, [(h_lo, h_hi)], [])
    hourly = [(a, b) for a, b in ((h_lo, d_lo), (d_hi, h_hi)) if a < b]
    return Segments(raw, hourly, [(d_lo, d_hi)])


def _rollup_where(table: Table, f: LogFilter, lo: int, hi: int) -> list[ColumnElement[bool]]:
    c = table.c
    where: list[ColumnElement[bool]] = [c.bucket >= lo, c.bucket < hi]
    for name, value in (
        ("key_id", f.key_id),
        ("team_id", f.team_id),
        ("model", f.model),
        ("channel", f.channel),
        ("status", f.status),
        ("error_code", f.error_code),
        ("client_name", f.client),
    ):
        if value is not None:
            where.append(c[name] == value)
    if f.failed is not None:
        where.append(c.status >= 400 if f.failed else c.status < 400)
    return where


TOTAL_FIELDS = ("requests", "failed", "input_tokens", "cached_tokens", "output_tokens", "cost_micros")


def _totals_select(columns: Any, where: list[ColumnElement[bool]], raw: bool) -> Select[Any]:
    count = literal(1) if raw else columns.requests
    failed = case((columns.status >= 400, 1), else_=0) if raw else columns.failed
    return select(
        func.coalesce(func.sum(count), 0),
        func.coalesce(func.sum(failed), 0),
        func.coalesce(func.sum(columns.input_tokens), 0),
        func.coalesce(func.sum(columns.cached_tokens), 0),
        func.coalesce(func.sum(columns.output_tokens), 0),
        func.coalesce(func.sum(columns.cost_micros), 0),
    ).where(*where)


def totals(engine: Engine, f: LogFilter, now: float | None = None) -> dict[str, int]:
    """Requests, failures, tokens and cost for the filter: exact, from rollups plus the raw edges."""
    out = dict.fromkeys(TOTAL_FIELDS, 0)
    queries: list[Select[Any]] = []
    if f.request_id is not None:  # one row at most: raw
        queries.append(_totals_select(request_logs.c, _raw_where(f, f.since, f.until), raw=True))
    else:
        seg = split_range(f.since, f.until, time.time() if now is None else now)
        for lo_raw, hi_raw in seg.raw:
            queries.append(_totals_select(request_logs.c, _raw_where(f, lo_raw, hi_raw), raw=True))
        charts = _chart_table_serves(f)  # fewer rows when the filter needs no status, error code or client
        hourly, daily = (chart_hourly, chart_daily) if charts else (usage_hourly, usage_daily)
        for table, ranges in ((hourly, seg.hourly), (daily, seg.daily)):
            for lo, hi in ranges:
                queries.append(_totals_select(table.c, _rollup_where(table, f, lo, hi), raw=False))
    with engine.connect() as conn:
        for query in queries:
            row = conn.execute(query).one()
            for name, value in zip(TOTAL_FIELDS, row, strict=True):
                out[name] += int(value or 0)
    return out


def _chart_table_serves(f: LogFilter, group_by: str | None = None) -> bool:
    return (
        f.status is None
        and f.failed is None
        and f.error_code is None
        and f.client is None
        and group_by in (None, "model", "key", "team", "channel")
    )


GROUPS = {
    "model": "model",
    "key": "key_id",
    "team": "team_id",
    "channel": "channel",
    "client": "client_name",
    "status": "status",
    "error_code": "error_code",
}


def series(
    engine: Engine, f: LogFilter, bucket: str, group_by: str | None, now: float | None = None
) -> list[dict[str, Any]]:
    """Chart points from the rollups: one per bucket (and group), with whole buckets overlapping the range."""
    if _chart_table_serves(f, group_by):
        table, size = (chart_daily, DAY) if bucket == "day" else (chart_hourly, HOUR)
    else:
        table, size = (usage_daily, DAY) if bucket == "day" else (usage_hourly, HOUR)
    hi_time = f.until if f.until is not None else (time.time() if now is None else now) + size
    lo = int((f.since or 0) // size) * size
    hi = int(math.ceil(hi_time / size)) * size
    c = table.c
    keys: list[ColumnElement[Any]] = [c.bucket]
    if group_by is not None:
        keys.append(c[GROUPS[group_by]].label("group"))
    stmt = (
        select(
            *keys,
            func.sum(c.requests).label("requests"),
            func.sum(c.failed).label("failed"),
            func.sum(c.input_tokens).label("input_tokens"),
            func.sum(c.cached_tokens).label("cached_tokens"),
            func.sum(c.output_tokens).label("output_tokens"),
            func.sum(c.cost_micros).label("cost_micros"),
            func.sum(c.latency_ms).label("latency_ms"),
        )
        .where(*_rollup_where(table, f, lo, hi))
        .group_by(*keys)
        .order_by(*keys)
    )
    with engine.connect() as conn:
        return [{str(k): v for k, v in r._mapping.items()} for r in conn.execute(stmt)]


def prune(engine: Engine, older_than: float, batch: int = 5000) -> int:
    """Delete raw rows created before `older_than`, `batch` at a time (short transactions); rollups stay."""
    removed = 0
    c = request_logs.c
    while True:
        with engine.begin() as conn:
            ids = select(c.request_id).where(c.created_at < older_than).limit(batch)
            count = _delete(conn, ids)
        removed += count
        if count < batch:
            return removed


async def prune_forever(engine: Engine, days: int, every: float = 3600.0) -> None:
    """Log retention: every `every` seconds, delete raw rows older than `days` days, off the event loop."""
    while True:
        try:
            removed = await asyncio.to_thread(prune, engine, time.time() - days * 86400)
            if removed:
                log.info("log retention: deleted %d request-log rows older than %d days", removed, days)
        except Exception:  # a busy database: try again next round
            log.warning("log retention failed", exc_info=True)
        await asyncio.sleep(every)


def _delete(conn: Connection, ids: Select[Any]) -> int:
    ids_list = list(conn.scalars(ids))
    if not ids_list:
        return 0
    conn.execute(delete(request_logs).where(request_logs.c.request_id.in_(ids_list)))
    return len(ids_list)


def cursor_after(rows: list[StoredLog]) -> tuple[float, str] | None:
    return (rows[-1]["created_at"], rows[-1]["request_id"]) if rows else None
