"""Tables, as SQLAlchemy Core metadata: the latest shape of the schema."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)

from onegate.store.rows import LOG_WIDTHS

metadata = MetaData()

schema_migrations = Table(
    "schema_migrations",
    metadata,
    Column("version", Integer, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("applied_at", Float, nullable=False),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("mask", String(32), nullable=False),
    Column("status", String(16), nullable=False, default="active"),
    Column("models", Text, nullable=True),  # JSON list; NULL = every model
    Column("expires_at", Float, nullable=True),
    Column("team_id", Integer, nullable=True),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Column("budget_micros", BigInteger, nullable=True),  # spend allowed per budget period; NULL = no budget
    Column("budget_period", String(8), nullable=True),  # daily | weekly | monthly (UTC)
    Column("rpm", Integer, nullable=True),
    Column("tpm", Integer, nullable=True),
    Column("concurrent", Integer, nullable=True),
)

# A team shares money and limits between its keys. balance_version grows with every balance change, so
# a cached copy of the balance (in Redis or in memory) is only ever replaced by a newer one.
teams = Table(
    "teams",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("status", String(16), nullable=False, default="active"),
    Column("balance_micros", BigInteger, nullable=False, default=0),
    Column("balance_version", BigInteger, nullable=False, default=0),
    Column("model_groups", Text, nullable=True),  # JSON list of group names; NULL = every model
    Column("rpm", Integer, nullable=True),
    Column("tpm", Integer, nullable=True),
    Column("concurrent", Integer, nullable=True),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
)

# Every balance change: charges (one per request and serving attempt, keyed by entry_id so replays
# and retries never charge twice) and top-ups, adjustments, refunds (who, when, why).
ledger = Table(
    "ledger",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("entry_id", String(64), nullable=False, unique=True),
    Column("kind", String(16), nullable=False),  # charge | topup | adjust | refund
    Column("team_id", Integer, nullable=True),
    Column("key_id", Integer, nullable=True),
    Column("request_id", String(40), nullable=True),
    Column("model", String(200), nullable=True),
    Column("amount_micros", BigInteger, nullable=False),  # signed: credits > 0, charges < 0
    Column("balance_after", BigInteger, nullable=True),  # for manual entries, the team balance they left
    Column("actor", String(200), nullable=True),
    Column("note", Text, nullable=True),
    Column("created_at", Float, nullable=False),
    Index("ix_ledger_team_created", "team_id", "created_at"),
    Index("ix_ledger_key_created", "key_id", "created_at"),
)

# Prices set at run time (`onegate prices set`); they override the config file's.
model_prices = Table(
    "model_prices",
    metadata,
    Column("model", String(200), primary_key=True),
    Column("price", Text, nullable=False),  # JSON: the PriceConfig fields
    Column("actor", String(200), nullable=True),
    Column("updated_at", Float, nullable=False),
)

spend_alerts = Table(
    "spend_alerts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("created_at", Float, nullable=False),
    Column("scope", String(8), nullable=False),  # team | key
    Column("subject_id", Integer, nullable=False),
    Column("subject_name", String(200), nullable=True),
    Column("recent_micros", BigInteger, nullable=False),  # spend in the recent window
    Column("baseline_micros", BigInteger, nullable=False),  # spend in the baseline window
    Column("ratio", Float, nullable=True),  # recent rate / baseline rate (NULL: no baseline spend)
    Column("message", Text, nullable=False),
    Column("webhook_status", String(100), nullable=True),
    Index("ix_spend_alerts_created", "created_at"),
)

request_logs = Table(
    "request_logs",
    metadata,
    Column("request_id", String(40), primary_key=True),
    Column("created_at", Float, nullable=False),
    Column("key_id", Integer, nullable=True),
    Column("key_mask", String(32), nullable=True),
    Column("team_id", Integer, nullable=True),
    Column("client_name", String(40), nullable=False),
    Column("client_version", String(LOG_WIDTHS["client_version"]), nullable=False),
    Column("user_agent", String(LOG_WIDTHS["user_agent"]), nullable=False),
    Column("method", String(10), nullable=False),
    Column("path", String(LOG_WIDTHS["path"]), nullable=False),
    Column("dialect", String(32), nullable=False),
    Column("model_requested", String(LOG_WIDTHS["model_requested"]), nullable=True),
    Column("model_routed", String(LOG_WIDTHS["model_routed"]), nullable=True),
    Column("channel", String(100), nullable=True),
    Column("status", Integer, nullable=False),
    Column("error_code", String(64), nullable=True),
    Column("error_message", Text, nullable=True),
    Column("stream", Boolean, nullable=False),
    Column("latency_ms", Float, nullable=False),
    Column("ttfb_ms", Float, nullable=True),
    Column("input_tokens", Integer, nullable=False, default=0),
    Column("cached_tokens", Integer, nullable=False, default=0),
    Column("cache_write_tokens", Integer, nullable=False, default=0),
    Column("output_tokens", Integer, nullable=False, default=0),
    Column("reasoning_tokens", Integer, nullable=False, default=0),
    Column("cost_micros", BigInteger, nullable=False, default=0),
    Column("price", Text, nullable=True),  # JSON: the price the cost was computed from
    Column("usage_estimated", Boolean, nullable=False, default=False),
    Column("config_hint", String(200), nullable=True),
    Column("attempts", Text, nullable=True),  # JSON list of upstream attempts
    Column("notes", Text, nullable=True),  # what a translation dropped or changed
    Column("timings", Text, nullable=True),  # JSON {phase: ms}: auth, admit, route, upstream, total
    Index("ix_request_logs_created_at", "created_at"),
    Index("ix_request_logs_key_created", "key_id", "created_at"),
    # the console's filters: equality column first, then time, so each filtered page is an index range scan
    Index("ix_request_logs_team_created", "team_id", "created_at"),
    Index("ix_request_logs_model_created", "model_requested", "created_at"),
    Index("ix_request_logs_channel_created", "channel", "created_at"),
    Index("ix_request_logs_status_created", "status", "created_at"),
    Index("ix_request_logs_error_created", "error_code", "created_at"),
    Index("ix_request_logs_client_created", "client_name", "created_at"),
)


_DIMENSION_TYPES: dict[str, Any] = {
    "key_id": Integer,
    "team_id": Integer,
    "model": String(200),
    "channel": String(100),
    "status": Integer,
    "error_code": String(64),
    "client_name": String(40),
}
FULL_DIMENSIONS = ("key_id", "team_id", "model", "channel", "status", "error_code", "client_name")
CHART_DIMENSIONS = ("key_id", "team_id", "model", "channel")


def _usage_rollup(name: str, dimensions: tuple[str, ...]) -> Table:
    """Request-log totals per time bucket and dimension, kept by the log writer in the batch that writes the
    rows (store/rollups.py). Dimensions are never NULL (0 / '' for "none") so they form the primary key,
    clustered (SQLite: WITHOUT ROWID), so a time range is one sequential read."""
    return Table(
        name,
        metadata,
        Column("bucket", BigInteger, nullable=False),  # epoch seconds at the start of the hour / UTC day
        *(Column(d, _DIMENSION_TYPES[d], nullable=False) for d in dimensions),
        Column("requests", BigInteger, nullable=False),
        Column("failed", BigInteger, nullable=False),  # status >= 400
        Column("input_tokens", BigInteger, nullable=False),
        Column("cached_tokens", BigInteger, nullable=False),
        Column("output_tokens", BigInteger, nullable=False),
        Column("cost_micros", BigInteger, nullable=False),
        Column("latency_ms", Float, nullable=False),  # summed: divide by requests for the mean
        Column("ttfb_ms", Float, nullable=False),
        PrimaryKeyConstraint("bucket", *dimensions),
        sqlite_with_rowid=False,
    )


# every filter of the logs page, for exact totals of any filter
usage_hourly = _usage_rollup("usage_hourly", FULL_DIMENSIONS)
usage_daily = _usage_rollup("usage_daily", FULL_DIMENSIONS)
# the dimensions charts group and filter by: a few times fewer rows, so a 90-day chart reads little
chart_hourly = _usage_rollup("chart_hourly", CHART_DIMENSIONS)
chart_daily = _usage_rollup("chart_daily", CHART_DIMENSIONS)

# Console and API accounts (ONEGATE_ADMIN_TOKEN stays a bootstrap owner besides these). Only hashes stored.
admins = Table(
    "admins",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("role", String(16), nullable=False),  # owner | operator | viewer | team_admin
    Column("team_id", Integer, nullable=True),  # team_admin: the one team
    Column("can_topup", Boolean, nullable=False, default=False),  # team_admin: may move money
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("mask", String(32), nullable=False),
    Column("status", String(16), nullable=False, default="active"),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
)

# Browser sessions, shared by every instance: the cookie's hash, who it stands for, until when.
admin_sessions = Table(
    "admin_sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("kind", String(16), nullable=False),  # admin | key | bootstrap
    Column("subject_id", Integer, nullable=True),  # admins.id or api_keys.id
    Column("created_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False),
    Column("peer", String(64), nullable=True),
    Column("user_agent", String(300), nullable=True),
    Index("ix_admin_sessions_expires", "expires_at"),
)

# Every management action: who, when, what, the object before and after.
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("created_at", Float, nullable=False),
    Column("actor", String(200), nullable=False),
    Column("role", String(16), nullable=False),
    Column("action", String(64), nullable=False),  # keys.create, teams.topup, …
    Column("target", String(200), nullable=True),  # key:12, team:3, price:gpt-4.1
    Column("team_id", Integer, nullable=True),  # so a team admin reads their team's trail
    Column("before", Text, nullable=True),  # JSON
    Column("after", Text, nullable=True),  # JSON
    Index("ix_audit_log_created", "created_at"),
    Index("ix_audit_log_team_created", "team_id", "created_at"),
)

# Video tasks onegate owns: the public id is onegate's; the upstream's id and channel never leave the server.
# A poller claims due open tasks with a lease (lease_until); status moves only by guarded updates
# (`WHERE status IN (open)`), so billing transitions happen once however many pollers race.
media_tasks = Table(
    "media_tasks",
    metadata,
    Column("id", String(40), primary_key=True),  # video_…
    Column("kind", String(16), nullable=False),  # video
    Column("key_id", Integer, nullable=False),
    Column("key_mask", String(32), nullable=True),
    Column("team_id", Integer, nullable=True),
    Column("request_id", String(40), nullable=False),  # the submit request's log row
    Column("model", String(200), nullable=False),  # public name
    Column("channel", String(100), nullable=False),
    Column("upstream_model", String(200), nullable=False),
    Column("upstream_id", String(300), nullable=False),
    Column("status", String(16), nullable=False),  # queued | in_progress | completed | failed
    Column("progress", Integer, nullable=False, default=0),
    Column("prompt", Text, nullable=True),
    Column("seconds", String(8), nullable=True),
    Column("size", String(20), nullable=True),
    Column("remixed_from", String(40), nullable=True),
    Column("error_code", String(64), nullable=True),
    Column("error_message", Text, nullable=True),
    Column("created_at", Float, nullable=False),
    Column("completed_at", Float, nullable=True),
    Column("expires_at", Float, nullable=True),
    Column("next_poll_at", Float, nullable=False),
    Column("lease_owner", String(40), nullable=True),
    Column("lease_until", Float, nullable=True),
    Column("polls", Integer, nullable=False, default=0),
    Column("reservation", Text, nullable=True),  # JSON: the admission reservation, settled on the end state
    Column("price", Text, nullable=True),  # JSON: the price the task is billed at (size multiplier applied)
    Column("cost_micros", BigInteger, nullable=False, default=0),
    Column("callback_url", String(2000), nullable=True),
    Column("history", Text, nullable=True),  # JSON list of [time, status, progress]
    Column("upstream_data", Text, nullable=True),  # JSON: what the adapter keeps (result URL …); never shown
    Index("ix_media_tasks_due", "status", "next_poll_at"),
    Index("ix_media_tasks_key_created", "key_id", "created_at"),
    # the management lists: every task, or a team's, newest first by keyset (manage/tasks.py)
    Index("ix_media_tasks_created", "created_at", "id"),
    Index("ix_media_tasks_team_created", "team_id", "created_at", "id"),
)

# Signed callbacks (Standard Webhooks): one row per event, its attempts in `attempts` (JSON list).
webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", String(40), primary_key=True),  # msg_…: the webhook-id, the same on every attempt
    Column("task_id", String(40), nullable=False),
    Column("key_id", Integer, nullable=False),
    Column("event_type", String(40), nullable=False),
    Column("url", String(2000), nullable=False),
    Column("payload", Text, nullable=False),  # the exact body signed and sent
    Column("state", String(16), nullable=False),  # pending | delivered | failed | disabled
    Column("attempts", Text, nullable=True),  # JSON list of {at, status, ms, error}
    Column("next_attempt_at", Float, nullable=True),
    Column("lease_until", Float, nullable=True),
    Column("created_at", Float, nullable=False),
    Index("ix_webhook_deliveries_due", "state", "next_attempt_at"),
    Index("ix_webhook_deliveries_task", "task_id"),
)

# A key's callback signing secret (whsec_…, stored as given: it must be used to sign) and default URL.
key_webhooks = Table(
    "key_webhooks",
    metadata,
    Column("key_id", Integer, primary_key=True),
    Column("secret", String(100), nullable=False),
    Column("callback_url", String(2000), nullable=True),
    Column("updated_at", Float, nullable=False),
)
