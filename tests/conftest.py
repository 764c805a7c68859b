"""Shared fixtures: a real onegate on loopback (uvicorn in a thread), a fake upstream, real SDK clients."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import anthropic
import openai
import pytest
import uvicorn
import yaml

from onegate.app import Gateway
from onegate.server.serving import http_protocol
from onegate.settings import load_settings
from onegate.store.keys import create_key
from onegate.store.logs import get_log
from onegate.store.migrations import migrate
from tests.clients.install import ClientUnavailable, client_bin
from tests.fakes.anthropic_upstream import FakeAnthropicUpstream
from tests.fakes.media_upstream import FakeMediaUpstream
from tests.fakes.openai_upstream import FakeOpenAIUpstream
from tests.fakes.vendor import FakeVendor
from tests.services import PrivateRedisCluster, private_redis_cluster

UPSTREAM_SECRET = "sk-upstream-secret-0000"
ANTHROPIC_SECRET = "sk-ant-upstream-secret-0000"
FakeVendorT = TypeVar("FakeVendorT", bound=FakeVendor)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def unavailable(reason: str) -> NoReturn:
    """Skip a test whose service, browser or CLI is missing; fail instead when ONEGATE_REQUIRE_SERVICES=1 (CI)."""
    if os.environ.get("ONEGATE_REQUIRE_SERVICES") == "1":
        pytest.fail(reason + " (ONEGATE_REQUIRE_SERVICES=1)")
    pytest.skip(reason)


def require_service(name: str, host: str, port: int) -> None:
    """Skip when a service is absent; fail instead when ONEGATE_REQUIRE_SERVICES=1 (CI)."""
    try:
        socket.create_connection((host, port), timeout=1).close()
    except OSError:
        unavailable(f"{name} is not reachable on {host}:{port}")


def require_client(name: str) -> Path:
    """A pinned real CLI (`claude`, `codex`), installed into the cache on first use; skips/fails like a service."""
    try:
        return client_bin(name)
    except ClientUnavailable as exc:
        unavailable(str(exc))


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateRedisCluster]:
    """One private Redis Cluster (three nodes, ~5 s to form) for every test that uses one."""
    with private_redis_cluster(tmp_path_factory.mktemp("cluster")) as cluster:
        yield cluster


@dataclass
class RunningGateway:
    gateway: Gateway
    root: str
    key: str
    data_dir: Path
    config_path: Path | None
    clients: list[openai.OpenAI | anthropic.Anthropic] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        return self.root + "/api/v1"

    def client(self, **kwargs: Any) -> openai.OpenAI:
        kwargs.setdefault("api_key", self.key)
        kwargs.setdefault("max_retries", 0)
        client = openai.OpenAI(base_url=self.base_url, **kwargs)
        self.clients.append(client)  # closed at teardown: an unclosed pool is a ResourceWarning
        return client

    @property
    def anthropic_base_url(self) -> str:
        """What Claude Code's ANTHROPIC_BASE_URL is set to: the SDK appends /v1/messages itself."""
        return self.root + "/api"

    def anthropic_client(self, x_api_key: bool = False, **kwargs: Any) -> anthropic.Anthropic:
        """The real anthropic SDK on onegate: `Authorization: Bearer` (SDK 2.x), or `x-api-key` (Claude Code)."""
        key = kwargs.pop("api_key", self.key)
        if x_api_key:
            kwargs["default_headers"] = {"X-Api-Key": key, **kwargs.get("default_headers", {})}
        else:
            kwargs["api_key"] = key
        kwargs.setdefault("max_retries", 0)
        client = anthropic.Anthropic(base_url=self.anthropic_base_url, **kwargs)
        self.clients.append(client)
        return client

    def create_key(self, name: str = "extra", models: list[str] | None = None, expires_at: float | None = None) -> str:
        return create_key(self.gateway.engine, name, models, expires_at)[1]

    def log(self, request_id: str, timeout: float = 5.0) -> dict[str, Any]:
        """The request's log row, once the writer has written it."""
        return wait_for_log(self.gateway, request_id, timeout)


def wait_for_log(gateway: Gateway, request_id: str, timeout: float = 5.0) -> dict[str, Any]:
    """A request's log row, once the gateway's writer has written it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = get_log(gateway.engine, request_id)
        if row is not None:
            return row
        time.sleep(0.02)
    raise AssertionError(f"no log row for {request_id} after {timeout}s")


class _ServerThread:
    def __init__(self, app: Gateway, port: int) -> None:
        # the production protocol (slow-client guards, one write per response head and first body bytes)
        protocol = http_protocol(app.settings.server)
        config = uvicorn.Config(
            app, host="127.0.0.1", port=port, log_level="warning", lifespan="on", loop="asyncio", http=protocol
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("onegate did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


GatewayFactory = Callable[..., RunningGateway]


@pytest.fixture
def start_gateway(tmp_path: Path) -> Iterator[GatewayFactory]:
    """Start onegate with an optional config (a dict written as YAML); returns a RunningGateway."""
    servers: list[_ServerThread] = []
    running: list[RunningGateway] = []

    def factory(config: dict[str, Any] | None = None, data_dir: Path | None = None) -> RunningGateway:
        data_dir = data_dir or tmp_path / f"data{len(servers)}"
        config_path = None
        if config is not None:
            config_path = tmp_path / f"onegate{len(servers)}.yaml"
            config_path.write_text(yaml.safe_dump(config))
        settings = load_settings(data_dir=data_dir, config_path=config_path)
        gateway = Gateway(settings)
        migrate(gateway.engine)
        _, key = create_key(gateway.engine, "test")
        port = free_port()
        server = _ServerThread(gateway, port)
        server.start()
        servers.append(server)
        running.append(RunningGateway(gateway, f"http://127.0.0.1:{port}", key, data_dir, config_path))
        return running[-1]

    yield factory
    for gw in running:
        for client in gw.clients:
            client.close()
    for server in servers:
        server.stop()


@pytest.fixture(scope="session")
def _upstream_server() -> Iterator[FakeOpenAIUpstream]:
    with FakeOpenAIUpstream() as upstream:
        yield upstream


def _fresh(server: FakeVendorT) -> Iterator[FakeVendorT]:
    """A session-wide fake with its knobs and recordings reset around one test."""
    server.reset()
    yield server
    server.reset()


@pytest.fixture
def upstream(_upstream_server: FakeOpenAIUpstream) -> Iterator[FakeOpenAIUpstream]:
    yield from _fresh(_upstream_server)


def channel(
    name: str, upstream: FakeOpenAIUpstream | FakeAnthropicUpstream | str, models: list[Any], **fields: Any
) -> dict[str, Any]:
    """One channel's config, the one way tests write it: `upstream` is a fake vendor or a base URL; `fields`
    are any other channel keys (type, api_key_env, aliases, priority, timeouts, …)."""
    base_url = upstream if isinstance(upstream, str) else upstream.base_url
    return {"name": name, "base_url": base_url, "models": models} | fields


def channel_config(upstream: FakeOpenAIUpstream, **overrides: Any) -> dict[str, Any]:
    """A config with one OpenAI-compatible channel pointing at the fake upstream."""
    fake = channel(
        "fake",
        upstream,
        ["gpt-4.1-mini", "text-embedding-3-small"],
        type="openai",
        api_key_env="ONEGATE_TEST_UPSTREAM_KEY",
        aliases={"fast": "gpt-4.1-mini"},
    )
    return {
        "channels": [fake | overrides],
        "prices": {"gpt-4.1-mini": {"input": 0.4, "cached_input": 0.1, "output": 1.6}},
    }


@pytest.fixture(scope="session")
def _anthropic_server() -> Iterator[FakeAnthropicUpstream]:
    with FakeAnthropicUpstream() as upstream:
        yield upstream


@pytest.fixture
def anthropic_upstream(_anthropic_server: FakeAnthropicUpstream) -> Iterator[FakeAnthropicUpstream]:
    yield from _fresh(_anthropic_server)


def anthropic_channel(upstream: FakeAnthropicUpstream, **overrides: Any) -> dict[str, Any]:
    """A `type: anthropic` channel on the fake Anthropic API."""
    claude = channel(
        "claude",
        upstream,
        ["claude-sonnet-4-6", "claude-haiku-4-5"],
        type="anthropic",
        api_key_env="ONEGATE_TEST_ANTHROPIC_KEY",
        aliases={"sonnet": "claude-sonnet-4-6"},
    )
    return claude | overrides


@pytest.fixture
def proxied(start_gateway: GatewayFactory, upstream: FakeOpenAIUpstream, monkeypatch: pytest.MonkeyPatch):
    """onegate with one channel on the fake upstream, which demands the channel's secret."""
    monkeypatch.setenv("ONEGATE_TEST_UPSTREAM_KEY", UPSTREAM_SECRET)
    upstream.required_api_key = UPSTREAM_SECRET
    return start_gateway(channel_config(upstream))


@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        import orjson

        return orjson.loads(self.body)


def raw_request(
    method: str, url: str, body: bytes | dict | None = None, headers: dict[str, str] | None = None
) -> RawResponse:
    """One plain HTTP request, for what an SDK would hide (headers, exact bytes, odd paths)."""
    import http.client
    from urllib.parse import urlsplit

    import orjson

    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    payload = orjson.dumps(body) if isinstance(body, dict) else body
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    conn.request(method, path, body=payload, headers=headers or {})
    response = conn.getresponse()
    result = RawResponse(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
    conn.close()
    return result


@pytest.fixture
def claude_gateway(
    start_gateway: GatewayFactory,
    upstream: FakeOpenAIUpstream,
    anthropic_upstream: FakeAnthropicUpstream,
    monkeypatch: pytest.MonkeyPatch,
) -> RunningGateway:
    """onegate with an Anthropic channel and an OpenAI-compatible one, each demanding its own secret,
    and a model_map for Claude Code's built-in names."""
    monkeypatch.setenv("ONEGATE_TEST_UPSTREAM_KEY", UPSTREAM_SECRET)
    monkeypatch.setenv("ONEGATE_TEST_ANTHROPIC_KEY", ANTHROPIC_SECRET)
    upstream.required_api_key = UPSTREAM_SECRET
    anthropic_upstream.required_api_key = ANTHROPIC_SECRET
    config = channel_config(upstream)
    config["channels"].append(anthropic_channel(anthropic_upstream))
    config["prices"]["claude-sonnet-4-6"] = {"input": 3.0, "cached_input": 0.3, "output": 15.0}
    config["model_map"] = {"claude-haiku-*": "gpt-4.1-mini", "opus": "claude-sonnet-4-6"}
    return start_gateway(config)


def open_raw_post(root: str, path: str, body: dict, key: str) -> socket.socket:
    """Send a POST on a plain socket and return it unread: a test can then drop the connection at will."""
    import orjson

    payload = orjson.dumps(body)
    host, port = root.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)))
    sock.sendall(
        f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n".encode()
        + f"Authorization: Bearer {key}\r\nContent-Length: {len(payload)}\r\n\r\n".encode()
        + payload
    )
    return sock


@pytest.fixture(scope="session")
def claude_bin() -> Path:
    """The real Claude Code CLI, pinned (tests/clients/install.py)."""
    return require_client("claude")


@pytest.fixture(scope="session")
def codex_bin() -> Path:
    """The real Codex CLI, pinned (tests/clients/install.py)."""
    return require_client("codex")


@pytest.fixture(scope="session")
def _media_server() -> Iterator[FakeMediaUpstream]:
    with FakeMediaUpstream() as upstream:
        yield upstream


@pytest.fixture
def media_upstream(_media_server: FakeMediaUpstream) -> Iterator[FakeMediaUpstream]:
    yield from _fresh(_media_server)
