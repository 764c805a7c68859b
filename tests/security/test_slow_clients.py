"""Slow clients (slowloris) cannot hold the server: header deadline, body idle limit, concurrency cap → 503.

Every test runs a real `onegate serve` (the same uvicorn options as production, server/serving.py) and
attacks it over loopback only, with bounded connections and time; each attack stops by itself.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from tests.security.served import OnegateProcess

SLOW_CONNECTIONS = 150  # ≤ 200
HEADER_TIMEOUT = 2.0


async def _get(port: int, path: str = "/healthz") -> tuple[int, float]:
    """(status, seconds) of one plain GET on a fresh connection."""
    started = time.perf_counter()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".encode())
    await writer.drain()
    try:
        status_line = await asyncio.wait_for(reader.readline(), 10)
        await reader.read()
    finally:
        writer.close()
    return int(status_line.split()[1]), time.perf_counter() - started


async def _closed_by_server(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, drip: bytes) -> bool:
    """Send `drip` every 0.4 s until the server closes the connection (True) or 12 s pass (False)."""
    deadline = time.monotonic() + 12
    try:
        while time.monotonic() < deadline:
            try:
                writer.write(drip)
                await writer.drain()
                data = await asyncio.wait_for(reader.read(1024), 0.4)
            except TimeoutError:
                continue
            except (ConnectionError, OSError):
                return True
            if data == b"" or b" 408 " in data:
                return True
        return False
    finally:
        writer.close()


@pytest.fixture
def server(tmp_path: Path):
    config = {"server": {"header_timeout": HEADER_TIMEOUT, "body_idle_timeout": HEADER_TIMEOUT}}
    with OnegateProcess(tmp_path, config) as process:
        yield process


def test_slowloris_headers_are_cut_off_while_normal_requests_stay_fast(server: OnegateProcess) -> None:
    async def attack() -> tuple[list[bool], list[float], float]:
        started = time.monotonic()
        slow = []
        for _ in range(SLOW_CONNECTIONS):
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            writer.write(b"POST /api/v1/chat/completions HTTP/1.1\r\nHost: t\r\n")
            slow.append((reader, writer))
        drips = asyncio.gather(*(_closed_by_server(r, w, b"X-a: b\r\n") for r, w in slow))
        latencies = []
        while not drips.done() and time.monotonic() - started < 15:
            status, seconds = await _get(server.port)
            assert status == 200
            latencies.append(seconds)
            await asyncio.sleep(0.1)
        return await drips, latencies, time.monotonic() - started

    closed, latencies, took = asyncio.run(attack())
    assert all(closed), f"{closed.count(False)} of {SLOW_CONNECTIONS} slow connections were still open after 12 s"
    assert took < HEADER_TIMEOUT + 6
    assert latencies and max(latencies) < 1.0, f"healthz during the attack: max {max(latencies):.3f} s"


def test_a_body_that_trickles_is_dropped(server: OnegateProcess) -> None:
    async def attack() -> tuple[bool, float]:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(
            f"POST /api/v1/chat/completions HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {server.key}\r\n"
            "Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n{".encode()
        )
        started = time.monotonic()
        await writer.drain()
        await asyncio.sleep(HEADER_TIMEOUT + 0.5)  # silent for longer than the body idle limit
        closed = await _closed_by_server(reader, writer, b" ")
        return closed, time.monotonic() - started

    closed, took = asyncio.run(attack())
    assert closed
    assert took < HEADER_TIMEOUT + 3


def test_a_body_that_keeps_moving_is_not_cut(server: OnegateProcess) -> None:
    """The idle limit is between chunks: a slow but steady upload finishes (here over 2.5 × the limit)."""
    import orjson

    body = orjson.dumps({"model": "onegate-selftest", "messages": [{"role": "user", "content": "x" * 40}]})

    async def upload() -> bytes:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(
            f"POST /api/v1/chat/completions HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {server.key}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
        )
        step = len(body) // 5 + 1
        for i in range(0, len(body), step):
            writer.write(body[i : i + step])
            await writer.drain()
            await asyncio.sleep(HEADER_TIMEOUT / 2)
        try:
            return await asyncio.wait_for(reader.read(), 10)
        finally:
            writer.close()

    assert asyncio.run(upload()).startswith(b"HTTP/1.1 200")


def test_past_the_concurrency_limit_requests_get_503_then_recover(tmp_path: Path) -> None:
    config = {"server": {"max_concurrency": 20, "header_timeout": HEADER_TIMEOUT}}
    with OnegateProcess(tmp_path, config) as server:

        async def crowd() -> tuple[int, int]:
            idle = [await asyncio.open_connection("127.0.0.1", server.port) for _ in range(25)]
            await asyncio.sleep(0.2)
            during, _ = await _get(server.port)
            for _, writer in idle:
                writer.close()
            await asyncio.sleep(0.3)
            after, _ = await _get(server.port)
            return during, after

        assert asyncio.run(crowd()) == (503, 200)


def test_the_guard_leaves_websocket_refusal_intact(server: OnegateProcess) -> None:
    """Codex's WebSocket attempt still gets its prompt 426 through the guarded protocol."""
    import socket

    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(
            b"GET /api/v1/responses HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        assert sock.recv(64).startswith(b"HTTP/1.1 426")


def test_an_idle_keep_alive_connection_is_closed_and_a_busy_one_is_not(tmp_path: Path) -> None:
    """`server.keep_alive_timeout` between requests (the guard's timer keeps it, not uvicorn's own): a
    connection that keeps asking stays open past it in all, one left idle is closed once it has passed."""
    config = {"server": {"keep_alive_timeout": 1.0, "header_timeout": HEADER_TIMEOUT}}
    request = b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n"

    async def ask(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bytes:
        writer.write(request)
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        length = int(next(line for line in head.split(b"\r\n") if line.lower().startswith(b"content-length"))[15:])
        await asyncio.wait_for(reader.readexactly(length), 5)
        return head

    async def run() -> tuple[float, float]:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        try:
            started = time.monotonic()
            for _ in range(8):  # 2.4 s of requests 0.3 s apart: more than the timeout in all, never that idle
                assert (await ask(reader, writer)).startswith(b"HTTP/1.1 200")
                await asyncio.sleep(0.3)
            busy = time.monotonic() - started
            idle_from = time.monotonic()
            assert await asyncio.wait_for(reader.read(), 5) == b""  # the server closes it
            return busy, time.monotonic() - idle_from
        finally:
            writer.close()

    with OnegateProcess(tmp_path, config) as server:
        busy, idle = asyncio.run(run())
    assert busy > 2.0
    assert 0.6 < idle < 2.5
