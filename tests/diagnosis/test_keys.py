"""Key diagnosis: each way a key goes wrong gets a 401 saying what arrived (masked) and what to change."""

from __future__ import annotations

import time

import pytest

from onegate.diagnosis.clients import ClientInfo, identify_client
from onegate.diagnosis.keys import diagnose_key
from onegate.keys.failures import FailurePenalty
from onegate.server.routes import API_ROUTES
from tests.conftest import raw_request
from tests.diagnosis.clients import CHAT, CLAUDE_CODE_BODY, headers

OAUTH = "sk-ant-oat01-Zq3dLx8vN2mK5pR7tY9wB4cF6hJ1aS0eG3iU8oQ2-xyzAAAA"
CASES = [
    # (id, headers as sent, query, code, missing, text the message must contain)
    ("no-key", {}, "", "key.missing", True, "Authorization: Bearer, x-api-key, api-key and x-goog-api-key"),
    ("empty-bearer", {"authorization": "Bearer "}, "", "key.empty", True, "Authorization: Bearer header was sent"),
    ("basic-scheme", {"authorization": "Basic dXNlcjpwYXNz"}, "", "key.wrong_scheme", True, "the Basic scheme"),
    (
        "no-bearer-word",
        {"authorization": "sk-og-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1234"},
        "",
        "key.missing_bearer",
        True,
        "(…1234) without the word Bearer",
    ),
    (
        "unread-header",
        {"api_key": "sk-og-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1234"},
        "",
        "key.unread_header",
        True,
        "in the api_key header, which onegate does not read",
    ),
    ("key-in-query", {}, "key=AIzaSyD-not-a-real-key-0000wxyz", "key.in_query", True, "?key=, which onegate"),
    ("not-provided", {"authorization": "Bearer not-provided"}, "", "key.placeholder", True, "'not-provided'"),
    ("your-api-key", {"authorization": "Bearer YOUR_API_KEY"}, "", "key.placeholder", True, "'YOUR_API_KEY'"),
    ("sk-xxx", {"x-api-key": "sk-xxxxxxxx"}, "", "key.placeholder", True, "onegate read it from the x-api-key header"),
    ("env-var", {"authorization": "Bearer $ONEGATE_API_KEY"}, "", "key.unexpanded_variable", True, "never filled in"),
    (
        "bearer-twice",
        {"authorization": "Bearer Bearer sk-og-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1234"},
        "",
        "key.bearer_doubled",
        False,
        "'Bearer Bearer …1234'",
    ),
    (
        "quoted",
        {"authorization": 'Bearer "sk-og-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1234"'},
        "",
        "key.quoted",
        False,
        '("…1234")',
    ),
    (
        "space-inside",
        {"authorization": "Bearer sk-og-aaaaaaaaaaaaaaaaaaaa aaaaaaaaaaaaaaaaaaaa1234"},
        "",
        "key.whitespace",
        False,
        "contains spaces",
    ),
    ("claude-ai-login", {"authorization": f"Bearer {OAUTH}"}, "", "key.claude_oauth", False, "sk-ant-oat…AAAA"),
    (
        "openai-project-key",
        {"authorization": "Bearer sk-proj-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdEFGH"},
        "",
        "key.vendor_openai",
        False,
        "This is an API key from OpenAI (sk-proj-…EFGH)",
    ),
    (
        "openai-legacy-key",
        {"authorization": "Bearer sk-" + "A1b2C3d4E5" * 4 + "F6g7H8i9"},
        "",
        "key.vendor_openai",
        False,
        "(sk-…H8i9)",
    ),
    (
        "anthropic-key",
        {"x-api-key": "sk-ant-api03-" + "x" * 80 + "-QQQQ"},
        "",
        "key.vendor_anthropic",
        False,
        "from Anthropic (sk-ant-api…QQQQ)",
    ),
    (
        "google-key",
        {"x-goog-api-key": "AIzaSyD4f9GqV3mN8kL2pX7wR1tY6uZ0oB5cE3d"},
        "",
        "key.vendor_google",
        False,
        "from Google (Gemini) (AIza…cE3d)",
    ),
    (
        "deepseek-key",
        {"authorization": "Bearer sk-0123456789abcdef0123456789abcdef"},
        "",
        "key.vendor_deepseek",
        False,
        "from DeepSeek (sk-…cdef)",
    ),
    (
        "truncated-onegate-key",
        {"authorization": "Bearer sk-og-abcdefghijklmnop1234"},
        "",
        "key.truncated",
        False,
        "is 26 characters long, but onegate keys have 46",
    ),
    (
        "unknown-onegate-key",
        {"authorization": "Bearer sk-og-" + "q" * 36 + "9876"},
        "",
        "key.unknown",
        False,
        "sk-og-…9876 is not known to this server",
    ),
    ("other-key", {"authorization": "Bearer my-company-token-5555"}, "", "key.invalid", False, "(…5555)"),
]


@pytest.mark.parametrize(
    ("sent", "query", "code", "missing", "needle"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_each_key_mistake_has_its_own_code_and_masked_message(sent, query, code, missing, needle):
    from onegate.pipeline.authenticate import extract_token

    token, header = extract_token(sent)
    finding = diagnose_key(sent, query, token, header, identify_client(sent))
    assert (finding.code, finding.missing) == (code, missing)
    assert needle in finding.message
    for value in [*sent.values(), query]:  # never the secret itself
        secret = value.removeprefix("Bearer ").strip('"').removeprefix("key=")
        if len(secret) > 12 and not secret.startswith("$"):
            assert secret not in finding.message


@pytest.mark.parametrize(
    ("client", "fix"),
    [
        (ClientInfo("roo-code", "3.25.1", ""), "Put your onegate key (sk-og-…) in Roo Code's API Key (API Provider"),
        (ClientInfo("cursor", "1.2.4", ""), "Cursor's OpenAI API Key (Cursor Settings → Models → API Keys)"),
        (ClientInfo("claude-code", "2.1.197", ""), "Set ANTHROPIC_AUTH_TOKEN to your onegate key"),
        (ClientInfo("unknown", "", ""), "in your client's API key setting"),
    ],
)
def test_the_fix_names_where_this_client_takes_its_key(client, fix):
    finding = diagnose_key(
        {"authorization": "Bearer nope-nope-nope-1234"}, "", "nope-nope-nope-1234", "authorization", client
    )
    assert fix in finding.message


def test_the_message_is_available_in_chinese():
    finding = diagnose_key({}, "", None, None, ClientInfo("cherry-studio", "", ""), lang="zh")
    assert "请求里没有 API 密钥" in finding.message and "Cherry Studio 的 API 密钥" in finding.message


def test_pattern_21_roo_code_without_a_key_is_told_so(start_gateway):
    gw = start_gateway()
    sent = headers("roo-code", "not-provided")
    response = raw_request("POST", gw.base_url + "/chat/completions", CHAT, sent)
    assert response.status == 401
    error = response.json()["error"]
    assert error["code"] == "missing_api_key"
    assert "no API key is configured in Roo Code" in error["message"]
    assert "Roo Code's API Key (API Provider: OpenAI Compatible)" in error["message"]
    assert response.headers["x-onegate-hint"].partition(";")[0] == "key.placeholder_roo"
    assert gw.log(response.headers["x-request-id"])["config_hint"] == "key.placeholder_roo"


def test_pattern_20_claude_code_sending_its_claude_ai_login_gets_a_401_it_prints(start_gateway):
    """Claude Code prints a 401's message (it hides a 404's): the diagnosis rides on the 401."""
    gw = start_gateway()
    response = raw_request("GET", gw.base_url + "/models?limit=1000", None, headers("claude-code", OAUTH))
    assert response.status == 401
    message = response.json()["error"]["message"]
    assert "Claude.ai login token (sk-ant-oat…AAAA)" in message
    assert "Set ANTHROPIC_AUTH_TOKEN to your onegate key (sk-og-…) and ANTHROPIC_API_KEY to an empty string" in message
    assert OAUTH not in message and OAUTH[:-4] not in str(gw.log(response.headers["x-request-id"]))


@pytest.mark.skipif(("POST", "/messages") not in API_ROUTES, reason="the Messages route lands with branch anthropic")
def test_pattern_20_on_the_messages_route_is_anthropic_shaped(start_gateway):
    gw = start_gateway()
    response = raw_request("POST", gw.base_url + "/messages?beta=true", CLAUDE_CODE_BODY, headers("claude-code", OAUTH))
    body = response.json()
    assert response.status == 401 and body["type"] == "error"
    assert body["error"]["type"] == "authentication_error" and "sk-ant-oat…AAAA" in body["error"]["message"]


def test_repeated_failures_from_one_address_are_slowed_and_valid_keys_are_not(start_gateway):
    gw = start_gateway()
    bad = headers("openai-python", "sk-og-" + "z" * 40)
    timings = []
    for _ in range(6):
        started = time.monotonic()
        assert raw_request("GET", gw.base_url + "/models", None, bad).status == 401
        timings.append(time.monotonic() - started)
    assert max(timings[:3]) < 0.2  # a few mistakes cost nothing
    assert timings[3] >= 0.24 and timings[4] >= 0.49 and timings[5] >= 0.99  # then each waits longer
    started = time.monotonic()
    assert raw_request("GET", gw.base_url + "/models", None, headers("openai-python", gw.key)).status == 200
    assert time.monotonic() - started < 0.2


def test_failure_penalty_doubles_caps_and_forgets():
    penalty = FailurePenalty(free=2, base_delay=0.5, max_delay=1.5, forget_after=60)
    delays = [penalty.record_failure("10.0.0.1", now=t) for t in range(6)]
    assert delays == [0, 0, 0.5, 1.0, 1.5, 1.5]  # never answered faster than the failure before
    assert penalty.record_failure("10.0.0.2", now=6) == 0  # per address
    assert penalty.record_failure("10.0.0.1", now=100) == 0  # a quiet minute forgets the streak


def test_failure_penalty_memory_is_bounded():
    penalty = FailurePenalty(max_addresses=100)
    for i in range(1000):
        penalty.record_failure(f"10.0.{i // 256}.{i % 256}", now=float(i) / 1000)
    assert len(penalty._streaks) <= 100


def test_key_hint_header_says_where_to_put_the_key(start_gateway):
    gw = start_gateway()
    response = raw_request("POST", gw.base_url + "/chat/completions", CHAT, headers("roo-code", "not-provided"))
    hint = response.headers["x-onegate-hint"]
    field = "Roo Code's API Key (API Provider: OpenAI Compatible)"
    assert hint.isascii() and hint == f"key.placeholder_roo; Put your onegate key (sk-og-...) in {field}"
