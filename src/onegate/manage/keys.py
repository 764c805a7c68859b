"""Keys: create (the secret returned once), list and search, show, update, enable/disable, rotate, delete."""

from __future__ import annotations

import time

import msgspec
from sqlalchemy import Connection, Engine, select

from onegate.accounting.money import format_amount, parse_amount
from onegate.accounting.periods import PERIODS, period_bounds
from onegate.apikeys import KeyRecord
from onegate.manage import audit
from onegate.manage.actor import (
    Actor,
    ManageError,
    forbidden,
    forced_scope,
    invalid,
    key_visible,
    key_writable,
    not_found,
)
from onegate.manage.types import Amount, Epoch, Id, Limit, Name, Text
from onegate.store.keys import KeyOptions, delete_key, get_key, insert_key, search_keys, update_key
from onegate.store.ledger import key_spend_since
from onegate.store.schema import api_keys, teams

MAX_PAGE = 200


class KeyView(msgspec.Struct, kw_only=True):
    id: int
    name: str
    mask: str
    status: str  # active | disabled | expired
    models: list[str] | None  # None: every model
    expires_at: float | None
    created_at: float
    team_id: int | None
    budget_micros: int | None
    budget: str | None  # the budget in currency units, e.g. "5.00"
    budget_period: str | None
    rpm: int | None
    tpm: int | None
    concurrent: int | None


class KeyDetail(msgspec.Struct, kw_only=True):
    key: KeyView
    spent_micros: int  # in the current budget period (or the current month without a budget)
    period_start: float
    period_end: float
    remaining_micros: int | None  # budget left in the period; None without a budget


class KeyPage(msgspec.Struct, kw_only=True):
    items: list[KeyView]
    next_cursor: str | None


class KeyCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: Name
    models: list[Name] | None = None
    expires_at: Epoch | None = None
    team_id: Id | None = None
    budget: Amount | None = None  # currency units, e.g. "12.5"
    budget_period: Text = "monthly"
    rpm: Limit | None = None
    tpm: Limit | None = None
    concurrent: Limit | None = None


class KeyUpdate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Only the fields given change; `clear` names fields to set back to none (models, budget, expiry, limits)."""

    name: Name | None = None
    models: list[Name] | None = None
    expires_at: Epoch | None = None
    status: Text | None = None  # active | disabled
    budget: Amount | None = None
    budget_period: Text | None = None
    rpm: Limit | None = None
    tpm: Limit | None = None
    concurrent: Limit | None = None
    clear: list[Text] = msgspec.field(default_factory=list)


class KeyCreated(msgspec.Struct, kw_only=True):
    key: KeyView
    secret: str  # shown this once; only its hash is stored


class KeyRotated(msgspec.Struct, kw_only=True):
    key: KeyView  # the new key
    secret: str
    old_key: KeyView  # still valid until its expires_at (the grace period)


def view(k: KeyRecord, now: float | None = None) -> KeyView:
    status = "expired" if k.status == "active" and k.expired(now) else k.status
    return KeyView(
        id=k.id,
        name=k.name,
        mask=k.mask,
        status=status,
        models=list(k.models) if k.models else None,
        expires_at=k.expires_at,
        created_at=k.created_at,
        team_id=k.team_id,
        budget_micros=k.budget_micros,
        budget=format_amount(k.budget_micros) if k.budget_micros is not None else None,
        budget_period=k.budget_period,
        rpm=k.rpm,
        tpm=k.tpm,
        concurrent=k.concurrent,
    )


def _limit_check(name: str, value: int | None) -> None:
    if value is not None and value < 1:
        raise invalid(f"{name} must be at least 1")


def _budget(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        micros = parse_amount(text)
    except ValueError as exc:
        raise invalid(str(exc)) from None
    if micros < 0:
        raise invalid("a budget cannot be negative")
    return micros


def _team_exists(conn: Connection, team_id: int) -> None:
    if conn.execute(select(teams.c.id).where(teams.c.id == team_id)).first() is None:
        raise not_found(f"no team with id {team_id}")


def _visible(conn: Connection, actor: Actor, key_id: int) -> KeyRecord:
    record = get_key(conn, key_id)
    if record is None or not key_visible(actor, record.id, record.team_id):
        raise not_found(f"no key with id {key_id}")
    return record


def _writable(conn: Connection, actor: Actor, key_id: int) -> KeyRecord:
    record = _visible(conn, actor, key_id)
    if not key_writable(actor, record.team_id):
        raise forbidden(f"the {actor.role} role may not change key {key_id}")
    return record


def create_key(engine: Engine, actor: Actor, spec: KeyCreate) -> KeyCreated:
    team_id = spec.team_id
    if actor.role == "team_admin":
        if team_id is not None and team_id != actor.team_id:
            raise forbidden("a team admin creates keys in their own team only")
        team_id = actor.team_id
    elif not actor.writes_all:
        raise forbidden(f"the {actor.role} role may not create keys")
    if not spec.name.strip():
        raise invalid("a key needs a name")
    if spec.budget_period not in PERIODS:
        raise invalid(f"budget_period must be one of {', '.join(PERIODS)}")
    for field in ("rpm", "tpm", "concurrent"):
        _limit_check(field, getattr(spec, field))
    budget = _budget(spec.budget)
    models = [m.strip() for m in spec.models if m.strip()] if spec.models else None
    options = KeyOptions(
        team_id, budget, spec.budget_period if budget is not None else None, spec.rpm, spec.tpm, spec.concurrent
    )
    with engine.begin() as conn:
        if team_id is not None:
            _team_exists(conn, team_id)
        record, plain = insert_key(conn, spec.name.strip(), models, spec.expires_at, options)
        created = view(record)
        audit.record(conn, actor, "keys.create", f"key:{record.id}", team_id=team_id, after=created)
    return KeyCreated(key=created, secret=plain)


def list_keys(
    engine: Engine,
    actor: Actor,
    *,
    query: str | None = None,
    team_id: int | None = None,
    status: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> KeyPage:
    team_id, key_id = forced_scope(actor, team_id, None)
    after = _int_cursor(cursor)
    limit = max(1, min(limit, MAX_PAGE))
    with engine.connect() as conn:
        records = search_keys(
            conn, query=query, team_id=team_id, key_id=key_id, status=status, after_id=after, limit=limit
        )
    now = time.time()
    items = [view(k, now) for k in records]
    return KeyPage(items=items, next_cursor=str(items[-1].id) if len(items) == limit else None)


def _int_cursor(cursor: str | None) -> int | None:
    if not cursor:
        return None
    if not cursor.isdigit():
        raise invalid("cursor is not one this API gave out")
    return int(cursor)


def show_key(engine: Engine, actor: Actor, key_id: int) -> KeyDetail:
    with engine.connect() as conn:
        record = _visible(conn, actor, key_id)
    return detail(engine, record)


def detail(engine: Engine, record: KeyRecord, now: float | None = None) -> KeyDetail:
    now = time.time() if now is None else now
    _, start, end = period_bounds(record.budget_period or "monthly", now)
    spent = key_spend_since(engine, [record.id], start).get(record.id, 0)
    remaining = max(0, record.budget_micros - spent) if record.budget_micros is not None else None
    return KeyDetail(
        key=view(record, now), spent_micros=spent, period_start=start, period_end=end, remaining_micros=remaining
    )


_CLEARABLE = {"models", "expires_at", "budget", "rpm", "tpm", "concurrent"}


def update(engine: Engine, actor: Actor, key_id: int, spec: KeyUpdate) -> KeyView:
    unknown = set(spec.clear) - _CLEARABLE
    if unknown:
        raise invalid(f"cannot clear {', '.join(sorted(unknown))}; clearable: {', '.join(sorted(_CLEARABLE))}")
    changes: dict[str, object] = {}
    if spec.name is not None:
        if not spec.name.strip():
            raise invalid("a key needs a name")
        changes["name"] = spec.name.strip()
    if spec.models is not None:
        changes["models"] = [m.strip() for m in spec.models if m.strip()] or None
    if spec.expires_at is not None:
        changes["expires_at"] = spec.expires_at
    if spec.status is not None:
        if spec.status not in ("active", "disabled"):
            raise invalid("status must be active or disabled")
        changes["status"] = spec.status
    if spec.budget is not None:
        changes["budget_micros"] = _budget(spec.budget)
    if spec.budget_period is not None:
        if spec.budget_period not in PERIODS:
            raise invalid(f"budget_period must be one of {', '.join(PERIODS)}")
        changes["budget_period"] = spec.budget_period
    for field in ("rpm", "tpm", "concurrent"):
        value = getattr(spec, field)
        _limit_check(field, value)
        if value is not None:
            changes[field] = value
    for field in spec.clear:
        if field == "budget":
            changes["budget_micros"] = changes["budget_period"] = None
        else:
            changes[field] = None
    if not changes:
        raise invalid("nothing to change")
    with engine.begin() as conn:
        before = _writable(conn, actor, key_id)
        if "budget_micros" in changes and changes["budget_micros"] is not None and "budget_period" not in changes:
            changes["budget_period"] = before.budget_period or "monthly"
        after = update_key(conn, key_id, changes)
        action = (
            "keys.update"
            if set(changes) != {"status"}
            else f"keys.{'enable' if after.status == 'active' else 'disable'}"
        )
        audit.record(
            conn, actor, action, f"key:{key_id}", team_id=after.team_id, before=view(before), after=view(after)
        )
    return view(after)


def set_status(engine: Engine, actor: Actor, key_id: int, status: str) -> KeyView:
    return update(engine, actor, key_id, KeyUpdate(status=status))


def rotate(engine: Engine, actor: Actor, key_id: int, grace_seconds: float = 86400.0) -> KeyRotated:
    """A new key with the same settings; the old one keeps working for `grace_seconds`, then expires."""
    if grace_seconds < 0:
        raise invalid("the grace period cannot be negative")
    now = time.time()
    with engine.begin() as conn:
        old = _writable(conn, actor, key_id)
        options = KeyOptions(old.team_id, old.budget_micros, old.budget_period, old.rpm, old.tpm, old.concurrent)
        record, plain = insert_key(conn, old.name, list(old.models) if old.models else None, old.expires_at, options)
        ends = now + grace_seconds
        expired = update_key(conn, key_id, {"expires_at": min(ends, old.expires_at or ends)})
        audit.record(
            conn,
            actor,
            "keys.rotate",
            f"key:{key_id}",
            team_id=old.team_id,
            before=view(old),
            after={"old": msgspec.to_builtins(view(expired)), "new": msgspec.to_builtins(view(record))},
        )
    return KeyRotated(key=view(record), secret=plain, old_key=view(expired))


def delete(engine: Engine, actor: Actor, key_id: int) -> KeyView:
    with engine.begin() as conn:
        record = _writable(conn, actor, key_id)
        delete_key(conn, key_id)
        audit.record(conn, actor, "keys.delete", f"key:{key_id}", team_id=record.team_id, before=view(record))
    return view(record)


def resolve(engine: Engine, id_or_name: str) -> int:
    """A key id from an id or a unique name (the CLI's argument)."""
    if id_or_name.isdigit():
        return int(id_or_name)
    with engine.connect() as conn:
        ids = list(conn.scalars(select(api_keys.c.id).where(api_keys.c.name == id_or_name).limit(2)))
    if len(ids) != 1:
        raise ManageError(
            "not_found",
            f"no key with id or name {id_or_name!r}"
            if not ids
            else f"several keys are named {id_or_name!r}; use the id",
        )
    return ids[0]
