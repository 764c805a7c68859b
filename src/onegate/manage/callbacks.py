"""A key's callback settings: its Standard Webhooks signing secret (created or rotated, shown once) and its
default callback URL for video tasks. Only who may change the key may change these; both are audited,
the secret never (the audit row says a secret was set, not which)."""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta
from sqlalchemy import Connection, Engine

from onegate.manage import audit
from onegate.manage.actor import Actor, ManageError, forbidden, invalid, key_visible, key_writable, not_found
from onegate.media import webhooks
from onegate.store.keys import get_key

Url = Annotated[str, Meta(min_length=1, max_length=2000)]


class WebhookSecretIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    callback_url: Url | None = None  # also set the key's default callback URL
    clear_url: bool = False  # remove the default callback URL


class WebhookUrlIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    callback_url: Url | None  # None: no default (tasks call back only when the request names a URL)


class KeyWebhook(msgspec.Struct, kw_only=True):
    key_id: int
    has_secret: bool
    callback_url: str | None
    updated_at: float | None


class WebhookSecret(msgspec.Struct, kw_only=True):
    key_id: int
    secret: str  # whsec_…: shown this once; the previous one no longer signs
    callback_url: str | None


def _key(conn: Connection, actor: Actor, key_id: int, write: bool) -> int | None:
    """The key's team, once the actor may see (and, to write, change) the key."""
    record = get_key(conn, key_id)
    if record is None or not key_visible(actor, record.id, record.team_id):
        raise not_found(f"no key with id {key_id}")
    if write and not key_writable(actor, record.team_id):
        raise forbidden(f"the {actor.role} role may not change key {key_id}")
    return record.team_id


def _checked(url: str | None) -> str | None:
    try:
        return webhooks.check_url(url) if url is not None else None
    except ValueError as exc:
        raise invalid(str(exc)) from None


def show(engine: Engine, actor: Actor, key_id: int) -> KeyWebhook:
    with engine.connect() as conn:
        _key(conn, actor, key_id, write=False)
        has, url, updated = webhooks.key_webhook(conn, key_id)
    return KeyWebhook(key_id=key_id, has_secret=has, callback_url=url, updated_at=updated)


def rotate_secret(engine: Engine, actor: Actor, key_id: int, spec: WebhookSecretIn) -> WebhookSecret:
    """Create or replace the key's signing secret (and set or clear its default URL with it)."""
    if spec.clear_url and spec.callback_url is not None:
        raise invalid("give callback_url or clear_url, not both")
    url = _checked(spec.callback_url)
    with engine.begin() as conn:
        team_id = _key(conn, actor, key_id, write=True)
        had, before_url, _ = webhooks.key_webhook(conn, key_id)
        secret = webhooks.store_secret(conn, key_id, url, keep_url=not spec.clear_url)
        _, after_url, _ = webhooks.key_webhook(conn, key_id)
        audit.record(
            conn,
            actor,
            "keys.webhook_secret",
            f"key:{key_id}",
            team_id=team_id,
            before={"has_secret": had, "callback_url": before_url},
            after={"has_secret": True, "rotated": had, "callback_url": after_url},
        )
    return WebhookSecret(key_id=key_id, secret=secret, callback_url=after_url)


def set_url(engine: Engine, actor: Actor, key_id: int, spec: WebhookUrlIn) -> KeyWebhook:
    """Change the default callback URL, keeping the secret; a key without a secret must get one first."""
    url = _checked(spec.callback_url)
    with engine.begin() as conn:
        team_id = _key(conn, actor, key_id, write=True)
        _, before_url, _ = webhooks.key_webhook(conn, key_id)
        if not webhooks.set_default_url(conn, key_id, url):
            raise ManageError(
                "conflict",
                f"key {key_id} has no callback signing secret yet: create one first "
                f"(POST /admin/api/v1/keys/{key_id}/webhook-secret, or `onegate keys webhook-secret {key_id}`)",
            )
        audit.record(
            conn,
            actor,
            "keys.webhook_url",
            f"key:{key_id}",
            team_id=team_id,
            before={"callback_url": before_url},
            after={"callback_url": url},
        )
        has, url, updated = webhooks.key_webhook(conn, key_id)
    return KeyWebhook(key_id=key_id, has_secret=has, callback_url=url, updated_at=updated)
