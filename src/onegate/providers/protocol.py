"""What the forwarding step needs from any upstream: send a request, get a status and a byte stream."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from onegate.redaction import UpstreamText
from onegate.settings import Timeouts


@dataclass(frozen=True, slots=True)
class UpstreamRequest:
    endpoint: str  # path under the channel's base URL: "/chat/completions", "/messages", …
    body: bytes
    stream: bool
    headers: Mapping[str, str] = field(default_factory=dict)  # client headers the dialect forwards on purpose


class UpstreamResponse(Protocol):
    status: int
    headers: Mapping[str, str]

    async def read(self) -> bytes: ...

    async def next_chunk(self) -> bytes | None:
        """The next raw body bytes as they arrive; None at the end. Safe to cancel: nothing is lost."""
        ...

    def close(self) -> None: ...


class Provider(Protocol):
    name: str
    dialect: str  # what it speaks when the client's dialect is not one it serves natively
    native_dialects: frozenset[str]
    timeouts: Timeouts
    upstream_text: UpstreamText  # how this channel's error text is cleaned before onegate repeats it

    async def send(self, request: UpstreamRequest) -> UpstreamResponse: ...


class UpstreamConnectError(Exception):
    """The upstream could not be reached (refused, DNS, TLS)."""


class UpstreamTimeout(Exception):
    """The upstream did not answer, or stopped sending, within the channel's timeout."""


class UpstreamBroken(Exception):
    """The upstream closed the connection in the middle of a response."""
