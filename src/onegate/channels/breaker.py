"""The circuit breaker's decisions, as pure functions of a channel's marks, its window and the clock.

closed ──(≥ min_failures AND ≥ failure_ratio in the window)──▶ open ──(open time passes)──▶ half-open
half-open ──(the one probe request succeeds)──▶ closed;  ──(it fails)──▶ open again, for twice as long
After `disable_after_opens` opens in a row without a success the channel is disabled: only a background
probe that succeeds, or a person, brings it back. A single error never does more than count.
"""

from __future__ import annotations

from dataclasses import replace

from onegate.channels.state import Marks, Window
from onegate.settings import BreakerConfig


def after_success(marks: Marks, now: float) -> Marks | None:
    """A success closes an open or half-open breaker and forgets past opens; None when nothing changes."""
    if marks.open_until == 0 and marks.opens == 0:
        return None
    return replace(marks, open_until=0.0, opens=0, changed_at=now)


def after_failure(marks: Marks, window: Window, now: float, policy: BreakerConfig, error: str) -> Marks | None:
    """The marks after a channel fault (window already counts it); None when nothing changes."""
    state = marks.state(now)
    if state == "half_open":
        return _open(marks, now, policy, error)  # the probe failed
    if state in ("open", "disabled"):
        return None
    if window.failures >= policy.min_failures and window.failure_ratio >= policy.failure_ratio:
        return _open(marks, now, policy, error)
    return None


def _open(marks: Marks, now: float, policy: BreakerConfig, error: str) -> Marks:
    opens = marks.opens + 1
    if policy.disable_after_opens is not None and opens >= policy.disable_after_opens:
        reason = f"automatically, after {opens} breaker opens in a row without a success"
        return Marks(opens=opens, disabled=reason, last_error=error, changed_at=now)
    seconds = min(policy.open_seconds * 2 ** (opens - 1), policy.max_open_seconds)
    return replace(marks, open_until=now + seconds, opens=opens, last_error=error, changed_at=now)


def cooled(marks: Marks, seconds: float, now: float, error: str) -> Marks:
    """A 429: no traffic until its Retry-After has passed (never shortened by a later, shorter one)."""
    return replace(marks, cool_until=max(marks.cool_until, now + seconds), last_error=error, changed_at=now)


def enabled(now: float) -> Marks:
    return Marks(changed_at=now)


def disabled(reason: str, now: float, last_error: str | None = None) -> Marks:
    return Marks(disabled=reason, last_error=last_error, changed_at=now)
