"""A minimal request through one channel: is it reachable, does it accept onegate's credential, how fast.

Used by the background prober and `onegate channels test`. The request is a one-token chat message in
the channel's first model, translated for the channel's dialect like any client request; it is judged
by the same fault table as forwarding, so a 400 (say, a model that wants other parameters) still proves
the channel works. What the upstream says is cleaned by the channel's `UpstreamText` as it comes in: the
detail goes to the breaker's last error, the channel snapshot, the log and `onegate channels test`.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Literal

import orjson

from onegate.channels.faults import is_channel_fault, retry_after_seconds
from onegate.dialects.openai_chat.errors import parse_upstream_error
from onegate.dialects.pairs import plan_exchange
from onegate.providers.protocol import UpstreamRequest, UpstreamTransportError
from onegate.providers.registry import Target

Verdict = Literal["ok", "fault", "rate_limited"]


@dataclass(frozen=True, slots=True)
class ProbeResult:
    channel: str
    verdict: Verdict
    status: int | None
    latency_ms: float
    detail: str  # what the upstream said, or why it said nothing
    retry_after: float | None = None


def probe_body(model: str) -> dict[str, object]:
    return {"model": model, "messages": [{"role": "user", "content": "ping"}], "max_tokens": 1}


async def probe(target: Target) -> ProbeResult:
    provider, channel = target.provider, target.channel
    dialect = "openai_chat" if "openai_chat" in provider.native_dialects else provider.dialect
    plan = plan_exchange("openai_chat", dialect, probe_body(target.upstream_model), target.upstream_model, False, 0)
    started = time.perf_counter()

    def result(verdict: Verdict, status: int | None, detail: str, retry_after: float | None = None) -> ProbeResult:
        return ProbeResult(channel, verdict, status, (time.perf_counter() - started) * 1000, detail, retry_after)

    response = None
    text = provider.upstream_text
    try:
        async with asyncio.timeout(provider.timeouts.first_byte):
            response = await provider.send(UpstreamRequest(plan.endpoint, plan.body, False))
            raw = await response.read()
    except TimeoutError:
        return result("fault", None, f"no answer within {provider.timeouts.first_byte:g} s")
    except UpstreamTransportError as exc:
        return result("fault", None, text.clean(str(exc)))
    finally:
        if response is not None:
            response.close()
    status = response.status
    if status >= 400:
        said = text.clean(parse_upstream_error(raw)[0])
        if status == 429:
            return result("rate_limited", status, said, retry_after_seconds(response.headers))
        return result("fault" if is_channel_fault(status) else "ok", status, said)
    try:
        plan.translate_body(raw)
        orjson.loads(raw)
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError):
        return result("fault", status, "an answer onegate cannot read")
    return result("ok", status, "answered")
