"""Where a client dialect meets an upstream dialect: pass-through when they match, else via the hub.

`plan_exchange` returns everything forwarding needs for one request — the upstream path and body, how
to turn a complete upstream answer into the client's dialect, and a per-request stream relay — so the
forwarding code is the same for every pair. Pure: the caller supplies the clock (`created`).

Whose fault a failure is follows the data: translating or encoding the caller's request, and encoding
an answer that carries the caller's own fields (Responses echoes `metadata`, `tools`, …), fail because of
what the caller sent (`CallerDataError`, a 400); decoding the upstream's bytes fails because of the upstream.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from onegate import errors
from onegate.accounting.usage import Usage
from onegate.dialects import canonical as c
from onegate.dialects.protocols import (
    StreamDecoder,
    StreamEncoder,
    StreamRelay,
    TranslatingCodec,
)
from onegate.dialects.registry import CODECS
from onegate.errors import GatewayError

# What a translator raises on data it cannot handle (orjson's encode errors, recursion included, are TypeErrors).
_TRANSLATION_ERRORS = (TypeError, ValueError, KeyError, AttributeError, IndexError, RecursionError)


class CallerDataError(Exception):
    """The caller's own data cannot be translated or re-encoded (say, `metadata` nested deeper than a JSON
    encoder goes): a 400 for that caller, never a failure of the channel. `usage`: what the upstream spent."""

    def __init__(self, cause: BaseException, usage: Usage | None = None) -> None:
        super().__init__(str(cause))
        self.reason = f"the request's own data cannot be translated ({type(cause).__name__}: {cause})"[:300]
        self.usage = usage

    def error(self) -> GatewayError:
        return GatewayError(
            errors.UNTRANSLATABLE_REQUEST,
            f"onegate cannot carry this request's data through translation: {self.reason}. Simplify the "
            "fields it names (a nesting depth of 255 or less, the documented types).",
        )


@dataclass(slots=True)
class Plan:
    endpoint: str
    body: bytes
    translate_body: Callable[[bytes], tuple[bytes, Usage | None]]
    new_relay: Callable[[], StreamRelay]
    notes: list[str]
    pieces: tuple[bytes | memoryview, ...] = ()  # a body sent as slices (a multipart form); `body` is then b""


# Body fields with which an aggregator upstream (OpenRouter, LiteLLM, …) sends a request to other models or
# providers, or runs paid plugins: a key allowed one cheap model could reach any model on the operator's
# account at that model's price. Removed before forwarding unless the channel lists them in `passthrough_fields`.
ROUTING_FIELDS = frozenset({"models", "route", "provider", "plugins", "transforms", "preset", "fallbacks"})


def plan_exchange(
    inbound: str,
    upstream: str,
    body: dict[str, Any],
    upstream_model: str,
    stream: bool,
    created: int,
    passthrough: frozenset[str] = frozenset(),
) -> Plan:
    """How to serve `body` (in the `inbound` dialect) from an upstream speaking `upstream`.

    `passthrough`: the channel's `passthrough_fields`, sent on as the client set them (translated too).
    `body` is not changed, so forwarding can plan again for another channel when an attempt fails.
    """
    try:
        return _plan(inbound, upstream, body, upstream_model, stream, created, passthrough)
    except _TRANSLATION_ERRORS as exc:  # nothing has been sent: only the caller's body was involved
        raise CallerDataError(exc).error() from None


def _plan(
    inbound: str,
    upstream: str,
    body: dict[str, Any],
    upstream_model: str,
    stream: bool,
    created: int,
    passthrough: frozenset[str],
) -> Plan:
    client, server = CODECS[inbound], CODECS.get(upstream)
    if server is None:  # a channel that serves video tasks only (type gemini: Veo) has no codec to plan with
        raise GatewayError(
            errors.INVALID_REQUEST,
            f"The model '{body.get('model')}' is served by a {upstream} upstream, which serves video tasks only.",
            param="model",
        )
    if inbound == upstream:
        # Patch a copy: `body` stays what the client sent, for the relay (include_usage) and for a failover
        # attempt on another channel. patch_for_upstream must copy any nested object it changes.
        patched = dict(body)
        if isinstance(body.get("stream_options"), dict):
            patched["stream_options"] = dict(body["stream_options"])
        notes = []
        for name in sorted((ROUTING_FIELDS - passthrough) & patched.keys()):
            del patched[name]
            notes.append(f"field '{name}' removed: it would let the upstream route elsewhere (see passthrough_fields)")
        payload = orjson.dumps(client.patch_for_upstream(patched, upstream_model, stream))
        return Plan(
            client.endpoint,
            payload,
            lambda raw: (raw, client.usage_of_body(raw)),
            lambda: client.passthrough_relay(body),
            notes,
        )
    if not (isinstance(client, TranslatingCodec) and isinstance(server, TranslatingCodec)):
        raise GatewayError(
            errors.INVALID_REQUEST,
            f"The model '{body.get('model')}' is served by a {upstream} upstream, which cannot answer "
            f"{client.endpoint} requests.",
            param="model",
        )
    read_response, write_response = server.response_to_canonical, client.response_from_canonical
    new_decoder, new_encoder = server.stream_decoder, client.stream_encoder
    request = client.request_to_canonical(body)
    request.stream = stream
    fit_tools(request, server)
    translated = server.request_from_canonical(request, upstream_model)
    for name in passthrough:  # translation keeps only what it understands; the operator wants these too
        if name in body and name not in translated:
            translated[name] = body[name]
    payload = orjson.dumps(translated)
    public_model = str(body.get("model", upstream_model))

    def translate_body(raw: bytes) -> tuple[bytes, Usage | None]:
        response = read_response(orjson.loads(raw))  # the upstream's bytes: its faults
        try:
            return orjson.dumps(write_response(response, public_model, created, body)), response.usage
        except _TRANSLATION_ERRORS as exc:  # our encoding, with the caller's own fields in it
            raise CallerDataError(exc, response.usage) from exc

    def new_relay() -> StreamRelay:
        return TranslatingRelay(new_decoder(), new_encoder(public_model, created, body))

    return Plan(server.endpoint, payload, translate_body, new_relay, request.notes)


def fit_tools(request: c.CanonicalRequest, upstream: TranslatingCodec) -> None:
    """Vendor tools the upstream dialect cannot carry: droppable ones go (with a note), others are refused.

    One rule for every pair, so a tool a client depends on is never silently lost: a hosted extra such
    as web search is left out, anything the client expects to be called is a 400 naming it.
    """
    kept: list[c.Tool] = []
    for tool in request.tools:
        if tool.kind in upstream.tool_kinds:
            kept.append(tool)
        elif tool.droppable:
            request.notes.append(f"tool '{tool.kind}' dropped: the upstream ({upstream.name}) cannot run it")
        else:
            raise GatewayError(
                errors.INVALID_REQUEST,
                f"The model '{request.model}' cannot use tools of type '{tool.kind}': its upstream speaks "
                f"{upstream.name}, which has no such tool. Remove the tool, or use a model whose channel serves "
                "your API natively.",
                param="tools",
            )
    request.tools = kept


class TranslatingRelay:
    """Upstream events → neutral events → client events."""

    __slots__ = ("_decoder", "_encoder")

    def __init__(self, decoder: StreamDecoder, encoder: StreamEncoder) -> None:
        self._decoder = decoder
        self._encoder = encoder

    @property
    def usage(self) -> Usage | None:
        return self._decoder.usage

    @property
    def done(self) -> bool:
        return self._decoder.done

    @property
    def events(self) -> int:
        return self._decoder.events

    def feed(self, event: bytes) -> bytes | None:
        return self._encode(self._decoder.feed(event)) or None  # decoding is the upstream's part, encoding ours

    def end(self) -> bytes:
        if self._decoder.done or not self._decoder.finished_cleanly:
            return b""
        return self._encode(self._decoder.finish())

    def _encode(self, events: list[c.StreamEvent]) -> bytes:
        try:
            return b"".join(self._encoder.encode(e) for e in events)
        except _TRANSLATION_ERRORS as exc:  # the client encoder mixes in the caller's fields
            raise CallerDataError(exc, self._decoder.usage) from exc

    def fail(self, error: GatewayError, request_id: str) -> bytes:
        try:
            return self._encoder.fail(error, request_id)
        except _TRANSLATION_ERRORS as exc:
            raise CallerDataError(exc, self._decoder.usage) from exc

    def keepalive(self) -> bytes:
        return self._encoder.keepalive()
