"""The aiohttp side of `HttpChannel.call` (the media adapters' uploads, polls and downloads): its session,
its response, its body of slices, and the mapping of aiohttp's failures onto the provider protocol's.

A module of its own so that aiohttp is imported only when a call is first made: its import is about a third
of `onegate serve`'s start-up (callgrind: ~750 M instructions, most of it parsing the CA bundle twice),
and model requests never need it (they go through `providers/h1.py`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import aiohttp
import aiohttp.payload

from onegate.providers.protocol import (
    UpstreamBadResponse,
    UpstreamBroken,
    UpstreamConnectError,
    UpstreamTimeout,
    UpstreamTransportError,
    transport_message,
)
from onegate.settings import Timeouts

# aiohttp's exception families onto ours, first match wins (tests/providers/test_http.py checks that
# every aiohttp exception class meets an entry). Timeouts come first: aiohttp's are also connection errors.
TRANSPORT_ERRORS: tuple[tuple[type[BaseException], type[UpstreamTransportError]], ...] = (
    (TimeoutError, UpstreamTimeout),  # asyncio's, and aiohttp's ServerTimeoutError and its kinds
    (aiohttp.ClientConnectorError, UpstreamConnectError),  # refused, DNS, proxy, TLS handshake, certificate
    (aiohttp.ServerFingerprintMismatch, UpstreamConnectError),
    (aiohttp.ClientPayloadError, UpstreamBroken),  # the body stopped short or its framing broke
    (aiohttp.ClientConnectionError, UpstreamBroken),  # disconnected, reset, any other socket error
    (aiohttp.UploadAbortedError, UpstreamBroken),
    (aiohttp.ClientResponseError, UpstreamBadResponse),  # redirect loop, a proxy's refusal, a malformed head
    (aiohttp.RedirectClientError, UpstreamBadResponse),  # a redirect to a URL that cannot be followed
    (aiohttp.InvalidURL, UpstreamConnectError),  # a channel base_url aiohttp cannot use
    (aiohttp.NonHttpUrlClientError, UpstreamConnectError),
    (OSError, UpstreamBroken),  # a socket error aiohttp did not wrap
)


def transport_class(exc_type: type[BaseException]) -> type[UpstreamTransportError] | None:
    return next((ours for theirs, ours in TRANSPORT_ERRORS if issubclass(exc_type, theirs)), None)


def transport_error(exc: BaseException, base_url: str | None = None) -> UpstreamTransportError:
    """The one mapping of an aiohttp failure onto the provider protocol's exceptions.

    `base_url` when sending (the message names the upstream); None once the response has started.
    """
    kind = transport_class(type(exc)) or UpstreamBroken  # an aiohttp class newer than the table
    detail = str(exc) or type(exc).__name__
    if isinstance(exc, aiohttp.InvalidURL | aiohttp.NonHttpUrlClientError):
        detail = f"{detail} is not an http(s) URL onegate can call"
    return kind(transport_message(kind, detail, base_url, getattr(exc, "os_error", None)))


def new_session(keepalive: float) -> aiohttp.ClientSession:
    connector = aiohttp.TCPConnector(limit=0, limit_per_host=0, ttl_dns_cache=300, keepalive_timeout=keepalive)
    # No cookie jar: upstream APIs set no cookies we want, and the jar costs time on every response.
    return aiohttp.ClientSession(connector=connector, auto_decompress=True, cookie_jar=aiohttp.DummyCookieJar())


def client_timeout(timeouts: Timeouts) -> aiohttp.ClientTimeout:
    return aiohttp.ClientTimeout(
        total=timeouts.total, sock_connect=timeouts.connect, sock_read=max(timeouts.idle, timeouts.first_byte)
    )


async def call(
    session: aiohttp.ClientSession,
    method: str,
    url: str,
    base_url: str,
    timeout: aiohttp.ClientTimeout,
    **options: Any,
) -> AiohttpResponse:
    """One request on `session`; any failure raised as the provider protocol's exception naming `base_url`."""
    try:
        response = await session.request(method, url, timeout=timeout, **options)
    except (aiohttp.ClientError, OSError) as exc:  # TimeoutError is an OSError
        raise transport_error(exc, base_url) from exc
    return AiohttpResponse(response)


class PiecesPayload(aiohttp.payload.Payload):
    """A body sent from slices of bytes already in memory, with a Content-Length (no copy, no chunking)."""

    def __init__(self, pieces: tuple[bytes | memoryview, ...]) -> None:
        super().__init__(pieces, content_type=None)
        self._size = sum(len(p) for p in pieces)

    async def write(self, writer: Any) -> None:
        for piece in self._value:
            await writer.write(piece)

    def decode(self, encoding: str = "utf-8", errors: str = "strict") -> str:
        return b"".join(self._value).decode(encoding, errors)


class AiohttpResponse:
    __slots__ = ("_response", "status", "headers")

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response
        self.status = response.status
        self.headers: Mapping[str, str] = response.headers

    async def read(self) -> bytes:
        try:
            return await self._response.read()
        except (aiohttp.ClientError, OSError) as exc:
            raise transport_error(exc) from exc
        finally:
            self._response.release()

    async def next_chunk(self) -> bytes | None:
        try:
            # readany() keeps unread data in the buffer when cancelled, so a keep-alive timer may interrupt it
            return await self._response.content.readany() or None
        except (aiohttp.ClientError, OSError) as exc:
            raise transport_error(exc) from exc

    def has_chunk(self) -> bool:
        return False  # (not on the streaming path: only the lean client's answers are relayed)

    def close(self) -> None:
        # close, not release: an unfinished stream must stop generating (and billing) upstream
        self._response.close()
