"""Budget periods: UTC day, ISO week, month."""

from __future__ import annotations

from datetime import UTC, datetime

from onegate.accounting.periods import period_bounds


def test_budget_periods_are_utc_day_iso_week_and_month():
    moment = datetime(2026, 11, 27, 23, 59, tzinfo=UTC).timestamp()  # a Friday
    day, week, month = (period_bounds(kind, moment) for kind in ("daily", "weekly", "monthly"))
    assert day[0] == "d2026-11-27" and day[2] - day[1] == 86400
    assert week[0] == "w2026-11-23" and datetime.fromtimestamp(week[1], UTC).weekday() == 0
    assert month[0] == "m2026-11" and datetime.fromtimestamp(month[2], UTC) == datetime(2026, 12, 1, tzinfo=UTC)
