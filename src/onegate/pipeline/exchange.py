"""One attempt against one channel: send, decide the status before the first byte, relay the answer.

Until the first byte reaches the client an attempt can fail without a trace on the client's side, and
it says so by raising `AttemptFailed` (forwarding then tries the next channel). The commit point is the
first output: a stream is committed only once the upstream's first event has been read, checked and
translated. After that, failure can only be an error event inside the stream, in the client's dialect.

Whose fault: the upstream's (an HTTP error, an error event, an unreadable answer, silence) counts against
the channel; a failure to re-encode the answer because of what the caller sent (`CallerDataError`) is a
400 for that caller, and the channel answered fine. Upstream text enters here only, on error paths, and
only through the channel's `UpstreamText` (its keys redacted, capped): nothing raw reaches a caller or a log.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time

import orjson

from onegate import errors
from onegate.accounting.usage import Usage, estimate_tokens
from onegate.asgi import Responder
from onegate.channels.faults import is_channel_fault, retry_after_seconds
from onegate.context import Attempt, RequestContext
from onegate.dialects.openai_chat.errors import parse_upstream_error
from onegate.dialects.pairs import CallerDataError, Plan
from onegate.dialects.protocols import UpstreamStreamError
from onegate.errors import GatewayError
from onegate.observe.timing import ms
from onegate.providers.protocol import UpstreamRequest, UpstreamResponse, UpstreamTimeout, UpstreamTransportError
from onegate.providers.registry import Target
from onegate.redaction import STORED_ERROR_LIMIT, UpstreamText
from onegate.sse import SSESplitter

_SSE_FIELDS = (b"data:", b"event:", b"id:", b"retry:", b":")
_MAX_UNFRAMED = 1 << 20  # this much stream without one complete event is not an event stream
_PLAIN_CODE = re.compile(r"[A-Za-z0-9_.\-]{1,64}")  # an upstream's error code is repeated only when it is a plain word


class AttemptFailed(Exception):
    """The attempt failed before anything reached the client; another channel may serve the request."""

    def __init__(self, error: GatewayError, *, rate_limited: bool = False, retry_after: float | None = None) -> None:
        super().__init__(error.message)
        self.error = error
        self.rate_limited = rate_limited  # a 429: the channel cools instead of counting a failure
        self.retry_after = retry_after
        self.answered = error.from_upstream  # the upstream answered with an HTTP error (more telling)


class Exchange:
    """One attempt, with everything the log needs if it is cut short."""

    def __init__(
        self,
        ctx: RequestContext,
        responder: Responder,
        target: Target,
        plan: Plan,
        request: UpstreamRequest,
        deadline: float,
    ) -> None:
        self.ctx = ctx
        self.responder = responder
        self.target = target
        self.plan = plan
        self.request = request
        self.deadline = deadline  # perf_counter time the whole request must end by
        self.relay = plan.new_relay()
        self._t0 = time.perf_counter()
        self.attempt = Attempt(target.channel, started_at=self._t0)
        ctx.attempts.append(self.attempt)
        if ctx.routed_at is None:
            ctx.routed_at = self._t0
        self.latency_ms = 0.0  # until the upstream's status and first event: the channel's responsiveness
        self.broken: str | None = None  # why the stream failed after the first byte
        self.response: UpstreamResponse | None = None

    def _finish(self, status: int | None, error: str | None = None) -> None:
        self.attempt.status = status
        self.attempt.error = error[:STORED_ERROR_LIMIT] if error else error
        self.attempt.duration_ms = ms(time.perf_counter() - self._t0, 2)

    def _refuse(
        self, status: int | None, error: GatewayError, reason: str, retry_after: float | None = None
    ) -> AttemptFailed:
        self._finish(status, reason)
        return AttemptFailed(error, rate_limited=status == 429, retry_after=retry_after)

    async def run(self) -> None:
        splitter = SSESplitter()
        try:
            first, pending = await self._until_first_output(splitter)
            self.ctx.upstream_at = now = time.perf_counter()
            if self.ctx.admission is not None and not self.ctx.admission.done():
                await self._wait_for_admission(self.ctx.admission, now)
        except BaseException:
            if self.response is not None:
                self.response.close()  # a hung or refused attempt must stop upstream before the next one
            raise
        self.latency_ms = (now - self._t0) * 1000
        # this attempt answers: its translation notes are the request's, in the row before the last byte
        self.ctx.notes.extend(self.plan.notes)
        response = self.response
        assert response is not None
        if not self.request.stream:
            return await self._answer(response, first)
        try:
            await self._relay_stream(first, pending, splitter, response, self.target.provider.timeouts.idle)
        finally:
            response.close()

    async def _wait_for_admission(self, admission: asyncio.Future[None], since: float) -> None:
        """Sent before admission answered (speculative admission): not a byte, not a header, reaches the
        client before it let the request through. A refusal cancels this task instead."""
        await admission
        self.ctx.admission_wait_ms = (time.perf_counter() - since) * 1000

    async def _until_first_output(self, splitter: SSESplitter) -> tuple[bytes, list[bytes]]:
        """The upstream's whole body (non-stream), or the client's first stream bytes and the events after
        them already received; within the first-byte timeout."""
        wait = max(0.0, min(self.target.provider.timeouts.first_byte, self.deadline - time.perf_counter()))
        channel = self.attempt.channel
        try:
            async with asyncio.timeout(wait):
                self.response = response = await self.target.provider.send(self.request)
                if response.status >= 400:
                    raise self._upstream_refused(response, await response.read())
                if not self.request.stream:
                    return await response.read(), []
                return await self._first_output(response, splitter)
        except TimeoutError:
            message = f"The upstream channel '{channel}' did not answer within {wait:g} s."
            error = GatewayError(errors.UPSTREAM_TIMEOUT, message)
            raise self._refuse(None, error, "timeout before the first byte") from None
        except UpstreamTransportError as exc:
            said = self._text.clean(str(exc))  # aiohttp's words name the URL, which may carry credentials
            how = " is unreachable" if exc.kind is errors.UPSTREAM_UNREACHABLE else ""
            error = GatewayError(exc.kind, f"Upstream channel '{channel}'{how}: {said}.")
            raise self._refuse(None, error, said) from None

    @property
    def _text(self) -> UpstreamText:
        return self.target.provider.upstream_text

    def _upstream_refused(self, response: UpstreamResponse, body: bytes) -> Exception:
        """An HTTP error from the upstream: the channel's fault (fail over), or the caller's (pass it on)."""
        status = response.status
        said, code = upstream_said(body, self._text, self.request.body)
        error = refused_by_upstream(self.attempt.channel, status, said, code, self._text.hide_5xx)
        if status == 429:
            return self._refuse(status, error, said, retry_after_seconds(response.headers))
        if is_channel_fault(status):
            return self._refuse(status, error, said)
        self._finish(status, said)
        return error  # the caller's own request was refused: no other channel would do better

    async def _first_output(self, response: UpstreamResponse, splitter: SSESplitter) -> tuple[bytes, list[bytes]]:
        """Read until the first event with output for the client; anything wrong before it can fail over.

        The commit point is that event, not the chunk it came in: what follows it in the same chunk is
        returned unread, so an error there is a mid-stream error however the network split the bytes.
        """
        channel = self.attempt.channel
        seen = 0
        while True:
            chunk = await response.next_chunk()
            if chunk is None:
                raise self._bad(f"Upstream channel '{channel}' ended the stream before sending anything.", 200)
            seen += len(chunk)
            events = splitter.feed(chunk)
            if not events and seen > _MAX_UNFRAMED:
                raise self._bad(f"Upstream channel '{channel}' answered with something that is not a stream.", 200)
            for i, event in enumerate(events):
                if not self.relay.events:
                    self._check_first_event(event)
                try:
                    out = self.relay.feed(event)
                except UpstreamStreamError as exc:
                    raise self._reported(str(exc)) from None
                except CallerDataError as exc:
                    raise self._caller_fault(exc, 200) from None
                if out:
                    return out, events[i + 1 :]

    def _check_first_event(self, event: bytes) -> None:
        """The first event must be SSE, and not an error the upstream sent with a 200."""
        channel = self.attempt.channel
        line = event.lstrip(b"\r\n")
        if not line.startswith(_SSE_FIELDS):
            raise self._bad(f"Upstream channel '{channel}' answered with something that is not an event stream.", 200)
        if b'"error"' not in event:
            return
        data = b"".join(part[5:].strip() for part in line.splitlines() if part.startswith(b"data:"))
        try:
            payload = orjson.loads(data)
        except orjson.JSONDecodeError:
            return
        if isinstance(payload, dict) and payload.get("error"):
            raise self._reported(parse_upstream_error(data)[0])

    def _reported(self, words: str) -> AttemptFailed:
        """An error event from the upstream before anything reached the client: fail over."""
        said = self._text.clean(words, self.request.body)
        shown = "" if self._text.hide_5xx else f": {said}"
        message = f"Upstream channel '{self.attempt.channel}' reported an error{shown}."
        error = GatewayError(errors.UPSTREAM_BAD_RESPONSE, message, from_upstream=True)
        return self._refuse(200, error, f"reported an error: {said}")

    def _bad(self, message: str, status: int) -> AttemptFailed:
        return self._refuse(status, GatewayError(errors.UPSTREAM_BAD_RESPONSE, message), message)

    def _caller_fault(self, exc: CallerDataError, status: int) -> GatewayError:
        """The upstream answered, but the answer cannot be put in the caller's dialect because of what the
        caller sent: a 400 for them, and not the channel's fault. The upstream's work is billed."""
        self._finish(status, exc.reason)
        self.ctx.usage = exc.usage or self._estimated_usage()
        return exc.error()

    async def _answer(self, response: UpstreamResponse, body: bytes) -> None:
        """A complete, non-stream answer in the client's dialect; an unreadable one can fail over."""
        bad = f"Upstream channel '{self.attempt.channel}' answered with a body onegate cannot read."
        try:
            out, usage = self.plan.translate_body(body)
        except CallerDataError as exc:
            raise self._caller_fault(exc, response.status) from None
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError):
            raise self._bad(bad, response.status) from None
        if usage is None:  # pass-through does not parse; garbage (or an error sent with a 200) reads as no usage
            answer = _json_object(body)
            if answer is None:
                raise self._bad(bad, response.status)
            if answer.get("error"):  # an error body with a 200 (some proxies): never relayed as is
                raise self._reported(parse_upstream_error(body)[0])
        self._finish(response.status)
        self.ctx.usage = usage or self._estimated_usage()
        await self.responder.send_body(response.status, out)

    async def _relay_stream(
        self, first: bytes, pending: list[bytes], splitter: SSESplitter, response: UpstreamResponse, idle: float
    ) -> None:
        relay = self.relay
        await self.responder.start_stream(200)
        await self.responder.stream_chunk(first)
        events = pending
        try:
            while True:
                if events:
                    await self._relay_events(events)
                chunk = await self._next_chunk(response, idle)
                if chunk is None:
                    break
                events = splitter.feed(chunk)
        except (TimeoutError, UpstreamTimeout):
            if time.perf_counter() >= self.deadline:
                return await self._fail_mid_stream("the request reached its total time limit")
            return await self._fail_mid_stream(f"the upstream sent nothing for {idle:g} s")
        except UpstreamTransportError as exc:
            said = self._text.clean(str(exc))
            return await self._fail_mid_stream(f"the upstream closed the connection mid-stream ({said})")
        except UpstreamStreamError as exc:
            said = self._text.clean(str(exc), self.request.body)
            return await self._fail_mid_stream("the upstream reported an error", said)
        except CallerDataError as exc:
            return await self._fail_mid_stream(exc.reason, caller=exc)
        try:
            tail = relay.end()
        except CallerDataError as exc:
            return await self._fail_mid_stream(exc.reason, caller=exc)
        if not relay.done:
            return await self._fail_mid_stream("the upstream ended the stream before finishing its answer")
        self._finish(200)
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
        if response.has_chunk():
            # no wait, so no timer: an asyncio.timeout (a Timeout, a call_at and its cancel, three getpid
            # syscalls in asyncio's loop lookups) per chunk was ~3% of a stream's loop instructions
            return await response.next_chunk()
        silent = 0.0
        keepalive = self.target.provider.timeouts.keepalive
        while True:
            left = self.deadline - time.perf_counter()
            wait = min(keepalive, idle - silent, left)
            try:
                async with asyncio.timeout(max(wait, 0.0)):
                    return await response.next_chunk()
            except TimeoutError:
                silent += wait
                if silent >= idle or wait >= left:
                    raise
                await self.responder.stream_chunk(self.relay.keepalive())

    async def _fail_mid_stream(
        self, reason: str, said: str | None = None, caller: CallerDataError | None = None
    ) -> None:
        """End a started stream with the dialect's error event. `said`: the upstream's own (cleaned) words;
        `caller`: the caller's data could not be encoded, which is no fault of the channel."""
        if caller is not None:
            error = caller.error()
        else:
            shown = f"{reason}: {said}" if said is not None and not self._text.hide_5xx else reason
            message = f"Upstream channel '{self.attempt.channel}' failed after the stream started: {shown}."
            error = GatewayError(errors.UPSTREAM_BAD_RESPONSE, message, from_upstream=said is not None)
            self.broken = reason
        reason = reason if said is None else f"{reason}: {said}"
        self._finish(200, reason)
        self.ctx.error_code = error.kind.code
        self.ctx.error_message = error.message
        self.ctx.usage = self.relay.usage or self._estimated_usage()
        # the dialect's error event may carry the same unencodable fields: then the stream just ends
        with contextlib.suppress(CallerDataError):
            await self.responder.stream_chunk(self.relay.fail(error, self.ctx.request_id))
        await self.responder.end_stream()

    def client_went_away(self) -> None:
        """The client disconnected: the upstream request is cancelled now; bill what was produced."""
        if self.response is not None:
            self.response.close()
        self._finish(self.attempt.status or (200 if self.responder.started else None), "client disconnected")
        self.ctx.usage = self.relay.usage or self._estimated_usage()

    def _estimated_usage(self) -> Usage:
        """When the upstream reports nothing: prompt from the body size, output as one token a chunk."""
        output = max(0, self.relay.events - 2) if self.request.stream else 0
        return Usage(input_tokens=estimate_tokens(len(self.request.body)), output_tokens=output, reported=False)


def upstream_said(body: bytes, text: UpstreamText, request: bytes = b"") -> tuple[str, str | None]:
    """An upstream's error body: its message cleaned (of what it quotes of `request` too), and its code when
    that is a plain word."""
    message, code = parse_upstream_error(body)
    return text.clean(message, request), (code if code and _PLAIN_CODE.fullmatch(code) else None)


def refused_by_upstream(channel: str, status: int, said: str, code: str | None, hide_5xx: bool = False) -> GatewayError:
    """The caller's answer when an upstream refused with `status` (and no other channel served): the kind
    from the one table (`errors.upstream_kind`), the upstream's words marked as its own."""
    kind = errors.upstream_kind(status, code)
    shown = "" if hide_5xx and kind.status >= 500 else f": {said}"
    if status in (401, 403):
        # The channel's own credential was refused: the caller's key is fine, the operator must act.
        message = (
            f"Upstream channel '{channel}' rejected onegate's credentials ({status}{shown}). "
            "This is a gateway configuration problem, not your key; tell the operator."
        )
    else:
        message = f"Upstream channel '{channel}' answered {status}{shown}"
    return GatewayError(kind, message, from_upstream=True)


def upstream_error(channel: str, status: int, body: bytes, text: UpstreamText | None = None) -> GatewayError:
    """`refused_by_upstream` for a raw error body (media adapters read their upstream's errors with it)."""
    text = text or UpstreamText()
    said, code = upstream_said(body, text)
    return refused_by_upstream(channel, status, said, code, text.hide_5xx)


def _json_object(body: bytes) -> dict | None:
    try:
        answer = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    return answer if isinstance(answer, dict) else None
