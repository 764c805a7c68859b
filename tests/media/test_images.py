"""Images through onegate with the real `openai` SDK: generations and edits (multipart passed on in place),
stream and not, billed from `usage` at the image rates or from the per-image table, errors in OpenAI's shape."""

from __future__ import annotations

import base64

import openai
import pytest

from tests.conftest import raw_request
from tests.fakes.media_upstream import PNG, FakeMediaUpstream

# currency units per 1M tokens: text in 5, image in 10, text out 10, image out 40; per-image fallback table
IMAGE_PRICE = {
    "input": 5,
    "image_input": 10,
    "output": 10,
    "image_output": 40,
    "per_image": 0.5,
    "image_prices": {"1024x1024/high": 0.167, "1024x1024": 0.042, "1536x1024/low": 0.016},
}


def media_config(upstream: FakeMediaUpstream, **extra) -> dict:
    channel = {
        "name": "media",
        "type": "openai",
        "base_url": upstream.base_url,
        "models": ["gpt-image-1", "dall-e-3", "sora-2"],
        "aliases": {"painter": "gpt-image-1"},
    }
    prices = {"gpt-image-1": IMAGE_PRICE, "painter": IMAGE_PRICE, "dall-e-3": IMAGE_PRICE}
    return {"channels": [channel], "prices": prices, **extra}


@pytest.fixture
def gw(start_gateway, media_upstream):
    return start_gateway(media_config(media_upstream))


def generate(gw, **params):
    raw = gw.client().images.with_raw_response.generate(**params)
    return raw.parse(), gw.log(raw.headers["x-request-id"])


def test_generation_bills_text_and_image_tokens_at_their_own_rates(gw, media_upstream):
    result, row = generate(gw, model="gpt-image-1", prompt="a lighthouse", n=2, size="1024x1024", quality="high")
    assert [base64.b64decode(d.b64_json) for d in result.data] == [PNG, PNG]
    assert result.usage.output_tokens == 8320
    # 40 text in × 5 + 10 image in × 10 + 8320 image out × 40, per 1M tokens, in micro-units
    assert row["cost_micros"] == (40 * 5 + 10 * 10 + 8320 * 40)
    assert row["status"] == 200 and row["dialect"] == "openai_images"
    assert "n=2 size=1024x1024 quality=high" in row["notes"]
    assert media_upstream.requests[-1].json["model"] == "gpt-image-1"


def test_output_without_details_is_billed_as_image_tokens_not_text(gw, media_upstream):
    media_upstream.image_usage = "no_output_details"  # what LiteLLM #31142 saw the Images endpoints send
    _, row = generate(gw, model="gpt-image-1", prompt="a lighthouse")
    assert row["cost_micros"] == 40 * 5 + 10 * 10 + 4160 * 40


def test_chat_shaped_usage_is_read_too(gw, media_upstream):
    media_upstream.image_usage = "chat"  # prompt_tokens_details / completion_tokens_details (LiteLLM #26876)
    _, row = generate(gw, model="gpt-image-1", prompt="a lighthouse")
    assert row["input_tokens"] == 50 and row["output_tokens"] == 4160
    assert row["cost_micros"] == 40 * 5 + 10 * 10 + 4160 * 40


@pytest.mark.parametrize(
    ("size", "quality", "each"),
    [
        ("1024x1024", "high", 167_000),
        ("1024x1024", "standard", 42_000),
        ("1536x1024", "low", 16_000),
        ("1792x1024", "hd", 500_000),
    ],
)
def test_without_usage_the_per_image_table_by_size_and_quality_prices_it(gw, media_upstream, size, quality, each):
    media_upstream.image_usage = None  # dall-e answers carry no usage
    result, row = generate(gw, model="dall-e-3", prompt="a lighthouse", size=size, quality=quality)
    assert len(result.data) == 1
    assert row["cost_micros"] == each


def test_stream_relays_partial_and_completed_events_and_bills_each_image(gw, media_upstream):
    client = gw.client()
    with client.images.with_streaming_response.generate(
        model="gpt-image-1", prompt="a lighthouse", stream=True, partial_images=1
    ) as response:
        request_id = response.headers["x-request-id"]
        kinds = [event.type for event in response.parse()]
    assert kinds == ["image_generation.partial_image", "image_generation.completed"]
    row = gw.log(request_id)
    assert row["stream"] and row["cost_micros"] == 40 * 5 + 10 * 10 + 4160 * 40


def test_edit_passes_the_form_on_with_only_the_model_renamed(gw, media_upstream):
    images = [("a.png", PNG, "image/png"), ("b.png", PNG + b"second", "image/png")]
    raw = gw.client().images.with_raw_response.edit(
        model="painter", prompt="add a hat", image=images, mask=("m.png", PNG, "image/png"), size="1024x1024"
    )
    assert len(raw.parse().data) == 1
    form = media_upstream.forms[-1]
    fields = {name: data for name, filename, data in form if filename is None}
    files = [(name, filename, data) for name, filename, data in form if filename is not None]
    assert fields["model"] == b"gpt-image-1" and fields["prompt"] == b"add a hat"
    assert files == [("image[]", "a.png", PNG), ("image[]", "b.png", PNG + b"second"), ("mask", "m.png", PNG)]
    row = gw.log(raw.headers["x-request-id"])
    assert row["model_requested"] == "painter" and row["cost_micros"] > 0


def test_edit_stream_uses_image_edit_events(gw, media_upstream):
    with gw.client().images.with_streaming_response.edit(
        model="gpt-image-1", prompt="add a hat", image=("a.png", PNG, "image/png"), stream=True
    ) as response:
        kinds = [event.type for event in response.parse()]
    assert kinds == ["image_edit.partial_image", "image_edit.completed"]


def test_edit_larger_than_the_body_limit_is_refused_before_the_upstream(start_gateway, media_upstream):
    config = media_config(media_upstream, server={"max_body_mb": 0.01})
    gw = start_gateway(config)
    with pytest.raises(openai.APIStatusError) as err:
        gw.client().images.edit(model="gpt-image-1", prompt="x", image=("a.png", b"\0" * 20_000, "image/png"))
    assert err.value.status_code == 413
    assert media_upstream.forms == []


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"model": "gpt-image-1"}, "prompt"),
        ({"prompt": "x"}, "model"),
        ({"model": "gpt-image-1", "prompt": "x", "n": 11}, "n"),
    ],
)
def test_bad_generation_bodies_are_400_in_openai_shape(gw, media_upstream, body, param):
    response = raw_request(
        "POST",
        gw.base_url + "/images/generations",
        body,
        {"Authorization": f"Bearer {gw.key}", "Content-Type": "application/json"},
    )
    assert response.status == 400
    error = response.json()["error"]
    assert error["param"] == param and error["type"] == "invalid_request_error"
    assert media_upstream.requests == []


def test_edit_that_is_not_multipart_is_400(gw, media_upstream):
    response = raw_request(
        "POST",
        gw.base_url + "/images/edits",
        {"model": "gpt-image-1", "prompt": "x"},
        {"Authorization": f"Bearer {gw.key}", "Content-Type": "application/json"},
    )
    assert response.status == 400 and "multipart/form-data" in response.json()["error"]["message"]


def test_upstream_refusal_reaches_the_caller_in_openai_shape_and_costs_nothing(gw, media_upstream):
    media_upstream.fail_next(
        400,
        {
            "error": {
                "message": "Your request was rejected by the safety system.",
                "type": "image_generation_user_error",
                "param": None,
                "code": "moderation_blocked",
            }
        },
    )
    with pytest.raises(openai.BadRequestError) as err:
        gw.client().images.generate(model="gpt-image-1", prompt="x")
    assert "safety system" in err.value.message
    row = gw.log(err.value.response.headers["x-request-id"])
    assert row["cost_micros"] == 0 and row["status"] == 400


def test_selftest_image_model_returns_a_valid_png_with_usage_at_zero_cost(start_gateway):
    gw = start_gateway()
    raw = gw.client().images.with_raw_response.generate(model="onegate-selftest-image", prompt="anything")
    image = base64.b64decode(raw.parse().data[0].b64_json)
    assert image.startswith(b"\x89PNG\r\n\x1a\n") and b"IEND" in image
    assert raw.parse().usage.output_tokens > 0
    assert gw.log(raw.headers["x-request-id"])["cost_micros"] == 0
