"""Where a request's time went: phases from the context's marks, as a `Server-Timing` header and a log field.

Phases (milliseconds), each from the previous mark that exists to its own:
`auth` (key lookup), `admit` (body read, validation, model resolution, limits and reservation),
`route` (channel pick and request translation, up to the first attempt), `upstream` (from the first
attempt to the answering attempt's first byte: failed attempts included), `total` (the whole request as
far as it has gone: for a stream's header, the time to its first event; in the log row, to the last byte).
A phase a request never reached (a 401 has no `admit`) is left out. When the upstream call started
before admission answered (speculative admission), `admit` ends where it started, and the log row adds
`admit_async` (the counters' answer from then on, alongside `route` and `upstream`) and `admit_wait` (how
long the upstream's answer then waited for it; absent when it did not wait).
"""

from __future__ import annotations

import time

from onegate.context import RequestContext

PHASES = ("auth", "admit", "route", "upstream")
_HEADER_PARTS = ("auth;dur=", "admit;dur=", "route;dur=", 'upstream;desc="first byte";dur=')


def ms(seconds: float, decimals: int = 3) -> float:
    """`seconds` in milliseconds, to `decimals` places (3: a microsecond), as the log rows store times.

    Not `round(seconds * 1000, decimals)`: rounding to decimal places goes through a correctly rounded decimal
    string (dtoa) and back, ~2,500 instructions a call and nine calls a request: 3.3% of the event loop's
    instructions per chat request (callgrind, bench/percall.py). Rounding to a whole number of microseconds
    is a C cast; the two differ only where the product lands within an ulp of a half unit.
    """
    scale = _SCALE[decimals]
    return round(seconds * 1000 * scale) / scale


_SCALE = (1, 10, 100, 1000)


def _marks(ctx: RequestContext) -> tuple[float | None, ...]:
    return ctx.authed_at, ctx.admitted_at, ctx.routed_at, ctx.upstream_at


def phases_ms(ctx: RequestContext, now: float | None = None) -> dict[str, float]:
    """{phase: ms} for the phases reached, and `total` up to `now` (default: this moment)."""
    out: dict[str, float] = {}
    last = ctx.started
    for name, mark in zip(PHASES, _marks(ctx), strict=True):
        if mark is not None:
            out[name] = ms(mark - last)
            last = mark
    if ctx.admission_ms is not None:
        out["admit_async"] = ms(ctx.admission_ms / 1000)
        if ctx.admission_wait_ms is not None:
            out["admit_wait"] = ms(ctx.admission_wait_ms / 1000)
    out["total"] = ms((time.perf_counter() if now is None else now) - ctx.started)
    return out


def server_timing(ctx: RequestContext) -> bytes:
    """The `Server-Timing` header value (W3C Server Timing: `name;dur=ms[;desc="…"]`, comma-separated).
    On every response: formatted directly, not from `phases_ms`'s dict (half the time)."""
    parts = []
    last = ctx.started
    for part, mark in zip(_HEADER_PARTS, _marks(ctx), strict=True):
        if mark is not None:
            parts.append(f"{part}{(mark - last) * 1000:.1f}")
            last = mark
    parts.append(f"total;dur={(time.perf_counter() - ctx.started) * 1000:.1f}")
    return ", ".join(parts).encode()
