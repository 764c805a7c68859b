"""Signed callbacks (Standard Webhooks v1) for task events, with a delivery log and redelivery.

Each event is one `webhook_deliveries` row: its id is the `webhook-id` (the same on every attempt, so a
receiver dedupes on it), its payload the exact bytes signed and sent. Headers: `webhook-id`,
`webhook-timestamp` (this attempt's unix seconds) and `webhook-signature: v1,<base64 HMAC-SHA256 of
"id.timestamp.body">` with the key's `whsec_` secret. Any 2xx is delivered; 3xx and everything else
fail (redirects are not followed); `410 Gone` disables the row; `Retry-After` pushes the next attempt
out. Retries follow `media.callback_retries` (seconds after the first attempt, about three days).
Egress: public addresses only unless the config allows private ones, checked on the resolved address,
which the connection is then pinned to.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import orjson
from sqlalchemy import Connection, Engine, select, update

from onegate.channels.faults import retry_after_seconds
from onegate.media.tasks import claim
from onegate.settings import MediaConfig
from onegate.store.schema import key_webhooks, webhook_deliveries

SECRET_PREFIX = "whsec_"
EVENTS = {"completed": "video.completed", "failed": "video.failed"}


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` value: `v1,` + base64 HMAC-SHA256 of `id.timestamp.body` under the secret."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    digest = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def check_url(url: str) -> str:
    """A callback URL must be absolute http(s); raises ValueError with the reason."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > 2000:
        raise ValueError("callback_url must be an absolute http:// or https:// URL")
    return url


# the key's secret and default URL ---------------------------------------------------------------------


def key_settings(engine: Engine, key_id: int) -> tuple[str | None, str | None]:
    """(secret, default callback URL) of a key."""
    with engine.connect() as conn:
        row = conn.execute(select(key_webhooks).where(key_webhooks.c.key_id == key_id)).mappings().first()
    return (row["secret"], row["callback_url"]) if row else (None, None)


def rotate_secret(engine: Engine, key_id: int, callback_url: str | None = None, keep_url: bool = True) -> str:
    """Create or replace the key's signing secret (shown once, to be stored by the receiver)."""
    with engine.begin() as conn:
        return store_secret(conn, key_id, callback_url, keep_url)


def store_secret(conn: Connection, key_id: int, callback_url: str | None = None, keep_url: bool = True) -> str:
    """`rotate_secret` inside the caller's transaction (the management service audits in the same one)."""
    secret = new_secret()
    found = conn.execute(select(key_webhooks.c.callback_url).where(key_webhooks.c.key_id == key_id)).first()
    url = callback_url if callback_url is not None or not keep_url else (found[0] if found else None)
    values = {"secret": secret, "callback_url": url, "updated_at": time.time()}
    if found:
        conn.execute(update(key_webhooks).where(key_webhooks.c.key_id == key_id).values(**values))
    else:
        conn.execute(key_webhooks.insert().values(key_id=key_id, **values))
    return secret


def key_webhook(conn: Connection, key_id: int) -> tuple[bool, str | None, float | None]:
    """(has a secret, default callback URL, last changed) of a key: what may be shown (never the secret)."""
    row = conn.execute(select(key_webhooks).where(key_webhooks.c.key_id == key_id)).mappings().first()
    return (True, row["callback_url"], row["updated_at"]) if row else (False, None, None)


def set_default_url(conn: Connection, key_id: int, url: str | None) -> bool:
    """Change a key's default callback URL, keeping its secret; False when it has no secret yet (one is
    made only where it can be shown once)."""
    changed = update(key_webhooks).where(key_webhooks.c.key_id == key_id)
    return conn.execute(changed.values(callback_url=url, updated_at=time.time())).rowcount == 1


# deliveries -------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Delivery:
    id: str
    task_id: str
    key_id: int
    event_type: str
    url: str
    payload: bytes
    state: str
    attempts: list[dict[str, Any]]
    created_at: float

    @classmethod
    def from_row(cls, row: Any) -> Delivery:
        return cls(
            row["id"],
            row["task_id"],
            row["key_id"],
            row["event_type"],
            row["url"],
            row["payload"].encode(),
            row["state"],
            orjson.loads(row["attempts"]) if row["attempts"] else [],
            row["created_at"],
        )


def event_payload(event_type: str, task_id: str, status: str, now: float) -> bytes:
    """The thin payload: `{type, timestamp, data: {id, status}}` (the receiver fetches the rest)."""
    stamp = datetime.fromtimestamp(now, UTC).isoformat().replace("+00:00", "Z")
    return orjson.dumps({"type": event_type, "timestamp": stamp, "data": {"id": task_id, "status": status}})


def enqueue(engine: Engine, task_id: str, key_id: int, status: str, url: str, now: float | None = None) -> str:
    now = now or time.time()
    event_type = EVENTS[status]
    delivery_id = "msg_" + secrets.token_hex(12)
    with engine.begin() as conn:
        conn.execute(
            webhook_deliveries.insert().values(
                id=delivery_id,
                task_id=task_id,
                key_id=key_id,
                event_type=event_type,
                url=url,
                payload=event_payload(event_type, task_id, status, now).decode(),
                state="pending",
                attempts="[]",
                next_attempt_at=now,
                created_at=now,
            )
        )
    return delivery_id


def claim_due(engine: Engine, now: float, lease: float, limit: int = 50) -> list[Delivery]:
    table = webhook_deliveries
    due = (table.c.state == "pending", table.c.next_attempt_at <= now)
    rows = claim(engine, table, due, table.c.next_attempt_at, limit, now, {"lease_until": now + lease})
    return [Delivery.from_row(r) for r in rows]


def deliveries_of(engine: Engine, task_id: str) -> list[Delivery]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(webhook_deliveries)
            .where(webhook_deliveries.c.task_id == task_id)
            .order_by(webhook_deliveries.c.created_at)
        ).mappings()
        return [Delivery.from_row(r) for r in rows]


def redeliver(engine: Engine, task_id: str) -> int:
    """Send the task's events again now (manual replay): failed, disabled and delivered ones alike."""
    with engine.begin() as conn:
        return requeue(conn, task_id)


def requeue(conn: Connection, task_id: str) -> int:
    """`redeliver` inside the caller's transaction; the number of events queued again."""
    return conn.execute(
        update(webhook_deliveries)
        .where(webhook_deliveries.c.task_id == task_id)
        .values(state="pending", next_attempt_at=time.time(), lease_until=None)
    ).rowcount


@dataclass(frozen=True, slots=True)
class Outcome:
    status: int | None  # the receiver's HTTP status; None when nothing came back
    ms: float
    error: str | None = None
    retry_after: float | None = None


def next_state(delivery: Delivery, outcome: Outcome, schedule: list[float], now: float) -> tuple[str, float | None]:
    """(state, next attempt time) after an attempt: 2xx delivered; 410 disabled; else the next retry of the
    schedule (seconds after the first attempt), no sooner than Retry-After; failed when none is left."""
    if outcome.status is not None and 200 <= outcome.status < 300:
        return "delivered", None
    if outcome.status == 410:
        return "disabled", None
    tried = len(delivery.attempts) + 1  # this one included
    first = delivery.attempts[0]["at"] if delivery.attempts else now
    if tried > len(schedule):
        return "failed", None
    at = max(first + schedule[tried - 1], now + (outcome.retry_after or 0.0))
    return "pending", at


def record_attempt(engine: Engine, delivery: Delivery, outcome: Outcome, schedule: list[float], now: float) -> str:
    state, at = next_state(delivery, outcome, schedule, now)
    attempt = {"at": round(now, 3), "status": outcome.status, "ms": round(outcome.ms, 1), "error": outcome.error}
    with engine.begin() as conn:
        conn.execute(
            update(webhook_deliveries)
            .where(webhook_deliveries.c.id == delivery.id)
            .values(
                state=state,
                next_attempt_at=at,
                lease_until=None,
                attempts=orjson.dumps([*delivery.attempts, attempt]).decode(),
            )
        )
    return state


async def send(delivery: Delivery, secret: str, config: MediaConfig) -> Outcome:
    """One signed attempt. The egress rules apply to the resolved address, which the connection then uses."""
    import aiohttp

    from onegate.accounting.webhook import PinnedResolver, egress_allowed, system_resolve

    started = time.perf_counter()

    def took() -> float:
        return (time.perf_counter() - started) * 1000

    timestamp = int(time.time())
    headers = {
        "content-type": "application/json",
        "webhook-id": delivery.id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, delivery.id, timestamp, delivery.payload),
        "user-agent": "onegate-webhooks",
    }
    parts = urlsplit(delivery.url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    networks = [ipaddress.ip_network(n, strict=False) for n in config.callback_allow_networks]
    try:
        try:
            addresses = [str(ipaddress.ip_address(host))]
        except ValueError:
            addresses = await system_resolve(host, port)
        if not addresses:
            return Outcome(None, took(), f"{host} has no address")
        if not config.callback_allow_private:
            refused = [a for a in addresses if not egress_allowed(a, networks)]
            if refused:
                return Outcome(None, took(), f"refused: {host} resolves to {refused[0]}, which is not a public address")
        connector = aiohttp.TCPConnector(resolver=PinnedResolver(addresses[0]), use_dns_cache=False)
        timeout = aiohttp.ClientTimeout(total=config.callback_timeout, sock_connect=min(5.0, config.callback_timeout))
        async with (
            aiohttp.ClientSession(connector=connector, timeout=timeout, trust_env=False) as session,
            session.post(delivery.url, data=delivery.payload, headers=headers, allow_redirects=False) as response,
        ):
            await response.read()
            return Outcome(response.status, took(), None, retry_after_seconds(response.headers))
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        return Outcome(None, took(), f"{exc.__class__.__name__}: {exc}"[:300])
