"""The lean upstream client (providers/h1.py) against real sockets: raw asyncio servers that answer as a
vendor might (keep-alive, chunked, gzip, close-delimited, cut short, silent), each test under both event
loops the gateway can run on (uvloop in `onegate serve`, asyncio's own in tests)."""

from __future__ import annotations

import asyncio
import gc
import gzip
import socket
import ssl
import weakref
import zlib
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import pytest
import uvloop

from onegate.providers.http import SessionFactory
from onegate.providers.openai_compatible import OpenAICompatibleProvider
from onegate.providers.protocol import UpstreamBroken, UpstreamConnectError, UpstreamRequest, UpstreamTimeout
from onegate.settings import ChannelConfig, Timeouts

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
LOOPS = {"asyncio": asyncio.new_event_loop, "uvloop": uvloop.new_event_loop}


@pytest.fixture(params=sorted(LOOPS))
def run(request: pytest.FixtureRequest) -> Callable[[Coroutine[Any, Any, None]], None]:
    def runner(coro: Coroutine[Any, Any, None]) -> None:
        with asyncio.Runner(loop_factory=LOOPS[request.param]) as r:
            r.run(coro)

    return runner


async def _head(reader: asyncio.StreamReader) -> bytes:
    """One request's head and body (Content-Length framed, as the client sends)."""
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")
    )
    return head + await reader.readexactly(length)


class Upstream:
    """A raw server on loopback; counts connections and keeps what each request sent."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.connections = 0
        self.requests: list[bytes] = []
        self.server: asyncio.Server | None = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            await self.handler(reader, writer)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def __aenter__(self) -> tuple[Upstream, OpenAICompatibleProvider, SessionFactory]:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self.server.sockets[0].getsockname()[1]
        sessions = SessionFactory()
        channel = ChannelConfig(name="up", base_url=f"http://127.0.0.1:{port}/v1", timeouts=Timeouts(connect=2))
        self.provider = OpenAICompatibleProvider(channel, sessions)
        self.sessions = sessions
        return self, self.provider, sessions

    async def __aexit__(self, *exc: object) -> None:
        await self.sessions.close()
        assert self.server is not None
        self.server.close()


def _request(stream: bool = False, body: bytes = b'{"model":"m"}') -> UpstreamRequest:
    return UpstreamRequest("/chat/completions", body, stream)


def test_keep_alive_connections_are_reused_and_the_request_is_framed(run):
    seen: list[bytes] = []

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            seen.append(await _head(reader))
            writer.write(b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{"ok":true}')

    async def main() -> None:
        async with Upstream(answer) as (up, provider, _):
            for _ in range(5):
                response = await provider.send(_request())
                assert response.status == 200 and await response.read() == b'{"ok":true}'
                assert response.headers["content-type"] == "application/json"
            assert up.connections == 1
        head = seen[0].decode()
        assert head.startswith("POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:")
        for line in ("Content-Type: application/json", "Accept: application/json", "Accept-Encoding: gzip, deflate"):
            assert line + "\r\n" in head
        assert head.endswith('Content-Length: 13\r\n\r\n{"model":"m"}')

    run(main())


def test_a_chunked_stream_arrives_chunk_by_chunk_and_a_gzip_body_is_decoded(run):
    events = [b'data: {"n":1}\n\n', b'data: {"n":2}\n\n', b"data: [DONE]\n\n"]
    packed = gzip.compress(b'{"id":"x","big":"' + b"a" * 5000 + b'"}')

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _head(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n")
        for event in events:
            writer.write(b"%x\r\n%s\r\n" % (len(event), event))
            await writer.drain()
            await asyncio.sleep(0.01)
        writer.write(b"0\r\n\r\n")
        await _head(reader)
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n%s" % (len(packed), packed)
        )
        await writer.drain()
        await reader.read()

    async def main() -> None:
        async with Upstream(answer) as (up, provider, _):
            response = await provider.send(_request(stream=True))
            got = []
            while (chunk := await response.next_chunk()) is not None:
                got.append(chunk)
            response.close()
            assert b"".join(got) == b"".join(events) and len(got) >= 2
            second = await provider.send(_request())
            assert await second.read() == gzip.decompress(packed)
            assert up.connections == 1

    run(main())


def test_has_chunk_is_true_exactly_when_next_chunk_would_not_wait(run):
    """The stream relay skips its idle timer when `has_chunk()` says so: it must never say so falsely, not
    even for compressed bytes that decode to nothing yet."""
    first, rest = b'data: {"n":1}\n\n', b"data: [DONE]\n\n"
    packed = gzip.compress(b'{"answer":"' + b"c" * 300 + b'"}')
    go_on = asyncio.Event()

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _head(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n")
        writer.write(b"%x\r\n%s\r\n" % (len(first), first))
        await go_on.wait()
        writer.write(b"%x\r\n%s\r\n0\r\n\r\n" % (len(rest), rest))
        await _head(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n" % len(packed))
        writer.write(packed[:8])  # gzip's header alone: bytes buffered, nothing to decode yet
        await writer.drain()
        await asyncio.sleep(0.3)
        writer.write(packed[8:])
        await reader.read()

    async def main() -> None:
        async with Upstream(answer) as (_, provider, _):
            response = await provider.send(_request(stream=True))
            await asyncio.sleep(0.1)
            assert response.has_chunk() and await response.next_chunk() == first
            assert not response.has_chunk()
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(response.next_chunk(), 0.1)  # it would have waited
            go_on.set()
            await asyncio.sleep(0.1)
            assert response.has_chunk() and await response.next_chunk() == rest
            assert response.has_chunk() and await response.next_chunk() is None
            packed_response = await provider.send(_request())
            await asyncio.sleep(0.1)
            assert not packed_response.has_chunk()
            assert await packed_response.read() == gzip.decompress(packed)

    run(main())


@pytest.mark.parametrize("raw", [False, True], ids=["zlib", "raw"])
def test_deflate_is_decoded_with_or_without_the_zlib_header(run, raw: bool):
    body = b'{"answer":"' + b"b" * 300 + b'"}'
    packer = zlib.compressobj(wbits=-zlib.MAX_WBITS if raw else zlib.MAX_WBITS)
    packed = packer.compress(body) + packer.flush()

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _head(reader)
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Encoding: deflate\r\nContent-Length: %d\r\n\r\n%s" % (len(packed), packed)
        )
        await reader.read()

    async def main() -> None:
        async with Upstream(answer) as (_, provider, _):
            assert await (await provider.send(_request())).read() == body

    run(main())


def test_a_close_delimited_body_ends_at_eof_and_the_connection_is_not_reused(run):
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _head(reader)
        writer.write(b'HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Type: application/json\r\n\r\n{"a":')
        await writer.drain()
        writer.write(b"1}")

    async def main() -> None:
        async with Upstream(answer) as (up, provider, sessions):
            for _ in range(2):
                assert await (await provider.send(_request())).read() == b'{"a":1}'
            assert up.connections == 2
            assert not sessions.pool()._all  # noqa: SLF001 - none left open

    run(main())


def test_a_body_cut_short_and_a_silent_close_are_upstream_broken(run):
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _head(reader)
        writer.write(b'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{"id":')
        await writer.drain()

    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _head(reader)

    async def main() -> None:
        async with Upstream(answer) as (_, provider, _):
            response = await provider.send(_request())
            with pytest.raises(UpstreamBroken):
                await response.read()
        async with Upstream(hang_up) as (_, provider, _):
            with pytest.raises(UpstreamBroken, match=r"http://127\.0\.0\.1:\d+/v1 closed the connection"):
                await provider.send(_request())

    run(main())


def test_a_malformed_answer_is_a_bad_response(run):
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _head(reader)
        writer.write(b"SMTP ready\r\n\r\n")
        await reader.read()

    async def main() -> None:
        from onegate.providers.protocol import UpstreamBadResponse

        async with Upstream(answer) as (_, provider, _):
            with pytest.raises(UpstreamBadResponse, match="malformed HTTP"):
                await provider.send(_request())

    run(main())


def test_bytes_on_an_idle_connection_end_it(run):
    """An upstream that sends something nobody asked for (a second answer) cannot answer the next request."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _head(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
        await writer.drain()
        await asyncio.sleep(0.05)
        writer.write(b'HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\n{"x":1}')
        await reader.read()

    async def main() -> None:
        async with Upstream(answer) as (up, provider, _):
            assert await (await provider.send(_request())).read() == b"{}"
            await asyncio.sleep(0.2)
            assert await (await provider.send(_request())).read() == b"{}"
            assert up.connections == 2

    run(main())


def test_a_cancelled_request_closes_its_connection_and_the_next_one_opens_another(run):
    served = 0

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal served
        await _head(reader)
        served += 1
        if served == 1:
            await reader.read()  # never answers the first; sees the client hang up
            closed.set()
            return
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
        await reader.read()

    closed = asyncio.Event()

    async def main() -> None:
        nonlocal closed
        closed = asyncio.Event()
        async with Upstream(answer) as (upstream, provider, _):
            with pytest.raises(TimeoutError):
                async with asyncio.timeout(0.2):
                    await provider.send(_request())
            await asyncio.wait_for(closed.wait(), 5)
            assert await (await provider.send(_request())).read() == b"{}"
            assert upstream.connections == 2

    run(main())


def test_an_unfinished_stream_closed_by_the_caller_is_cut_upstream(run):
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _head(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n")
        await writer.drain()
        assert await reader.read() == b""  # the client closed instead of waiting for the rest
        gone.set()

    gone = asyncio.Event()

    async def main() -> None:
        nonlocal gone
        gone = asyncio.Event()
        async with Upstream(answer) as (_, provider, _):
            response = await provider.send(_request(stream=True))
            assert await response.next_chunk() == b"hello"
            response.close()
            await asyncio.wait_for(gone.wait(), 5)

    run(main())


def test_idle_connections_are_closed_after_the_keepalive(run):
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _head(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
        await reader.read()
        hung_up.set()

    hung_up = asyncio.Event()

    async def main() -> None:
        nonlocal hung_up
        hung_up = asyncio.Event()
        async with Upstream(answer) as (_, provider, sessions):
            sessions.pool().keepalive = 0.1
            assert await (await provider.send(_request())).read() == b"{}"
            await asyncio.wait_for(hung_up.wait(), 5)
            assert not sessions.pool()._all  # noqa: SLF001

    run(main())


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_refused_and_untrusted_upstreams_are_connect_errors(run, tmp_path):
    """Refused, and TLS with a certificate no authority signed (all on loopback: no DNS, no other host)."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    _self_signed(cert, key)

    async def main() -> None:
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(cert, key)
        server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0, ssl=tls)
        port = server.sockets[0].getsockname()[1]
        sessions = SessionFactory()
        try:
            contexts = []  # the pool's TLS context after each attempt
            for base_url, words in [
                (f"http://127.0.0.1:{_closed_port()}/v1", "cannot connect to http://127.0.0.1"),
                (f"https://127.0.0.1:{port}/v1", "CERTIFICATE_VERIFY_FAILED"),
                (f"https://127.0.0.1:{port}/v1", "CERTIFICATE_VERIFY_FAILED"),
            ]:
                provider = OpenAICompatibleProvider(ChannelConfig(name="up", base_url=base_url), sessions)
                with pytest.raises(UpstreamConnectError, match=words):
                    await provider.send(_request())
                contexts.append(sessions.pool()._tls)  # noqa: SLF001
            # loading the CA bundle is ~10% of start-up: not before the first https connection, then once
            assert contexts[0] is None and contexts[1] is not None and contexts[2] is contexts[1]
        finally:
            await sessions.close()
            server.close()

    run(main())


def test_a_connect_that_hangs_is_a_timeout(run):
    """TLS to a server that accepts the socket and never answers the handshake: the connect timeout ends it."""

    async def main() -> None:
        accepted: list[asyncio.StreamWriter] = []

        async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            accepted.append(writer)
            await reader.read()
            writer.close()

        server = await asyncio.start_server(silent, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        sessions = SessionFactory()
        channel = ChannelConfig(name="up", base_url=f"https://127.0.0.1:{port}/v1", timeouts=Timeouts(connect=0.2))
        provider = OpenAICompatibleProvider(channel, sessions)
        try:
            with pytest.raises(UpstreamTimeout, match=f"https://127.0.0.1:{port}/v1 did not answer in time"):
                await provider.send(_request())
            assert accepted  # the socket connected: it was the handshake that timed out
            await asyncio.wait_for(accepted[0].wait_closed(), 5)  # and the client closed it
        finally:
            await sessions.close()
            server.close()

    run(main())


def _self_signed(cert, key) -> None:
    import subprocess

    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
         "-days", "1", "-subj", "/CN=127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip


def test_a_closed_connection_is_freed_without_the_cyclic_gc(run):
    """Closed connections (a stream the caller cut, an upstream that closed after its answer) hold no
    reference cycle: reference counting frees them at once, not the cyclic GC minutes later with their
    buffers (bench/soak counted ~900 waiting at a time under load)."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _head(reader)
        if up.connections == 1:  # a stream, cut by the caller after its first chunk
            writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n")
            await writer.drain()
            await reader.read()
        else:  # an answer that ends when the upstream closes
            writer.write(b'HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n{"a":1}')

    async def main() -> None:
        nonlocal up
        async with Upstream(answer) as (up, provider, sessions):
            response = await provider.send(_request(stream=True))
            cut = weakref.ref(response._conn)  # noqa: SLF001
            assert await response.next_chunk() == b"hello"
            response.close()
            response = await provider.send(_request())
            closed = weakref.ref(response._conn)  # noqa: SLF001
            assert await response.read() == b'{"a":1}'
            del response
            for _ in range(50):  # until both connection_lost callbacks have run
                if not sessions.pool()._all:  # noqa: SLF001
                    break
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.01)
            assert (cut(), closed()) == (None, None)

    up: Upstream
    gc.disable()  # only reference counting may free them
    try:
        run(main())
    finally:
        gc.enable()
