"""Charts and dashboards from the rollup tables: spend, requests, tokens and failures over a range, by model,
key, team, channel or client, with the exact totals for the range and the top spenders."""

from __future__ import annotations

import time
from typing import Any, Literal

import msgspec
from sqlalchemy import Engine, select

from onegate.manage.actor import Actor, forced_scope, invalid
from onegate.manage.logs import LogTotals
from onegate.manage.types import Epoch, Id, Text
from onegate.store import log_queries
from onegate.store.log_queries import LogFilter
from onegate.store.schema import api_keys, teams

GroupBy = Literal["model", "key", "team", "channel", "client", "status", "error_code"]


class StatsQuery(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    since: Epoch | None = None  # default: 24 hours ago
    until: Epoch | None = None
    bucket: Literal["auto", "hour", "day"] = "auto"  # auto: hours up to 3 days, days beyond
    group_by: GroupBy | None = None
    key_id: Id | None = None
    team_id: Id | None = None
    model: Text | None = None
    channel: Text | None = None
    client: Text | None = None


class Point(msgspec.Struct, kw_only=True):
    t: int  # bucket start, epoch seconds
    group: str | None  # the group's name (a key's or team's name), None without group_by
    requests: int
    failed: int
    input_tokens: int
    cached_tokens: int
    output_tokens: int
    cost_micros: int
    mean_latency_ms: float | None


class GroupTotal(msgspec.Struct, kw_only=True):
    group: str
    requests: int
    failed: int
    input_tokens: int
    output_tokens: int
    cost_micros: int


class Stats(msgspec.Struct, kw_only=True):
    since: float
    until: float | None
    bucket: str
    group_by: str | None
    points: list[Point]
    groups: list[GroupTotal]  # most spent first: top spenders when grouped by key or team
    totals: LogTotals


def stats(engine: Engine, actor: Actor, q: StatsQuery, now: float | None = None) -> Stats:
    now = time.time() if now is None else now
    since = q.since if q.since is not None else now - 86400
    if q.until is not None and q.until < since:
        raise invalid("until is before since")
    if actor.role == "key" and q.group_by == "team":
        raise invalid("a key holder cannot group by team")
    team_id, key_id = forced_scope(actor, q.team_id, q.key_id)
    span = (q.until or now) - since
    bucket = q.bucket if q.bucket != "auto" else ("hour" if span <= 3 * 86400 else "day")
    f = LogFilter(
        since=since, until=q.until, key_id=key_id, team_id=team_id, model=q.model, channel=q.channel, client=q.client
    )
    rows = log_queries.series(engine, f, bucket, q.group_by, now)
    names = _names(engine, q.group_by, {r["group"] for r in rows} if q.group_by else set())
    points: list[Point] = []
    groups: dict[str, GroupTotal] = {}
    for r in rows:
        group = names.get(r["group"], str(r["group"])) if q.group_by else None
        requests = int(r["requests"] or 0)
        point = Point(
            t=int(r["bucket"]),
            group=group,
            requests=requests,
            failed=int(r["failed"] or 0),
            input_tokens=int(r["input_tokens"] or 0),
            cached_tokens=int(r["cached_tokens"] or 0),
            output_tokens=int(r["output_tokens"] or 0),
            cost_micros=int(r["cost_micros"] or 0),
            mean_latency_ms=(float(r["latency_ms"] or 0) / requests) if requests else None,
        )
        points.append(point)
        if group is not None:
            g = groups.setdefault(
                group, GroupTotal(group=group, requests=0, failed=0, input_tokens=0, output_tokens=0, cost_micros=0)
            )
            g.requests += point.requests
            g.failed += point.failed
            g.input_tokens += point.input_tokens
            g.output_tokens += point.output_tokens
            g.cost_micros += point.cost_micros
    totals = LogTotals(**log_queries.totals(engine, f, now))
    ranked = sorted(groups.values(), key=lambda g: (-g.cost_micros, -g.requests, g.group))
    return Stats(
        since=since, until=q.until, bucket=bucket, group_by=q.group_by, points=points, groups=ranked, totals=totals
    )


def _names(engine: Engine, group_by: str | None, ids: set[Any]) -> dict[Any, str]:
    """Readable names for key and team groups (0 stands for none)."""
    if group_by not in ("key", "team"):
        return {}
    wanted = [i for i in ids if i]
    names: dict[Any, str] = {0: "(none)"}
    if wanted:
        with engine.connect() as conn:
            if group_by == "key":
                k = api_keys.c
                for i, n, m in conn.execute(select(k.id, k.name, k.mask).where(k.id.in_(wanted))):
                    names[i] = f"{n} {m}"
            else:
                for i, n in conn.execute(select(teams.c.id, teams.c.name).where(teams.c.id.in_(wanted))):
                    names[i] = n
    for i in wanted:
        names.setdefault(i, f"(deleted {group_by} {i})")
    return names
