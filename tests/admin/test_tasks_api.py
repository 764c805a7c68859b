"""Video tasks and key callbacks through the management API and the CLI (here and `--server` remote): each
role lists and reads exactly the tasks it may see, a task's money and callback deliveries are shown, a
key's signing secret is created and rotated (shown once, audited without the secret), redelivery works
and is audited, and a receiver using the official `standardwebhooks` library verifies what arrives."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.admin.conftest import BOOTSTRAP, Console, cast, console_config
from tests.fakes.callback_receiver import CallbackReceiver

VIDEO = "onegate-selftest-video"  # free by default; priced here so reservations and charges are real


@pytest.fixture
def media(start_gateway, upstream, monkeypatch) -> Iterator[Console]:
    monkeypatch.setenv("ONEGATE_ADMIN_TOKEN", BOOTSTRAP)
    config = console_config(upstream)
    config["prices"][VIDEO] = {"per_second": 0.01}
    config["media"] = {"poll_seconds": 0.1, "max_poll_seconds": 0.3, "callback_allow_private": True}
    with requests.Session() as http:
        yield cast(start_gateway, config, http)


@pytest.fixture
def receiver() -> Iterator[CallbackReceiver]:
    with CallbackReceiver() as running:
        yield running


def submit(c: Console, key: str, callback_url: str | None = None, seconds: str = "4") -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # the SDK's videos methods are deprecated upstream
        extra = {"callback_url": callback_url} if callback_url else None
        video = c.gw.client(api_key=c.tokens[key]).videos.create(
            model=VIDEO, prompt="a lighthouse", seconds=seconds, extra_body=extra
        )
    return video.id


def wait_ended(c: Console, task_id: str, deliveries: int = 0, timeout: float = 15.0) -> dict[str, Any]:
    """The task once it has ended and its `deliveries` callbacks were sent (its cost is recorded just after
    its status changes, and its callback queued after that)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        detail = c.ok("GET", f"/tasks/{task_id}")
        sent = detail["deliveries"]
        ended = detail["task"]["status"] in ("completed", "failed")
        if ended and len(sent) >= deliveries and all(d["state"] != "pending" for d in sent):
            return detail
        time.sleep(0.1)
    raise AssertionError(f"task {task_id} did not end: {c.ok('GET', f'/tasks/{task_id}')}")


def ids(page: dict[str, Any]) -> list[str]:
    return [t["id"] for t in page["items"]]


def test_each_role_lists_and_reads_only_the_tasks_it_may_see(media: Console):
    c = media
    colleague = c.ok("POST", "/keys", json={"name": "colleague", "team_id": c.ids["team_a"]})
    c.tokens["colleague"] = colleague["secret"]
    mine = [submit(c, "key_a"), submit(c, "key_a")]
    theirs = submit(c, "colleague")
    other_team = submit(c, "key_b")
    everything = {*mine, theirs, other_team}

    assert set(ids(c.ok("GET", "/tasks"))) == everything
    assert set(ids(c.ok("GET", "/tasks", "viewer"))) == everything
    assert set(ids(c.ok("GET", "/tasks", "team_admin"))) == {*mine, theirs}  # their team's, every key in it
    assert set(ids(c.ok("GET", "/tasks", "key"))) == set(mine)  # a key holder: their key's only
    # asking for more than one may see is refused, never answered with someone else's rows
    assert c.call("GET", f"/tasks?team_id={c.ids['team_b']}", "team_admin").status_code == 404
    assert c.call("GET", f"/tasks?key_id={colleague['key']['id']}", "key").status_code == 404
    assert c.call("GET", f"/tasks/{other_team}", "team_admin").status_code == 404
    assert c.call("GET", f"/tasks/{theirs}", "key").status_code == 404
    assert c.ok("GET", f"/tasks/{theirs}", "team_admin")["task"]["key_id"] == colleague["key"]["id"]
    # what the API's own video list shows a key is the same set
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        listed = {v.id for v in c.gw.client(api_key=c.tokens["key_a"]).videos.list()}
    assert listed == set(mine)

    # filters
    assert set(ids(c.ok("GET", f"/tasks?key_id={c.ids['key_a']}"))) == set(mine)
    assert set(ids(c.ok("GET", f"/tasks?team_id={c.ids['team_b']}"))) == {other_team}
    assert set(ids(c.ok("GET", f"/tasks?model={VIDEO}&team_id={c.ids['team_a']}"))) == {*mine, theirs}
    assert ids(c.ok("GET", "/tasks?model=sora-2")) == []
    # keyset pages: newest first, each task once, the last page says there is no more
    walked, cursor = [], None
    while True:
        page = c.ok("GET", "/tasks?limit=1" + (f"&cursor={cursor}" if cursor else ""))
        walked += ids(page)
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert walked == ids(c.ok("GET", "/tasks")) and set(walked) == everything and len(walked) == 4
    created = [t["created_at"] for t in c.ok("GET", "/tasks")["items"]]
    assert created == sorted(created, reverse=True)
    for bad in ("/tasks?cursor=not-a-cursor", "/tasks?status=done", "/tasks?limit=0", "/tasks?key_id=abc"):
        response = c.call("GET", bad)
        assert response.status_code == 400, (bad, response.text)
        assert response.json()["error"]["type"] == "invalid_request_error"

    wait_ended(c, other_team)
    assert ids(c.ok("GET", f"/tasks?status=completed&team_id={c.ids['team_b']}")) == [other_team]
    assert ids(c.ok("GET", f"/tasks?status=queued&team_id={c.ids['team_b']}")) == []


def test_a_task_shows_its_history_money_and_deliveries_and_redelivers_audited(
    media: Console, receiver: CallbackReceiver
):
    c = media
    key_a = c.ids["key_a"]
    assert c.ok("GET", f"/keys/{key_a}/webhook", "key") == {
        "key_id": key_a,
        "has_secret": False,
        "callback_url": None,
        "updated_at": None,
    }
    # no secret yet: a default URL alone is refused (a secret is only ever made where it is shown once)
    refused = c.call("PUT", f"/keys/{key_a}/webhook", "team_admin", json={"callback_url": receiver.url})
    assert refused.status_code == 409 and "webhook-secret" in refused.json()["error"]["message"]
    bad = c.call("POST", f"/keys/{key_a}/webhook-secret", "team_admin", json={"callback_url": "ftp://x"})
    assert bad.status_code == 400
    assert c.call("POST", f"/keys/{c.ids['key_b']}/webhook-secret", "team_admin", json={}).status_code == 404
    assert c.call("POST", f"/keys/{key_a}/webhook-secret", "key", json={}).status_code == 403

    made = c.ok("POST", f"/keys/{key_a}/webhook-secret", "team_admin", json={"callback_url": receiver.url})
    assert made["secret"].startswith("whsec_") and made["callback_url"] == receiver.url
    receiver.secret = made["secret"]
    assert c.ok("GET", f"/keys/{key_a}/webhook", "team_admin")["has_secret"] is True

    task_id = submit(c, "key_a", seconds="4")  # no callback_url: the key's default is used
    held = c.ok("GET", f"/tasks/{task_id}")
    assert held["billing"]["state"] == "held" and held["billing"]["reserved_micros"] == 40_000  # 4 s × 0.01
    assert held["billing"]["settlement_request_id"] is None
    detail = wait_ended(c, task_id, deliveries=1)
    task = detail["task"]
    assert task["status"] == "completed" and task["progress"] == 100 and task["cost_micros"] == 40_000
    assert [h["status"] for h in detail["history"]][0] == "queued" and detail["history"][-1]["status"] == "completed"
    assert "in_progress" in [h["status"] for h in detail["history"]]
    money = detail["billing"]
    assert money == {
        "state": "settled",
        "reserved_micros": 40_000,
        "cost_micros": 40_000,
        "settlement_request_id": f"req_{task_id}",
    }
    c.gw.log(money["settlement_request_id"])  # the writer stores it in the background: wait for it
    settled = c.ok("GET", f"/logs/{money['settlement_request_id']}")
    assert settled["item"]["cost_micros"] == 40_000  # the log row of the end is the charge shown
    [delivery] = detail["deliveries"]
    assert delivery["event_type"] == "video.completed" and delivery["state"] == "delivered"
    assert delivery["url"] == receiver.url
    [attempt] = delivery["attempts"]
    assert attempt["status"] == 200 and attempt["latency_ms"] > 0 and attempt["error"] is None
    [first] = receiver.wait(1)
    assert first.verified and first.event == {
        "type": "video.completed",
        "timestamp": first.event["timestamp"],
        "data": {"id": task_id, "status": "completed"},
    }
    # where it ran is for the operators; the team admin sees the rest
    assert detail["channel"] == "selftest" and detail["upstream_id"]
    narrow = c.ok("GET", f"/tasks/{task_id}", "team_admin")
    assert narrow["channel"] is None and narrow["upstream_id"] is None and narrow["billing"] == money

    # redelivery: the same event (same webhook-id) again, signed, verified; the viewer may not
    assert c.call("POST", f"/tasks/{task_id}/redeliver", "viewer").status_code == 403
    assert c.ok("POST", f"/tasks/{task_id}/redeliver", "key") == {"task_id": task_id, "queued": 1}
    _, second = receiver.wait(2)
    assert second.verified and second.headers["webhook-id"] == first.headers["webhook-id"]
    assert len(wait_ended(c, task_id, deliveries=1)["deliveries"][0]["attempts"]) == 2

    # rotation: the old secret no longer verifies what is sent next
    rotated = c.ok("POST", f"/keys/{key_a}/webhook-secret", "operator", json={})
    assert rotated["secret"] != made["secret"] and rotated["callback_url"] == receiver.url  # the URL stays
    c.ok("POST", f"/tasks/{task_id}/redeliver", "team_admin")
    third = receiver.wait(3)[2]
    assert not third.verified  # the receiver still holds the old secret
    receiver.secret = rotated["secret"]
    assert receiver.verify(third.body, third.headers)[0]

    cleared = c.ok("PUT", f"/keys/{key_a}/webhook", "team_admin", json={"callback_url": None})
    assert cleared["callback_url"] is None and cleared["has_secret"] is True

    trail = c.ok("GET", "/audit", "team_admin")["items"]
    actions = [(e["action"], e["actor"]) for e in trail]
    assert ("keys.webhook_secret", "team_admin") in actions and ("keys.webhook_secret", "operator") in actions
    assert ("tasks.redeliver", f"key:{key_a}") in actions
    assert ("tasks.redeliver", "team_admin") in actions and ("keys.webhook_url", "team_admin") in actions
    text = str(trail)
    assert made["secret"] not in text and rotated["secret"] not in text  # the secret is never written down


def test_a_task_without_callbacks_cannot_be_redelivered_and_a_failed_task_releases_its_hold(media: Console):
    c = media
    task_id = submit(c, "key_b")
    refused = c.call("POST", f"/tasks/{task_id}/redeliver")
    assert refused.status_code == 400 and "no callbacks" in refused.json()["error"]["message"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        c.gw.client(api_key=c.tokens["key_b"]).videos.delete(task_id)
    detail = c.ok("GET", f"/tasks/{task_id}")
    assert detail["task"]["status"] == "failed" and detail["task"]["error_code"] == "cancelled"
    assert detail["billing"]["state"] == "released" and detail["billing"]["cost_micros"] == 0
    assert c.call("GET", "/tasks/video_doesnotexist").status_code == 404


def _cli(c: Console, token: str | None, *args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ONEGATE_DATA_DIR": str(data_dir)}
    env.pop("ONEGATE_ADMIN_TOKEN", None)
    remote = ["--server", c.gw.root, "--token", token] if token else []
    if not token and c.gw.config_path is not None:
        env["ONEGATE_CONFIG"] = str(c.gw.config_path)
    command = [sys.executable, "-m", "onegate", *remote, *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)


def test_the_cli_lists_shows_and_redelivers_here_and_remotely(
    media: Console, receiver: CallbackReceiver, tmp_path: Path
):
    c = media
    elsewhere = tmp_path / "no-database-here"
    secret = _cli(c, c.tokens["team_admin"], "keys", "webhook-secret", "key-a", data_dir=elsewhere)
    assert secret.returncode == 0, secret.stderr
    receiver.secret = secret.stdout.strip()
    assert receiver.secret.startswith("whsec_") and "shown only now" in secret.stderr
    mine = submit(c, "key_a", callback_url=receiver.url)
    theirs = submit(c, "key_b")
    wait_ended(c, mine, deliveries=1)
    assert receiver.wait(1)[0].verified

    listed = _cli(c, c.tokens["team_admin"], "tasks", "list", data_dir=elsewhere)
    assert listed.returncode == 0, listed.stderr
    assert mine in listed.stdout and theirs not in listed.stdout and "completed" in listed.stdout
    everyone = _cli(c, c.tokens["viewer"], "tasks", "list", "--team", "team-b", data_dir=elsewhere)
    assert theirs in everyone.stdout and mine not in everyone.stdout

    shown = _cli(c, c.tokens["team_admin"], "tasks", "show", mine, data_dir=elsewhere)
    assert shown.returncode == 0, shown.stderr
    assert "completed 100%" in shown.stdout and "settled by req_" in shown.stdout
    assert "video.completed" in shown.stdout and "attempt 1" in shown.stdout and ": 200 in" in shown.stdout
    hidden = _cli(c, c.tokens["team_admin"], "tasks", "show", theirs, data_dir=elsewhere)
    assert hidden.returncode == 1 and "no task" in hidden.stderr

    again = _cli(c, c.tokens["operator"], "tasks", "redeliver", mine, data_dir=elsewhere)
    assert again.returncode == 0 and "1 callback(s)" in again.stdout, again.stderr
    assert receiver.wait(2)[1].verified
    assert not (elsewhere / "onegate.db").exists()  # it never opened a database

    cancel = _cli(c, c.tokens["operator"], "tasks", "cancel", theirs, data_dir=elsewhere)
    assert cancel.returncode == 1 and "server's machine" in cancel.stderr

    here = _cli(c, None, "tasks", "show", mine, data_dir=c.gw.data_dir)  # on the server's own database
    assert here.returncode == 0 and "channel selftest" in here.stdout, here.stderr
    trail = c.ok("GET", "/audit")["items"]
    assert any(e["action"] == "tasks.redeliver" and e["actor"] == "operator" for e in trail)
    assert any(e["action"] == "keys.webhook_secret" and e["actor"] == "team_admin" for e in trail)
