"""Where a request's time went: phases from the context's marks, as a `Server-Timing` header and a log field.

Phases (milliseconds), each from the previous mark that exists to its own:
`auth` (key lookup), `admit` (body read, validation, model resolution, limits and reservation),
`route` (channel pick and request translation, up to the first attempt), `upstream` (from the first
attempt to the answering attempt's first byte: failed attempts included), `total` (the whole request as
far as it has gone: for a stream's header, the time to its first event; in the log row, to the last byte).
A phase a request never reached (a 401 has no `admit`) is left out.
"""

from __future__ import annotations

import time

from onegate.context import RequestContext

PHASES = ("auth", "admit", "route", "upstream")
_DESC = {"upstream": ';desc="first byte"'}


def phases_ms(ctx: RequestContext, now: float | None = None) -> dict[str, float]:
    """{phase: ms} for the phases reached, and `total` up to `now` (default: this moment)."""
    out: dict[str, float] = {}
    last = ctx.started
    for name, mark in zip(PHASES, (ctx.authed_at, ctx.admitted_at, ctx.routed_at, ctx.upstream_at), strict=True):
        if mark is not None:
            out[name] = round((mark - last) * 1000, 3)
            last = mark
    out["total"] = round(((time.perf_counter() if now is None else now) - ctx.started) * 1000, 3)
    return out


def server_timing(ctx: RequestContext) -> bytes:
    """The `Server-Timing` header value (W3C Server Timing: `name;dur=ms[;desc="…"]`, comma-separated)."""
    return ", ".join(f"{name}{_DESC.get(name, '')};dur={ms:.1f}" for name, ms in phases_ms(ctx).items()).encode()
