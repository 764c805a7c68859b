"""The pieces under the video surface, on a real SQLite database: one indexed statement claims a poll round
however many tasks are open, leases, guarded transitions; the callback schedule and signature; the form
index that lets an edit pass through in place."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import event, text
from standardwebhooks.webhooks import Webhook

from onegate.errors import GatewayError
from onegate.media import tasks, webhooks
from onegate.media.multipart import boundary_of, parse_form
from onegate.store.db import open_engine
from onegate.store.migrations import migrate
from onegate.store.schema import media_tasks


@pytest.fixture
def engine(tmp_path):
    engine = open_engine(f"sqlite:///{tmp_path / 'tasks.db'}")
    migrate(engine)
    yield engine
    engine.dispose()


def row(task_id: str, next_poll_at: float, status: str = "queued") -> dict:
    now = time.time()
    return {
        "id": task_id, "kind": "video", "key_id": 1, "request_id": "req_x", "model": "m", "channel": "c",
        "upstream_model": "m", "upstream_id": f"up_{task_id}", "status": status, "progress": 0,
        "created_at": now, "next_poll_at": next_poll_at, "polls": 0, "cost_micros": 0,
    }  # fmt: skip


def test_thousands_of_open_tasks_cost_one_indexed_statement_a_round(engine):
    now = time.time()
    later = [row(f"video_later{i:05d}", now + 3600) for i in range(3000)]
    finished = [row(f"video_done{i:05d}", now - 10, "completed") for i in range(500)]
    due = [row(f"video_due{i}", now - 1) for i in range(3)]
    with engine.begin() as conn:
        conn.execute(media_tasks.insert(), later + finished + due)
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    claimed = tasks.claim_due(engine, "me", now, 60, 50)
    assert sorted(t.id for t in claimed) == [f"video_due{i}" for i in range(3)]
    assert len([s for s in statements if "media_tasks" in s]) == 1
    with engine.connect() as conn:
        plan = " ".join(
            str(r[-1])
            for r in conn.execute(
                text(
                    "EXPLAIN QUERY PLAN SELECT id FROM media_tasks WHERE status IN ('queued', 'in_progress') "
                    "AND next_poll_at <= :now ORDER BY next_poll_at LIMIT 50"
                ),
                {"now": now},
            )
        )
    assert "ix_media_tasks_due" in plan


def test_task_lists_are_keyset_pages_on_an_index_for_every_scope(engine):
    """What the management API lists (all, a team's, a key's) reads an index in order: no sort of the table."""
    now = time.time()
    rows = [
        row(f"video_{i:05d}", now) | {"created_at": now - i // 2, "team_id": i % 3, "key_id": i % 5} for i in range(600)
    ]
    with engine.begin() as conn:
        conn.execute(media_tasks.insert(), rows)
        conn.execute(text("ANALYZE"))
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    for scope, index in (({}, "ix_media_tasks_created"), ({"team_id": 1}, "ix_media_tasks_team_created")):
        walked: list[str] = []
        cursor = None
        while True:
            statements.clear()
            page = tasks.list_tasks(engine, limit=50, cursor=cursor, **scope)
            assert len(statements) == 1  # one statement a page
            walked += [t.id for t in page]
            if len(page) < 50:
                break
            cursor = (page[-1].created_at, page[-1].id)
        expected = sorted((r for r in rows if all(r[k] == v for k, v in scope.items())),
                          key=lambda r: (r["created_at"], r["id"]), reverse=True)  # fmt: skip
        assert walked == [r["id"] for r in expected], scope
        with engine.connect() as conn:
            where = " AND ".join(f"{k} = {v}" for k, v in scope.items()) or "1 = 1"
            plan = " ".join(
                str(r[-1])
                for r in conn.execute(
                    text(
                        f"EXPLAIN QUERY PLAN SELECT * FROM media_tasks WHERE {where} AND "
                        "(created_at, id) < (:at, :id) "
                        "ORDER BY created_at DESC, id DESC LIMIT 50"
                    ),  # fmt: skip
                    {"at": now - 100, "id": "video_00200"},
                )
            )
        assert index in plan and "TEMP B-TREE" not in plan, (scope, plan)


def test_a_claimed_task_is_leased_until_its_lease_runs_out(engine):
    now = time.time()
    with engine.begin() as conn:
        conn.execute(media_tasks.insert(), [row("video_a", now - 1)])
    assert [t.id for t in tasks.claim_due(engine, "one", now, 30, 10)] == ["video_a"]
    assert tasks.claim_due(engine, "two", now + 1, 30, 10) == []
    assert [t.id for t in tasks.claim_due(engine, "two", now + 31, 30, 10)] == ["video_a"]


def test_an_open_task_ends_once(engine):
    now = time.time()
    with engine.begin() as conn:
        conn.execute(media_tasks.insert(), [row("video_a", now)])
    task = tasks.get(engine, "video_a")
    assert task is not None
    assert tasks.advance(engine, task, {"status": "completed", "progress": 100})
    assert not tasks.advance(engine, task, {"status": "failed"})
    ended = tasks.get(engine, "video_a")
    assert ended is not None and ended.status == "completed" and ended.history[-1][1:] == ["completed", 100]


def test_an_update_from_a_poller_that_lost_its_lease_is_dropped(engine):
    now = time.time()
    with engine.begin() as conn:
        conn.execute(media_tasks.insert(), [row("video_a", now - 1)])
    [mine] = tasks.claim_due(engine, "slow", now, 1, 10)
    [theirs] = tasks.claim_due(engine, "fast", now + 2, 30, 10)
    assert not tasks.advance(engine, mine, {"progress": 10}, owner="slow")
    assert tasks.advance(engine, theirs, {"progress": 20}, owner="fast")


def test_the_signature_is_the_reference_librarys():
    secret = webhooks.new_secret()
    body = webhooks.event_payload("video.completed", "video_a", "completed", time.time())
    stamp = int(time.time())
    reference = Webhook(secret).sign("msg_1", datetime.fromtimestamp(stamp, UTC), body.decode())
    assert webhooks.sign(secret, "msg_1", stamp, body) == reference


def delivery(attempts: list[dict]) -> webhooks.Delivery:
    return webhooks.Delivery("msg_1", "video_a", 1, "video.completed", "https://x", b"{}", "pending", attempts, 0.0)


@pytest.mark.parametrize(
    ("status", "tried", "retry_after", "expected"),
    [
        (200, 0, None, ("delivered", None)),
        (204, 3, None, ("delivered", None)),
        (410, 0, None, ("disabled", None)),
        (500, 0, None, ("pending", 1005.0)),  # first retry 5 s after the first attempt
        (302, 1, None, ("pending", 1300.0)),  # a redirect is a failure: the second retry, 5 min after the first
        (429, 0, 60.0, ("pending", 1060.0)),  # Retry-After pushes it later than the schedule
        (None, 2, None, ("failed", None)),  # the schedule is used up
    ],
)
def test_the_retry_schedule(status, tried, retry_after, expected):
    attempts = [{"at": 1000.0 + i, "status": 500} for i in range(tried)]
    outcome = webhooks.Outcome(status, 10.0, None if status else "refused", retry_after)
    assert webhooks.next_state(delivery(attempts), outcome, [5.0, 300.0], 1000.0 + tried) == expected


FORM = (
    b'--XyZ\r\nContent-Disposition: form-data; name="model"\r\n\r\ngpt-image-1\r\n'
    b'--XyZ\r\nContent-Disposition: form-data; name="image[]"; filename="a b.png"\r\n'
    b"Content-Type: image/png\r\n\r\n\x89PNG\r\n--not-the-boundary\r\n"
    b'--XyZ\r\nContent-Disposition: form-data; name="prompt"\r\n\r\nadd a hat\r\n--XyZ--\r\n'
)


def test_the_form_index_swaps_the_model_and_leaves_files_untouched():
    boundary = boundary_of('multipart/form-data; boundary="XyZ"')
    assert boundary == b"XyZ"
    form = parse_form(FORM, boundary)
    assert form.field("model") == "gpt-image-1" and form.field("prompt") == "add a hat"
    assert form.count_files("image[]") == 1
    rewritten = b"".join(form.with_field("model", "upstream-name"))
    assert rewritten == FORM.replace(b"\r\n\r\ngpt-image-1\r\n", b"\r\n\r\nupstream-name\r\n")


@pytest.mark.parametrize(
    "body",
    [b"no boundary at all", b"--XyZ\r\nContent-Disposition: form-data\r\n\r\nx\r\n--XyZ--", b"--XyZ\r\nno end"],
)
def test_a_malformed_form_is_a_400(body):
    with pytest.raises(GatewayError) as err:
        parse_form(body, b"XyZ")
    assert err.value.status == 400


def test_only_multipart_form_data_has_a_boundary():
    assert boundary_of("application/json") is None
    assert boundary_of("multipart/form-data") is None
