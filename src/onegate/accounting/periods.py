"""Budget periods of a key: the UTC day, ISO week (from Monday) or calendar month a moment falls in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

PERIODS = ("daily", "weekly", "monthly")


def period_bounds(kind: str, now: float) -> tuple[str, float, float]:
    """(name, start, end) of the period around `now`: the name labels its spend window."""
    moment = datetime.fromtimestamp(now, UTC)
    day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    if kind == "daily":
        start, end, name = day, day + timedelta(days=1), f"d{day:%Y-%m-%d}"
    elif kind == "weekly":
        start = day - timedelta(days=day.weekday())
        end, name = start + timedelta(days=7), f"w{start:%Y-%m-%d}"
    elif kind == "monthly":
        start = day.replace(day=1)
        end = (start + timedelta(days=32)).replace(day=1)
        name = f"m{start:%Y-%m}"
    else:
        raise ValueError(f"unknown budget period {kind!r}; expected one of {', '.join(PERIODS)}")
    return name, start.timestamp(), end.timestamp()
