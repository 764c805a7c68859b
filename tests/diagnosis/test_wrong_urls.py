"""One test per wrong-URL pattern of docs/CLIENTS.md §6, with the path, query and headers the named client sends.

Strict mode answers every misconfigured path with a 404 in the caller's dialect that names the client,
the path that arrived and the exact base URL to set; lenient mode (the default) serves the unambiguous
ones and flags them. Either way the request log row carries the diagnosis code as `config_hint`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from onegate.server.routes import API_ROUTES
from tests.conftest import RawResponse, raw_request
from tests.diagnosis.clients import CHAT, CLAUDE_CODE_BODY, GEMINI_BODY, headers

STRICT = {"path_policy": "strict"}


def served(method: str, suffix: str) -> bool:
    return (method, suffix) in API_ROUTES


def error_message(response: RawResponse, family: str) -> str:
    """The error's message, after checking the body has exactly the caller's dialect shape."""
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    if family == "anthropic":
        assert body["type"] == "error" and set(body["error"]) == {"type", "message"}
        assert body["error"]["type"] == "not_found_error"
        return body["error"]["message"]
    if family == "gemini":
        assert set(body) == {"error"} and body["error"]["status"] == "NOT_FOUND" and body["error"]["code"] == 404
        return body["error"]["message"]
    assert set(body) == {"error"} and body["error"]["code"] == "unknown_url"
    assert body["error"]["type"] == "invalid_request_error"
    return body["error"]["message"]


@dataclass(frozen=True)
class Case:
    client: str
    method: str
    path: str  # with the query string the client adds
    code: str
    family: str
    fix: str  # what the message must say, with {root} for the server's address
    body: dict[str, Any] | None = None


STRICT_CASES = {
    # 1. website root typed as base URL: OpenAI-style clients append the endpoint to the bare host
    "1-root-chat-openai-python": Case(
        "openai-python",
        "POST",
        "/chat/completions",
        "path.missing_api_v1",
        "openai",
        "Set OpenAI Python SDK's base_url (or OPENAI_BASE_URL) to {root}/api/v1.",
        CHAT,
    ),
    "1-root-models-lobechat": Case(
        "lobechat", "GET", "/models", "path.missing_api_v1", "openai", "LobeChat's API proxy URL", None
    ),
    "1-root-responses-openai-node": Case(
        "openai-node",
        "POST",
        "/responses",
        "path.missing_api_v1",
        "openai",
        "baseURL (or OPENAI_BASE_URL) to {root}/api/v1",
        {"model": "onegate-selftest", "input": "hi"},
    ),
    # 4. https://HOST/api: Open WebUI's own API shape
    "4-api-without-v1-continue": Case(
        "continue",
        "POST",
        "/api/chat/completions",
        "path.missing_v1",
        "openai",
        "Continue's apiBase in config.yaml to {root}/api/v1",
        CHAT,
    ),
    "4-api-models-open-webui": Case(
        "open-webui", "GET", "/api/models", "path.missing_v1", "openai", "to {root}/api/v1", None
    ),
    # 5. old Cherry Studio adds /v1/ to …/api/v1
    "5-cherry-old-doubled-v1": Case(
        "cherry-studio-old",
        "POST",
        "/api/v1/v1/chat/completions",
        "path.doubled_v1",
        "openai",
        "Cherry Studio's API Host (Settings → Model Provider) to {root}/api/v1/ with the trailing slash",
        CHAT,
    ),
    "5-cherry-old-doubled-v1-models": Case(
        "cherry-studio-old",
        "GET",
        "/api/v1/v1/models",
        "path.doubled_v1",
        "openai",
        "or to {root}/api, which works in every version",
    ),
    # 6. the user added /v1 on top of /api/v1
    "6-user-doubled-v1": Case(
        "openai-python",
        "POST",
        "/api/v1/v1/chat/completions",
        "path.doubled_v1",
        "openai",
        "base_url (or OPENAI_BASE_URL) to {root}/api/v1.",
        CHAT,
    ),
    # 7. Claude Code with the OpenAI base: /api/v1 + /v1/messages
    "7-claude-code-base-with-v1": Case(
        "claude-code",
        "POST",
        "/api/v1/v1/messages?beta=true",
        "path.anthropic_base_has_v1",
        "anthropic",
        "Set ANTHROPIC_BASE_URL={root}/api.",
        CLAUDE_CODE_BODY,
    ),
    "7-claude-code-count-tokens": Case(
        "claude-code",
        "POST",
        "/api/v1/v1/messages/count_tokens?beta=true",
        "path.anthropic_base_has_v1",
        "anthropic",
        "Set ANTHROPIC_BASE_URL={root}/api.",
        {"model": "claude-sonnet-4-5", "messages": [{"role": "user", "content": "hi"}]},
    ),
    "7-anthropic-python-base-with-v1": Case(
        "anthropic-python",
        "POST",
        "/api/v1/v1/messages",
        "path.anthropic_base_has_v1",
        "anthropic",
        "Anthropic Python SDK's base_url (or ANTHROPIC_BASE_URL) to {root}/api.",
        CLAUDE_CODE_BODY,
    ),
    # 9. the Messages endpoint pasted into ANTHROPIC_BASE_URL
    "9-claude-code-endpoint-in-base": Case(
        "claude-code",
        "POST",
        "/api/v1/messages/v1/messages?beta=true",
        "path.endpoint_in_base",
        "anthropic",
        "the client appends /v1/messages itself",
        CLAUDE_CODE_BODY,
    ),
    # 10. the full chat endpoint pasted as base URL
    "10-endpoint-in-base-chat": Case(
        "openai-python",
        "POST",
        "/api/v1/chat/completions/chat/completions",
        "path.endpoint_in_base",
        "openai",
        "base_url (or OPENAI_BASE_URL) to {root}/api/v1.",
        CHAT,
    ),
    "10-endpoint-in-base-models": Case(
        "openai-node",
        "GET",
        "/api/v1/chat/completions/models",
        "path.endpoint_in_base",
        "openai",
        "the client appends /models itself",
    ),
    # 11. Chatbox: endpoint in API Path, host bare → models from the bare host
    "11-chatbox-api-path-models": Case(
        "chatbox",
        "GET",
        "/models",
        "path.chatbox_api_path",
        "openai",
        "Put {root}/api/v1 in API Host and leave API Path empty",
    ),
    # 12. Cherry Studio ≥1.7 `#` bugs: the endpoint doubled, or the request sent to the host itself
    "12-cherry-hash-doubled": Case(
        "cherry-studio",
        "POST",
        "/api/v1/chat/completions/chat/completions",
        "path.endpoint_in_base",
        "openai",
        "Cherry Studio's API Host (Settings → Model Provider) to {root}/api/v1.",
        CHAT,
    ),
    "12-cherry-hash-posted-to-base": Case(
        "cherry-studio", "POST", "/api/v1", "path.no_endpoint", "openai", "remove the # (API Host {root}/api/v1)", CHAT
    ),
    # 17. Gemini CLI with GOOGLE_GEMINI_BASE_URL=…/api/v1 (key in the query string: masked in the message)
    "17-gemini-cli-base-with-v1": Case(
        "gemini-cli",
        "POST",
        "/api/v1/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse",
        "path.gemini_base_has_v1",
        "gemini",
        "use an OpenAI-compatible client or provider type with base URL {root}/api/v1",
        GEMINI_BODY,
    ),
    # 18. a Gemini base that already has /v1beta (Cline/Roo Gemini providers add it), or none at all
    "18-gemini-doubled-v1beta": Case(
        "roo-code",
        "POST",
        "/api/v1beta/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse",
        "path.gemini_doubled_version",
        "gemini",
        "a Gemini client's base would be {root}/api, without /v1",
        GEMINI_BODY,
    ),
    "18-gemini-at-root": Case(
        "gemini-cli",
        "POST",
        "/models/gemini-2.5-pro:generateContent",
        "path.gemini_not_served",
        "gemini",
        "{root}/api/v1",
        GEMINI_BODY,
    ),
    # 19. Chatbox's Claude mode with a host without /v1: it appends only /messages
    "19-chatbox-claude-api": Case(
        "chatbox",
        "POST",
        "/api/messages",
        "path.chatbox_claude_needs_v1",
        "anthropic",
        "Chatbox's API Host (Settings → Model Provider) to {root}/api/v1.",
        CLAUDE_CODE_BODY,
    ),
    "19-chatbox-claude-root": Case(
        "chatbox",
        "POST",
        "/messages",
        "path.chatbox_claude_needs_v1",
        "anthropic",
        "Chatbox's API Host (Settings → Model Provider) to {root}/api/v1.",
        CLAUDE_CODE_BODY,
    ),
}


@pytest.mark.parametrize("case", STRICT_CASES.values(), ids=STRICT_CASES.keys())
def test_strict_mode_answers_each_wrong_url_with_the_fix_in_the_callers_dialect(start_gateway, case: Case):
    gw = start_gateway(STRICT)
    response = raw_request(case.method, gw.root + case.path, case.body, headers(case.client, gw.key))
    assert response.status == 404
    message = error_message(response, case.family)
    assert case.fix.format(root=gw.root) in message
    assert f"{case.method} {case.path.split('?')[0]}" in message  # the path that arrived
    assert response.headers["x-onegate-hint"].partition(";")[0] == case.code
    assert response.headers["x-should-retry"] == "false"
    row = gw.log(response.headers["x-request-id"])
    assert (row["config_hint"], row["status"], row["client_name"]) == (case.code, 404, _client_name(case.client))


def _client_name(client: str) -> str:
    return client.removesuffix("-old")


def test_strict_message_names_the_detected_client_and_its_version(start_gateway):
    gw = start_gateway(STRICT)
    case = STRICT_CASES["7-claude-code-base-with-v1"]
    response = raw_request(case.method, gw.root + case.path, case.body, headers(case.client, gw.key))
    message = error_message(response, "anthropic")
    assert message.startswith("onegate received POST /api/v1/v1/messages?beta=true from Claude Code 2.1.197.")


def test_gemini_key_in_the_query_string_is_masked_in_the_message(start_gateway):
    gw = start_gateway(STRICT)
    secret = "AIzaSyD-not-a-real-key-0000wxyz"
    path = f"/api/v1/v1beta/models/gemini-2.5-pro:generateContent?key={secret}"
    response = raw_request("POST", gw.root + path, GEMINI_BODY, headers("gemini-cli", None))
    message = error_message(response, "gemini")
    assert "key=…wxyz" in message and secret not in message
    assert secret not in gw.log(response.headers["x-request-id"])["error_message"]


LENIENT_CASES = {
    "1-root-chat": ("openai-python", "POST", "/chat/completions", "path.missing_api_v1", CHAT),
    "1-root-models": ("lobechat", "GET", "/models", "path.missing_api_v1", None),
    "4-api-without-v1": ("continue", "POST", "/api/chat/completions", "path.missing_v1", CHAT),
    "5-cherry-old-doubled-v1": ("cherry-studio-old", "POST", "/api/v1/v1/chat/completions", "path.doubled_v1", CHAT),
    "5-cherry-old-doubled-models": ("cherry-studio-old", "GET", "/api/v1/v1/models", "path.doubled_v1", None),
    "6-user-doubled-v1": ("openai-python", "POST", "/api/v1/v1/chat/completions", "path.doubled_v1", CHAT),
    "10-endpoint-in-base-chat": (
        "openai-python",
        "POST",
        "/api/v1/chat/completions/chat/completions",
        "path.endpoint_in_base",
        CHAT,
    ),
    "10-endpoint-in-base-models": (
        "openai-node",
        "GET",
        "/api/v1/chat/completions/models",
        "path.endpoint_in_base",
        None,
    ),
    "11-chatbox-models-from-bare-host": ("chatbox", "GET", "/models", "path.chatbox_api_path", None),
    "12-cherry-hash-doubled": (
        "cherry-studio",
        "POST",
        "/api/v1/chat/completions/chat/completions",
        "path.endpoint_in_base",
        CHAT,
    ),
    "x-model-by-id-under-api": ("openai-python", "GET", "/api/models/onegate-selftest", "path.missing_v1", None),
}


@pytest.mark.parametrize(("client", "method", "path", "code", "body"), LENIENT_CASES.values(), ids=LENIENT_CASES.keys())
def test_lenient_mode_serves_the_unambiguous_variant_and_flags_it(start_gateway, client, method, path, code, body):
    gw = start_gateway()
    response = raw_request(method, gw.root + path, body, headers(client, gw.key))
    assert response.status == 200, response.body
    assert response.headers["x-onegate-hint"].partition(";")[0] == code
    data = response.json()
    assert data["object"] in ("chat.completion", "list", "model")
    row = gw.log(response.headers["x-request-id"])
    assert row["config_hint"] == code and row["status"] == 200
    assert f"{code}: served as" in row["notes"] and f"{gw.root}/api" in row["notes"]


def test_lenient_mode_streams_on_a_misconfigured_path(start_gateway):
    gw = start_gateway()
    body = {**CHAT, "stream": True}
    response = raw_request("POST", gw.root + "/api/v1/v1/chat/completions", body, headers("openai-python", gw.key))
    assert response.status == 200 and response.headers["content-type"] == "text/event-stream"
    assert response.headers["x-onegate-hint"].partition(";")[0] == "path.doubled_v1"
    assert response.body.endswith(b"data: [DONE]\n\n")


@pytest.mark.parametrize(
    ("client", "path"),
    [
        ("cherry-studio", "/v1/chat/completions"),
        ("chatbox", "/v1/chat/completions"),
        ("openai-python", "/v1/chat/completions"),
    ],
    ids=["2-cherry-bare-host", "2-chatbox-bare-host", "3-host-slash-v1"],
)
def test_patterns_2_and_3_the_v1_alias_is_served_without_a_hint(start_gateway, client, path):
    gw = start_gateway(STRICT)  # an alias, not a misconfiguration: served even when strict
    response = raw_request("POST", gw.root + path, CHAT, headers(client, gw.key))
    assert response.status == 200 and "x-onegate-hint" not in response.headers
    models = raw_request("GET", gw.root + "/v1/models", None, headers(client, gw.key))
    assert models.status == 200 and models.json()["object"] == "list"
    assert gw.log(response.headers["x-request-id"])["config_hint"] is None


@pytest.mark.skipif(not served("POST", "/messages"), reason="the Messages route lands with branch anthropic")
@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("/api/v1/v1/messages?beta=true", "path.anthropic_base_has_v1"),
        ("/api/v1/messages/v1/messages?beta=true", "path.endpoint_in_base"),
    ],
    ids=["7-base-with-v1", "9-endpoint-in-base"],
)
def test_lenient_mode_serves_claude_code_on_a_wrong_anthropic_base(start_gateway, path, code):
    gw = start_gateway()
    body = {**CLAUDE_CODE_BODY, "model": "onegate-selftest"}
    response = raw_request("POST", gw.root + path, body, headers("claude-code", gw.key))
    assert response.status == 200 and response.headers["x-onegate-hint"].partition(";")[0] == code
    assert gw.log(response.headers["x-request-id"])["config_hint"] == code


def test_pattern_8_claude_code_on_the_bare_host_is_never_html(start_gateway):
    gw = start_gateway()
    body = {**CLAUDE_CODE_BODY, "model": "onegate-selftest"}
    response = raw_request("POST", gw.root + "/v1/messages?beta=true", body, headers("claude-code", gw.key))
    assert response.headers["content-type"] in ("application/json", "text/event-stream")
    if served("POST", "/messages"):  # `/v1` is an alias of `/api/v1`
        assert response.status == 200 and "x-onegate-hint" not in response.headers
    else:
        assert response.status == 404
        assert "does not serve /messages" in error_message(response, "anthropic")


def test_pattern_13_codex_chat_history_on_the_right_path_is_served(start_gateway):
    """Codex with the old wire_api="chat" errors locally now; older ones reach a correct path and are served."""
    gw = start_gateway()
    body = {
        "model": "onegate-selftest",
        "messages": [
            {"role": "user", "content": "list files"},
            {"role": "assistant", "content": None, "tool_calls": [_tool_call()]},
            {"role": "tool", "tool_call_id": "call_1", "content": "a.txt"},
        ],
    }
    response = raw_request("POST", gw.base_url + "/chat/completions", body, headers("codex", gw.key))
    assert response.status == 200 and "x-onegate-hint" not in response.headers


def _tool_call() -> dict[str, Any]:
    return {"id": "call_1", "type": "function", "function": {"name": "shell", "arguments": '{"cmd":"ls"}'}}


def test_pattern_14_responses_on_the_right_base(start_gateway):
    gw = start_gateway()
    body = {"model": "onegate-selftest", "input": "say hi", "stream": True}
    response = raw_request("POST", gw.base_url + "/responses", body, headers("codex", gw.key))
    if served("POST", "/responses"):
        assert response.status == 200
    else:
        assert response.status == 404
        message = error_message(response, "openai")
        assert "does not serve /responses" in message and f"{gw.root}/api/v1" in message


def test_pattern_15_cursor_responses_body_on_chat_completions_says_why(start_gateway):
    gw = start_gateway()
    body = {
        "model": "gpt-5.5",
        "input": [{"role": "user", "content": [{"type": "input_text", "text": "hi"}]}],
        "stream": True,
        "include": ["reasoning.encrypted_content"],
        "reasoning": {"effort": "low"},
        "text": {"verbosity": "low"},
        "stream_options": {"include_usage": True},
    }
    response = raw_request("POST", gw.base_url + "/chat/completions", body, headers("cursor", gw.key))
    if response.status == 400:  # until Responses-shaped bodies are translated on /chat/completions
        message = response.json()["error"]["message"]
        assert "Responses API format" in message and "Cursor" in message
        assert response.headers["x-onegate-hint"].partition(";")[0] == "body.responses_on_chat"
        assert gw.log(response.headers["x-request-id"])["config_hint"] == "body.responses_on_chat"
    else:
        assert response.status in (200, 404)  # translated, or gpt-5.5 is not a model here


API_SHAPED = [
    ("POST", "/"),
    ("POST", "/api"),
    ("GET", "/api/v1"),
    ("POST", "/anything/else"),
    ("DELETE", "/chat/completions"),
    ("GET", "/api/v1/nonsense"),
    ("POST", "/api/v2/chat/completions"),
]


@pytest.mark.parametrize(("method", "path"), API_SHAPED)
def test_an_api_shaped_request_never_gets_html_or_200(start_gateway, method, path):
    gw = start_gateway(STRICT)
    response = raw_request(method, gw.root + path, CHAT if method == "POST" else None, headers("openai-python", gw.key))
    assert response.status >= 400 and response.headers["content-type"] == "application/json"
    assert b"<html" not in response.body.lower()


def test_lenient_mode_serves_claude_codes_token_count_and_model_discovery_on_a_wrong_base(start_gateway):
    gw = start_gateway()
    sent = headers("claude-code", gw.key)
    count = raw_request(
        "POST",
        gw.root + "/api/v1/v1/messages/count_tokens?beta=true",
        {"model": "onegate-selftest", "messages": [{"role": "user", "content": "hi"}]},
        sent,
    )
    assert count.status == 200 and "input_tokens" in count.json()
    assert count.headers["x-onegate-hint"].partition(";")[0] == "path.anthropic_base_has_v1"
    models = raw_request("GET", gw.root + "/api/v1/v1/models?limit=1000", None, sent)
    assert models.status == 200 and models.json()["data"][0]["type"] == "model"  # Anthropic's list shape
    assert models.headers["x-onegate-hint"].partition(";")[0] == "path.anthropic_base_has_v1"


SELFTEST_MESSAGES = {**CLAUDE_CODE_BODY, "model": "onegate-selftest"}


def test_hint_header_carries_the_fix_in_plain_ascii_after_the_code(start_gateway):
    """Whoever sees only the header (a proxy log, curl -i, a screenshot) can act on it."""
    gw = start_gateway()
    response = raw_request("POST", gw.root + "/chat/completions", CHAT, headers("openai-python", gw.key))
    assert response.status == 200
    code, fix = response.headers["x-onegate-hint"].split("; ", 1)
    assert code == "path.missing_api_v1" and fix.endswith(f"to {gw.root}/api/v1")
    # Claude Code with the OpenAI base: the fix names its variable; Chatbox: its field, arrow made ASCII
    claude = raw_request(
        "POST", gw.root + "/api/v1/v1/messages?beta=true", SELFTEST_MESSAGES, headers("claude-code", gw.key)
    )
    assert claude.headers["x-onegate-hint"] == f"path.anthropic_base_has_v1; Set ANTHROPIC_BASE_URL={gw.root}/api"
    chatbox = raw_request("POST", gw.root + "/api/messages", SELFTEST_MESSAGES, headers("chatbox", gw.key))
    field = "Chatbox's API Host (Settings -> Model Provider)"  # the arrow, in ASCII
    assert chatbox.headers["x-onegate-hint"] == f"path.chatbox_claude_needs_v1; Set {field} to {gw.root}/api/v1"
    assert gw.log(response.headers["x-request-id"])["config_hint"] == "path.missing_api_v1"  # the log keeps the code
