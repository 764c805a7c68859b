"""Three fake vendors as three channels of one public model, with timeouts short enough for fast tests."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import GatewayFactory, RunningGateway, channel, require_service
from tests.fakes.openai_upstream import FakeOpenAIUpstream
from tests.services import REDIS_URL, drop_redis_prefix  # noqa: F401 - the channel tests import them from here

MODEL = "gpt-4.1-mini"
FAST = {"connect": 0.5, "first_byte": 0.6, "idle": 0.6, "total": 10.0, "keepalive": 0.2}
MESSAGES = [{"role": "user", "content": "hello"}]


@pytest.fixture(scope="session")
def _fake_vendors() -> Iterator[list[FakeOpenAIUpstream]]:
    fakes = [FakeOpenAIUpstream().start() for _ in range(3)]
    yield fakes
    for fake in fakes:
        fake.stop()


@pytest.fixture
def vendors(_fake_vendors: list[FakeOpenAIUpstream]) -> Iterator[list[FakeOpenAIUpstream]]:
    """Vendors a, b, c (index 0, 1, 2), reset and listening."""
    for fake in _fake_vendors:
        if fake._server is None:  # a test left it refusing connections
            fake.accept_connections()
        fake.reset()
    yield _fake_vendors
    for fake in _fake_vendors:
        fake.reset()


def tiered_config(vendors: list[FakeOpenAIUpstream], routing: dict[str, Any] | None = None, **extra: Any) -> dict:
    """a, b, c in priority tiers 0, 1, 2: the failover order is deterministic."""
    channels = [
        channel(n, f, [MODEL], timeouts=dict(FAST), priority=i)
        for i, (n, f) in enumerate(zip("abc"[: len(vendors)], vendors, strict=True))
    ]
    return {"channels": channels, "routing": {"sync_seconds": 0.05, **(routing or {})}, **extra}


@pytest.fixture
def routed(start_gateway: GatewayFactory, vendors: list[FakeOpenAIUpstream]) -> RunningGateway:
    return start_gateway(tiered_config(vendors))


def attempts(gw: RunningGateway, request_id: str) -> list[tuple[str, int | None]]:
    import orjson

    return [(a["channel"], a["status"]) for a in orjson.loads(gw.log(request_id)["attempts"])]


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    require_service("Redis", "127.0.0.1", 6379)
    prefix = f"onegate-test-{secrets.token_hex(4)}:"
    yield prefix
    drop_redis_prefix(prefix)
