"""Spend alerts: judged against the subject's own baseline, raised once per cooldown, posted to the webhook."""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec
import pytest
from sqlalchemy import Engine, select

from onegate.accounting.alerts import SpendAlerts, Subject
from onegate.counters.memory import MemoryCounters
from onegate.counters.protocol import Admit, Limits, Settle
from onegate.settings import AlertsConfig
from onegate.store.db import open_engine
from onegate.store.migrations import migrate
from onegate.store.schema import spend_alerts
from tests.accounting.conftest import _Receiver

T0 = 1_800_000_000.0


TEAM = Subject("team", 7, 7, "acme")


def recent_alerts(engine: Engine, limit: int = 20) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(select(spend_alerts).order_by(spend_alerts.c.created_at.desc()).limit(limit))
        return [dict(r._mapping) for r in rows]


async def spend(counters: MemoryCounters, when: float, cost: int, rid: str) -> None:
    await counters.admit(Admit(rid, when, when + 30, cost, 0, 1, Limits(), 7, Limits()))
    counters.settle(Settle(rid, when, 1, 7, cost, 0, when, when + 30))


@pytest.fixture
def engine(tmp_path):
    engine = open_engine(f"sqlite:///{tmp_path / 'a.db'}")
    migrate(engine)
    yield engine
    engine.dispose()


async def _alerts(engine, **config) -> tuple[SpendAlerts, MemoryCounters]:
    counters = MemoryCounters()
    await counters.set_balance(7, 10**12, 1)
    settings = AlertsConfig(factor=5, window_minutes=5, baseline_minutes=60, min_spend=0.0001, **config)
    return SpendAlerts(settings, counters, engine, "USD"), counters


async def test_spend_over_factor_times_its_baseline_raises_one_alert_per_cooldown(engine):
    alerts, counters = await _alerts(engine)
    for minute in range(60):  # an hour at 100 a minute
        await spend(counters, T0 + minute * 60, 100, f"b{minute}")
    for minute in range(5):  # then five minutes at 1000 a minute: 10×
        await spend(counters, T0 + (60 + minute) * 60, 1000, f"r{minute}")
    now = T0 + 64 * 60 + 30
    alerts.saw(TEAM, now)
    [raised] = await alerts.check(now)
    assert raised["ratio"] == pytest.approx(10.0) and raised["recent_micros"] == 5000
    assert "team acme spent 0.01 USD in 5 min, 10.0× its rate" in raised["message"]
    assert recent_alerts(engine)[0]["message"] == raised["message"]
    alerts.saw(TEAM, now)
    assert await alerts.check(now + 60) == []  # cooldown: once


async def test_steady_spend_raises_nothing(engine):
    alerts, counters = await _alerts(engine)
    for minute in range(65):
        await spend(counters, T0 + minute * 60, 100, f"s{minute}")
    alerts.saw(TEAM, T0 + 64 * 60)
    assert await alerts.check(T0 + 64 * 60 + 30) == []


async def test_spend_below_the_minimum_raises_nothing(engine):
    alerts, counters = await _alerts(engine)
    alerts.config = msgspec.structs.replace(alerts.config, min_spend=1.0)
    await spend(counters, T0, 5000, "x")
    alerts.saw(TEAM, T0)
    assert await alerts.check(T0 + 1) == []


async def test_an_alert_posts_its_webhook_and_records_the_outcome(engine, receiver):
    url, _ = receiver
    alerts, counters = await _alerts(engine, webhook_url=url, webhook_allow_private=True)
    await spend(counters, T0, 5000, "x")
    alerts.saw(TEAM, T0)
    [raised] = await alerts.check(T0 + 1)
    await alerts.close()
    assert _Receiver.received[0]["type"] == "onegate.spend_alert"
    assert _Receiver.received[0]["subject_name"] == "acme" and _Receiver.received[0]["ratio"] is None
    for _ in range(50):
        if recent_alerts(engine)[0]["webhook_status"]:
            break
        await asyncio.sleep(0.02)
    assert recent_alerts(engine)[0]["webhook_status"] == "204"
