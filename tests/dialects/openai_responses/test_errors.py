"""Responses failure codes are those Codex acts on, and a rate limit always says when to retry."""

from __future__ import annotations

import pytest

from onegate import errors
from onegate.dialects.openai_responses.errors import failure_of
from onegate.errors import GatewayError


@pytest.mark.parametrize(
    ("kind", "message", "code"),
    [
        (errors.upstream_kind(400, "context_length_exceeded"), "too long", "context_length_exceeded"),
        (
            errors.UPSTREAM_BAD_RESPONSE,
            "reported an error: maximum context length is 8192 tokens",
            "context_length_exceeded",
        ),
        (errors.upstream_kind(429, "insufficient_quota"), "You exceeded your current quota", "insufficient_quota"),
        (errors.upstream_kind(402, None), "Insufficient balance", "insufficient_quota"),
        (errors.UPSTREAM_BAD_RESPONSE, "the upstream sent nothing for 120 s", "server_error"),
    ],
)
def test_failure_codes_are_those_codex_acts_on(kind, message, code):
    assert failure_of(GatewayError(kind, message))["code"] == code


def test_rate_limit_failure_always_tells_codex_when_to_retry():
    limited = GatewayError(errors.upstream_kind(429, None), "Too many requests.", headers={"Retry-After": "7"})
    assert failure_of(limited) == {
        "code": "rate_limit_exceeded",
        "message": "Too many requests. Please try again in 7s.",
    }
    already = GatewayError(errors.UPSTREAM_BAD_RESPONSE, "rate limit reached, please try again in 1.5s.")
    assert failure_of(already)["message"] == already.message
