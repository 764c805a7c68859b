"""Every refusal is OpenAI-shaped JSON with the right status, a request id, and a message that says what to do."""

from __future__ import annotations

import gc
import time

import openai
import pytest

from tests.conftest import channel, channel_config, free_port, raw_request

MESSAGES = [{"role": "user", "content": "hi"}]
CHAT = {"model": "onegate-selftest", "messages": MESSAGES}


def _error(response) -> dict:
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) >= {"message", "type", "param", "code"}
    assert body["error"]["request_id"] == response.headers["x-request-id"]
    return body["error"]


def test_missing_key_names_the_headers_looked_at(start_gateway):
    gw = start_gateway()
    response = raw_request("POST", gw.base_url + "/chat/completions", CHAT)
    assert response.status == 401
    error = _error(response)
    assert error["code"] == "missing_api_key"
    assert "Authorization: Bearer, x-api-key, api-key and x-goog-api-key" in error["message"]
    assert response.headers["x-should-retry"] == "false"


def test_unknown_key_is_invalid_api_key_and_shows_only_last_four(start_gateway):
    gw = start_gateway()
    with pytest.raises(openai.AuthenticationError) as info:
        gw.client(api_key="sk-og-notarealkey1234").chat.completions.create(**CHAT)
    assert info.value.code == "invalid_api_key"
    assert "…1234" in info.value.message and "notarealkey" not in info.value.message
    row = gw.log(info.value.response.headers["x-request-id"])
    assert row["status"] == 401 and row["key_id"] is None and "notarealkey" not in str(row)


@pytest.mark.parametrize("header", ["x-api-key", "api-key", "x-goog-api-key"])
def test_key_accepted_from_other_client_headers(start_gateway, header):
    gw = start_gateway()
    assert raw_request("POST", gw.base_url + "/chat/completions", CHAT, {header: gw.key}).status == 200


def test_expired_key_says_expired(start_gateway):
    gw = start_gateway()
    key = gw.create_key("old", expires_at=time.time() - 60)
    with pytest.raises(openai.AuthenticationError) as info:
        gw.client(api_key=key).chat.completions.create(**CHAT)
    assert info.value.code == "key_expired" and "expired on" in info.value.message


def test_unknown_model_is_404_with_close_matches(proxied):
    with pytest.raises(openai.NotFoundError) as info:
        proxied.client().chat.completions.create(model="openai/GPT-4.1-mini", messages=MESSAGES)
    assert info.value.code == "model_not_found"
    assert "Did you mean: gpt-4.1-mini" in info.value.message
    assert info.value.response.headers["x-should-retry"] == "false"


def test_close_matches_only_name_models_the_key_may_use(proxied):
    key = proxied.create_key("narrow", models=["onegate-selftest"])
    with pytest.raises(openai.NotFoundError) as info:
        proxied.client(api_key=key).chat.completions.create(model="gpt-4.1-min", messages=MESSAGES)
    assert "gpt-4.1-mini" not in info.value.message


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        (b'{"model": "onegate-selftest", "messages": [', "not valid JSON"),
        (b"[1, 2]", "must be a JSON object"),
        (b'{"messages": []}', "'model'"),
        (b'{"model": "onegate-selftest"}', "'messages'"),
    ],
)
def test_malformed_requests_are_400(start_gateway, body, needle):
    gw = start_gateway()
    response = raw_request("POST", gw.base_url + "/chat/completions", body, {"Authorization": f"Bearer {gw.key}"})
    assert response.status == 400
    assert needle in _error(response)["message"]
    assert response.headers["x-should-retry"] == "false"


def test_body_over_the_limit_is_413(start_gateway):
    gw = start_gateway({"server": {"max_body_mb": 0.01}})
    big = {"model": "onegate-selftest", "messages": [{"role": "user", "content": "x" * 20_000}]}
    response = raw_request("POST", gw.base_url + "/chat/completions", big, {"Authorization": f"Bearer {gw.key}"})
    assert response.status == 413
    assert _error(response)["code"] == "request_too_large"


def test_unknown_path_is_json_404_naming_the_base_url(start_gateway):
    gw = start_gateway({"path_policy": "strict"})  # lenient (the default) would serve it: tests/diagnosis
    response = raw_request("POST", gw.root + "/chat/completions", CHAT, {"Authorization": f"Bearer {gw.key}"})
    assert response.status == 404
    assert response.headers["content-type"] == "application/json"
    assert f"{gw.base_url}" in _error(response)["message"]


def test_upstream_4xx_keeps_status_and_text_marked_as_upstream(proxied, upstream):
    upstream.fail_next(
        400,
        {
            "error": {
                "message": "max_tokens is too large",
                "type": "invalid_request_error",
                "param": "max_tokens",
                "code": None,
            }
        },
    )
    with pytest.raises(openai.BadRequestError) as info:
        proxied.client().chat.completions.create(model="gpt-4.1-mini", messages=MESSAGES)
    assert "Upstream channel 'fake' answered 400: max_tokens is too large" in info.value.message
    row = proxied.log(info.value.response.headers["x-request-id"])
    assert row["status"] == 400 and row["cost_micros"] == 0
    assert "max_tokens is too large" in row["error_message"]


def test_upstream_5xx_keeps_status(proxied, upstream):
    upstream.fail_next(503, {"error": {"message": "overloaded", "type": "server_error"}})
    with pytest.raises(openai.InternalServerError) as info:
        proxied.client().chat.completions.create(model="gpt-4.1-mini", messages=MESSAGES)
    assert info.value.status_code == 503 and "overloaded" in info.value.message


def test_upstream_rejecting_channel_credentials_is_not_blamed_on_the_caller(proxied, upstream):
    upstream.required_api_key = "a-different-secret"
    with pytest.raises(openai.APIStatusError) as info:
        proxied.client().chat.completions.create(model="gpt-4.1-mini", messages=MESSAGES)
    assert info.value.status_code == 502
    assert info.value.code == "upstream_auth_failed"
    assert "not your key" in info.value.message


def test_upstream_unreachable_is_502(start_gateway, monkeypatch):
    dead = f"http://127.0.0.1:{free_port()}/v1"
    gw = start_gateway({"channels": [channel("dead", dead, ["m"])]})
    with pytest.raises(openai.APIStatusError) as info:
        gw.client().chat.completions.create(model="m", messages=MESSAGES)
    assert info.value.status_code == 502 and info.value.code == "upstream_unreachable"
    row = gw.log(info.value.response.headers["x-request-id"])
    assert row["channel"] == "dead" and "cannot connect" in row["attempts"]


def test_upstream_too_slow_is_504(start_gateway, upstream):
    upstream.delay_before_headers = 2.0
    gw = start_gateway(channel_config(upstream, timeouts={"first_byte": 0.5}))
    started = time.monotonic()
    with pytest.raises(openai.APIStatusError) as info:
        gw.client().chat.completions.create(model="gpt-4.1-mini", messages=MESSAGES)
    assert info.value.status_code == 504 and info.value.code == "upstream_timeout"
    assert time.monotonic() - started < 1.8


def test_stream_cut_midway_ends_with_an_error_event(proxied, upstream):
    upstream.cut_stream_after = 2
    stream = proxied.client().chat.completions.create(model="gpt-4.1-mini", messages=MESSAGES, stream=True)
    with pytest.raises(openai.APIError) as info:
        list(stream)
    assert "failed after the stream started" in info.value.message


def test_every_response_has_a_request_id(start_gateway):
    gw = start_gateway()
    for method, path in [("GET", "/api/v1/models"), ("POST", "/nowhere"), ("GET", "/healthz")]:
        assert raw_request(method, gw.root + path).headers["x-request-id"].startswith("req_")


def test_a_failed_attempt_leaves_no_cyclic_garbage(proxied, upstream):
    """A failed attempt is kept (to word the answer) without its traceback: with it, the attempt, its frames
    and the whole request's objects form a cycle that waits for the cyclic GC (bench/soak: hundreds of
    requests' worth at a time under load with upstream errors)."""
    from onegate.pipeline.exchange import AttemptFailed

    gc.collect()
    gc.disable()  # only reference counting may free what the request leaves
    try:
        upstream.fail_next(503, {"error": {"message": "overloaded", "type": "server_error"}})
        with pytest.raises(openai.InternalServerError):
            proxied.client().chat.completions.create(model="gpt-4.1-mini", messages=MESSAGES)
        time.sleep(0.05)  # the request's `finally` (its log row) runs after the answer
        left = [o for o in gc.get_objects() if isinstance(o, AttemptFailed)]
    finally:
        gc.enable()
    assert left == []
