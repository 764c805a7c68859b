"""Attack: a body of the right JSON but the wrong shape makes onegate answer 500 with a traceback.

Each case found by the security review is sent to every surface it applies to, stream and not, on a
pass-through pair and a translated pair: the answer is a 400 in the caller's dialect naming the field.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
import pytest

from onegate.dialects.schema import MAX_DEPTH, MAX_MODEL_NAME
from tests.fakes.anthropic_upstream import FakeAnthropicUpstream
from tests.security.harness import (
    EMBEDDING_MODEL,
    PASSTHROUGH_ANTHROPIC,
    PASSTHROUGH_OPENAI,
    InProcessGateway,
    assert_in_dialect,
)

DEEP = "__deep__"  # replaced by JSON nested 300 levels deep (orjson cannot even write that)
DEEP_JSON = b'{"a":' * 300 + b"1" + b"}" * 300
USER = [{"role": "user", "content": "hi"}]

# surface → (path, dialect family, (pass-through model, translated model or None), base body)
SURFACES: dict[str, tuple[str, str, tuple[str, str | None], dict[str, Any]]] = {
    "chat": ("/api/v1/chat/completions", "openai", (PASSTHROUGH_OPENAI, PASSTHROUGH_ANTHROPIC), {"messages": USER}),
    "messages": (
        "/api/v1/messages",
        "anthropic",
        (PASSTHROUGH_ANTHROPIC, PASSTHROUGH_OPENAI),
        {"max_tokens": 16, "messages": USER},
    ),
    "count_tokens": (
        "/api/v1/messages/count_tokens",
        "anthropic",
        (PASSTHROUGH_ANTHROPIC, PASSTHROUGH_OPENAI),
        {"messages": USER},
    ),
    "responses": ("/api/v1/responses", "openai", (PASSTHROUGH_OPENAI, PASSTHROUGH_ANTHROPIC), {"input": "hi"}),
    "embeddings": ("/api/v1/embeddings", "openai", (EMBEDDING_MODEL, None), {"input": "hi"}),
    "completions": ("/api/v1/completions", "openai", (PASSTHROUGH_OPENAI, None), {"prompt": "hi"}),
    "images": ("/api/v1/images/generations", "openai", ("onegate-selftest-image", None), {"prompt": "hi"}),
    "videos": ("/api/v1/videos", "openai", ("onegate-selftest-video", None), {"prompt": "hi"}),
}

Mutation = Callable[[dict[str, Any]], None]


def _set(**fields: Any) -> Mutation:
    return lambda body: body.update(fields)


def _content(value: Any) -> Mutation:
    return lambda body: body.update(messages=[{"role": "user", "content": value}])


def _responses_on_chat(body: dict[str, Any]) -> None:
    body.pop("messages")
    body["input"] = [1]


LONG_MODEL = "m" * (MAX_MODEL_NAME + 1)
EVERY = ("chat", "messages", "count_tokens", "responses", "embeddings", "completions", "images", "videos")

# (surfaces, case, mutation, the field the error names; None: the depth error, which names none)
CASES: list[tuple[tuple[str, ...], str, Mutation, str | None]] = [
    (EVERY, "deep_unknown_field", _set(extra=DEEP), None),
    (
        ("chat",),
        "deep_tool_parameters",
        _set(tools=[{"type": "function", "function": {"name": "f", "parameters": DEEP}}]),
        None,
    ),
    (("messages", "count_tokens"), "deep_input_schema", _set(tools=[{"name": "f", "input_schema": DEEP}]), None),
    (("responses",), "deep_metadata", _set(metadata=DEEP), None),
    (("chat", "messages", "count_tokens"), "messages_of_numbers", _set(messages=[1]), "messages[0]"),
    (("chat", "messages", "count_tokens"), "content_number", _content(5), "messages[0].content"),
    (("chat", "messages", "count_tokens"), "content_of_numbers", _content([1]), "messages[0].content[0]"),
    (("chat", "messages", "count_tokens"), "content_of_nulls", _content([None]), "messages[0].content[0]"),
    (("chat", "messages", "count_tokens", "responses"), "tools_string", _set(tools="x"), "tools"),
    (("messages", "count_tokens"), "system_number", _set(system=5), "system"),
    (("responses",), "input_of_numbers", _set(input=[1]), "input[0]"),
    (("responses",), "input_item_content_number", _set(input=[{"content": 5}]), "input[0].content"),
    (("responses",), "tools_of_numbers", _set(tools=[1]), "tools[0]"),
    (("responses",), "tools_abc", _set(tools="abc"), "tools"),
    (("chat",), "responses_shaped_input_of_numbers", _responses_on_chat, "input[0]"),
    (EVERY, "model_too_long", _set(model=LONG_MODEL), "model"),
    (("chat", "embeddings", "completions"), "stream_options_number", _set(stream_options=5), "stream_options"),
    (("images", "videos"), "prompt_number", _set(prompt=5), "prompt"),
    (("images",), "n_string", _set(n="two"), "n"),
    (("videos",), "seconds_list", _set(seconds=[4]), "seconds"),
    (("videos",), "callback_url_number", _set(callback_url=5), "callback_url"),
]


def _params() -> list[Any]:
    params = []
    for surfaces, case, mutation, field in CASES:
        for surface in surfaces:
            path, family, models, base = SURFACES[surface]
            for pair, model in zip(("passthrough", "translated"), models, strict=True):
                if model is None:
                    continue
                for stream in (False, True):
                    if stream and surface in ("count_tokens", "embeddings", "videos"):
                        continue
                    body = {"model": model, **base}
                    if stream:
                        body["stream"] = True
                    mutation(body)
                    name = f"{surface}-{case}-{pair}-{'stream' if stream else 'whole'}"
                    params.append(pytest.param(path, family, body, field, id=name))
    return params


def _encode(body: dict[str, Any]) -> bytes:
    return orjson.dumps(body).replace(orjson.dumps(DEEP), DEEP_JSON)


@pytest.mark.parametrize(("path", "family", "body", "field"), _params())
def test_malformed_body_is_a_400_in_the_callers_dialect(
    in_process: InProcessGateway, fakes: None, path: str, family: str, body: dict[str, Any], field: str | None
) -> None:
    answer = in_process.post(path, _encode(body))
    assert answer.status == 400, answer
    assert_in_dialect(answer, family)
    error = answer.json()["error"]
    if field is None:
        assert f"deeper than {MAX_DEPTH} levels" in error["message"]
    else:
        assert error["message"].startswith(f"{field}: "), error
        if family == "openai":
            assert error["param"] == field


def test_the_server_still_serves_after_the_malformed_bodies(in_process: InProcessGateway, fakes: None) -> None:
    answer = in_process.post("/api/v1/chat/completions", {"model": PASSTHROUGH_OPENAI, "messages": USER})
    assert answer.status == 200, answer
    translated = in_process.post("/api/v1/messages", {"model": PASSTHROUGH_OPENAI, "max_tokens": 16, "messages": USER})
    assert translated.status == 200, translated


def _depth(value: Any) -> int:
    children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else None
    return 0 if children is None else 1 + max((_depth(v) for v in children), default=0)


def test_json_nested_to_the_limit_is_served(in_process: InProcessGateway, fakes: None) -> None:
    """The bound is the stated one: a body nested exactly MAX_DEPTH levels reaches the upstream, one more does not."""
    schema: dict[str, Any] = {"type": "string", "enum": ["x"]}
    leaf = schema
    tools = [{"type": "function", "function": {"name": "f", "parameters": schema}}]
    body = {"model": PASSTHROUGH_OPENAI, "messages": USER, "tools": tools}
    while _depth(body) < MAX_DEPTH:
        schema = tools[0]["function"]["parameters"] = {"type": "object", "properties": {"a": schema}}
    assert _depth(body) == MAX_DEPTH
    assert in_process.post("/api/v1/chat/completions", body).status == 200
    leaf["enum"] = [["x"]]
    assert _depth(body) == MAX_DEPTH + 1
    assert in_process.post("/api/v1/chat/completions", body).status == 400


def test_deep_json_inside_tool_call_arguments_is_not_forwarded(
    in_process: InProcessGateway, anthropic_upstream: FakeAnthropicUpstream, fakes: None
) -> None:
    """Arguments are a string, so the decode check cannot see into them; translation to Messages parses them."""
    deep = (DEEP_JSON[:-300] + b"}" * 300).decode()  # 300 levels, written as a string
    call = {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": deep}}
    history = [*USER, {"role": "assistant", "content": None, "tool_calls": [call]}]
    history.append({"role": "tool", "tool_call_id": "call_1", "content": "done"})
    answer = in_process.post("/api/v1/chat/completions", {"model": PASSTHROUGH_ANTHROPIC, "messages": history})
    assert answer.status == 200, answer
    sent = anthropic_upstream.requests[-1].json["messages"][1]["content"][0]
    assert sent["type"] == "tool_use" and sent["input"] == {}


def test_a_model_id_in_the_path_past_the_limit_is_a_400(in_process: InProcessGateway, fakes: None) -> None:
    headers = {"authorization": f"Bearer {in_process.key}"}
    answer = in_process.call("GET", "/api/v1/models/" + LONG_MODEL, headers=headers)
    assert answer.status == 400, answer
    assert_in_dialect(answer, "openai")
    assert answer.json()["error"]["param"] == "model"


# What real clients send beyond the fields onegate reads: the schemas must not refuse any of it.
CACHE = {"type": "ephemeral"}
CLAUDE_CODE_HISTORY: dict[str, Any] = {
    "max_tokens": 64,
    "system": [{"type": "text", "text": "You are Claude Code.", "cache_control": CACHE}],
    "thinking": {"type": "adaptive"},
    "context_management": {"edits": [{"type": "clear_thinking_20251015", "keep": "all"}]},
    "metadata": {"user_id": '{"device_id":"d","session_id":"s"}'},
    "tools": [
        {"name": "Bash", "description": "Run", "input_schema": {"type": "object"}, "cache_control": CACHE},
        {"type": "web_search_20250305", "name": "web_search", "max_uses": 5},
    ],
    "messages": [
        {
            "role": "user",
            "content": [{"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "d"}}],
        },
        {
            "role": "assistant",
            "content": [
                {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {"query": "q"}},
                {
                    "type": "web_search_tool_result",
                    "tool_use_id": "srvtoolu_1",
                    "content": {"type": "web_search_tool_result_error", "error_code": "max_uses_exceeded"},
                },
                {"type": "tool_use", "id": "toolu_1", "name": "Bash", "input": {"command": "ls"}},
            ],
        },
        {
            "role": "user",
            "content": [
                {
                    "type": "tool_result",
                    "tool_use_id": "toolu_1",
                    "content": [{"type": "search_result", "source": "https://x.test", "title": "t", "content": []}],
                },
                {"type": "text", "text": "go on", "cache_control": CACHE},
            ],
        },
    ],
}
CHAT_EXTRAS: dict[str, Any] = {
    "messages": [
        {"role": "developer", "content": "Be brief.", "name": "ops"},
        {"role": "user", "content": [{"type": "text", "text": "hi"}, {"type": "file", "file": {"file_id": "f"}}]},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}],
        },
        {"role": "tool", "tool_call_id": "c1", "content": [{"type": "text", "text": "ok"}]},
    ],
    "tools": [{"type": "function", "function": {"name": "f", "strict": True, "parameters": {"type": "object"}}}],
    "temperature": 1,
    "max_completion_tokens": 32,
    "seed": 7,
    "logprobs": False,
    "n": 1,
    "stream_options": {"include_usage": True},
}
CODEX_HISTORY: dict[str, Any] = {
    "instructions": "You are Codex.",
    "input": [
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "fix it"}]},
        {
            "type": "reasoning",
            "id": "rs_1",
            "summary": [{"type": "summary_text", "text": "t"}],
            "encrypted_content": None,
        },
        {
            "type": "function_call",
            "id": "fc_1",
            "status": "completed",
            "call_id": "c1",
            "name": "shell",
            "arguments": "{}",
        },
        {"type": "function_call_output", "call_id": "c1", "output": "done"},
        {"type": "custom_tool_call", "call_id": "c2", "name": "apply_patch", "input": "*** Begin Patch"},
        {"type": "custom_tool_call_output", "call_id": "c2", "output": "ok"},
        {
            "type": "local_shell_call",
            "call_id": "c3",
            "status": "completed",
            "action": {"type": "exec", "command": ["ls"]},
        },
        {
            "type": "computer_call_output",
            "call_id": "c4",
            "output": {"type": "computer_screenshot", "image_url": "https://x.test"},
        },
    ],
    "tools": [
        {"type": "function", "name": "shell", "strict": False, "parameters": {"type": "object"}},
        {"type": "custom", "name": "apply_patch", "format": {"type": "grammar", "syntax": "lark", "definition": "x"}},
        {"type": "namespace", "name": "ns", "description": "d", "tools": [{"type": "function", "name": "g"}]},
        {"type": "web_search"},
        {"type": "mcp", "server_label": "m", "server_url": "https://x.test", "require_approval": "never"},
    ],
    "include": ["reasoning.encrypted_content"],
    "text": {"verbosity": "low"},
    "prompt_cache_key": "k",
    "store": False,
    "reasoning": {"effort": "medium", "summary": "auto"},
}


@pytest.mark.parametrize(
    ("path", "body"),
    [
        pytest.param("/api/v1/messages", {"model": PASSTHROUGH_ANTHROPIC, **CLAUDE_CODE_HISTORY}, id="claude-code"),
        pytest.param(
            "/api/v1/messages", {"model": PASSTHROUGH_OPENAI, **CLAUDE_CODE_HISTORY}, id="claude-code-translated"
        ),
        pytest.param("/api/v1/messages/count_tokens", {"model": PASSTHROUGH_OPENAI, **CLAUDE_CODE_HISTORY}, id="count"),
        pytest.param("/api/v1/chat/completions", {"model": PASSTHROUGH_OPENAI, **CHAT_EXTRAS}, id="chat"),
        pytest.param("/api/v1/chat/completions", {"model": PASSTHROUGH_ANTHROPIC, **CHAT_EXTRAS}, id="chat-translated"),
        pytest.param("/api/v1/responses", {"model": PASSTHROUGH_OPENAI, **CODEX_HISTORY}, id="codex"),
    ],
)
def test_shapes_real_clients_send_are_served(in_process: InProcessGateway, fakes: None, path: str, body: dict) -> None:
    for stream in (False, True) if "count_tokens" not in path else (False,):
        answer = in_process.post(path, {**body, "stream": stream} if stream else body)
        assert answer.status == 200, answer
