"""Charges parked while PostgreSQL is down still count when the instance holding them stops.

A private PostgreSQL cluster and a private Redis (the test stops the database; never the shared one), two
in-process gateways A and B on them. With the database down, A serves 30 requests (their charges wait in
A's spill file), then stops through its real shutdown path. B must admit against the balance minus A's
parked charges, not the stale database balance, though A's leases are long gone; B replays its own spill
on its own once the database is back (no request needed); A's charges land when A starts again."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select

from onegate.app import Gateway
from onegate.counters.pubsub import publish_change
from onegate.settings import load_settings
from onegate.store.db import open_engine
from onegate.store.migrations import migrate
from onegate.store.schema import ledger, request_logs
from onegate.store.teams import change_balance, get_team
from tests.conftest import UPSTREAM_SECRET, _ServerThread, channel_config, free_port, raw_request
from tests.e2e.test_billing import team_key, wait_for
from tests.services import private_postgres, private_redis

MODEL = "gpt-4.1-mini"
BODY = {"model": MODEL, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 10}


class Instance:
    """One gateway in this process, started and stopped as `onegate serve` does (lifespan start-up and
    shutdown: the writer's final flush, the counters' close)."""

    def __init__(self, config: Path, data_dir: Path) -> None:
        self.gateway = Gateway(load_settings(data_dir=data_dir, config_path=config))
        migrate(self.gateway.engine)
        self.server = _ServerThread(self.gateway, free_port())
        self.root = f"http://127.0.0.1:{self.server.server.config.port}"
        self.server.start()

    def chat(self, key: str) -> int:
        url = self.root + "/api/v1/chat/completions"
        return raw_request("POST", url, BODY, {"Authorization": f"Bearer {key}"}).status

    def stop(self) -> None:
        self.server.stop()


@pytest.fixture
def upstream_on(upstream, monkeypatch):
    monkeypatch.setenv("ONEGATE_TEST_UPSTREAM_KEY", UPSTREAM_SECRET)
    upstream.required_api_key = UPSTREAM_SECRET
    return upstream


def test_a_stopped_instances_parked_charges_still_count_on_the_others(tmp_path, upstream_on, caplog):
    caplog.set_level(logging.WARNING, logger="onegate")
    with private_postgres() as pg, private_redis(tmp_path) as redis:
        config = channel_config(upstream_on)
        config["prices"] = {MODEL: {"input": 1000, "output": 1000}}  # 1000 micro-units a token
        # short leases: a stopped instance's running reservations are gone within the test
        config |= {"database_url": pg.url, "redis_url": redis.url, "accounting": {"reservation_ttl": 1.0}}
        path = tmp_path / "onegate.yaml"
        path.write_text(yaml.safe_dump(config))
        a, b = Instance(path, tmp_path / "a"), Instance(path, tmp_path / "b")
        engine = open_engine(pg.url)
        instances = [a, b]
        try:
            key = team_key(a, topup=10_000_000)
            assert a.chat(key) == 200 and b.chat(key) == 200  # both know the team
            wait_for(lambda: _count(engine, ledger) == 2)
            with engine.connect() as conn:
                cost = -conn.execute(select(func.min(ledger.c.amount_micros))).scalar_one()
            # leave exactly what 50 more requests cost (and half of one)
            left = get_team(engine, "acme").balance_micros
            change_balance(engine, "acme", "adjust", 50 * cost + cost // 2 - left, "test")
            start = get_team(engine, "acme").balance_micros
            publish_change(redis.url, a.gateway.settings.redis_prefix, "teams")
            wait_for(lambda: all(i.gateway.directory.team(1).balance_micros == start for i in instances))
            time.sleep(0.2)

            pg.stop()
            served_a = sum(a.chat(key) == 200 for _ in range(30))
            assert served_a == 30
            a.stop()  # its charges stay in its spill file
            instances.remove(a)
            assert (tmp_path / "a" / "spill" / "request_logs.jsonl").exists()
            time.sleep(1.5)  # A's leases have run out by now
            served_b = sum(b.chat(key) == 200 for _ in range(60))
            assert served_a + served_b <= 51, (served_a, served_b)  # it served 79 when parked charges expired

            pg.start()
            # B is idle: its writer replays its spill file on its own timer
            wait_for(lambda: _count(engine, ledger) == 2 + served_b, timeout=15)
            a = Instance(path, tmp_path / "a")  # starting again replays A's spill file
            instances.append(a)
            wait_for(lambda: _count(engine, ledger) == 2 + served_a + served_b, timeout=15)
            spent = start - get_team(engine, "acme").balance_micros
            with engine.connect() as conn:
                charged = -conn.execute(
                    select(func.sum(ledger.c.amount_micros)).where(ledger.c.kind == "charge")
                ).scalar_one()
                logged = conn.execute(select(func.sum(request_logs.c.cost_micros))).scalar_one()
            assert charged == logged  # ledger = request log
            assert spent == (served_a + served_b) * cost <= start + cost  # the balance: ≤ one request below 0
            # one line per instance when the database went, one when it came back (A was stopped meanwhile)
            lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("the database")]
            assert len([line for line in lines if "unavailable" in line]) == 2, lines
            assert len([line for line in lines if line == "the database is back"]) == 1, lines
        finally:
            for instance in instances:
                instance.stop()
            engine.dispose()


def _count(engine, table) -> int:
    try:
        with engine.connect() as conn:
            if table is ledger:
                return int(conn.execute(select(func.count()).where(ledger.c.kind == "charge")).scalar_one())
            return int(conn.execute(select(func.count()).select_from(table)).scalar_one())
    except Exception:  # the database is still coming up
        return -1
