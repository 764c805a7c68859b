"""The management API's route table: method, path, who may call it, its typed query/body/response, and the
handler (a thin call into onegate.manage). The OpenAPI document and the role tests are built from this table."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from onegate.admin.api_v1.deps import AdminDeps
from onegate.admin.api_v1.types import (
    AuditQuery,
    Deleted,
    KeysQuery,
    LimitQuery,
    MyKey,
    NewKey,
    RangeQuery,
    RotateIn,
    SessionInfo,
    SetupQuery,
    SignedOut,
    SignIn,
)
from onegate.manage import admins, alerts, audit, balance, callbacks, channels, keys, logs, prices, stats, tasks, teams
from onegate.manage.actor import ROLES, Actor, Role, forced_scope, not_found
from onegate.manage.setup import guides_for
from onegate.settings import PriceConfig
from onegate.setup.guides import CLIENTS, Guide, UnknownClient, build_guide
from onegate.setup.inputs import guide_input_for
from onegate.store.keys import get_key
from onegate.store.teams import team_by_id

ALL: frozenset[Role] = frozenset(ROLES)
STAFF: frozenset[Role] = frozenset({"owner", "operator", "viewer", "team_admin"})
READERS: frozenset[Role] = frozenset({"owner", "operator", "viewer"})
WRITERS: frozenset[Role] = frozenset({"owner", "operator"})
TEAM_WRITERS: frozenset[Role] = frozenset({"owner", "operator", "team_admin"})
OWNER: frozenset[Role] = frozenset({"owner"})
TASK_WRITERS: frozenset[Role] = frozenset({"owner", "operator", "team_admin", "key"})  # not a viewer


@dataclass(slots=True)
class Call:
    deps: AdminDeps
    actor: Actor
    params: dict[str, Any]
    query: Any
    body: Any
    headers: dict[str, str]
    peer: str
    lang: str
    session_token: str | None = None
    session_expires: float | None = None


@dataclass(frozen=True, slots=True)
class Stream:
    """A streamed response (CSV export)."""

    content_type: str
    headers: dict[str, str]
    chunks: Iterator[bytes]


Handler = Callable[[Call], Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class Endpoint:
    method: str
    path: str  # under /admin/api/v1; `{name}` segments are parameters (`…_id` and `id` are integers)
    handler: Handler
    roles: frozenset[Role] | None  # None: no sign-in needed
    summary: str
    response: Any = None
    query: type | None = None
    body: type | None = None
    status: int = 200
    content_type: str = "application/json"
    tags: tuple[str, ...] = field(default_factory=tuple)


def run(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Awaitable[Any]:
    """The service layer is blocking (SQLAlchemy): off the event loop."""
    return asyncio.to_thread(fn, *args, **kwargs)


def _root(call: Call) -> str:
    return call.deps.settings.public_root(call.headers)


# session ----------------------------------------------------------------------------------------------------
def session_info(call: Call, csrf: str | None, shown_name: str) -> SessionInfo:
    a = call.actor
    return SessionInfo(
        role=a.role,
        name=a.name,
        shown_name=shown_name,
        team_id=a.team_id,
        key_id=a.key_id,
        can_topup=a.can_topup or a.writes_all,
        csrf_token=csrf,
        expires_at=call.session_expires,
        currency=call.deps.settings.accounting.currency,
    )


async def get_session(call: Call) -> SessionInfo:
    from onegate.manage.sessions import csrf_for, shown_name

    shown = await run(shown_name, call.deps.engine, call.actor)
    return session_info(call, csrf_for(call.session_token) if call.session_token else None, shown)


async def sign_out(call: Call) -> SignedOut:
    from onegate.manage.sessions import close_session

    if call.session_token:
        await run(close_session, call.deps.engine, call.session_token)
    return SignedOut(signed_out=True)


async def my_key(call: Call) -> MyKey:
    return MyKey(
        balance=await run(_key_balance, call.deps, call.actor.key_id or 0),
        base_url=call.deps.settings.public_base_url(call.headers),
        currency=call.deps.settings.accounting.currency,
    )


def _key_balance(deps: AdminDeps, key_id: int) -> balance.KeyBalance:
    with deps.engine.connect() as conn:
        record = get_key(conn, key_id)
        if record is None:
            raise not_found(f"no key with id {key_id}")
        team = team_by_id(conn, record.team_id) if record.team_id is not None else None
    return balance.key_balance(deps.engine, record, team)


# keys -------------------------------------------------------------------------------------------------------
async def list_keys(call: Call) -> keys.KeyPage:
    q: KeysQuery = call.query
    return await run(
        keys.list_keys,
        call.deps.engine,
        call.actor,
        query=q.q,
        team_id=q.team_id,
        status=q.status,
        cursor=q.cursor,
        limit=q.limit,
    )


async def create_key(call: Call) -> NewKey:
    created = await run(keys.create_key, call.deps.engine, call.actor, call.body)
    await call.deps.announce("keys")
    with call.deps.engine.connect() as conn:
        record = get_key(conn, created.key.id)
    guides = guides_for(_root(call), call.deps.model_names(), record, call.lang, call.deps.served)
    return NewKey(
        key=created.key, secret=created.secret, base_url=call.deps.settings.public_base_url(call.headers), setup=guides
    )


async def show_key(call: Call) -> keys.KeyDetail:
    return await run(keys.show_key, call.deps.engine, call.actor, call.params["id"])


async def update_key(call: Call) -> keys.KeyView:
    view = await run(keys.update, call.deps.engine, call.actor, call.params["id"], call.body)
    await call.deps.announce("keys")
    return view


async def rotate_key(call: Call) -> keys.KeyRotated:
    body: RotateIn = call.body
    rotated = await run(keys.rotate, call.deps.engine, call.actor, call.params["id"], body.grace_seconds)
    await call.deps.announce("keys")
    return rotated


async def delete_key(call: Call) -> keys.KeyView:
    view = await run(keys.delete, call.deps.engine, call.actor, call.params["id"])
    await call.deps.announce("keys")
    return view


async def key_webhook(call: Call) -> callbacks.KeyWebhook:
    return await run(callbacks.show, call.deps.engine, call.actor, call.params["id"])


async def set_key_webhook(call: Call) -> callbacks.KeyWebhook:
    return await run(callbacks.set_url, call.deps.engine, call.actor, call.params["id"], call.body)


async def rotate_webhook_secret(call: Call) -> callbacks.WebhookSecret:
    return await run(callbacks.rotate_secret, call.deps.engine, call.actor, call.params["id"], call.body)


# video tasks ------------------------------------------------------------------------------------------------
async def list_tasks(call: Call) -> tasks.TaskPage:
    return await run(tasks.list_tasks, call.deps.engine, call.actor, call.query)


async def show_task(call: Call) -> tasks.TaskDetail:
    return await run(tasks.show_task, call.deps.engine, call.actor, call.params["task"])


async def redeliver_task(call: Call) -> tasks.Redelivered:
    return await run(tasks.redeliver, call.deps.engine, call.actor, call.params["task"])


# teams ------------------------------------------------------------------------------------------------------
async def list_teams(call: Call) -> list[teams.TeamView]:
    return await run(teams.list_teams, call.deps.engine, call.actor)


async def create_team(call: Call) -> teams.TeamView:
    view = await run(teams.create_team, call.deps.engine, call.actor, call.body, set(call.deps.settings.model_groups))
    await call.deps.announce("teams")
    return view


async def show_team(call: Call) -> teams.TeamDetail:
    q: RangeQuery = call.query
    return await run(teams.show_team, call.deps.engine, call.actor, call.params["id"], q.since, q.until)


async def update_team(call: Call) -> teams.TeamView:
    view = await run(
        teams.update_team,
        call.deps.engine,
        call.actor,
        call.params["id"],
        call.body,
        set(call.deps.settings.model_groups),
    )
    await call.deps.announce("teams")
    return view


async def change_balance(call: Call) -> teams.BalanceChanged:
    changed = await run(teams.change_balance, call.deps.engine, call.actor, call.params["id"], call.body)
    await call.deps.announce("teams")
    return changed


# prices -----------------------------------------------------------------------------------------------------
async def list_prices(call: Call) -> list[prices.PriceView]:
    return await run(prices.list_prices, call.deps.engine, call.actor, call.deps.settings.prices)


async def set_price(call: Call) -> prices.PriceView:
    view = await run(
        prices.set_price, call.deps.engine, call.actor, call.params["model"], call.body, set(call.deps.model_names())
    )
    await call.deps.announce("prices")
    return view


async def clear_price(call: Call) -> Deleted:
    await run(prices.clear_price, call.deps.engine, call.actor, call.params["model"])
    await call.deps.announce("prices")
    return Deleted(deleted=True, id=call.params["model"])


# channels ---------------------------------------------------------------------------------------------------
async def list_channels(call: Call) -> list[channels.ChannelView]:
    return await channels.list_channels(call.deps.channels, call.deps.channel_configs, call.actor)


async def channel_health(call: Call) -> stats.Stats:
    return await run(
        channels.health, call.deps.engine, call.deps.channel_configs, call.actor, call.params["name"], call.query
    )


async def test_channel(call: Call) -> channels.ChannelTest:
    return await channels.test_channel(call.deps.probe_targets, call.actor, call.params["name"])


async def enable_channel(call: Call) -> channels.ChannelView:
    d = call.deps
    return await channels.set_enabled(d.engine, d.channels, d.channel_configs, call.actor, call.params["name"], True)


async def disable_channel(call: Call) -> channels.ChannelView:
    d, body = call.deps, call.body
    return await channels.set_enabled(
        d.engine, d.channels, d.channel_configs, call.actor, call.params["name"], False, body.reason
    )


# logs, stats, alerts, audit ---------------------------------------------------------------------------------
async def list_logs(call: Call) -> logs.LogPage:
    return await run(logs.list_logs, call.deps.engine, call.actor, call.query)


async def log_totals(call: Call) -> logs.LogTotals:
    return await run(logs.totals, call.deps.engine, call.actor, call.query)


async def export_logs(call: Call) -> Stream:
    chunks = await run(logs.export_csv, call.deps.engine, call.actor, call.query)
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    headers = {
        "content-disposition": f'attachment; filename="onegate-logs-{stamp}.csv"',
        "x-onegate-export-cap": str(logs.EXPORT_CAP),
    }
    return Stream("text/csv; charset=utf-8", headers, chunks)


async def log_detail(call: Call) -> logs.LogDetail:
    return await run(logs.detail, call.deps.engine, call.actor, call.params["request_id"], call.lang)


async def evidence(call: Call) -> dict[str, Any]:
    found: logs.LogDetail = await run(logs.detail, call.deps.engine, call.actor, call.params["request_id"], call.lang)
    return found.evidence


async def get_stats(call: Call) -> stats.Stats:
    return await run(stats.stats, call.deps.engine, call.actor, call.query)


async def list_alerts(call: Call) -> list[alerts.AlertView]:
    return await run(alerts.list_alerts, call.deps.engine, call.actor, call.query.limit)


async def list_audit(call: Call) -> audit.AuditPage:
    q: AuditQuery = call.query
    cursor = int(q.cursor) if q.cursor and q.cursor.isdigit() else None
    return await run(audit.list_audit, call.deps.engine, call.actor, cursor, q.limit, q.team_id)


# admins -----------------------------------------------------------------------------------------------------
async def list_admins(call: Call) -> list[admins.AdminView]:
    return await run(admins.list_admins, call.deps.engine, call.actor)


async def create_admin(call: Call) -> admins.AdminCreated:
    return await run(admins.create_admin, call.deps.engine, call.actor, call.body)


async def update_admin(call: Call) -> admins.AdminView:
    return await run(admins.update_admin, call.deps.engine, call.actor, call.params["id"], call.body)


async def delete_admin(call: Call) -> admins.AdminView:
    return await run(admins.delete_admin, call.deps.engine, call.actor, call.params["id"])


# setup guides -----------------------------------------------------------------------------------------------
def _guide_key(call: Call, key_id: int | None) -> Any:
    """The key a guide is filled in for: the key holder's own, else the one asked for (if visible)."""
    wanted = call.actor.key_id if call.actor.role == "key" else key_id
    if wanted is None:
        return None
    with call.deps.engine.connect() as conn:
        record = get_key(conn, wanted)
    if record is None:
        raise not_found(f"no key with id {wanted}")
    team_id, _ = forced_scope(call.actor, None, None) if call.actor.role == "team_admin" else (None, None)
    if team_id is not None and record.team_id != team_id:
        raise not_found(f"no key with id {wanted}")
    return record


async def setup_guides(call: Call) -> list[Guide]:
    q: SetupQuery = call.query
    record = await run(_guide_key, call, q.key_id)
    return guides_for(_root(call), call.deps.model_names(), record, q.lang or call.lang, call.deps.served)


async def setup_guide(call: Call) -> Guide:
    q: SetupQuery = call.query
    record = await run(_guide_key, call, q.key_id)
    guide_input = guide_input_for(_root(call), call.deps.model_names(), record, q.lang or call.lang, call.deps.served)
    try:
        return build_guide(call.params["client"], guide_input)
    except UnknownClient as exc:
        raise not_found(f"{exc} (one of: {', '.join(CLIENTS)})") from None


async def _placeholder(call: Call) -> None:  # replaced in server.py (it needs the raw request)
    raise NotImplementedError


E = Endpoint
ENDPOINTS: tuple[Endpoint, ...] = (
    E("GET", "/openapi.json", _placeholder, None, "This document", dict[str, Any], tags=("meta",)),
    E(
        "POST",
        "/session",
        _placeholder,
        None,
        "Sign in: a token or key for a session cookie",
        SessionInfo,
        body=SignIn,
        tags=("session",),
    ),
    E(
        "GET",
        "/session",
        get_session,
        ALL,
        "Who is signed in (and the CSRF token for a cookie session)",
        SessionInfo,
        tags=("session",),
    ),
    E("DELETE", "/session", sign_out, ALL, "Sign out: the session is deleted", SignedOut, tags=("session",)),
    E(
        "GET",
        "/my/key",
        my_key,
        frozenset({"key"}),
        "A key holder's own key: models, budget, spend, balance",
        MyKey,
        tags=("session",),
    ),
    E(
        "GET",
        "/keys",
        list_keys,
        STAFF,
        "Keys, a page at a time (search by name or last four)",
        keys.KeyPage,
        query=KeysQuery,
        tags=("keys",),
    ),
    E(
        "POST",
        "/keys",
        create_key,
        TEAM_WRITERS,
        "Create a key: the secret is in this answer only",
        NewKey,
        body=keys.KeyCreate,
        status=201,
        tags=("keys",),
    ),
    E(
        "GET",
        "/keys/{id}",
        show_key,
        ALL,
        "One key with its spend in the budget period",
        keys.KeyDetail,
        tags=("keys",),
    ),
    E(
        "PATCH",
        "/keys/{id}",
        update_key,
        TEAM_WRITERS,
        "Change a key (models, budget, limits, expiry, status)",
        keys.KeyView,
        body=keys.KeyUpdate,
        tags=("keys",),
    ),
    E(
        "POST",
        "/keys/{id}/rotate",
        rotate_key,
        TEAM_WRITERS,
        "A new secret; the old one works for the grace period",
        keys.KeyRotated,
        body=RotateIn,
        tags=("keys",),
    ),
    E("DELETE", "/keys/{id}", delete_key, TEAM_WRITERS, "Delete a key", keys.KeyView, tags=("keys",)),
    E(
        "GET",
        "/keys/{id}/webhook",
        key_webhook,
        ALL,
        "A key's callback settings: whether it has a signing secret, its default callback URL",
        callbacks.KeyWebhook,
        tags=("keys", "tasks"),
    ),
    E(
        "PUT",
        "/keys/{id}/webhook",
        set_key_webhook,
        TEAM_WRITERS,
        "Set or clear a key's default callback URL (the key needs a signing secret first)",
        callbacks.KeyWebhook,
        body=callbacks.WebhookUrlIn,
        tags=("keys", "tasks"),
    ),
    E(
        "POST",
        "/keys/{id}/webhook-secret",
        rotate_webhook_secret,
        TEAM_WRITERS,
        "Create or rotate a key's callback signing secret (whsec_…, in this answer only)",
        callbacks.WebhookSecret,
        body=callbacks.WebhookSecretIn,
        tags=("keys", "tasks"),
    ),
    E(
        "GET",
        "/tasks",
        list_tasks,
        ALL,
        "Video tasks, newest first, filtered, by cursor",
        tasks.TaskPage,
        query=tasks.TaskQuery,
        tags=("tasks",),
    ),
    E(
        "GET",
        "/tasks/{task}",
        show_task,
        ALL,
        "One video task: status history, billing, each callback delivery attempt",
        tasks.TaskDetail,
        tags=("tasks",),
    ),
    E(
        "POST",
        "/tasks/{task}/redeliver",
        redeliver_task,
        TASK_WRITERS,
        "Send a task's callbacks again",
        tasks.Redelivered,
        tags=("tasks",),
    ),
    E("GET", "/teams", list_teams, STAFF, "Teams with their balances", list[teams.TeamView], tags=("teams",)),
    E(
        "POST",
        "/teams",
        create_team,
        WRITERS,
        "Create a team",
        teams.TeamView,
        body=teams.TeamCreate,
        status=201,
        tags=("teams",),
    ),
    E(
        "GET",
        "/teams/{id}",
        show_team,
        STAFF,
        "A team: balance, spend by model and key over a range, history",
        teams.TeamDetail,
        query=RangeQuery,
        tags=("teams",),
    ),
    E(
        "PATCH",
        "/teams/{id}",
        update_team,
        WRITERS,
        "Change a team's limits, model groups or status",
        teams.TeamView,
        body=teams.TeamUpdate,
        tags=("teams",),
    ),
    E(
        "POST",
        "/teams/{id}/balance",
        change_balance,
        TEAM_WRITERS,
        "Top up, adjust or refund, with a note",
        teams.BalanceChanged,
        body=teams.BalanceChangeIn,
        tags=("teams",),
    ),
    E(
        "GET",
        "/prices",
        list_prices,
        ALL,
        "Every priced model and where its price comes from",
        list[prices.PriceView],
        tags=("prices",),
    ),
    E(
        "PUT",
        "/prices/{model}",
        set_price,
        WRITERS,
        "Set a model's run-time price",
        prices.PriceView,
        body=PriceConfig,
        tags=("prices",),
    ),
    E("DELETE", "/prices/{model}", clear_price, WRITERS, "Back to the config file's price", Deleted, tags=("prices",)),
    E(
        "GET",
        "/channels",
        list_channels,
        READERS,
        "Channels: state, breaker, cool-down, recent success and latency",
        list[channels.ChannelView],
        tags=("channels",),
    ),
    E(
        "GET",
        "/channels/{name}/health",
        channel_health,
        READERS,
        "A channel's requests, failures, latency over time",
        stats.Stats,
        query=stats.StatsQuery,
        tags=("channels",),
    ),
    E(
        "POST",
        "/channels/{name}/test",
        test_channel,
        WRITERS,
        "Send a one-token request through the channel",
        channels.ChannelTest,
        tags=("channels",),
    ),
    E(
        "POST",
        "/channels/{name}/enable",
        enable_channel,
        WRITERS,
        "Give the channel traffic again",
        channels.ChannelView,
        tags=("channels",),
    ),
    E(
        "POST",
        "/channels/{name}/disable",
        disable_channel,
        WRITERS,
        "Take the channel out of every route",
        channels.ChannelView,
        body=channels.ChannelAction,
        tags=("channels",),
    ),
    E(
        "GET",
        "/logs",
        list_logs,
        ALL,
        "Request logs, newest first, filtered, by cursor",
        logs.LogPage,
        query=logs.LogQuery,
        tags=("logs",),
    ),
    E(
        "GET",
        "/logs/totals",
        log_totals,
        ALL,
        "Totals for a log filter (requests, tokens, cost)",
        logs.LogTotals,
        query=logs.LogQuery,
        tags=("logs",),
    ),
    E(
        "GET",
        "/logs/export.csv",
        export_logs,
        ALL,
        "The filtered logs as CSV (streamed; capped, see the header)",
        str,
        query=logs.LogQuery,
        content_type="text/csv",
        tags=("logs",),
    ),
    E(
        "GET",
        "/logs/{request_id}",
        log_detail,
        ALL,
        "One request: attempts timeline and evidence",
        logs.LogDetail,
        tags=("logs",),
    ),
    E(
        "GET",
        "/evidence/{request_id}",
        evidence,
        ALL,
        "The evidence record of one request",
        dict[str, Any],
        tags=("logs",),
    ),
    E(
        "GET",
        "/stats",
        get_stats,
        ALL,
        "Spend, requests, tokens, failures over time, grouped (rollups)",
        stats.Stats,
        query=stats.StatsQuery,
        tags=("stats",),
    ),
    E(
        "GET",
        "/alerts",
        list_alerts,
        STAFF,
        "Abnormal-spend alerts, newest first",
        list[alerts.AlertView],
        query=LimitQuery,
        tags=("alerts",),
    ),
    E(
        "GET",
        "/audit",
        list_audit,
        STAFF,
        "The audit trail of management actions",
        audit.AuditPage,
        query=AuditQuery,
        tags=("audit",),
    ),
    E("GET", "/admins", list_admins, OWNER, "Admin accounts", list[admins.AdminView], tags=("admins",)),
    E(
        "POST",
        "/admins",
        create_admin,
        OWNER,
        "Create an admin account: the token is in this answer only",
        admins.AdminCreated,
        body=admins.AdminCreate,
        status=201,
        tags=("admins",),
    ),
    E(
        "PATCH",
        "/admins/{id}",
        update_admin,
        OWNER,
        "Change an admin's role, team, grant or status",
        admins.AdminView,
        body=admins.AdminUpdate,
        tags=("admins",),
    ),
    E("DELETE", "/admins/{id}", delete_admin, OWNER, "Delete an admin account", admins.AdminView, tags=("admins",)),
    E(
        "GET",
        "/setup",
        setup_guides,
        ALL,
        "Setup guides for every client (a key holder's: with their key)",
        list[Guide],
        query=SetupQuery,
        tags=("setup",),
    ),
    E(
        "GET",
        "/setup/{client}",
        setup_guide,
        ALL,
        "The setup guide for one client",
        Guide,
        query=SetupQuery,
        tags=("setup",),
    ),
)
