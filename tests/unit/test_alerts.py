"""Spend alerts: judged against the subject's own baseline, raised once per cooldown, and the webhook
never reaches a private address unless the config allows it."""

from __future__ import annotations

import asyncio
import http.server
import threading
from typing import Any

import msgspec
import orjson
import pytest
from sqlalchemy import Engine, select

from onegate.accounting.alerts import SpendAlerts, Subject
from onegate.accounting.webhook import is_public, post_webhook
from onegate.counters.memory import MemoryCounters
from onegate.counters.protocol import Admit, Limits, Settle
from onegate.settings import AlertsConfig
from onegate.store.db import open_engine
from onegate.store.migrations import migrate
from onegate.store.schema import spend_alerts

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


@pytest.mark.parametrize(
    ("address", "public"),
    [("8.8.8.8", True), ("127.0.0.1", False), ("10.1.2.3", False), ("169.254.169.254", False),
     ("::1", False), ("::ffff:127.0.0.1", False), ("fd00::1", False), ("2606:4700::1111", True), ("0.0.0.0", False)],
)  # fmt: skip
def test_private_and_special_addresses_are_not_public(address, public):
    assert is_public(address) is public


class _Receiver(http.server.BaseHTTPRequestHandler):
    received: list[dict] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        self.received.append(orjson.loads(self.rfile.read(int(self.headers["content-length"]))))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def receiver():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    _Receiver.received = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", server.server_address[1]
    server.shutdown()
    server.server_close()


async def test_webhook_refuses_loopback_unless_private_addresses_are_allowed(receiver):
    url, port = receiver
    assert (await post_webhook(url, {"a": 1}, allow_private=False)).startswith("refused:")
    by_name = await post_webhook(f"http://localhost:{port}/hook", {"a": 1}, allow_private=False)
    assert by_name.startswith("refused:") and "not a public address" in by_name
    assert _Receiver.received == []
    assert await post_webhook(url, {"a": 1}, allow_private=True) == "204"
    assert _Receiver.received == [{"a": 1}]


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
