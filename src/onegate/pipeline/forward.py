"""Step 4: serve the request from the route's channels, failing over before the first byte.

The policy, the same for every surface and every dialect pair:
- at most `routing.max_attempts` attempts, each on a different channel, inside one total deadline;
- fail over on connection errors, timeouts before the first byte, 429 (the channel cools for its
  Retry-After), 401/403 (the channel's credential), 408/5xx/529, and empty or unreadable answers;
- never on the caller's own 4xx, and never once a byte has reached the client (the stream then ends
  with the dialect's error event);
- when every attempt failed: the most telling error, its attempt count in the message and in
  `x-onegate-attempts`, and `x-should-retry: false` (onegate already retried; SDK retries would multiply).
Every attempt is in the log row's timeline; only the attempt that produced output sets the usage.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from onegate import errors
from onegate.asgi import Receive, Responder, run_until_disconnect
from onegate.context import RequestContext
from onegate.dialects.pairs import Plan, plan_exchange
from onegate.errors import GatewayError
from onegate.pipeline.exchange import AttemptFailed, Exchange
from onegate.pipeline.route import RoutePlan, channels_unavailable
from onegate.providers.protocol import UpstreamRequest
from onegate.providers.registry import Target

Planner = Callable[[Target, str], Plan]  # (the channel, the dialect it will be spoken to in) → the attempt's plan


async def forward(
    ctx: RequestContext,
    responder: Responder,
    receive: Receive,
    route: RoutePlan,
    body: dict[str, Any],
    stream: bool,
    forwarded_headers: dict[str, str] | None = None,
    planner: Planner | None = None,
) -> None:
    """Serve `body` (in `ctx.dialect`) from the route's channels, translating where dialects differ.

    `planner`: plans each attempt instead of `plan_exchange`, for a body that is not JSON (a multipart form)."""
    ctx.price = route.entry.price
    ctx.stream = stream
    failover = Failover(ctx, responder, route, body, stream, forwarded_headers or {}, planner)
    if await run_until_disconnect(failover.run(), receive, responder):
        failover.client_went_away()
    else:
        # Outside the disconnect watch: once the response is complete, the watcher reports the client as
        # gone, which would cancel a report still awaiting a shared store.
        await failover.report_answer()


class Failover:
    def __init__(
        self,
        ctx: RequestContext,
        responder: Responder,
        route: RoutePlan,
        body: dict[str, Any],
        stream: bool,
        forwarded_headers: dict[str, str],
        planner: Planner | None = None,
    ) -> None:
        self.ctx = ctx
        self.planner = planner
        self.responder = responder
        self.route = route
        self.body = body
        self.stream = stream
        self.forwarded_headers = forwarded_headers
        self.exchange: Exchange | None = None
        self.answered: Exchange | None = None  # the attempt whose answer reached the client

    async def run(self) -> None:
        book, routing = self.route.book, self.route.book.routing
        deadline = self.ctx.started + routing.total_timeout
        failures: list[AttemptFailed] = []
        unservable: GatewayError | None = None
        for target in self.route.targets:
            if len(self.ctx.attempts) >= routing.max_attempts or time.perf_counter() >= deadline:
                break
            provider = target.provider
            dialect = self.ctx.dialect if self.ctx.dialect in provider.native_dialects else provider.dialect
            try:
                plan = self._plan(target, dialect)
            except GatewayError as err:  # this channel's dialect cannot serve this endpoint; another may
                unservable = err
                continue
            if not await book.acquire(target.channel, lease=target.provider.timeouts.first_byte):
                continue  # opened, cooled or filled up since the route was planned, or another probe runs
            self.ctx.channel, self.ctx.model_routed = target.channel, target.upstream_model
            # The client's dialect headers (anthropic-beta …) mean something only to an upstream of that dialect.
            headers = self.forwarded_headers if dialect == self.ctx.dialect else {}
            request = UpstreamRequest(plan.endpoint, plan.body, self.stream, headers, plan.pieces)
            self.exchange = exchange = Exchange(self.ctx, self.responder, target, plan, request, deadline)
            try:
                await exchange.run()
            except AttemptFailed as failure:
                # without its traceback: that holds this frame, whose `failures` holds it (a cycle only
                # the cyclic GC frees, with the whole request's objects)
                failures.append(failure.with_traceback(None))
                await self._report_failure(target, failure)
                continue
            except GatewayError:  # the upstream refused the caller's own request: the channel is fine
                self.ctx.notes.extend(plan.notes)
                await book.succeeded(target.channel, exchange.latency_ms)
                raise
            finally:
                book.release(target.channel)
            self.answered = exchange  # its plan's notes are in ctx.notes (Exchange.run)
            return
        if failures:
            raise exhausted(failures, len(self.ctx.attempts), time.perf_counter() >= deadline)
        if unservable is not None:
            raise unservable
        raise channels_unavailable(book, self.route.entry, time.time())

    def _plan(self, target: Target, dialect: str) -> Plan:
        """A fresh plan per attempt: each channel may speak another dialect under another model name."""
        if self.planner is not None:
            return self.planner(target, dialect)
        return plan_exchange(
            self.ctx.dialect,
            dialect,
            self.body,
            target.upstream_model,
            self.stream,
            int(time.time()),
            target.provider.passthrough_fields,
        )

    async def report_answer(self) -> None:
        """The answering channel's outcome, for its breaker: a success, or a stream broken midway."""
        exchange = self.answered
        if exchange is None:
            return
        if exchange.broken:
            await self.route.book.failed(exchange.target.channel, exchange.broken)
        else:
            await self.route.book.succeeded(exchange.target.channel, exchange.latency_ms)

    async def _report_failure(self, target: Target, failure: AttemptFailed) -> None:
        book, reason = self.route.book, failure.error.message
        if failure.rate_limited:
            await book.rate_limited(target.channel, failure.retry_after, reason)
        else:
            await book.failed(target.channel, reason)

    def client_went_away(self) -> None:
        """The client disconnected: the current attempt's upstream request is cancelled; bill its output."""
        if self.exchange is not None:
            self.exchange.client_went_away()
        self.ctx.status = errors.CLIENT_DISCONNECTED.status
        self.ctx.error_code = errors.CLIENT_DISCONNECTED.code
        self.ctx.error_message = "The client closed the connection before the response was complete."


def exhausted(failures: list[AttemptFailed], attempts: int, out_of_time: bool) -> GatewayError:
    """The answer when no attempt succeeded: the most telling error, with the count and the timeline."""
    answered = [f for f in failures if f.answered]
    last = (answered or failures)[-1]
    error = last.error
    plural = "attempt" if attempts == 1 else "attempts"
    why = " before the request's time limit ran out" if out_of_time else ""
    message = f"{error.message} ({attempts} {plural} failed{why}; the request log has each one.)"
    headers = {**error.headers, "x-onegate-attempts": str(attempts)}
    if last.retry_after is not None:
        headers["retry-after"] = str(max(1, round(last.retry_after)))
    if attempts > 1:
        headers["x-should-retry"] = "false"  # onegate already retried on other channels
    return GatewayError(error.kind, message, param=error.param, headers=headers, from_upstream=error.from_upstream)
