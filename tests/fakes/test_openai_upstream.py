"""The fake upstream must look like OpenAI to OpenAI's own SDK, or gateway tests prove nothing."""

from __future__ import annotations

import base64
import http.client
import json
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import openai
import pytest

from tests.conftest import free_port, raw_request
from tests.fakes.openai_upstream import (
    REPLY_TEXT,
    TOOL_ARGUMENTS,
    FakeOpenAIUpstream,
    embedding_for,
)

MESSAGES = [{"role": "user", "content": "What is the weather like today?"}]  # 31 chars -> 8 tokens
TOOLS = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]


@pytest.fixture(scope="module")
def server() -> Iterator[FakeOpenAIUpstream]:
    with FakeOpenAIUpstream() as fake:
        yield fake


@pytest.fixture
def fake(server: FakeOpenAIUpstream) -> Iterator[FakeOpenAIUpstream]:
    server.reset()
    yield server
    server.reset()


@pytest.fixture
def client(fake: FakeOpenAIUpstream) -> Iterator[openai.OpenAI]:
    # No retries: a retried error would hide what the fake actually answered.
    with openai.OpenAI(base_url=fake.base_url, api_key="sk-test", max_retries=0, timeout=10) as c:
        yield c


def raw_post(fake: FakeOpenAIUpstream, path: str, body: dict) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", fake.port, timeout=10)
    try:
        conn.request("POST", path, json.dumps(body), {"content-type": "application/json"})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def test_chat_non_stream(fake: FakeOpenAIUpstream, client: openai.OpenAI) -> None:
    fake.cached_tokens = 5
    resp = client.chat.completions.create(model="my-model", messages=MESSAGES)
    assert resp.id.startswith("chatcmpl-fake")
    assert resp.object == "chat.completion"
    assert resp.model == "my-model"
    assert resp.choices[0].message.content == REPLY_TEXT
    assert resp.choices[0].finish_reason == "stop"
    assert resp.usage is not None
    assert (resp.usage.prompt_tokens, resp.usage.completion_tokens, resp.usage.total_tokens) == (8, 6, 14)
    assert resp.usage.prompt_tokens_details.cached_tokens == 5
    assert resp.usage.completion_tokens_details.reasoning_tokens == 0
    [req] = fake.requests
    assert (req.method, req.path) == ("POST", "/v1/chat/completions")
    assert req.headers["authorization"] == "Bearer sk-test"
    assert req.json == json.loads(req.body)
    assert req.json["messages"] == MESSAGES


def test_stream_without_usage(fake: FakeOpenAIUpstream, client: openai.OpenAI) -> None:
    fake.stream_chunks = 5
    chunks = list(client.chat.completions.create(model="m", messages=MESSAGES, stream=True))
    assert all(c.object == "chat.completion.chunk" and c.usage is None for c in chunks)
    assert all(len(c.choices) == 1 for c in chunks)
    assert len({c.id for c in chunks}) == 1
    assert chunks[0].choices[0].delta.role == "assistant"
    contents = [c.choices[0].delta.content for c in chunks[1:-1]]
    assert len(contents) == 5 and "".join(contents) == REPLY_TEXT
    assert chunks[-1].choices[0].finish_reason == "stop"


def test_stream_with_usage(fake: FakeOpenAIUpstream, client: openai.OpenAI) -> None:
    chunks = list(
        client.chat.completions.create(
            model="m", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
        )
    )
    *body, last = chunks
    assert last.choices == [] and last.usage is not None
    assert last.usage.total_tokens == 14
    assert all(c.usage is None and len(c.choices) == 1 for c in body)
    assert "".join(c.choices[0].delta.content or "" for c in body) == REPLY_TEXT


def test_stream_wire_bytes(fake: FakeOpenAIUpstream) -> None:
    body = {"model": "m", "messages": MESSAGES, "stream": True, "stream_options": {"include_usage": True}}
    status, raw = raw_post(fake, "/v1/chat/completions", body)
    assert status == 200
    assert raw.endswith(
        b'"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,'
        b'"rejected_prediction_tokens":0}}}\n\ndata: [DONE]\n\n'
    )
    events = raw.split(b"\n\n")[:-1]
    assert all(e.startswith(b"data: {") for e in events[:-1])
    # Compact JSON, and an explicit "usage":null on every chunk but the usage chunk.
    assert all(e.endswith(b',"usage":null}') for e in events[:-2])
    assert b'"choices":[],"usage":{"prompt_tokens":8,' in events[-2]


def test_tool_call_stream(fake: FakeOpenAIUpstream, client: openai.OpenAI) -> None:
    chunks = list(client.chat.completions.create(model="m", messages=MESSAGES, tools=TOOLS, stream=True))
    first = chunks[0].choices[0].delta.tool_calls[0]
    assert first.id and first.id.startswith("call_") and first.type == "function"
    assert first.function.name == "get_weather" and first.function.arguments == ""
    fragments = [c.choices[0].delta.tool_calls[0].function.arguments for c in chunks[1:-1]]
    assert len(fragments) == fake.stream_chunks
    assert "".join(fragments) == TOOL_ARGUMENTS
    assert all(c.choices[0].delta.tool_calls[0].id is None for c in chunks[1:-1])
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


def test_tool_call_non_stream(client: openai.OpenAI) -> None:
    resp = client.chat.completions.create(model="m", messages=MESSAGES, tools=TOOLS)
    choice = resp.choices[0]
    assert choice.finish_reason == "tool_calls" and choice.message.content is None
    [call] = choice.message.tool_calls
    assert call.function.name == "get_weather" and json.loads(call.function.arguments) == {"query": "fake"}


def test_legacy_completions(client: openai.OpenAI) -> None:
    resp = client.completions.create(model="m", prompt="Say hello")
    assert resp.object == "text_completion" and resp.choices[0].text == REPLY_TEXT
    chunks = list(client.completions.create(model="m", prompt="Say hello", stream=True))
    assert "".join(c.choices[0].text for c in chunks) == REPLY_TEXT
    assert chunks[-1].choices[0].finish_reason == "stop"


def test_embeddings_base64_default_and_float(fake: FakeOpenAIUpstream, client: openai.OpenAI) -> None:
    resp = client.embeddings.create(model="emb", input=["alpha", "beta"])
    assert fake.requests[-1].json["encoding_format"] == "base64"  # the SDK asks for base64 by default
    assert [d.embedding for d in resp.data] == [embedding_for("alpha"), embedding_for("beta")]
    assert len(resp.data[0].embedding) == 8
    floats = client.embeddings.create(model="emb", input="alpha", encoding_format="float")
    assert floats.data[0].embedding == embedding_for("alpha")
    status, raw = raw_post(fake, "/v1/embeddings", {"model": "e", "input": "alpha", "encoding_format": "base64"})
    decoded = struct.unpack("<8f", base64.b64decode(json.loads(raw)["data"][0]["embedding"]))
    assert status == 200 and list(decoded) == embedding_for("alpha")


def test_models_list(client: openai.OpenAI) -> None:
    ids = [m.id for m in client.models.list()]
    assert "gpt-4o-mini" in ids


def test_fail_next(fake: FakeOpenAIUpstream, client: openai.OpenAI) -> None:
    body = {"error": {"message": "overloaded", "type": "server_error", "param": None, "code": None}}
    fake.fail_next(503, body, headers={"retry-after": "1"}, times=2)
    for _ in range(2):
        with pytest.raises(openai.APIStatusError) as info:
            client.chat.completions.create(model="m", messages=MESSAGES)
        assert info.value.status_code == 503
        assert info.value.response.headers["retry-after"] == "1"
        assert info.value.body["message"] == "overloaded"
    assert client.chat.completions.create(model="m", messages=MESSAGES).choices[0].message.content
    assert len(fake.requests) == 3


def test_required_api_key_and_unknown_path(fake: FakeOpenAIUpstream, client: openai.OpenAI) -> None:
    fake.required_api_key = "sk-other"
    with pytest.raises(openai.AuthenticationError) as info:
        client.chat.completions.create(model="m", messages=MESSAGES)
    assert info.value.status_code == 401 and info.value.code == "invalid_api_key"
    fake.required_api_key = "sk-test"
    assert client.models.list().data
    fake.required_api_key = None  # raw_post sends no key
    status, raw = raw_post(fake, "/v1/nope", {})
    assert status == 404 and json.loads(raw)["error"]["message"] == "Invalid URL (POST /v1/nope)"


def test_hold_after_first_chunk(fake: FakeOpenAIUpstream, client: openai.OpenAI) -> None:
    release = threading.Event()
    fake.hold_after_first_chunk = release
    started = time.monotonic()
    stream = client.chat.completions.create(model="m", messages=MESSAGES, stream=True)
    first = next(iter(stream))
    assert first.choices[0].delta.role == "assistant"
    assert time.monotonic() - started < 2

    rest: list = []
    reader = threading.Thread(target=lambda: rest.extend(stream))
    reader.start()
    reader.join(0.3)
    assert reader.is_alive() and rest == []  # the fake is still holding the remainder
    release.set()
    reader.join(5)
    assert not reader.is_alive()
    assert "".join(c.choices[0].delta.content or "" for c in rest) == REPLY_TEXT


def test_cut_stream(fake: FakeOpenAIUpstream) -> None:
    body = {"model": "m", "messages": MESSAGES, "stream": True}
    fake.cut_stream_after = 2
    status, raw = raw_post(fake, "/v1/chat/completions", body)
    assert status == 200 and raw.count(b"data: ") == 2 and b"[DONE]" not in raw
    fake.cut_stream_abort = True
    with pytest.raises(http.client.IncompleteRead):
        raw_post(fake, "/v1/chat/completions", body)


def test_benchmark_mode_delay_holds_every_answer() -> None:
    """`--delay` (bench/run's BENCH_UPSTREAM_DELAY_MS): the benchmark's fake answers like a vendor that takes time."""
    port = free_port()
    argv = [sys.executable, "-m", "tests.fakes.openai_upstream", "--port", str(port), "--delay", "0.3"]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        body = {"model": "gpt-4o-mini", "messages": MESSAGES}
        deadline = time.monotonic() + 30
        while True:  # started once it answers
            try:
                raw_request("POST", f"http://127.0.0.1:{port}/v1/chat/completions", body)
                break
            except OSError:
                assert time.monotonic() < deadline, "the fake upstream did not start"
                time.sleep(0.1)
        began = time.monotonic()
        answer = raw_request("POST", f"http://127.0.0.1:{port}/v1/chat/completions", body)
        assert answer.status == 200 and REPLY_TEXT in answer.body.decode()
        assert time.monotonic() - began >= 0.3
    finally:
        proc.terminate()
        proc.wait(10)
