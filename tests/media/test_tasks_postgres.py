"""Video tasks across instances on one PostgreSQL: leases share the work without double polls, a kill -9
leaves no task stuck, and each task's end is billed exactly once even when two pollers race for it."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from onegate.media import tasks
from onegate.store.keys import KeyOptions, create_key
from onegate.store.schema import ledger, media_tasks, request_logs
from onegate.store.teams import change_balance, create_team
from tests.conftest import raw_request
from tests.fakes.media_upstream import FakeMediaUpstream
from tests.multi.stack import Stack, open_stack

PER_SECOND = 100_000  # 0.1 a second, in micro-units
MEDIA = {"poll_seconds": 0.1, "max_poll_seconds": 0.2, "lease_seconds": 2.0}


@pytest.fixture
def stack(tmp_path) -> Iterator[Stack]:
    with open_stack(tmp_path) as running:
        yield running


def media_stack_config(stack: Stack, upstream: FakeMediaUpstream, **media):
    channel = {"name": "videos", "type": "openai", "base_url": upstream.base_url, "models": ["sora-2"]}
    return stack.config(
        channels=[channel], prices={"sora-2": {"per_second": PER_SECOND / 1e6}}, media={**MEDIA, **media}
    )


def team_key(stack: Stack) -> str:
    team = create_team(stack.engine, "studio")
    change_balance(stack.engine, "studio", "topup", 1_000_000_000, "test")
    return create_key(stack.engine, "studio-key", options=KeyOptions(team_id=team.id))[1]


def submit(root: str, key: str, prompt: str) -> str:
    body = {"model": "sora-2", "prompt": prompt, "seconds": "4"}
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    response = raw_request("POST", root + "/api/v1/videos", body, headers)
    assert response.status == 200, response.body
    return response.json()["id"]


def statuses(stack: Stack) -> dict[str, str]:
    with stack.engine.connect() as conn:
        return dict(conn.execute(select(media_tasks.c.id, media_tasks.c.status)).all())


def wait_all_done(stack: Stack, count: int, timeout: float = 30.0) -> dict[str, str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = statuses(stack)
        if len(found) == count and all(s in tasks.TERMINAL for s in found.values()):
            return found
        time.sleep(0.1)
    raise AssertionError(f"tasks not done: {statuses(stack)}")


def task_charges(stack: Stack) -> list[tuple[str, int]]:
    with stack.engine.connect() as conn:
        stmt = select(ledger.c.request_id, ledger.c.amount_micros).where(ledger.c.kind == "charge")
        return [(rid, -amount) for rid, amount in conn.execute(stmt)]


def wait_charges(stack: Stack, count: int, timeout: float = 10.0) -> list[tuple[str, int]]:
    deadline = time.monotonic() + timeout
    while len(found := task_charges(stack)) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    return found


def logged_costs(stack: Stack) -> dict[str, int]:
    with stack.engine.connect() as conn:
        rows = conn.execute(select(request_logs.c.request_id, request_logs.c.cost_micros))
        return {rid: cost for rid, cost in rows if cost}


def upstream_polls(upstream: FakeMediaUpstream) -> Counter[str]:
    return Counter(r.path.rsplit("/", 1)[1] for r in upstream.requests if r.method == "GET")


def test_two_instances_share_open_tasks_poll_each_once_a_round_and_bill_each_once(stack, media_upstream):
    config = media_stack_config(stack, media_upstream)
    a, b = stack.start(2, config)
    key = team_key(stack)
    ids = [submit((a if i % 2 else b).root, key, f"v{i}") for i in range(20)]
    done = wait_all_done(stack, 20)
    assert set(done.values()) == {"completed"}
    # queued → 2 polls in progress → completed: exactly 3 GETs a task, so never two pollers at once
    polls = upstream_polls(media_upstream)
    assert sorted(polls.values()) == [3] * 20
    charged = wait_charges(stack, 20)
    assert sorted(charged) == sorted((f"req_{i}", 4 * PER_SECOND) for i in ids)
    assert logged_costs(stack) == dict(charged)


def test_kill_9_while_polling_leaves_no_task_stuck_and_bills_each_once(stack, media_upstream):
    config = media_stack_config(stack, media_upstream)
    [a] = stack.start(1, config)
    key = team_key(stack)
    media_upstream.video_polls = 3
    ids = [submit(a.root, key, f"v{i}") for i in range(5)]
    media_upstream.delay_before_headers = 1.0  # polls hang in flight: the tasks are leased when A dies
    deadline = time.monotonic() + 10
    while not upstream_polls(media_upstream) and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.2)
    a.kill()
    with stack.engine.connect() as conn:
        leased = conn.execute(select(media_tasks.c.lease_until).where(media_tasks.c.lease_until.is_not(None))).all()
    assert leased, "the killed instance held leases"
    media_upstream.delay_before_headers = 0.0
    stack.start(1, config)
    done = wait_all_done(stack, 5)
    assert set(done.values()) == {"completed"}
    charged = wait_charges(stack, 5)
    assert sorted(charged) == sorted((f"req_{i}", 4 * PER_SECOND) for i in ids)


def test_two_pollers_racing_to_end_one_task_bill_it_once(stack, media_upstream, start_gateway):
    # the pollers sleep (poll_seconds 3600): only the two racing calls below end the task
    config = {"database_url": stack.database_url, "media": {**MEDIA, "poll_seconds": 3600}, **_channels(media_upstream)}
    gateways = [start_gateway(config) for _ in range(2)]
    first = gateways[0]
    key = team_key_engine(first)
    video_id = submit(first.root, key, "race")
    task = tasks.get(stack.engine, video_id)
    assert task is not None
    wins = []
    for _ in range(5):  # both at once, again and again: only the first UPDATE to land moves the status
        futures = [
            asyncio.run_coroutine_threadsafe(gw.gateway.media.finish(task, "completed", {}, "4"), _loop(gw))
            for gw in gateways
        ]
        wins += [f.result(10) for f in futures]
    assert wins.count(True) == 1
    charged = wait_charges(stack, 1)
    time.sleep(0.3)
    assert task_charges(stack) == charged == [(f"req_{video_id}", 4 * PER_SECOND)]


def _channels(upstream: FakeMediaUpstream) -> dict:
    channel = {"name": "videos", "type": "openai", "base_url": upstream.base_url, "models": ["sora-2"]}
    return {"channels": [channel], "prices": {"sora-2": {"per_second": PER_SECOND / 1e6}}}


def team_key_engine(gw) -> str:
    engine = gw.gateway.engine
    team = create_team(engine, "racers")
    change_balance(engine, "racers", "topup", 1_000_000_000, "test")
    return create_key(engine, "racer", options=KeyOptions(team_id=team.id))[1]


def _loop(gw) -> asyncio.AbstractEventLoop:
    loop = gw.gateway.reservations._loop
    assert loop is not None
    return loop
