"""Rolling-window arithmetic shared by the backends (counters/lua/admit.lua repeats it in Lua).

A per-minute limit is exact: in no 60-second span are more than `limit` requests (or tokens) admitted.
What was admitted is kept per second of admission, so a subject holds at most 61 numbers whatever its
limit. A second's count leaves the window once the whole second is more than 60 s old (`expired`):
that errs on the safe side by under a second and never lets a span hold more than the limit.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

SPAN = 60  # seconds


def minute_of(now: float) -> int:
    """The epoch minute: what spend per minute (alerts) is kept by."""
    return int(now // SPAN)


def second_of(now: float) -> int:
    return int(now)


def expired(second: int, now: float) -> bool:
    """The count of `second` no longer lies in the 60 s before `now` (its last instant plus 60 has passed)."""
    return second + SPAN + 1 <= now


def retry_after(counts: Iterable[tuple[int, int]], total: int, need: int, limit: int, now: float) -> float:
    """Seconds until `need` more fits under `limit`, if nothing else is admitted meanwhile (at least 1).
    `counts`: (second, amount) of the live window, oldest first; `total`: their sum."""
    if need > limit:
        return float(SPAN)
    for second, amount in counts:
        total -= amount
        if total + need <= limit:
            return float(max(1, math.ceil(second + SPAN + 1 - now)))
    return 1.0
