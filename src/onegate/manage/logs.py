"""Request logs for people: filtered keyset pages, totals for the filter, CSV export, one request's detail
with its attempt timeline and evidence record. Every query is narrowed to what the actor may see."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Annotated, Any

import msgspec
import orjson
from msgspec import Meta

from onegate.doctor.evidence import as_markdown, from_log
from onegate.manage.actor import Actor, forced_scope, invalid, key_visible, not_found
from onegate.manage.cursors import decode_cursor, encode_cursor
from onegate.manage.types import Epoch, Id, Status, Text
from onegate.store import log_queries
from onegate.store.log_queries import LogFilter
from onegate.store.logs import get_log

EXPORT_CAP = 100_000  # rows in one CSV export; narrow the filter (time range) for more


class LogQuery(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    since: Epoch | None = None  # epoch seconds, inclusive
    until: Epoch | None = None  # epoch seconds, exclusive
    key_id: Id | None = None
    team_id: Id | None = None
    model: Text | None = None
    channel: Text | None = None
    status: Status | None = None
    failed: bool | None = None  # true: status >= 400
    error_code: Text | None = None
    client: Text | None = None
    request_id: Text | None = None
    cursor: Text | None = None
    limit: Annotated[int, Meta(ge=1, le=500)] = 50


class LogItem(msgspec.Struct, kw_only=True):
    request_id: str
    created_at: float
    key_id: int | None
    key_mask: str | None
    team_id: int | None
    client_name: str
    client_version: str
    method: str
    path: str
    dialect: str
    model_requested: str | None
    model_routed: str | None
    channel: str | None
    status: int
    error_code: str | None
    error_message: str | None
    stream: bool
    latency_ms: float
    ttfb_ms: float | None
    input_tokens: int
    cached_tokens: int
    cache_write_tokens: int
    output_tokens: int
    reasoning_tokens: int
    cost_micros: int
    usage_estimated: bool
    config_hint: str | None


class LogPage(msgspec.Struct, kw_only=True):
    items: list[LogItem]
    next_cursor: str | None  # pass as `cursor` for the next page; None: no more


class LogTotals(msgspec.Struct, kw_only=True):
    requests: int
    failed: int
    input_tokens: int
    cached_tokens: int
    output_tokens: int
    cost_micros: int


class LogDetail(msgspec.Struct, kw_only=True):
    item: LogItem
    user_agent: str
    attempts: list[dict[str, Any]]  # the upstream attempts, in order: channel, status, timings
    notes: list[str]  # what a translation dropped or changed
    price: dict[str, Any] | None
    evidence: dict[str, Any]  # the record support needs (doctor/evidence.py)
    evidence_markdown: str  # the same, ready to paste into a ticket


def _filter(actor: Actor, q: LogQuery) -> LogFilter:
    team_id, key_id = forced_scope(actor, q.team_id, q.key_id)
    if q.since is not None and q.until is not None and q.until < q.since:
        raise invalid("until is before since")
    return LogFilter(
        since=q.since,
        until=q.until,
        key_id=key_id,
        team_id=team_id,
        model=q.model,
        channel=q.channel,
        status=q.status,
        failed=q.failed,
        error_code=q.error_code,
        client=q.client,
        request_id=q.request_id,
    )


def list_logs(engine: Any, actor: Actor, q: LogQuery) -> LogPage:
    f = _filter(actor, q)
    if not 1 <= q.limit <= log_queries.MAX_PAGE:
        raise invalid(f"limit must be between 1 and {log_queries.MAX_PAGE}")
    after = decode_cursor(q.cursor) if q.cursor else None
    rows = log_queries.page(engine, f, q.limit, after)
    items = [msgspec.convert(r, LogItem) for r in rows]
    last = rows[-1] if len(rows) == q.limit else None
    return LogPage(items=items, next_cursor=encode_cursor(last["created_at"], last["request_id"]) if last else None)


def totals(engine: Any, actor: Actor, q: LogQuery) -> LogTotals:
    return LogTotals(**log_queries.totals(engine, _filter(actor, q)))


CSV_COLUMNS = tuple(LogItem.__struct_fields__)


def export_csv(engine: Any, actor: Actor, q: LogQuery, cap: int = EXPORT_CAP) -> Iterator[bytes]:
    """CSV in chunks, newest first, at most `cap` rows; one page of rows in memory at a time."""
    f = _filter(actor, q)  # refusals happen here, before the first byte
    after = decode_cursor(q.cursor) if q.cursor else None

    def chunks() -> Iterator[bytes]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(CSV_COLUMNS)
        left, cursor = cap, after
        while left > 0:
            rows = log_queries.page_tuples(engine, f, min(1000, left), cursor, CSV_COLUMNS)
            if not rows:
                break
            writer.writerows(r[:-2] for r in rows)  # the C writer; None is written as an empty field
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
            left -= len(rows)
            cursor = (rows[-1][-2], rows[-1][-1])
        if buffer.getvalue():
            yield buffer.getvalue().encode()

    return chunks()


def detail(engine: Any, actor: Actor, request_id: str, lang: str = "en") -> LogDetail:
    row = get_log(engine, request_id)
    if row is None or not _row_visible(actor, row):
        raise not_found(f"no request with id {request_id} in this server's log")
    evidence = from_log(row)
    return LogDetail(
        item=msgspec.convert(row, LogItem),
        user_agent=row["user_agent"],
        attempts=orjson.loads(row["attempts"]) if row.get("attempts") else [],
        notes=_notes(row.get("notes")),
        price=orjson.loads(row["price"]) if row.get("price") else None,
        evidence=evidence.as_dict(),
        evidence_markdown=as_markdown(evidence, lang),
    )


def _notes(raw: str | None) -> list[str]:
    return [n for n in raw.split("; ") if n] if raw else []  # stored joined (pipeline/record.py)


def _row_visible(actor: Actor, row: dict[str, Any]) -> bool:
    if actor.reads_all:
        return True
    key_id = row.get("key_id")
    return key_id is not None and key_visible(actor, key_id, row.get("team_id"))
