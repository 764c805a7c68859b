"""Browser sessions: a random token in an HttpOnly cookie, stored hashed so every instance shares them.
The CSRF token is derived from the session token (HMAC), so it needs no storage and dies with it."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

from sqlalchemy import Engine, delete, select

from onegate.manage.actor import Actor
from onegate.manage.admins import admin_by_id, hash_token, key_actor
from onegate.store.keys import get_key
from onegate.store.schema import admin_sessions

SESSION_SECONDS = 12 * 3600


def csrf_for(session_token: str) -> str:
    return hmac.new(session_token.encode(), b"onegate-csrf", hashlib.sha256).hexdigest()[:32]


def open_session(
    engine: Engine, actor: Actor, kind: str, peer: str, user_agent: str, seconds: float = SESSION_SECONDS
) -> tuple[str, str, float]:
    """(session token, csrf token, expires_at) for an authenticated actor."""
    token = secrets.token_urlsafe(32)
    now = time.time()
    subject = actor.admin_id if kind == "admin" else actor.key_id
    with engine.begin() as conn:
        conn.execute(delete(admin_sessions).where(admin_sessions.c.expires_at < now))  # sweep: sessions are few
        conn.execute(
            admin_sessions.insert().values(
                token_hash=hash_token(token),
                kind=kind,
                subject_id=subject,
                created_at=now,
                expires_at=now + seconds,
                peer=peer[:64],
                user_agent=user_agent[:300],
            )
        )
    return token, csrf_for(token), now + seconds


def session_actor(engine: Engine, token: str, bootstrap_enabled: bool = True) -> Actor | None:
    """The actor a live session stands for (re-checked each time: a disabled admin or key is out at once)."""
    with engine.connect() as conn:
        row = conn.execute(
            select(admin_sessions).where(
                admin_sessions.c.token_hash == hash_token(token), admin_sessions.c.expires_at > time.time()
            )
        ).first()
    if row is None:
        return None
    if row.kind == "bootstrap":  # only while ONEGATE_ADMIN_TOKEN is still set
        return Actor("owner", "bootstrap") if bootstrap_enabled else None
    if row.kind == "admin":
        return admin_by_id(engine, row.subject_id)
    return key_actor(engine, key_id=row.subject_id)


def shown_name(engine: Engine, actor: Actor) -> str:
    """Who the console's top bar names: a key holder by the key's name and masked key (`ci (sk-…abcd)`,
    never the key itself), anyone else by their name."""
    if actor.role != "key" or actor.key_id is None:
        return actor.name
    with engine.connect() as conn:
        record = get_key(conn, actor.key_id)
    return f"{record.name} ({record.mask})" if record else actor.name


def close_session(engine: Engine, token: str) -> bool:
    with engine.begin() as conn:
        return conn.execute(delete(admin_sessions).where(admin_sessions.c.token_hash == hash_token(token))).rowcount > 0
