"""Every way the upstream HTTP client can fail lands on one of the provider protocol's exceptions, each with
the error kind the client gets (providers/aiohttp_calls.py holds the one mapping of aiohttp's)."""

from __future__ import annotations

import asyncio
import socket

import aiohttp
import pytest
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from onegate import errors
from onegate.errors import ErrorKind
from onegate.providers.aiohttp_calls import TRANSPORT_ERRORS, transport_class, transport_error
from onegate.providers.http import SessionFactory
from onegate.providers.openai_compatible import OpenAICompatibleProvider
from onegate.providers.protocol import (
    UpstreamBadResponse,
    UpstreamBroken,
    UpstreamConnectError,
    UpstreamRequest,
    UpstreamTimeout,
    UpstreamTransportError,
)
from onegate.settings import ChannelConfig


def _aiohttp_exceptions() -> set[type[BaseException]]:
    """aiohttp's client exceptions: every subclass of ClientError, whether exported or not (the root itself is
    left to transport_error's fallback, checked below)."""
    found: set[type[BaseException]] = set()
    todo: list[type[BaseException]] = [aiohttp.ClientError]
    while todo:
        cls = todo.pop()
        if cls not in found and cls.__module__.startswith("aiohttp"):
            found.add(cls)
            todo.extend(cls.__subclasses__())
    found |= {v for v in vars(aiohttp).values() if isinstance(v, type) and issubclass(v, aiohttp.ClientError)}
    return found - {aiohttp.ClientError}


CLIENT_FAILURES = sorted(
    _aiohttp_exceptions() | {asyncio.TimeoutError, TimeoutError, ConnectionResetError, OSError},
    key=lambda cls: cls.__name__,
)


_URL = URL("http://up.example/v1/chat/completions")


_REQUEST = aiohttp.RequestInfo(_URL, "POST", CIMultiDictProxy(CIMultiDict()), _URL)


def _provider(base_url: str) -> tuple[OpenAICompatibleProvider, SessionFactory]:
    sessions = SessionFactory()
    return OpenAICompatibleProvider(ChannelConfig(name="up", base_url=base_url), sessions), sessions


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("exc_type", CLIENT_FAILURES, ids=lambda cls: cls.__name__)
def test_every_aiohttp_exception_class_is_mapped_to_an_error_kind(exc_type: type[BaseException]):
    ours = transport_class(exc_type)
    assert ours is not None, f"{exc_type.__module__}.{exc_type.__name__} meets no entry in TRANSPORT_ERRORS"
    assert issubclass(ours, UpstreamTransportError)
    assert isinstance(ours.kind, ErrorKind) and ours.kind.status >= 500  # the channel's fault, never the caller's


def test_the_families_cover_aiohttp_without_a_catch_all():
    """Each aiohttp class is placed by its own family, not by the root ClientError: a family added to
    aiohttp later fails the test above instead of being mapped by accident."""
    assert aiohttp.ClientError not in {theirs for theirs, _ours in TRANSPORT_ERRORS}


@pytest.mark.parametrize(
    ("exc", "ours", "kind"),
    [
        (aiohttp.ServerTimeoutError("read timed out"), UpstreamTimeout, errors.UPSTREAM_TIMEOUT),
        (aiohttp.ConnectionTimeoutError("connect timed out"), UpstreamTimeout, errors.UPSTREAM_TIMEOUT),
        (TimeoutError(), UpstreamTimeout, errors.UPSTREAM_TIMEOUT),
        (aiohttp.ServerDisconnectedError(), UpstreamBroken, errors.UPSTREAM_UNREACHABLE),
        (aiohttp.ClientPayloadError("Response payload is not completed"), UpstreamBroken, errors.UPSTREAM_UNREACHABLE),
        (ConnectionResetError(104, "Connection reset by peer"), UpstreamBroken, errors.UPSTREAM_UNREACHABLE),
        (aiohttp.InvalidURL("http//nowhere"), UpstreamConnectError, errors.UPSTREAM_UNREACHABLE),
        (aiohttp.TooManyRedirects(_REQUEST, (), status=302), UpstreamBadResponse, errors.UPSTREAM_BAD_RESPONSE),
        (aiohttp.ClientError("something new"), UpstreamBroken, errors.UPSTREAM_UNREACHABLE),  # the fallback
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, BaseException) else None,
)
def test_transport_error_names_the_upstream_and_the_kind(exc: BaseException, ours: type, kind: ErrorKind):
    sending = transport_error(exc, "http://up.example")
    assert isinstance(sending, ours) and sending.kind is kind
    assert "http://up.example" in str(sending)
    reading = transport_error(exc)
    assert isinstance(reading, ours) and reading.kind is kind and str(reading)


async def test_a_refused_connection_is_an_upstream_connect_error():
    provider, sessions = _provider(f"http://127.0.0.1:{_closed_port()}/v1")
    try:
        with pytest.raises(UpstreamConnectError, match="cannot connect to http://127.0.0.1"):
            await provider.send(UpstreamRequest("/chat/completions", b"{}", False))
    finally:
        await sessions.close()


@pytest.mark.parametrize("base_url", ["http://127.0.0.1:notaport/v1", "ftp://127.0.0.1/v1", "http:///v1"])
async def test_an_unusable_base_url_is_an_upstream_connect_error(base_url: str):
    """Before the one mapping, aiohttp's InvalidURL escaped the provider and the client got a 500."""
    provider, sessions = _provider(base_url)
    try:
        with pytest.raises(UpstreamConnectError, match="is not an http\\(s\\) URL onegate can call"):
            await provider.send(UpstreamRequest("/chat/completions", b"{}", False))
    finally:
        await sessions.close()


async def test_a_body_cut_short_is_upstream_broken():
    async def half_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"id":')
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(half_answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    provider, sessions = _provider(f"http://127.0.0.1:{port}/v1")
    try:
        response = await provider.send(UpstreamRequest("/chat/completions", b"{}", False))
        with pytest.raises(UpstreamBroken):
            await response.read()
    finally:
        await sessions.close()
        server.close()
        await server.wait_closed()
