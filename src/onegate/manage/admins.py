"""Admin accounts (owner, operator, viewer, team_admin): created with the CLI or by an owner, the secret
returned once and stored hashed. Also: turning a bearer token into an `Actor`."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

import msgspec
from sqlalchemy import Connection, Engine, Row, select

from onegate.apikeys import KEY_PREFIX, hash_key
from onegate.manage import audit
from onegate.manage.actor import ADMIN_ROLES, Actor, ManageError, invalid, not_found, require
from onegate.manage.types import Id, Name, Text
from onegate.store.keys import find_key_by_hash
from onegate.store.schema import admins, teams

ADMIN_PREFIX = "og-admin-"


class AdminView(msgspec.Struct, kw_only=True):
    id: int
    name: str
    role: str
    team_id: int | None
    can_topup: bool
    mask: str
    status: str
    created_at: float


class AdminCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: Name
    role: Text  # owner | operator | viewer | team_admin
    team_id: Id | None = None  # required for team_admin
    can_topup: bool = False


class AdminUpdate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    role: Text | None = None
    team_id: Id | None = None
    can_topup: bool | None = None
    status: Text | None = None  # active | disabled


class AdminCreated(msgspec.Struct, kw_only=True):
    admin: AdminView
    token: str  # shown this once


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _view(r: Row) -> AdminView:
    return AdminView(
        id=r.id,
        name=r.name,
        role=r.role,
        team_id=r.team_id,
        can_topup=bool(r.can_topup),
        mask=r.mask,
        status=r.status,
        created_at=r.created_at,
    )


def _check(conn: Connection, role: str, team_id: int | None) -> None:
    if role not in ADMIN_ROLES:
        raise invalid(f"role must be one of {', '.join(ADMIN_ROLES)}")
    if role == "team_admin":
        if team_id is None:
            raise invalid("a team_admin needs team_id")
        if conn.execute(select(teams.c.id).where(teams.c.id == team_id)).first() is None:
            raise not_found(f"no team with id {team_id}")
    elif team_id is not None:
        raise invalid("only a team_admin belongs to a team")


def create_admin(engine: Engine, actor: Actor, spec: AdminCreate) -> AdminCreated:
    require(actor, "owner")
    if not spec.name.strip():
        raise invalid("an admin needs a name")
    token = ADMIN_PREFIX + secrets.token_urlsafe(32)
    now = time.time()
    with engine.begin() as conn:
        _check(conn, spec.role, spec.team_id)
        if conn.execute(select(admins.c.id).where(admins.c.name == spec.name.strip())).first():
            raise ManageError("conflict", f"an admin named {spec.name.strip()!r} already exists")
        admin_id = conn.execute(
            admins.insert()
            .values(
                name=spec.name.strip(),
                role=spec.role,
                team_id=spec.team_id,
                can_topup=spec.can_topup and spec.role == "team_admin",
                token_hash=hash_token(token),
                mask=f"{ADMIN_PREFIX}…{token[-4:]}",
                status="active",
                created_at=now,
                updated_at=now,
            )
            .returning(admins.c.id)
        ).scalar_one()
        created = _view(conn.execute(select(admins).where(admins.c.id == admin_id)).one())
        audit.record(conn, actor, "admins.create", f"admin:{admin_id}", team_id=spec.team_id, after=created)
    return AdminCreated(admin=created, token=token)


def list_admins(engine: Engine, actor: Actor) -> list[AdminView]:
    require(actor, "owner")
    with engine.connect() as conn:
        return [_view(r) for r in conn.execute(select(admins).order_by(admins.c.id))]


def _get(conn: Connection, admin_id: int) -> Row:
    row = conn.execute(select(admins).where(admins.c.id == admin_id)).first()
    if row is None:
        raise not_found(f"no admin with id {admin_id}")
    return row


def update_admin(engine: Engine, actor: Actor, admin_id: int, spec: AdminUpdate) -> AdminView:
    require(actor, "owner")
    with engine.begin() as conn:
        before = _get(conn, admin_id)
        role = spec.role or before.role
        team_id = spec.team_id if spec.team_id is not None else (before.team_id if role == "team_admin" else None)
        _check(conn, role, team_id)
        changes: dict[str, object] = {"role": role, "team_id": team_id, "updated_at": time.time()}
        if spec.can_topup is not None:
            changes["can_topup"] = spec.can_topup and role == "team_admin"
        if spec.status is not None:
            if spec.status not in ("active", "disabled"):
                raise invalid("status must be active or disabled")
            changes["status"] = spec.status
        conn.execute(admins.update().where(admins.c.id == admin_id).values(**changes))
        after = _get(conn, admin_id)
        audit.record(
            conn, actor, "admins.update", f"admin:{admin_id}", team_id=team_id, before=_view(before), after=_view(after)
        )
    return _view(after)


def delete_admin(engine: Engine, actor: Actor, admin_id: int) -> AdminView:
    require(actor, "owner")
    with engine.begin() as conn:
        before = _get(conn, admin_id)
        conn.execute(admins.delete().where(admins.c.id == admin_id))
        audit.record(conn, actor, "admins.delete", f"admin:{admin_id}", team_id=before.team_id, before=_view(before))
    return _view(before)


def actor_for_admin_row(r: Row) -> Actor:
    return Actor(r.role, r.name, team_id=r.team_id, can_topup=bool(r.can_topup), admin_id=r.id)


def admin_by_id(engine: Engine, admin_id: int) -> Actor | None:
    with engine.connect() as conn:
        row = conn.execute(select(admins).where(admins.c.id == admin_id, admins.c.status == "active")).first()
    return actor_for_admin_row(row) if row else None


def key_actor(engine: Engine, key_id: int | None = None, key_hash: str | None = None) -> Actor | None:
    """A key holder's actor, while the key is active and unexpired."""
    if key_hash is not None:
        record = find_key_by_hash(engine, key_hash)
    else:
        from onegate.store.keys import get_key

        with engine.connect() as conn:
            record = get_key(conn, key_id or 0)
    if record is None or record.status != "active" or record.expired():
        return None
    return Actor("key", f"key:{record.id}", team_id=record.team_id, key_id=record.id)


def actor_for_token(engine: Engine, bootstrap_token: str | None, token: str) -> tuple[Actor | None, str]:
    """(actor, kind) for a bearer token: the bootstrap ONEGATE_ADMIN_TOKEN, an admin token, or an sk-og- key."""
    if bootstrap_token and hmac.compare_digest(token.encode(), bootstrap_token.encode()):
        return Actor("owner", "bootstrap"), "bootstrap"
    if token.startswith(ADMIN_PREFIX):
        with engine.connect() as conn:
            row = conn.execute(
                select(admins).where(admins.c.token_hash == hash_token(token), admins.c.status == "active")
            ).first()
        return (actor_for_admin_row(row), "admin") if row else (None, "admin")
    if token.startswith(KEY_PREFIX):
        return key_actor(engine, key_hash=hash_key(token)), "key"
    return None, "unknown"
