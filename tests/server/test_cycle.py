"""onegate's response cycle (server/cycle.py): a response's head leaves with its first body bytes in one write,
framed as before; a client's hang-up reaches `asgi.run_until_disconnect` through the scope extension."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import orjson
import pytest
from uvicorn.config import Config
from uvicorn.server import ServerState

from onegate.asgi import WATCH_DISCONNECT, Responder, run_until_disconnect
from onegate.context import RequestContext
from onegate.diagnosis.clients import ClientInfo
from onegate.server.serving import GuardedHttpToolsProtocol
from tests.conftest import GatewayFactory, channel_config
from tests.fakes.openai_upstream import FakeOpenAIUpstream


class _Wire(asyncio.Transport):
    """The socket's side of a connection: records each write the protocol makes."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.writes.append(bytes(data))

    def writelines(self, list_of_data: Any) -> None:
        self.writes.append(b"".join(list_of_data))

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 50000), "sockname": ("127.0.0.1", 8000)}.get(name, default)

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


async def _app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await receive()
    if scope["path"] == "/stream":
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"one", "more_body": True})
        await send({"type": "http.response.body", "body": b"two", "more_body": True})
        await send({"type": "http.response.body", "body": b""})
        return
    if scope["path"] == "/bad-header":
        await send({"type": "http.response.start", "status": 200, "headers": [(b"x-a", b"1\r\nx-injected: 1")]})
        return
    body = b'{"ok":true}'
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _serve(*requests: bytes, app: Any = _app, hang_up: bool = True) -> _Wire:
    config = Config(app, proxy_headers=False, log_level="warning")
    protocol = GuardedHttpToolsProtocol(
        config=config, server_state=ServerState(), app_state={}, header_timeout=5, body_idle_timeout=5
    )
    wire = _Wire()
    protocol.connection_made(wire)
    for request in requests:
        protocol.data_received(request)
        for _ in range(20):  # the app's task runs on the loop
            await asyncio.sleep(0)
    if hang_up:
        protocol.connection_lost(None)
    return wire


def _get(path: str, method: str = "GET") -> bytes:
    return f"{method} {path} HTTP/1.1\r\nHost: t\r\n\r\n".encode()


async def test_a_whole_response_is_one_write_and_the_connection_stays_open() -> None:
    wire = await _serve(_get("/a"), _get("/b"))
    assert len(wire.writes) == 2  # one per response, not a head and a body each
    for write in wire.writes:
        head, body = write.split(b"\r\n\r\n", 1)
        assert head.startswith(b"HTTP/1.1 200 OK\r\n")
        assert b"content-length: 11" in head and b"transfer-encoding" not in head
        assert body == b'{"ok":true}'


async def test_a_stream_sends_its_head_with_the_first_chunk_then_a_write_per_chunk() -> None:
    wire = await _serve(_get("/stream"))
    assert len(wire.writes) == 3
    head, first = wire.writes[0].split(b"\r\n\r\n", 1)
    assert b"transfer-encoding: chunked" in head
    assert first == b"3\r\none\r\n"
    assert wire.writes[1:] == [b"3\r\ntwo\r\n", b"0\r\n\r\n"]


async def test_a_head_request_gets_the_head_alone() -> None:
    wire = await _serve(_get("/a", "HEAD"))
    assert len(wire.writes) == 1
    assert wire.writes[0].endswith(b"content-length: 11\r\n\r\n")


async def test_a_header_value_with_a_line_break_is_refused_not_sent() -> None:
    wire = await _serve(_get("/bad-header"))
    assert all(b"x-injected" not in write for write in wire.writes)
    assert wire.writes and wire.writes[0].startswith(b"HTTP/1.1 500 ")  # uvicorn's answer to an app error


class _Watched:
    """An app whose work runs under `run_until_disconnect` with the server's hook, as forward's does."""

    def __init__(self, stream: bool, work_seconds: float = 5.0) -> None:
        self.stream = stream
        self.work_seconds = work_seconds
        self.gone: bool | None = None
        self.work_done = False
        self.hooked = False

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        await receive()
        ctx = RequestContext("req_t", "POST", "/", {}, ClientInfo("unknown", "", ""), "openai_chat")
        watch = scope["extensions"][WATCH_DISCONNECT]
        self.hooked = watch is not None
        responder = Responder(send, ctx, watch)

        async def work() -> None:
            if self.stream:
                await responder.start_stream()
                await responder.stream_chunk(b"data: 1\n\n")
            else:
                await responder.send_body(200, b"{}")
            await asyncio.sleep(self.work_seconds)
            self.work_done = True

        self.gone = await run_until_disconnect(work(), receive, responder)


async def _until(check: Any) -> None:
    for _ in range(200):
        if check():
            return
        await asyncio.sleep(0.005)


async def test_a_hang_up_mid_stream_cancels_the_work_through_the_hook() -> None:
    app = _Watched(stream=True)
    await _serve(_get("/"), app=app)
    await _until(lambda: app.gone is not None)
    assert app.hooked and app.gone is True and not app.work_done


async def test_a_hang_up_after_the_response_is_complete_leaves_the_work_alone() -> None:
    app = _Watched(stream=False, work_seconds=0.05)
    await _serve(_get("/"), app=app)
    await _until(lambda: app.gone is not None)
    assert app.gone is False and app.work_done


async def test_a_client_already_gone_cancels_the_work_at_its_first_wait() -> None:
    app = _Watched(stream=True)
    config = Config(app, proxy_headers=False, log_level="warning")
    protocol = GuardedHttpToolsProtocol(
        config=config, server_state=ServerState(), app_state={}, header_timeout=5, body_idle_timeout=5
    )
    protocol.connection_made(_Wire())
    protocol.data_received(_get("/"))
    protocol.connection_lost(None)  # before the app's task has run at all
    await _until(lambda: app.gone is not None)
    assert app.gone is True and not app.work_done


@pytest.mark.parametrize("stream", [False, True])
def test_chat_answers_are_framed_for_keep_alive(
    start_gateway: GatewayFactory, upstream: FakeOpenAIUpstream, stream: bool
) -> None:
    """Through the whole gateway on one connection: a chat answer carries its length (not chunked), a stream
    is chunked, and the next request on the same connection is served."""
    gw = start_gateway(channel_config(upstream))
    port = int(gw.base_url.rsplit(":", 1)[1].split("/")[0])
    payload = orjson.dumps({"model": "gpt-4.1-mini", "messages": [{"role": "user", "content": "hi"}], "stream": stream})
    request = (
        f"POST /api/v1/chat/completions HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {gw.key}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
    ).encode() + payload
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        reader = sock.makefile("rb")
        for _ in range(2):
            sock.sendall(request)
            assert reader.readline().startswith(b"HTTP/1.1 200")
            headers = {}
            while (line := reader.readline()) != b"\r\n":
                name, _, value = line.decode().partition(":")
                headers[name.lower()] = value.strip()
            if stream:
                assert headers["transfer-encoding"] == "chunked" and "content-length" not in headers
                body = b""
                while (size := int(reader.readline(), 16)) > 0:
                    body += reader.read(size)
                    reader.readline()
                reader.readline()
                assert body.rstrip().endswith(b"data: [DONE]")
            else:
                assert "transfer-encoding" not in headers
                body = reader.read(int(headers["content-length"]))
                assert orjson.loads(body)["object"] == "chat.completion"
