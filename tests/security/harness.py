"""The real onegate app driven in-process with raw ASGI calls, for tests that send thousands of bodies.

The gateway runs on its own event loop in a thread (as under uvicorn), with a channel on the fake OpenAI
upstream (which also serves `/responses` itself: `responses_api: true`) and one on the fake Anthropic API,
so every surface meets a pass-through pair and a translated pair. No HTTP between the test and onegate:
one request costs what onegate costs, which is what lets the fuzz tests send 5,000 bodies per surface.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import orjson

from onegate.app import Gateway
from onegate.settings import load_settings
from onegate.store.keys import create_key
from onegate.store.migrations import migrate
from tests.conftest import RawResponse as Answer
from tests.conftest import channel
from tests.fakes.anthropic_upstream import FakeAnthropicUpstream
from tests.fakes.openai_upstream import FakeOpenAIUpstream

# model → the pair it exercises
PASSTHROUGH_OPENAI = "gpt-4.1-mini"  # Chat, Responses, Embeddings as sent
PASSTHROUGH_ANTHROPIC = "claude-sonnet-4-6"  # Messages, count_tokens as sent
EMBEDDING_MODEL = "text-embedding-3-small"


def gateway_config(openai: FakeOpenAIUpstream, anthropic: FakeAnthropicUpstream) -> dict[str, Any]:
    return {
        "channels": [
            channel("fake", openai, [PASSTHROUGH_OPENAI, EMBEDDING_MODEL], type="openai", responses_api=True),
            channel("claude", anthropic, [PASSTHROUGH_ANTHROPIC], type="anthropic"),
        ],
    }


class InProcessGateway:
    """A started `Gateway` on a private loop thread; `call` sends one request as uvicorn would."""

    def __init__(self, data_dir: Path, config: dict[str, Any]) -> None:
        import yaml

        data_dir.mkdir(parents=True, exist_ok=True)
        config_path = data_dir.parent / f"{data_dir.name}.yaml"
        config_path.write_text(yaml.safe_dump(config))
        self.gateway = Gateway(load_settings(data_dir=data_dir, config_path=config_path))
        migrate(self.gateway.engine)
        self.key = create_key(self.gateway.engine, "fuzz")[1]
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="onegate-in-process", daemon=True)
        self.thread.start()
        self._run(self.gateway.startup())

    def _run(self, coro: Any, timeout: float = 30) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        try:
            self._run(self.gateway.shutdown())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)
            self.loop.close()

    def call(self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None) -> Answer:
        return self._run(self._call(method, path, body, headers or {}))

    def post(self, path: str, body: Any, headers: dict[str, str] | None = None) -> Answer:
        raw = body if isinstance(body, bytes) else orjson.dumps(body)
        sent = {"authorization": f"Bearer {self.key}", "content-type": "application/json", **(headers or {})}
        return self.call("POST", path, raw, sent)

    async def _call(self, method: str, path: str, body: bytes, headers: dict[str, str]) -> Answer:
        path_part, _, query = path.partition("?")
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path_part,
            "raw_path": path_part.encode(),
            "query_string": query.encode(),
            "headers": [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()],
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 8080),
        }
        done = asyncio.Event()
        sent_body = False

        async def receive() -> dict[str, Any]:
            nonlocal sent_body
            if not sent_body:
                sent_body = True
                return {"type": "http.request", "body": body, "more_body": False}
            await done.wait()  # the client stays until the response is complete
            return {"type": "http.disconnect"}

        status = 0
        response_headers: dict[str, str] = {}
        chunks: list[bytes] = []

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                response_headers.update((k.decode(), v.decode()) for k, v in message["headers"])
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    done.set()

        await self.gateway(scope, receive, send)
        done.set()
        return Answer(status, response_headers, b"".join(chunks))


def assert_in_dialect(answer: Answer, family: str) -> None:
    """A non-2xx answer is a JSON error in the caller's dialect (never a traceback, never HTML)."""
    assert answer.headers.get("content-type") == "application/json", answer
    data = orjson.loads(answer.body)
    if family == "anthropic":
        assert data["type"] == "error", data
        assert isinstance(data["error"]["type"], str) and isinstance(data["error"]["message"], str), data
    else:
        error = data["error"]
        assert isinstance(error["message"], str) and isinstance(error["type"], str), data
        assert "code" in error and "param" in error, data
