"""The pure parts: tier and weight ordering, breaker decisions, Retry-After, the config's model entries."""

from __future__ import annotations

import random
import time
from email.utils import formatdate

import msgspec
import pytest

from onegate.channels import breaker
from onegate.channels.faults import is_channel_fault, retry_after_seconds
from onegate.channels.memory import SlidingWindow
from onegate.channels.state import Marks, Window
from onegate.dialects.pairs import plan_exchange
from onegate.pipeline.route import order_targets
from onegate.providers.registry import Target
from onegate.providers.selftest import SelftestProvider
from onegate.settings import BreakerConfig, ChannelConfig
from tests.conftest import channel as channel_entry

POLICY = BreakerConfig(min_failures=3, failure_ratio=0.5, open_seconds=10, max_open_seconds=25, disable_after_opens=4)


def _target(name: str, priority: int = 0, weight: float = 1.0) -> Target:
    provider = SelftestProvider("m")
    provider.name = name  # an instance attribute: each target its own channel name
    return Target(provider, "m", priority, weight)


def test_lower_priority_tiers_always_come_first():
    targets = [_target("backup", 1), _target("main-1", 0), _target("last", 2), _target("main-2", 0)]
    for seed in range(20):
        order = [t.channel for t in order_targets(targets, random.Random(seed).random)]
        assert set(order[:2]) == {"main-1", "main-2"} and order[2:] == ["backup", "last"]


def test_weights_split_the_first_pick_inside_a_tier():
    rng = random.Random(7).random
    targets = [_target("heavy", weight=3), _target("light", weight=1)]
    firsts = [order_targets(targets, rng)[0].channel for _ in range(4000)]
    assert 0.72 < firsts.count("heavy") / len(firsts) < 0.78


def test_channel_config_routes_fill_in_priority_weight_and_upstream_name():
    channel = msgspec.convert(  # as the config file is read
        channel_entry(
            "c",
            "http://h",
            ["m1", {"name": "m2", "priority": 0}, {"name": "fast", "upstream": "m1", "weight": 5}],
            priority=1,
            weight=2,
            aliases={"alias": "m1"},
        ),
        ChannelConfig,
    )
    assert [(r.name, r.upstream, r.priority, r.weight) for r in channel.routes()] == [
        ("m1", "m1", 1, 2.0),
        ("m2", "m2", 0, 2.0),
        ("fast", "m1", 1, 5.0),
        ("alias", "m1", 1, 2.0),
    ]


@pytest.mark.parametrize(
    ("failures", "total", "opens"),
    [(2, 2, False), (3, 7, False), (3, 6, True), (5, 5, True)],
)
def test_breaker_needs_both_the_count_and_the_ratio(failures, total, opens):
    window = Window(successes=total - failures, failures=failures)
    after = breaker.after_failure(Marks(), window, 100.0, POLICY, "boom")
    assert (after is not None) == opens
    if after:
        assert after.state(100.0) == "open" and after.open_until == 110.0 and after.last_error == "boom"


def test_failed_probes_double_the_open_time_up_to_the_cap_then_disable():
    marks, now = Marks(), 0.0
    marks = breaker.after_failure(marks, Window(failures=3), now, POLICY, "e")
    assert marks is not None and marks.open_until - now == 10
    for expected in (20, 25):  # doubled, then capped at max_open_seconds
        now = marks.open_until + 1  # half-open: this failure is the probe's
        marks = breaker.after_failure(marks, Window(failures=1), now, POLICY, "e")
        assert marks is not None and marks.open_until - now == expected
    now = marks.open_until + 1
    marks = breaker.after_failure(marks, Window(failures=1), now, POLICY, "e")
    assert marks is not None and marks.state(now) == "disabled" and marks.disabled.startswith("automatically")
    assert breaker.after_failure(marks, Window(failures=99), now + 1000, POLICY, "e") is None  # never back alone


def test_success_closes_and_forgets_past_opens_and_otherwise_changes_nothing():
    assert breaker.after_success(Marks(), 1.0) is None
    closed = breaker.after_success(Marks(open_until=5.0, opens=2), 6.0)
    assert closed is not None and closed.state(6.0) == "healthy" and closed.opens == 0


def test_open_breaker_ignores_further_failures_and_cooling_never_shortens():
    assert breaker.after_failure(Marks(open_until=50.0, opens=1), Window(failures=9), 10.0, POLICY, "e") is None
    cooled = breaker.cooled(Marks(cool_until=60.0), 5, 10.0, "429")
    assert cooled.cool_until == 60.0 and cooled.state(10.0) == "cooling"


def test_sliding_window_forgets_old_outcomes():
    window = SlidingWindow(12.0)  # one-second slices
    window.add(False, 0, 100.0)
    window.add(True, 40.0, 105.0)
    assert window.total(105.5) == Window(1, 1, 40.0)
    assert window.total(112.5) == Window(1, 0, 40.0)
    assert window.total(200.0) == Window()


def test_retry_after_reads_seconds_milliseconds_and_dates():
    assert retry_after_seconds({"retry-after": "7"}) == 7
    assert retry_after_seconds({"retry-after-ms": "1500", "retry-after": "9"}) == 1.5
    assert 28 <= retry_after_seconds({"retry-after": formatdate(time.time() + 30, usegmt=True)}) <= 30
    assert retry_after_seconds({"retry-after": "soon"}) is None
    assert retry_after_seconds({}) is None


@pytest.mark.parametrize(
    ("status", "fault"),
    [
        (500, True),
        (529, True),
        (401, True),
        (403, True),
        (400, False),
        (404, False),
        (422, False),
        (429, False),
        (501, False),
    ],
)
def test_which_statuses_are_the_channels_fault(status, fault):
    assert is_channel_fault(status) is fault


def test_planning_twice_leaves_the_client_body_as_sent():
    body = {"model": "public", "messages": [{"role": "user", "content": "hi"}], "stream": True}
    first = plan_exchange("openai_chat", "openai_chat", body, "upstream-a", True, 0)
    second = plan_exchange("openai_chat", "openai_chat", body, "upstream-b", True, 0)
    assert body == {"model": "public", "messages": [{"role": "user", "content": "hi"}], "stream": True}
    assert b'"upstream-a"' in first.body and b'"upstream-b"' in second.body
    assert b'"include_usage":true' in second.body
    assert second.new_relay().client_wants_usage is False  # the client never asked for the usage chunk
