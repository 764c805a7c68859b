"""Video tasks through onegate with the real `openai` SDK (its deprecated `videos` methods still speak the
shape): onegate owns the task, adapts an OpenAI-videos upstream and Veo behind it, and bills it once."""

from __future__ import annotations

import time
import warnings

import openai
import pytest
from sqlalchemy import select

from onegate.media import tasks
from onegate.store.keys import KeyOptions, create_key, find_key
from onegate.store.schema import ledger, request_logs
from onegate.store.teams import change_balance, create_team
from tests.conftest import raw_request
from tests.e2e.test_billing import wait_for
from tests.fakes.media_upstream import MP4, FakeMediaUpstream

warnings.filterwarnings("ignore", "The Sora API", DeprecationWarning)
pytestmark = pytest.mark.filterwarnings("ignore:The Sora API:DeprecationWarning")

FAST = {"poll_seconds": 0.1, "max_poll_seconds": 0.3, "lease_seconds": 5}
# 0.1 a second; 1792x1024 costs 2.5× (the size multiplier)
VIDEO_PRICE = {"per_second": 0.1, "video_sizes": {"1792x1024": 2.5}}


def video_config(upstream: FakeMediaUpstream, media: dict | None = None, **extra) -> dict:
    channels = [
        {"name": "videos", "type": "openai", "base_url": upstream.base_url, "models": ["sora-2"]},
        {
            "name": "veo",
            "type": "gemini",
            "base_url": upstream.root + "/v1beta",
            "api_key_env": "ONEGATE_TEST_VEO_KEY",
            "models": ["veo-3.1-generate-preview"],
        },
    ]
    prices = {"sora-2": VIDEO_PRICE, "veo-3.1-generate-preview": VIDEO_PRICE}
    return {"channels": channels, "prices": prices, "media": {**FAST, **(media or {})}, **extra}


@pytest.fixture
def gw(start_gateway, media_upstream, monkeypatch):
    monkeypatch.setenv("ONEGATE_TEST_VEO_KEY", media_upstream.veo_api_key)
    return start_gateway(video_config(media_upstream))


def wait_done(client: openai.OpenAI, video_id: str, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        video = client.videos.retrieve(video_id)
        if not seen or seen[-1] != video.status:
            seen.append(video.status)
        if video.status in ("completed", "failed"):
            return video, seen
        time.sleep(0.05)
    raise AssertionError(f"video {video_id} still {seen[-1]} after {timeout}s")


def charges(gw) -> dict[str, int]:
    with gw.gateway.engine.connect() as conn:
        rows = conn.execute(select(ledger.c.request_id, ledger.c.amount_micros).where(ledger.c.kind == "charge"))
        return {rid: -amount for rid, amount in rows}


def logged_costs(gw) -> dict[str, int]:
    with gw.gateway.engine.connect() as conn:
        rows = conn.execute(select(request_logs.c.request_id, request_logs.c.cost_micros))
        return {rid: cost for rid, cost in rows if cost}


def team_key(gw, balance: int) -> str:
    team = create_team(gw.gateway.engine, "studio")
    change_balance(gw.gateway.engine, "studio", "topup", balance, "test")
    return create_key(gw.gateway.engine, "studio-key", options=KeyOptions(team_id=team.id))[1]


def test_selftest_video_runs_queued_in_progress_completed_and_serves_an_mp4(start_gateway):
    gw = start_gateway({"media": FAST})
    client = gw.client()
    video = client.videos.create(model="onegate-selftest-video", prompt="a lighthouse", seconds="4")
    assert video.status == "queued" and video.id.startswith("video_")
    done, seen = wait_done(client, video.id)
    assert seen == ["queued", "in_progress", "completed"]
    assert done.progress == 100 and done.seconds == "4"
    content = client.videos.download_content(video.id).read()
    assert content[4:8] == b"ftyp" and b"moov" in content  # its boxes: tests/media/test_selftest_video.py
    thumbnail = client.videos.download_content(video.id, variant="thumbnail").read()
    assert thumbnail[8:12] == b"WEBP"
    assert charges(gw) == {}


def test_openai_videos_task_is_billed_once_per_second_at_its_size_and_the_ledger_equals_the_log(gw, media_upstream):
    client = gw.client()
    key = team_key(gw, 10_000_000)
    client = gw.client(api_key=key)
    video = client.videos.create(model="sora-2", prompt="a lighthouse", seconds="8", size="1792x1024")
    done, seen = wait_done(client, video.id)
    assert done.status == "completed" and seen[-1] == "completed" and "in_progress" in seen
    assert done.size == "1792x1024" and done.seconds == "8"
    expected = round(8 * 0.1 * 2.5 * 1_000_000)
    billed = wait_for(lambda: charges(gw))
    assert billed == {f"req_{video.id}": expected}
    assert logged_costs(gw) == billed
    # polling more never bills again
    for _ in range(3):
        client.videos.retrieve(video.id)
    time.sleep(0.3)
    assert charges(gw) == billed


def test_the_task_is_onegates_own_the_upstream_id_and_channel_never_show(gw, media_upstream):
    client = gw.client()
    video = client.videos.create(model="sora-2", prompt="a lighthouse")
    upstream_id = next(iter(media_upstream.videos))
    response = raw_request("GET", f"{gw.base_url}/videos/{video.id}", None, {"Authorization": f"Bearer {gw.key}"})
    assert response.status == 200
    assert upstream_id not in response.body.decode() and "videos" not in response.json()["id"][6:]
    assert "127.0.0.1" not in response.body.decode()


def test_a_key_sees_only_its_own_tasks(gw, media_upstream):
    mine = gw.client().videos.create(model="sora-2", prompt="mine")
    other = gw.client(api_key=gw.create_key("other"))
    with pytest.raises(openai.NotFoundError):
        other.videos.retrieve(mine.id)
    with pytest.raises(openai.NotFoundError):
        other.videos.download_content(mine.id)
    with pytest.raises(openai.NotFoundError):
        other.videos.delete(mine.id)
    assert [v.id for v in other.videos.list()] == []
    assert [v.id for v in gw.client().videos.list()] == [mine.id]


def test_list_is_a_cursor_over_the_callers_tasks(gw, media_upstream):
    client = gw.client()
    ids = [client.videos.create(model="sora-2", prompt=f"v{i}").id for i in range(3)]
    first = client.videos.list(limit=2)
    assert [v.id for v in first.data] == ids[::-1][:2] and first.has_more
    rest = client.videos.list(limit=2, after=first.data[-1].id)
    assert [v.id for v in rest.data] == [ids[0]] and not rest.has_more
    assert [v.id for v in client.videos.list(order="asc")] == ids


def test_input_reference_is_passed_on_as_multipart_with_the_model_renamed(start_gateway, media_upstream):
    config = video_config(media_upstream)
    config["channels"][0]["aliases"] = {"film": "sora-2"}
    config["prices"]["film"] = VIDEO_PRICE
    gw = start_gateway(config)
    png = b"\x89PNG\r\n\x1a\nreference"
    video = gw.client().videos.create(model="film", prompt="animate", input_reference=("ref.png", png, "image/png"))
    form = media_upstream.forms[-1]
    assert ("input_reference", "ref.png", png) in form
    assert ("model", None, b"sora-2") in form
    assert video.model == "film"


def test_content_streams_through_with_range_requests(gw, media_upstream):
    client = gw.client()
    video = client.videos.create(model="sora-2", prompt="a lighthouse")
    wait_done(client, video.id)
    assert client.videos.download_content(video.id).read() == MP4
    url = f"{gw.base_url}/videos/{video.id}/content"
    part = raw_request("GET", url, None, {"Authorization": f"Bearer {gw.key}", "Range": "bytes=10-19"})
    assert part.status == 206 and part.body == MP4[10:20]
    assert part.headers["content-range"] == f"bytes 10-19/{len(MP4)}"


def test_content_before_completion_is_a_400(gw, media_upstream):
    media_upstream.video_polls = 1000
    client = gw.client()
    video = client.videos.create(model="sora-2", prompt="slow")
    with pytest.raises(openai.BadRequestError) as err:
        client.videos.download_content(video.id)
    assert "queued" in err.value.message or "in_progress" in err.value.message


def test_a_failed_task_shows_the_upstream_error_and_costs_nothing(gw, media_upstream):
    media_upstream.fail_videos = True
    key = team_key(gw, 10_000_000)
    client = gw.client(api_key=key)
    video = client.videos.create(model="sora-2", prompt="blocked", seconds="8")
    done, _ = wait_done(client, video.id)
    assert done.status == "failed" and done.error.code == "moderation_blocked"
    row = gw.log(f"req_{video.id}")
    assert row["cost_micros"] == 0 and row["error_code"] == "moderation_blocked"
    assert charges(gw) == {}


def test_delete_cancels_an_open_task_upstream_and_releases_its_money(gw, media_upstream):
    media_upstream.video_polls = 1000
    client = gw.client(api_key=team_key(gw, 10_000_000))
    video = client.videos.create(model="sora-2", prompt="never mind")
    deleted = client.videos.delete(video.id)
    assert deleted.deleted and deleted.id == video.id
    assert media_upstream.cancelled == [next(iter(media_upstream.videos))]
    task = tasks.get(gw.gateway.engine, video.id)
    assert task is not None and task.status == "failed" and task.error_code == "cancelled"
    assert charges(gw) == {}


def test_remix_makes_a_new_task_on_the_same_channel(gw, media_upstream):
    client = gw.client()
    video = client.videos.create(model="sora-2", prompt="a lighthouse")
    wait_done(client, video.id)
    remix = client.videos.remix(video.id, prompt="at night")
    assert remix.id != video.id and remix.remixed_from_video_id == video.id
    done, _ = wait_done(client, remix.id)
    assert done.status == "completed"
    upstream = list(media_upstream.videos.values())
    assert upstream[-1]["remixed_from"] == next(iter(media_upstream.videos))


def test_the_upstreams_poll_hint_is_honoured(start_gateway, media_upstream):
    media_upstream.poll_after_ms = 50
    media_upstream.video_polls = 5
    gw = start_gateway(video_config(media_upstream, {"poll_seconds": 30, "max_poll_seconds": 30}))
    client = gw.client()
    video = client.videos.create(model="sora-2", prompt="quick")
    started = time.monotonic()
    done, _ = wait_done(client, video.id, timeout=8)
    assert done.status == "completed" and time.monotonic() - started < 8  # 30 s a poll without the hint


def test_a_task_that_never_ends_times_out(start_gateway, media_upstream):
    media_upstream.video_polls = 10_000
    gw = start_gateway(video_config(media_upstream, {"task_timeout_minutes": 0.01}))
    client = gw.client()
    video = client.videos.create(model="sora-2", prompt="forever")
    done, _ = wait_done(client, video.id)
    assert done.status == "failed" and done.error.code == "timeout"


def test_veo_task_through_gemini_long_running_operations(gw, media_upstream):
    client = gw.client()
    video = client.videos.create(model="veo-3.1-generate-preview", prompt="a lighthouse", seconds="8", size="1280x720")
    done, seen = wait_done(client, video.id)
    assert done.status == "completed" and seen[0] == "queued"
    operation = next(iter(media_upstream.videos.values()))
    assert operation["parameters"] == {"durationSeconds": 8, "aspectRatio": "16:9", "resolution": "720p"}
    assert client.videos.download_content(video.id).read() == MP4
    assert wait_for(lambda: charges(gw)) == {f"req_{video.id}": 800_000}


def test_veo_failure_maps_to_failed(gw, media_upstream):
    media_upstream.fail_videos = True
    client = gw.client()
    video = client.videos.create(model="veo-3.1-generate-preview", prompt="blocked")
    done, _ = wait_done(client, video.id)
    assert done.status == "failed" and "safety" in done.error.message


def test_a_balance_that_cannot_cover_the_seconds_refuses_the_submit(gw, media_upstream):
    client = gw.client(api_key=team_key(gw, 100_000))  # 0.1: one second at 0.1
    with pytest.raises(openai.APIStatusError) as err:
        client.videos.create(model="sora-2", prompt="too long", seconds="8")
    assert err.value.status_code == 402
    assert media_upstream.videos == {}


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"model": "sora-2"}, "prompt"),
        ({"prompt": "x"}, "model"),
        ({"model": "sora-2", "prompt": "x", "size": "big"}, "size"),
        ({"model": "sora-2", "prompt": "x", "seconds": "4.5"}, "seconds"),
        ({"model": "sora-2", "prompt": "x", "callback_url": "ftp://example.com/"}, "callback_url"),
    ],
)
def test_bad_create_bodies_are_400_in_openai_shape(gw, media_upstream, fields, param):
    headers = {"Authorization": f"Bearer {gw.key}", "Content-Type": "application/json"}
    response = raw_request("POST", gw.base_url + "/videos", fields, headers)
    assert response.status == 400 and response.json()["error"]["param"] == param
    assert media_upstream.videos == {}


def test_unknown_video_is_404_in_openai_shape(gw):
    response = raw_request("GET", gw.base_url + "/videos/video_nope", None, {"Authorization": f"Bearer {gw.key}"})
    assert response.status == 404 and response.json()["error"]["type"] == "invalid_request_error"


def test_the_reservation_is_held_while_the_task_runs_and_settled_when_it_ends(start_gateway, media_upstream):
    import asyncio

    media_upstream.video_polls = 10_000
    gw = start_gateway(video_config(media_upstream, accounting={"reservation_ttl": 0.6}))
    key = team_key(gw, 10_000_000)
    team_id = find_key(gw.gateway.engine, "studio-key").team_id
    loop = gw.gateway.reservations._loop
    assert loop is not None and team_id is not None

    def state():
        counters = gw.gateway.counters
        return asyncio.run_coroutine_threadsafe(counters.team_state(team_id, time.time()), loop).result(5)

    client = gw.client(api_key=key)
    video = client.videos.create(model="sora-2", prompt="long", seconds="8")
    time.sleep(2.0)  # more than three reservation lifetimes: the open task keeps renewing its hold
    assert state().reserved == 800_000
    media_upstream.video_polls = 0
    assert wait_done(client, video.id)[0].status == "completed"
    wait_for(lambda: state().reserved == 0 and state().balance == 10_000_000 - 800_000)


def test_the_upstreams_words_in_a_failed_task_are_redacted(start_gateway, media_upstream, monkeypatch):
    secret = "sk-channel-secret-4242424242424242"
    monkeypatch.setenv("ONEGATE_TEST_VIDEOS_KEY", secret)
    config = video_config(media_upstream)
    config["channels"][0]["api_key_env"] = "ONEGATE_TEST_VIDEOS_KEY"
    gw = start_gateway(config)
    media_upstream.fail_videos = True
    media_upstream.video_error = f"invalid request signed with {secret} <b>blocked</b>"
    client = gw.client()
    done, _ = wait_done(client, client.videos.create(model="sora-2", prompt="x").id)
    assert done.status == "failed" and "blocked" in done.error.message
    assert secret not in done.error.message and secret[3:-4] not in done.error.message


def test_submit_fails_over_on_a_channels_fault_but_not_on_the_callers_4xx(start_gateway, media_upstream):
    config = video_config(media_upstream)
    second = {**config["channels"][0], "name": "videos-b"}
    config["channels"].insert(1, second)
    gw = start_gateway(config)
    client = gw.client()
    media_upstream.fail_next(503, {"error": {"message": "overloaded", "type": "server_error"}})
    video = client.videos.create(model="sora-2", prompt="a lighthouse")
    assert video.status == "queued" and len(media_upstream.videos) == 1
    assert sum(r.method == "POST" for r in media_upstream.requests) == 2  # the 503, then the other channel
    media_upstream.fail_next(400, {"error": {"message": "Your prompt was flagged.", "type": "invalid_request_error"}})
    with pytest.raises(openai.BadRequestError) as err:
        client.videos.create(model="sora-2", prompt="flagged")
    assert "flagged" in err.value.message and len(media_upstream.videos) == 1


def test_a_chat_request_for_a_video_only_channel_is_refused_not_a_500(gw):
    headers = {"Authorization": f"Bearer {gw.key}", "Content-Type": "application/json"}
    body = {"model": "veo-3.1-generate-preview", "messages": [{"role": "user", "content": "hi"}]}
    response = raw_request("POST", gw.base_url + "/chat/completions", body, headers)
    assert response.status == 400 and "video" in response.json()["error"]["message"]
