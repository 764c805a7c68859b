"""Channels: live state (breaker, cool-down, recent success and latency), health over time from the
rollups, a live test, enable and disable by hand. The running server's `ChannelBook` is the source."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import msgspec
from sqlalchemy import Engine

from onegate.channels.book import ChannelBook
from onegate.channels.probe import ProbeResult, probe
from onegate.manage import audit
from onegate.manage.actor import Actor, not_found, require, require_write
from onegate.manage.stats import Stats, StatsQuery, stats
from onegate.manage.types import Text


class ChannelView(msgspec.Struct, kw_only=True):
    name: str
    state: str  # healthy | cooling | open | half_open | disabled
    priority: int
    weight: float
    models: list[str]
    successes: int  # in the breaker's window
    failures: int
    mean_latency_ms: float | None
    in_flight: int
    marks: dict[str, Any]  # open_until, cool_until, disabled, last_error, …


class ChannelTest(msgspec.Struct, kw_only=True):
    channel: str
    verdict: str  # ok | fault | rate_limited
    status: int | None
    latency_ms: float
    detail: str


class ChannelAction(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    reason: Text = ""


def _need_read(actor: Actor) -> None:
    require(actor, "owner", "operator", "viewer")


async def list_channels(book: ChannelBook, configured: Mapping[str, Any], actor: Actor) -> list[ChannelView]:
    _need_read(actor)
    reports = await book.reports(list(configured))
    out = []
    for r in reports:
        channel = configured[r.name]
        out.append(
            ChannelView(
                name=r.name,
                state=r.state,
                priority=channel.priority,
                weight=channel.weight,
                models=[m.name for m in channel.routes()],
                successes=r.window.successes,
                failures=r.window.failures,
                mean_latency_ms=r.window.mean_latency_ms,
                in_flight=r.in_flight,
                marks=r.marks.as_dict(),
            )
        )
    return out


def _known(configured: Mapping[str, Any], name: str) -> None:
    if name not in configured:
        raise not_found(f"no channel named {name!r}")


def health(engine: Engine, configured: Mapping[str, Any], actor: Actor, name: str, q: StatsQuery) -> Stats:
    """Requests, failures and mean latency over time for one channel (rollups)."""
    _need_read(actor)
    _known(configured, name)
    return stats(engine, actor, msgspec.structs.replace(q, channel=name, group_by=None))


async def test_channel(targets: Mapping[str, Any], actor: Actor, name: str) -> ChannelTest:
    require_write(actor)
    if name not in targets:
        raise not_found(f"no channel named {name!r} serves a model to test with")
    return _result(await probe(targets[name]))


async def test_channels(targets: Mapping[str, Any], actor: Actor) -> list[ChannelTest]:
    """Every channel that serves a model, tested at once."""
    require_write(actor)
    return [_result(r) for r in await asyncio.gather(*(probe(t) for t in targets.values()))]


def _result(r: ProbeResult) -> ChannelTest:
    return ChannelTest(channel=r.channel, verdict=r.verdict, status=r.status, latency_ms=r.latency_ms, detail=r.detail)


async def set_enabled(
    engine: Engine,
    book: ChannelBook,
    configured: Mapping[str, Any],
    actor: Actor,
    name: str,
    enable: bool,
    reason: Text = "",
) -> ChannelView:
    require_write(actor)
    _known(configured, name)
    before = book.marks(name).as_dict()
    if enable:
        await book.enable(name, f"enabled by {actor.name}")
    else:
        # "by hand" keeps the recovery probes off it (see `Marks.disabled_by_hand`); who is in the audit row
        await book.disable(name, "by hand" + (f": {reason}" if reason else ""))
    after = book.marks(name).as_dict()

    def write() -> None:
        with engine.begin() as conn:
            audit.record(
                conn,
                actor,
                f"channels.{'enable' if enable else 'disable'}",
                f"channel:{name}",
                before=before,
                after=after,
            )

    await asyncio.to_thread(write)
    views = await list_channels(book, {name: configured[name]}, actor)
    return views[0]
