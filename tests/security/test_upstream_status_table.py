"""Every upstream error status onegate distinguishes, as each dialect's caller sees it from the last channel.

An upstream 429 used to reach callers under whatever code the upstream's body named (a `server_error`
type became the code) and, once the channel was cooling, as a 503 `server_error`: SDKs and agents then
treat a rate limit as an outage. The table below is written out by hand (not computed from the code) so
a change to the mapping is a visible change here.
"""

from __future__ import annotations

import pytest

from tests.conftest import channel, raw_request

# upstream status → (caller's status, OpenAI type, code, Anthropic type); code None: the upstream's own
TABLE = {
    400: (400, "invalid_request_error", None, "invalid_request_error"),
    401: (502, "server_error", "upstream_auth_failed", "api_error"),
    403: (502, "server_error", "upstream_auth_failed", "api_error"),
    404: (404, "invalid_request_error", None, "not_found_error"),
    408: (504, "server_error", "upstream_timeout", "api_error"),
    409: (409, "invalid_request_error", None, "invalid_request_error"),
    413: (413, "invalid_request_error", None, "request_too_large"),
    422: (422, "invalid_request_error", None, "invalid_request_error"),
    429: (429, "rate_limit_error", "rate_limit_exceeded", "rate_limit_error"),
    500: (500, "server_error", None, "api_error"),
    501: (502, "server_error", None, "api_error"),
    502: (502, "server_error", None, "api_error"),
    503: (503, "server_error", None, "overloaded_error"),
    504: (504, "server_error", None, "api_error"),
    520: (502, "server_error", None, "api_error"),
    529: (529, "server_error", None, "overloaded_error"),
}
SURFACES = {
    "chat": ("/chat/completions", {"messages": [{"role": "user", "content": "hi"}]}),
    "messages": ("/messages", {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 16}),
    "responses": ("/responses", {"input": "hi"}),
}


@pytest.fixture
def only_channel(start_gateway, upstream):
    only = channel("only", upstream, ["gpt-4.1-mini"])
    # every status reaches the upstream: no breaker opens, and a 429's cooling is capped at 0 s
    routing = {"max_cooldown_seconds": 0, "breaker": {"min_failures": 100_000}}
    return start_gateway({"channels": [only], "routing": routing})


@pytest.mark.parametrize("surface", list(SURFACES))
def test_each_upstream_status_maps_to_its_code_in_the_callers_dialect(only_channel, upstream, surface):
    path, fields = SURFACES[surface]
    headers = {"authorization": f"Bearer {only_channel.key}"}
    for status, (shown, openai_type, code, anthropic_type) in TABLE.items():
        for stream in (False, True):
            # the type is what an upstream's code falls back to: a 429 that calls itself a server_error
            said = {"error": {"message": f"upstream says {status}", "type": "server_error", "code": f"up_{status}"}}
            upstream.fail_next(status, said, {"retry-after": "7"} if status == 429 else None)
            body = {"model": "gpt-4.1-mini", **fields, "stream": stream}
            response = raw_request("POST", only_channel.base_url + path, body, headers)
            where = f"{surface} upstream {status} stream={stream}: {response.body!r}"
            assert response.status == shown, where
            error = response.json()["error"]
            assert f"upstream says {status}" in error["message"], where
            if surface == "messages":
                assert response.json()["type"] == "error" and error["type"] == anthropic_type, where
            else:
                assert error["type"] == openai_type and error["code"] == (code or f"up_{status}"), where
            if status == 429:
                assert response.headers["retry-after"] == "7", where
            retryable = shown in (408, 409, 429) or shown >= 500  # SDKs retry these unless told not to
            assert (response.headers.get("x-should-retry") == "false") is not retryable, where


def test_a_channel_cooling_after_its_429_is_still_a_rate_limit_with_retry_after(start_gateway, upstream):
    gw = start_gateway({"channels": [channel("only", upstream, ["gpt-4.1-mini"])]})
    upstream.fail_next(429, {"error": {"message": "Rate limit reached", "type": "requests"}}, {"retry-after": "30"})
    body = {"model": "gpt-4.1-mini", "messages": [{"role": "user", "content": "hi"}]}
    headers = {"authorization": f"Bearer {gw.key}"}
    first = raw_request("POST", gw.base_url + "/chat/completions", body, headers)
    second = raw_request("POST", gw.base_url + "/chat/completions", body, headers)  # the channel is cooling now
    for response in (first, second):
        assert response.status == 429
        assert response.json()["error"]["code"] == "rate_limit_exceeded"
        assert 25 <= int(response.headers["retry-after"]) <= 30
    assert len(upstream.requests) == 1
