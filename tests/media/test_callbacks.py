"""Signed task callbacks (Standard Webhooks v1), checked by a receiver that verifies with the official
`standardwebhooks` library; the delivery log, retries, 410, redirects, egress rules, and the CLI."""

from __future__ import annotations

import time
from collections.abc import Iterator

import openai
import pytest
from typer.testing import CliRunner

from onegate.cli.main import app
from onegate.media import tasks, webhooks
from onegate.store.keys import find_key
from tests.fakes.callback_receiver import CallbackReceiver
from tests.media.test_videos import FAST, video_config, wait_done

pytestmark = pytest.mark.filterwarnings("ignore:The Sora API:DeprecationWarning")


@pytest.fixture
def receiver() -> Iterator[CallbackReceiver]:
    with CallbackReceiver() as running:
        yield running


def start(start_gateway, media_upstream, **media):
    # loopback receivers need the allowance; it is off by default (public addresses only)
    return start_gateway(video_config(media_upstream, {"callback_allow_private": True, **media}))


def with_secret(gw, receiver, url: str | None = None) -> str:
    key_id = find_key(gw.gateway.engine, "test").id  # the key the gateway fixture made
    receiver.secret = webhooks.rotate_secret(gw.gateway.engine, key_id, url)
    return receiver.secret


def create(gw, callback_url: str | None = None, model: str = "sora-2") -> str:
    extra = {"callback_url": callback_url} if callback_url else None
    return gw.client().videos.create(model=model, prompt="a lighthouse", extra_body=extra).id


def deliveries(gw, task_id: str, state: str | None = None, timeout: float = 10.0) -> list[webhooks.Delivery]:
    deadline = time.monotonic() + timeout
    while True:
        found = webhooks.deliveries_of(gw.gateway.engine, task_id)
        if found and (state is None or all(d.state == state for d in found)):
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"deliveries of {task_id}: {found}")
        time.sleep(0.05)


def test_a_completed_task_sends_a_signed_thin_video_completed_event(start_gateway, media_upstream, receiver):
    gw = start(start_gateway, media_upstream)
    with_secret(gw, receiver)
    task_id = create(gw, receiver.url)
    [got] = receiver.wait(1)
    assert got.verified
    assert got.event is not None and got.event["type"] == "video.completed"
    assert got.event["data"] == {"id": task_id, "status": "completed"} and got.event["timestamp"].endswith("Z")
    assert got.headers["webhook-id"].startswith("msg_") and got.headers["webhook-signature"].startswith("v1,")
    [delivery] = deliveries(gw, task_id, "delivered")
    assert [a["status"] for a in delivery.attempts] == [200] and delivery.attempts[0]["ms"] > 0


def test_a_failed_task_sends_video_failed_to_the_keys_default_url(start_gateway, media_upstream, receiver):
    media_upstream.fail_videos = True
    gw = start(start_gateway, media_upstream)
    with_secret(gw, receiver, url=receiver.url)
    task_id = create(gw)
    [got] = receiver.wait(1)
    assert got.verified and got.event is not None
    assert got.event["type"] == "video.failed" and got.event["data"] == {"id": task_id, "status": "failed"}


def test_the_selftest_video_fires_a_signed_callback(start_gateway, receiver):
    gw = start_gateway({"media": {**FAST, "callback_allow_private": True}})
    with_secret(gw, receiver)
    task_id = create(gw, receiver.url, model="onegate-selftest-video")
    [got] = receiver.wait(1)
    assert got.verified and got.event is not None and got.event["data"]["id"] == task_id


def test_a_failing_receiver_is_retried_with_the_same_id_until_it_answers_2xx(start_gateway, media_upstream, receiver):
    gw = start(start_gateway, media_upstream, callback_retries=[0.2, 0.4, 0.6])
    with_secret(gw, receiver)
    receiver.answers = [(500, {}), (503, {"Retry-After": "0"})]
    task_id = create(gw, receiver.url)
    received = receiver.wait(3)
    assert all(r.verified for r in received)
    assert len({r.headers["webhook-id"] for r in received}) == 1
    [delivery] = deliveries(gw, task_id, "delivered")
    assert [a["status"] for a in delivery.attempts] == [500, 503, 200]


def test_a_redirect_is_a_failure_and_is_not_followed(start_gateway, media_upstream, receiver):
    gw = start(start_gateway, media_upstream, callback_retries=[])
    with_secret(gw, receiver)
    receiver.answers = [(302, {"Location": receiver.url + "/elsewhere"})]
    task_id = create(gw, receiver.url)
    [delivery] = deliveries(gw, task_id, "failed")
    assert [a["status"] for a in delivery.attempts] == [302]
    assert [r.path for r in receiver.received] == ["/hooks/onegate"]


def test_410_gone_disables_the_delivery(start_gateway, media_upstream, receiver):
    gw = start(start_gateway, media_upstream, callback_retries=[0.1, 0.1])
    with_secret(gw, receiver)
    receiver.answers = [(410, {})]
    task_id = create(gw, receiver.url)
    [delivery] = deliveries(gw, task_id, "disabled")
    time.sleep(0.4)
    assert len(receiver.received) == 1 and len(delivery.attempts) == 1


def test_a_private_receiver_is_refused_without_the_allowance(start_gateway, media_upstream, receiver):
    gw = start_gateway(video_config(media_upstream, {"callback_retries": []}))  # public addresses only
    with_secret(gw, receiver)
    task_id = create(gw, receiver.url)
    [delivery] = deliveries(gw, task_id, "failed")
    assert delivery.attempts[0]["status"] is None and "not a public address" in delivery.attempts[0]["error"]
    assert receiver.received == []


def test_a_callback_url_needs_a_signing_secret_first(start_gateway, media_upstream, receiver):
    gw = start(start_gateway, media_upstream)
    with pytest.raises(openai.BadRequestError) as err:
        create(gw, receiver.url)
    assert "webhook-secret" in err.value.message
    assert media_upstream.videos == {}


def cli(gw, *args: str):
    result = CliRunner().invoke(app, [*args, "--data-dir", str(gw.data_dir), "--config", str(gw.config_path)])
    assert result.exit_code == 0, result.output
    return result


def test_cli_rotates_the_secret_and_redelivers(start_gateway, media_upstream, receiver):
    gw = start(start_gateway, media_upstream)
    old = cli(gw, "keys", "webhook-secret", "test").stdout.strip()
    receiver.secret = cli(gw, "keys", "webhook-secret", "test").stdout.strip()
    assert receiver.secret.startswith("whsec_") and receiver.secret != old
    task_id = create(gw, receiver.url)
    [first] = receiver.wait(1)
    assert first.verified
    deliveries(gw, task_id, "delivered")
    assert "queued for delivery" in cli(gw, "tasks", "redeliver", task_id).stdout
    received = receiver.wait(2)
    assert received[1].verified and received[1].headers["webhook-id"] == first.headers["webhook-id"]
    shown = cli(gw, "tasks", "show", task_id).stdout
    assert "completed" in shown and "history:" in shown and shown.count("attempt ") == 2


def test_cli_lists_and_cancels_tasks(start_gateway, media_upstream):
    media_upstream.video_polls = 10_000
    gw = start(start_gateway, media_upstream)
    client = gw.client()
    video = client.videos.create(model="sora-2", prompt="long")
    assert video.id in cli(gw, "tasks", "list").stdout
    assert "cancelled" in cli(gw, "tasks", "cancel", video.id).stdout
    done, _ = wait_done(client, video.id)
    assert done.status == "failed" and done.error.code == "cancelled"
    assert media_upstream.cancelled
    task = tasks.get(gw.gateway.engine, video.id)
    assert task is not None and task.cost_micros == 0
