"""`onegate doctor --image --video`: the seed's last two checks on the zero-cost self-test models, with the
task id and the callback's delivery in the evidence; and what a failing media step says."""

from __future__ import annotations

import pytest

from onegate.media import webhooks
from onegate.store.keys import find_key
from tests.diagnosis.test_doctor import doctor, steps
from tests.fakes.callback_receiver import CallbackReceiver

pytestmark = pytest.mark.filterwarnings("ignore:The Sora API:DeprecationWarning")
MEDIA = {"poll_seconds": 0.1, "max_poll_seconds": 0.3, "callback_allow_private": True}


def test_image_and_video_steps_pass_and_record_the_task_and_its_signed_callback(start_gateway):
    gw = start_gateway({"media": MEDIA})
    with CallbackReceiver() as receiver:
        receiver.secret = webhooks.rotate_secret(gw.gateway.engine, find_key(gw.gateway.engine, "test").id)
        code, evidence, lines = doctor(
            "--base-url", gw.base_url, "--key", gw.key, "--model", "onegate-selftest",
            "--image", "--video", "--callback-url", receiver.url,
        )  # fmt: skip
        assert code == 0, lines
        found = steps(evidence)
        assert [s["status"] for s in evidence["steps"]] == ["pass"] * 7
        assert "PNG" in found["image"]["summary"]
        video = found["video"]
        assert video["task_id"].startswith("video_") and "completed" in video["summary"]
        assert video["callback"].startswith("delivered (last answer 200")
        [got] = receiver.received
        assert got.verified and got.event is not None and got.event["data"]["id"] == video["task_id"]


def test_a_failing_image_step_says_what_failed_and_how_to_fix_it(start_gateway):
    gw = start_gateway({"media": MEDIA})
    code, evidence, lines = doctor(
        "--base-url", gw.base_url, "--key", gw.key, "--model", "onegate-selftest",
        "--image", "--image-model", "dall-e-9",
    )  # fmt: skip
    assert code == 1
    image = steps(evidence)["image"]
    assert image["status"] == "fail" and image["http_status"] == 404 and image["fix"]
    assert "dall-e-9" in image["error_text"]
