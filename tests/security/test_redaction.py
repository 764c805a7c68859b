"""The cleaning every upstream word goes through (`UpstreamText.clean`), case by case."""

from __future__ import annotations

import orjson
import pytest

from onegate.redaction import ECHO_SCAN_BYTES, UPSTREAM_TEXT_LIMIT, UpstreamText, drop_request_echoes

KEY = "opaque-credential-0123456789abcdef"
TEXT = UpstreamText((KEY,))


@pytest.mark.parametrize(
    "said",
    [
        f"Incorrect API key provided: {KEY}.",
        f"key ...{KEY[-8:]} is not valid",
        "Authorization: Bearer some-other-token-value",
        '{"x-api-key": "whatever-it-was"}',
        "api_key=abcdef123456",
        "sk-proj-AbCdEf0123456789xyz was refused",
        "sk-ant-api03-AbCdEf0123456789 was refused",
        "AIzaSyA0123456789abcdefghijklmnop is invalid",
        "cannot connect to https://user:hunter2hunter2@proxy.example/v1",
    ],
)
def test_credentials_in_upstream_words_are_redacted(said):
    cleaned = TEXT.clean(said)
    assert "[redacted]" in cleaned
    for secret in (KEY, KEY[-8:], "some-other-token-value", "whatever-it-was", "abcdef123456", "hunter2hunter2"):
        assert secret not in cleaned
    assert "AbCdEf0123456789" not in cleaned and "AIzaSy" not in cleaned


def test_an_html_error_page_is_reduced_to_its_words():
    page = (
        "<!DOCTYPE html><html><head><style>body{color:red}</style><script>var k='x';</script></head>"
        "<body><h1>502 Bad Gateway</h1><p>cloudflare &amp; friends</p><!-- origin 10.0.0.1 --></body></html>"
    )
    assert TEXT.clean(page) == "502 Bad Gateway cloudflare & friends"


def test_a_json_message_keeps_its_angle_brackets():
    assert TEXT.clean("max_tokens must be < 4096 and > 0") == "max_tokens must be < 4096 and > 0"


def test_control_characters_are_flattened_and_the_text_capped():
    cleaned = TEXT.clean("line one\r\nCRITICAL: forged\x1b[31m" + "x" * 5000)
    assert "\n" not in cleaned and "\r" not in cleaned and "\x1b" not in cleaned
    assert len(cleaned) == UPSTREAM_TEXT_LIMIT and cleaned.endswith("…")


def test_what_the_upstream_quotes_of_the_request_is_cut():
    request = orjson.dumps(
        {"messages": [{"role": "user", "content": "a secret plan that must never be logged anywhere"}]}
    )
    said = "Invalid message 'a secret plan that must never be logged anywhere': too short"
    assert TEXT.clean(said, request) == "Invalid message '[request text]': too short"
    assert TEXT.clean("context length exceeded: 9000 > 8192 tokens", request) == (
        "context length exceeded: 9000 > 8192 tokens"
    )


def test_a_huge_request_is_searched_only_at_its_head_and_tail():
    tail = b"the last message, quoted by the upstream in its error"
    request = b"x" * (3 * ECHO_SCAN_BYTES) + tail
    assert drop_request_echoes("bad: " + tail.decode(), request) == "bad: [request text]"
