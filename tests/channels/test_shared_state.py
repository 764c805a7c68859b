"""Channel state behind one protocol, two backends; with Redis, every instance shares breakers and cool-downs."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator

import pytest

from onegate.channels.memory import MemoryChannelStore
from onegate.channels.state import ChannelStateStore, Marks, Window
from tests.channels.conftest import MESSAGES, MODEL, REDIS_URL, attempts, drop_redis_prefix, tiered_config
from tests.conftest import require_service


@pytest.fixture(params=["memory", "redis"])
async def store(request) -> AsyncIterator[ChannelStateStore]:
    if request.param == "memory":
        yield MemoryChannelStore(window_seconds=12.0)
        return
    require_service("Redis", "127.0.0.1", 6379)
    from onegate.channels.redis import RedisChannelStore

    prefix = f"onegate-test-{secrets.token_hex(4)}:"
    redis_store = RedisChannelStore(REDIS_URL, prefix, window_seconds=12.0)
    yield redis_store
    await redis_store.close()
    drop_redis_prefix(prefix)


async def test_outcomes_add_up_in_the_window_and_fall_out_of_it(store):
    await store.add_success("a", 100.0, 1000.0)
    await store.add_success("a", 50.0, 1000.5)
    assert await store.add_failure("a", 1001.0) == Window(2, 1, 150.0)
    windows = await store.windows(["a", "b"], 1001.0)
    assert windows == {"a": Window(2, 1, 150.0), "b": Window()}
    assert (await store.windows(["a"], 1012.2))["a"] == Window(0, 1, 0.0)  # the first slice has passed
    await store.clear_window("a")
    assert (await store.windows(["a"], 1001.0))["a"] == Window()


async def test_a_redis_window_keeps_a_ttl_renewed_once_per_slice():
    """Successes renew the window's TTL once per time slice (not per success); the key never outlives it."""
    require_service("Redis", "127.0.0.1", 6379)
    import redis

    from onegate.channels.redis import RedisChannelStore

    prefix = f"onegate-test-{secrets.token_hex(4)}:"
    store = RedisChannelStore(REDIS_URL, prefix, window_seconds=12.0)
    client = redis.Redis.from_url(REDIS_URL)
    key = f"{prefix}channel:a:window"
    try:
        await store.add_success("a", 10.0, 1000.0)
        await store.add_failure("a", 1000.1)  # awaited: everything sent before it has landed
        assert 0 < client.pttl(key) <= 24_000
        client.persist(key)
        await store.add_success("a", 10.0, 1000.2)  # same slice: not renewed again
        await store.add_failure("a", 1000.3)
        client.persist(key)  # the failure renews it; take that away to see what the next success does
        await store.add_success("a", 10.0, 1000.4)
        await store.add_failure("z", 1000.5)  # another key, the same connection: "a"'s commands have landed
        assert client.pttl(key) == -1
        await store.add_success("a", 10.0, 1003.0)  # the next slice (12 s / 12 slices): renewed
        await store.add_failure("z", 1003.1)
        assert 0 < client.pttl(key) <= 24_000
    finally:
        await store.close()
        client.close()
        drop_redis_prefix(prefix)


async def test_marks_round_trip(store):
    marks = Marks(open_until=123.5, opens=2, cool_until=7.0, disabled=None, last_error="boom", changed_at=1.0)
    await store.save_marks("a", marks)
    await store.save_marks("b", Marks(disabled="by hand"))
    assert await store.load_marks() == {"a": marks, "b": Marks(disabled="by hand")}


async def test_a_claim_goes_to_one_caller_until_it_lapses(store):
    results = await asyncio.gather(*(store.claim("probe:a", 0.2) for _ in range(5)))
    assert sorted(results) == [False, False, False, False, True]
    await asyncio.sleep(0.25)
    assert await store.claim("probe:a", 0.2)


def test_redis_shares_an_open_breaker_across_instances(start_gateway, vendors, redis_prefix):
    a, b, _ = vendors
    routing = {"redis_prefix": redis_prefix, "breaker": {"min_failures": 2, "open_seconds": 30}}
    config = tiered_config(vendors, routing, redis_url=REDIS_URL)
    one, two = start_gateway(config), start_gateway(config)
    a.fail_next(500, {"error": {"message": "boom"}}, times=2)
    for _ in range(2):
        raw = one.client().chat.completions.with_raw_response.create(model=MODEL, messages=MESSAGES)
        assert attempts(one, raw.headers["x-request-id"]) == [("a", 500), ("b", 200)]
    deadline = time.monotonic() + 2
    while two.gateway.channels.state("a", time.time()) != "open" and time.monotonic() < deadline:
        time.sleep(0.02)
    raw = two.client().chat.completions.with_raw_response.create(model=MODEL, messages=MESSAGES)
    assert attempts(two, raw.headers["x-request-id"]) == [("b", 200)]  # instance two never touched a
    assert len(a.requests) == 2
    for _ in range(5):  # the outcome goes to Redis after the response is complete: it must neither be lost
        raw = two.client().chat.completions.with_raw_response.create(model=MODEL, messages=MESSAGES, stream=True)
        raw.http_response.read()  # nor turn the finished request into a 499
        row = two.log(raw.headers["x-request-id"])
        assert (row["status"], row["error_code"]) == (200, None)
    shared = asyncio.run(_windows(redis_prefix, ["b"]))
    assert shared["b"].successes == 2 + 1 + 5  # both instances' successes, in the one shared window


async def _windows(prefix: str, channels: list[str]) -> dict[str, Window]:
    from onegate.channels.redis import RedisChannelStore

    store = RedisChannelStore(REDIS_URL, prefix, window_seconds=60.0)
    try:
        return await store.windows(channels, time.time())
    finally:
        await store.close()
