"""What the dialects provide and the planner (`pairs.py`) consumes: codecs and per-request stream state.

Each dialect package builds its codecs from these types; `registry.py` lists them; nothing here imports
a dialect, so the arrows point one way: dialect packages → protocols ← registry ← planner.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from onegate.accounting.usage import Usage
from onegate.dialects import canonical as c
from onegate.errors import GatewayError


class UpstreamStreamError(Exception):
    """The upstream reported an error inside its stream (decoders raise it; forwarding ends the stream)."""


class StreamRelay(Protocol):
    """Per-request stream state: fed each complete upstream SSE event, returns bytes for the client."""

    @property
    def usage(self) -> Usage | None: ...

    @property
    def done(self) -> bool:
        """The upstream ended its answer properly."""
        ...

    @property
    def events(self) -> int: ...

    def feed(self, event: bytes) -> bytes | None: ...

    def end(self) -> bytes:
        """The upstream closed the stream: whatever the client still needs to see a complete answer."""
        ...

    def fail(self, error: GatewayError, request_id: str) -> bytes:
        """An error after the first byte, as the client's dialect reports one inside a stream."""
        ...

    def keepalive(self) -> bytes:
        """Sent while the upstream is silent mid-stream (an SSE comment, or an event where a parser needs one)."""
        ...


class StreamDecoder(Protocol):
    usage: Usage | None
    done: bool
    events: int

    def feed(self, event: bytes) -> list[c.StreamEvent]: ...

    def finish(self) -> list[c.StreamEvent]: ...

    @property
    def finished_cleanly(self) -> bool: ...


class StreamEncoder(Protocol):
    def encode(self, event: c.StreamEvent) -> bytes: ...

    def fail(self, error: GatewayError, request_id: str) -> bytes: ...

    def keepalive(self) -> bytes: ...


@dataclass(frozen=True, slots=True)
class PassthroughCodec:
    """A dialect served as sent: the body patched (`model`, the usage option), the answer relayed as is.

    Legacy completions, embeddings and token counting are only this: an upstream that speaks another
    dialect cannot serve them.
    """

    name: str
    endpoint: str  # path under a channel's base URL
    patch_for_upstream: Callable[[dict[str, Any], str, bool], dict[str, Any]]
    passthrough_relay: Callable[[dict[str, Any]], StreamRelay]  # given the client's original body
    usage_of_body: Callable[[bytes], Usage | None]


@dataclass(frozen=True, slots=True)
class TranslatingCodec(PassthroughCodec):
    """A dialect that is also translated through the neutral hub (`canonical.py`) to and from any other."""

    request_to_canonical: Callable[[dict[str, Any]], c.CanonicalRequest]
    request_from_canonical: Callable[[c.CanonicalRequest, str], dict[str, Any]]
    response_to_canonical: Callable[[dict[str, Any]], c.CanonicalResponse]
    # (response, public model, created, the client's request body)
    response_from_canonical: Callable[[c.CanonicalResponse, str, int, dict[str, Any]], dict[str, Any]]
    stream_decoder: Callable[[], StreamDecoder]
    stream_encoder: Callable[[str, int, dict[str, Any]], StreamEncoder]  # (model, created, body)
    # Neutral tool kinds `request_from_canonical` can write; any other tool is dropped or refused (fit_tools).
    tool_kinds: frozenset[str] = frozenset({"function"})
