"""Step 5: cost the request, hand its log row and charge to the writer, settle its reservation.

Runs in the request's `finally`, so it runs after errors, timeouts, client disconnects and cancellation
at shutdown alike. Never blocks, never loses a row. What is charged: the usage the upstream reported
(estimated and flagged when it reported none) at the price the log row records; nothing when the
request failed before anything was generated.
"""

from __future__ import annotations

import time
from functools import lru_cache
from typing import overload

import orjson

from onegate import errors
from onegate.accounting.ledger import charge_for
from onegate.accounting.pricing import cost_micros
from onegate.accounting.reservations import Reservations
from onegate.context import RequestContext
from onegate.diagnosis.paths import shown_path
from onegate.observe.timing import ms, phases_ms
from onegate.redaction import STORED_ERROR_LIMIT, STORED_TEXT_LIMIT, mask_key_shaped, storable, stored_text
from onegate.store.rows import LOG_WIDTHS, LogRow
from onegate.store.writer import LogWriter
from onegate.surfaces import SURFACES

MAX_ERROR_TEXT = 2000  # notes (onegate's own words)

# The caller's strings are cut to their column's width as well as to STORED_TEXT_LIMIT: PostgreSQL enforces
# VARCHAR widths, and one value too long fails the whole batch (and every replay of its spill file).
_WIDTH: dict[str, int] = {name: min(width, STORED_TEXT_LIMIT) for name, width in LOG_WIDTHS.items()}


_cached_text = lru_cache(maxsize=4096)(stored_text)


@overload
def _stored(text: str, width: int) -> str: ...
@overload
def _stored(text: str | None, width: int) -> str | None: ...
def _stored(text: str | None, width: int) -> str | None:
    """`stored_text` for the row's caller strings, which repeat request after request (the same user agent,
    path and model): short ones from a bounded cache (callgrind: 31,000 → 10,700 instructions for a row's
    five). Long ones are masked each time, so the cache holds at most 4,096 × 256 characters."""
    if text is not None and len(text) <= 256:
        return _cached_text(text, width)
    return stored_text(text, width)


def log_row(ctx: RequestContext) -> LogRow:
    usage = ctx.usage
    key = ctx.key
    path, _, query = ctx.path.partition("?")
    now = time.perf_counter()
    # positional, in column order: a fraction of the cost of keywords (store/logs.py says why)
    return LogRow(
        ctx.request_id,  # request_id
        ctx.created_at,  # created_at
        key.id if key else None,  # key_id
        key.mask if key else None,  # key_mask
        key.team_id if key else None,  # team_id
        ctx.client.name,  # client_name
        _stored(ctx.client.version, _WIDTH["client_version"]),  # client_version
        _stored(ctx.client.user_agent, _WIDTH["user_agent"]),  # user_agent
        ctx.method,  # method
        _stored(shown_path(path, query), _WIDTH["path"]),  # path: a key in the path or the query is masked
        ctx.dialect,  # dialect
        _stored(ctx.model_requested, _WIDTH["model_requested"]),  # model_requested
        _stored(ctx.model_routed, _WIDTH["model_routed"]),  # model_routed
        ctx.channel,  # channel
        ctx.status,  # status
        ctx.error_code,  # error_code
        # onegate's own messages may quote what the caller sent (a key pasted as the model name)
        mask_key_shaped(storable(ctx.error_message[:STORED_ERROR_LIMIT]))
        if ctx.error_message
        else None,  # error_message
        ctx.stream,  # stream
        ms(now - ctx.started),  # latency_ms
        ms(ctx.first_byte_at - ctx.started) if ctx.first_byte_at else None,  # ttfb_ms
        usage.input_tokens,  # input_tokens
        usage.cached_tokens,  # cached_tokens
        usage.cache_write_tokens,  # cache_write_tokens
        usage.output_tokens,  # output_tokens
        usage.reasoning_tokens,  # reasoning_tokens
        ctx.cost_micros,  # cost_micros
        ctx.price.as_json() if ctx.cost_micros else None,  # price
        not usage.reported and (usage.input_tokens + usage.output_tokens) > 0,  # usage_estimated
        ctx.config_hint,  # config_hint
        orjson.dumps([a.as_dict() for a in ctx.attempts]).decode() if ctx.attempts else None,  # attempts
        mask_key_shaped(storable("; ".join(ctx.notes)[:MAX_ERROR_TEXT]))
        if ctx.notes
        else None,  # notes: they quote the body
        orjson.dumps(phases_ms(ctx, now)).decode(),  # timings: the Server-Timing phases, total to the last byte
    )


def charged(ctx: RequestContext) -> bool:
    """Served (a failure mid-stream included: the status was 200), or the client left after the answer
    had started. Not when the upstream refused or failed before answering."""
    if not SURFACES[ctx.dialect].billed:
        return False
    if 0 < ctx.status < 400 or ctx.error_code == errors.UNTRANSLATABLE_REQUEST.code:
        return True  # an untranslatable answer was still produced (and paid for) upstream
    return ctx.error_code == errors.CLIENT_DISCONNECTED.code and ctx.first_byte_at is not None


def record(ctx: RequestContext, writer: LogWriter, reservations: Reservations | None = None) -> None:
    """Once per request: before its last byte leaves (so a served request is always on record, even if
    the process dies a moment later), or when it ends without a complete response."""
    if ctx.recorded:
        return
    ctx.recorded = True
    ctx.cost_micros = cost_micros(ctx.usage, ctx.price) if charged(ctx) else 0
    # the durable record first (journal and queue), then the counters
    writer.submit(log_row(ctx), charge_for(ctx))
    if reservations is not None and ctx.reservation is not None:
        reservation, ctx.reservation = ctx.reservation, None  # settled once
        reservations.settle(reservation, ctx.cost_micros, ctx.usage.input_tokens + ctx.usage.output_tokens, ctx.key)
