"""`Server-Timing` on every response (success, error, stream, probe), and the same phases in the log row."""

from __future__ import annotations

import re

import orjson
import pytest
from sqlalchemy import inspect, text

from onegate.store.db import open_engine
from onegate.store.migrations import STEPS, migrate
from onegate.store.schema import metadata, schema_migrations
from tests.conftest import UPSTREAM_SECRET, channel_config, raw_request
from tests.observe.scrape import post_chat

MESSAGES = [{"role": "user", "content": "hello there"}]
_METRIC = re.compile(r'^([a-z]+)(;desc="[^"]*")?;dur=(\d+\.\d)$')


def phases(header: str) -> dict[str, float]:
    """Parse `name[;desc="…"];dur=ms, …` strictly (W3C Server Timing syntax)."""
    found = {}
    for part in header.split(", "):
        match = _METRIC.match(part)
        assert match, part
        found[match.group(1)] = float(match.group(3))
    return found


@pytest.fixture
def gw(start_gateway, upstream, monkeypatch):
    monkeypatch.setenv("ONEGATE_TEST_UPSTREAM_KEY", UPSTREAM_SECRET)
    return start_gateway(channel_config(upstream))


def test_a_served_request_shows_every_phase_and_logs_them(gw, upstream):
    upstream.delay_before_headers = 0.05
    raw = gw.client().chat.completions.with_raw_response.create(model="gpt-4.1-mini", messages=MESSAGES)
    header = raw.headers["server-timing"]
    assert 'upstream;desc="first byte"' in header
    shown = phases(header)
    assert list(shown) == ["auth", "admit", "route", "upstream", "total"]
    assert shown["upstream"] >= 50 and shown["total"] >= sum(v for k, v in shown.items() if k != "total") - 0.5
    logged = orjson.loads(gw.log(raw.headers["x-request-id"])["timings"])
    assert list(logged) == list(shown) and logged["upstream"] == pytest.approx(shown["upstream"], abs=0.1)
    assert logged["total"] == pytest.approx(shown["total"], abs=5)  # the row is written just before the header


def test_errors_show_the_phases_they_reached(gw):
    refused = raw_request("POST", gw.base_url + "/chat/completions", {"model": "gpt-4.1-mini", "messages": MESSAGES})
    assert refused.status == 401 and list(phases(refused.headers["server-timing"])) == ["total"]
    unknown = post_chat(gw, model="no-such-model")
    assert unknown.status == 404 and list(phases(unknown.headers["server-timing"])) == ["auth", "total"]
    row = gw.log(unknown.headers["x-request-id"])
    assert list(orjson.loads(row["timings"])) == ["auth", "total"]


def test_an_upstream_failure_still_times_the_attempts(gw, upstream):
    upstream.fail_next(500, {"error": {"message": "boom", "type": "server_error"}}, times=3)
    response = post_chat(gw)
    assert response.status == 500
    assert list(phases(response.headers["server-timing"])) == ["auth", "admit", "route", "total"]


def test_a_stream_shows_the_time_to_its_first_event(gw):
    with gw.client().chat.completions.with_streaming_response.create(
        model="gpt-4.1-mini", messages=MESSAGES, stream=True
    ) as response:
        header = response.headers["server-timing"]
        request_id = response.headers["x-request-id"]
        list(response.iter_lines())
    assert list(phases(header)) == ["auth", "admit", "route", "upstream", "total"]
    logged = orjson.loads(gw.log(request_id)["timings"])
    assert logged["total"] >= phases(header)["total"]  # the log's total runs to the last byte


def test_probes_and_unknown_paths_have_it_too(gw):
    for path in ("/healthz", "/readyz", "/no/such/path"):
        assert "total" in phases(raw_request("GET", gw.root + path).headers["server-timing"]), path


def test_a_version_3_database_gains_the_timings_column(tmp_path):
    engine = open_engine(f"sqlite:///{tmp_path / 'old.db'}")
    try:
        with engine.begin() as conn:
            metadata.create_all(conn)
            conn.execute(text("ALTER TABLE request_logs DROP COLUMN timings"))
            done = [{"version": v, "name": n, "applied_at": 0} for v, n, _ in STEPS[:3]]
            conn.execute(schema_migrations.insert(), done)
        assert migrate(engine) == STEPS[-1][0]
        with engine.connect() as conn:
            assert "timings" in {c["name"] for c in inspect(conn).get_columns("request_logs")}
    finally:
        engine.dispose()
