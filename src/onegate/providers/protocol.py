"""What the forwarding step needs from any upstream: send a request, get a status and a byte stream."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from onegate import errors
from onegate.errors import ErrorKind
from onegate.redaction import UpstreamText
from onegate.settings import Timeouts


@dataclass(frozen=True, slots=True)
class UpstreamRequest:
    endpoint: str  # path under the channel's base URL: "/chat/completions", "/messages", …
    body: bytes
    stream: bool
    headers: Mapping[str, str] = field(default_factory=dict)  # client headers the dialect forwards on purpose
    # a body sent as slices of what the client sent (a multipart form, media/multipart.py); `body` is then b""
    pieces: tuple[bytes | memoryview, ...] = ()


class UpstreamResponse(Protocol):
    status: int
    headers: Mapping[str, str]

    async def read(self) -> bytes: ...

    async def next_chunk(self) -> bytes | None:
        """The next raw body bytes as they arrive; None at the end. Safe to cancel: nothing is lost."""
        ...

    def has_chunk(self) -> bool:
        """True when `next_chunk` answers without waiting (bytes buffered, or the end or a failure known):
        the caller may then skip its timer. False when unsure."""
        ...

    def close(self) -> None: ...


class Provider(Protocol):
    name: str
    dialect: str  # what it speaks when the client's dialect is not one it serves natively
    native_dialects: frozenset[str]
    timeouts: Timeouts
    passthrough_fields: frozenset[str]  # body fields forwarded though they could route the request elsewhere
    upstream_text: UpstreamText  # how this channel's error text is cleaned before onegate repeats it

    async def send(self, request: UpstreamRequest) -> UpstreamResponse: ...


class UpstreamTransportError(Exception):
    """The upstream could not be reached, or the connection failed: the channel's fault, never the caller's.

    Providers raise only these (providers/h1.py raises them, providers/aiohttp_calls.py maps every aiohttp
    exception onto them); `kind` is the error the client gets when no other channel serves the request.
    """

    kind: ErrorKind = errors.UPSTREAM_UNREACHABLE


class UpstreamConnectError(UpstreamTransportError):
    """The upstream could not be reached (refused, DNS, TLS, an unusable base URL)."""


class UpstreamTimeout(UpstreamTransportError):
    """The upstream did not answer, or stopped sending, within the channel's timeout."""

    kind = errors.UPSTREAM_TIMEOUT


class UpstreamBroken(UpstreamTransportError):
    """The upstream closed the connection in the middle of a response."""


class UpstreamBadResponse(UpstreamTransportError):
    """The upstream answered with HTTP the client library cannot read (a redirect loop, a malformed head)."""

    kind = errors.UPSTREAM_BAD_RESPONSE


def transport_message(
    kind: type[UpstreamTransportError], detail: str, base_url: str | None, os_error: object = None
) -> str:
    """The words of a transport failure, the same for both HTTP clients.

    `base_url` when sending (the message names the upstream); None once the response has started."""
    if kind is UpstreamTimeout:
        message = f"{base_url} did not answer in time" if base_url else "the upstream stopped sending"
    elif kind is UpstreamConnectError:
        message = f"cannot connect to {base_url}: {os_error or detail}"
    elif base_url and kind is UpstreamBroken:
        message = f"{base_url} closed the connection: {detail}"
    else:
        message = f"{base_url}: {detail}" if base_url else detail
    return message
