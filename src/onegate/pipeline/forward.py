"""Step 4: send the request upstream and relay the answer to the client.

The HTTP status is decided before the first byte reaches the client: onegate waits for the upstream's
status and, on a stream, its first chunk. After that, a failure can only be an error event inside the
stream. A stream is relayed event by event as it arrives, never buffered whole.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import orjson

from onegate import errors
from onegate.accounting.usage import Usage, estimate_tokens
from onegate.context import Attempt, RequestContext
from onegate.dialects.openai_chat.errors import parse_upstream_error
from onegate.dialects.pairs import Plan, UpstreamStreamError, plan_exchange
from onegate.errors import GatewayError
from onegate.providers.protocol import (
    UpstreamBroken,
    UpstreamConnectError,
    UpstreamRequest,
    UpstreamResponse,
    UpstreamTimeout,
)
from onegate.providers.registry import ModelEntry, Target
from onegate.server.http import Receive, Responder, run_until_disconnect
from onegate.server.sse import SSESplitter


async def forward(
    ctx: RequestContext,
    responder: Responder,
    receive: Receive,
    entry: ModelEntry,
    body: dict[str, Any],
    stream: bool,
    forwarded_headers: dict[str, str] | None = None,
) -> None:
    """Serve `body` (in `ctx.dialect`) from the model's channel, translating if the dialects differ."""
    target = entry.targets[0]
    provider = target.provider
    ctx.model_routed = target.upstream_model
    ctx.channel = provider.name
    ctx.price = entry.price
    ctx.stream = stream
    upstream_dialect = ctx.dialect if ctx.dialect in provider.native_dialects else provider.dialect
    plan = plan_exchange(ctx.dialect, upstream_dialect, body, target.upstream_model, stream, int(time.time()))
    ctx.notes.extend(plan.notes)
    # The client's dialect headers (anthropic-beta …) mean something only to an upstream of that dialect.
    headers = forwarded_headers if forwarded_headers and upstream_dialect == ctx.dialect else {}
    request = UpstreamRequest(plan.endpoint, plan.body, stream, headers)
    exchange = Exchange(ctx, responder, target, request, plan)
    disconnected = await run_until_disconnect(exchange.run(), receive)
    if disconnected:
        exchange.client_went_away()


class Exchange:
    """One attempt against one upstream, with everything the log needs if it is cut short."""

    def __init__(
        self,
        ctx: RequestContext,
        responder: Responder,
        target: Target,
        request: UpstreamRequest,
        plan: Plan,
    ) -> None:
        self.ctx = ctx
        self.responder = responder
        self.target = target
        self.request = request
        self.plan = plan
        self.relay = plan.new_relay()
        self.attempt = Attempt(target.provider.name)
        self._t0 = time.perf_counter()
        self.response: UpstreamResponse | None = None

    def _finish_attempt(self, status: int | None, error: str | None = None) -> None:
        self.attempt.status = status
        self.attempt.error = error
        self.attempt.duration_ms = round((time.perf_counter() - self._t0) * 1000, 2)
        if self.attempt not in self.ctx.attempts:
            self.ctx.attempts.append(self.attempt)

    async def run(self) -> None:
        timeouts = self.target.provider.timeouts
        try:
            async with asyncio.timeout(timeouts.first_byte):
                self.response = response = await self.target.provider.send(self.request)
                if response.status >= 400 or not self.request.stream:
                    body = await response.read()
                    return await self._answer(response, body)
                first = await response.next_chunk()
        except TimeoutError:
            self._finish_attempt(None, "timeout before the first byte")
            raise GatewayError(
                errors.UPSTREAM_TIMEOUT,
                f"The upstream channel '{self.attempt.channel}' did not answer within {timeouts.first_byte:g} s.",
            ) from None
        except UpstreamTimeout as exc:
            self._finish_attempt(None, str(exc))
            raise GatewayError(errors.UPSTREAM_TIMEOUT, f"Upstream channel '{self.attempt.channel}': {exc}.") from None
        except (UpstreamConnectError, UpstreamBroken) as exc:
            self._finish_attempt(None, str(exc))
            raise GatewayError(
                errors.UPSTREAM_UNREACHABLE, f"Upstream channel '{self.attempt.channel}' is unreachable: {exc}."
            ) from None
        if first is None:
            self._finish_attempt(response.status, "empty stream")
            raise GatewayError(
                errors.UPSTREAM_BAD_RESPONSE,
                f"Upstream channel '{self.attempt.channel}' ended the stream before sending anything.",
            )
        try:
            await self._relay_stream(first, response, timeouts.idle)
        finally:
            response.close()

    async def _answer(self, response: UpstreamResponse, body: bytes) -> None:
        """A complete, non-stream answer (or an upstream error), in the client's dialect."""
        if response.status >= 400:
            self._finish_attempt(response.status, parse_upstream_error(body)[0])
            raise upstream_error(self.attempt.channel, response.status, body)
        try:
            out, usage = self.plan.translate_body(body)
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError) as exc:
            self._finish_attempt(response.status, f"unreadable body: {exc}")
            raise GatewayError(
                errors.UPSTREAM_BAD_RESPONSE,
                f"Upstream channel '{self.attempt.channel}' answered with a body onegate cannot read.",
            ) from None
        self._finish_attempt(response.status)
        self.ctx.usage = usage or self._estimated_usage()
        await self.responder.send_body(response.status, out)

    async def _relay_stream(self, first: bytes, response: UpstreamResponse, idle: float) -> None:
        splitter = SSESplitter()
        relay = self.relay
        await self.responder.start_stream(200)
        chunk = first
        try:
            while True:
                events = splitter.feed(chunk)
                if events:
                    await self._relay_events(events)
                chunk = await self._next_chunk(response, idle)
                if chunk is None:
                    break
        except (TimeoutError, UpstreamTimeout):
            await self._fail_mid_stream(f"the upstream sent nothing for {idle:g} s")
            return
        except UpstreamBroken as exc:
            await self._fail_mid_stream(f"the upstream closed the connection mid-stream ({exc})")
            return
        except UpstreamStreamError as exc:
            await self._fail_mid_stream(f"the upstream reported an error: {exc}")
            return
        tail = relay.end()
        if not relay.done:
            await self._fail_mid_stream("the upstream ended the stream before finishing its answer")
            return
        self._finish_attempt(200)
        self.ctx.usage = relay.usage or self._estimated_usage()
        if tail:
            await self.responder.stream_chunk(tail)
        await self.responder.end_stream()

    async def _relay_events(self, events: list[bytes]) -> None:
        """Relay one chunk's events; what precedes an upstream error in the same chunk still goes out."""
        out: list[bytes] = []
        try:
            for event in events:
                piece = self.relay.feed(event)
                if piece:
                    out.append(piece)
        finally:
            if out:
                await self.responder.stream_chunk(out[0] if len(out) == 1 else b"".join(out))

    async def _next_chunk(self, response: UpstreamResponse, idle: float) -> bytes | None:
        """The next upstream chunk; keep-alives go to the client while the upstream is silent."""
        silent = 0.0
        while True:
            wait = min(self.target.provider.timeouts.keepalive, idle - silent)
            try:
                async with asyncio.timeout(wait):
                    return await response.next_chunk()
            except TimeoutError:
                silent += wait
                if silent >= idle:
                    raise
                await self.responder.stream_chunk(self.relay.keepalive())

    async def _fail_mid_stream(self, reason: str) -> None:
        message = f"Upstream channel '{self.attempt.channel}' failed after the stream started: {reason}."
        error = GatewayError(errors.UPSTREAM_BAD_RESPONSE, message)
        self._finish_attempt(200, reason)
        self.ctx.error_code = errors.UPSTREAM_BAD_RESPONSE.code
        self.ctx.error_message = message
        self.ctx.usage = self.relay.usage or self._estimated_usage()
        await self.responder.stream_chunk(self.relay.fail(error, self.ctx.request_id))
        await self.responder.end_stream()

    def client_went_away(self) -> None:
        """The client disconnected: the upstream request was cancelled; bill what was produced."""
        if self.response is not None:
            self.response.close()
        self._finish_attempt(self.attempt.status or 200, "client disconnected")
        self.ctx.status = errors.CLIENT_DISCONNECTED.status
        self.ctx.error_code = errors.CLIENT_DISCONNECTED.code
        self.ctx.error_message = "The client closed the connection before the response was complete."
        self.ctx.usage = self.relay.usage or self._estimated_usage()

    def _estimated_usage(self) -> Usage:
        """When the upstream reports nothing: prompt from the body size, output as one token a chunk."""
        output = max(0, self.relay.events - 2) if self.request.stream else 0
        return Usage(input_tokens=estimate_tokens(len(self.request.body)), output_tokens=output, reported=False)


def upstream_error(channel: str, status: int, body: bytes) -> GatewayError:
    message, code = parse_upstream_error(body)
    if status in (401, 403):
        # The channel's own credential was refused: the caller's key is fine, the operator must act.
        return GatewayError(
            errors.UPSTREAM_AUTH_FAILED,
            f"Upstream channel '{channel}' rejected onegate's credentials ({status}: {message}). "
            "This is a gateway configuration problem, not your key; tell the operator.",
            from_upstream=True,
        )
    return GatewayError(
        errors.upstream_kind(status, code),
        f"Upstream channel '{channel}' answered {status}: {message}",
        from_upstream=True,
    )
