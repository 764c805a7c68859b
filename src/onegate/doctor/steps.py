"""The doctor's steps, in the order support uses: URL shape, `GET /models`, a plain request, a stream, a long reply.

Each step returns a `Step` with pass/warn/fail, a one-line summary, the fix, and what evidence needs: the
HTTP status, the time, the server's original error text and its request id. Works against any
OpenAI-compatible gateway: only `/models` and `/chat/completions` are called. For an Anthropic-style client
(Claude Code) the requests are the ones it makes: `/v1/models` and `/v1/messages` with `anthropic-version`.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from onegate.diagnosis.models import diagnose_model
from onegate.diagnosis.profiles import profile_of
from onegate.doctor.http import Reply, StreamReply, request, stream
from onegate.doctor.urlshape import check_url, request_root
from onegate.i18n.catalog import text

PLAIN_PROMPT = "Reply with the single word: ok"
LONG_PROMPT = "Count from 1 to 200, one number per line, and nothing else."
BUFFERED_MIN_TOTAL = 0.3  # seconds: below this a stream is too quick to tell buffering from speed
ANTHROPIC_VERSION = "2023-06-01"
IDLE_WARNING = 30.0  # seconds without an event in a long reply: close to proxies' read timeouts


@dataclass
class Step:
    name: str  # url | models | chat | stream | long | image | video
    status: str  # pass | warn | fail | skip
    summary: str
    fix: str = ""
    http_status: int | None = None
    ms: float | None = None
    error_text: str | None = None  # the server's own words, for the ticket
    request_id: str | None = None
    task_id: str | None = None  # the video step's task
    callback: str | None = None  # the video step's callback delivery, as the server reports it


@dataclass(frozen=True)
class DoctorInput:
    base_url: str
    key: str
    model: str
    client: str = "unknown"
    lang: str = "en"
    timeout: float = 300.0
    user_agent: str = "onegate-doctor"

    @property
    def root(self) -> str:
        return request_root(self.base_url, self.client)

    @property
    def anthropic(self) -> bool:
        return profile_of(self.client).style == "anthropic"

    @property
    def endpoint(self) -> str:
        return self.root + ("/messages" if self.anthropic else "/chat/completions")

    def headers(self) -> dict[str, str]:
        sent = {
            "authorization": f"Bearer {self.key}",
            "content-type": "application/json",
            "user-agent": self.user_agent,
        }
        if self.anthropic:  # as Claude Code with ANTHROPIC_AUTH_TOKEN sends it
            sent["anthropic-version"] = ANTHROPIC_VERSION
        return sent


def url_step(d: DoctorInput) -> Step:
    checks = check_url(d.base_url, d.client)
    worst = checks[0]
    lines = [text(c.message_id, d.lang, **c.params) for c in checks]
    fix = text(f"{worst.message_id}.fix", d.lang, **worst.params) if worst.level != "pass" else ""
    return Step("url", worst.level, " ".join(lines), fix)


def _answered(name: str, status: str, reply: Reply, summary: str, fix: str = "", error: str | None = None) -> Step:
    """A step's result with the evidence of the answer it got: status, time, request id."""
    return Step(name, status, summary, fix, reply.status, reply.ms, error, reply.request_id)


_KNOWN_REFUSALS = {f"doctor.http.{s}" for s in ("html", "model_not_found", "401", "402", "403", "404", "429")}


def _refused(name: str, reply: Reply, d: DoctorInput) -> Step:
    """A step whose request did not get the answer it needed: say what came back and what to change."""
    if reply.status is None:
        return Step(
            name, "fail", text("doctor.net", d.lang, error=reply.error), text("doctor.net.fix", d.lang), ms=reply.ms
        )
    data = reply.json()
    error = data.get("error") if isinstance(data, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    why = "html" if reply.looks_like_html else ("model_not_found" if code == "model_not_found" else str(reply.status))
    message_id = f"doctor.http.{why}" if f"doctor.http.{why}" in _KNOWN_REFUSALS else "doctor.http.other"
    summary = text(message_id, d.lang, status=str(reply.status))
    return _answered(name, "fail", reply, summary, text(f"{message_id}.fix", d.lang, root=d.root), reply.error_text())


def flagged(step: Step, reply: Reply, d: DoctorInput) -> Step:
    """onegate (and any gateway that copies it) names a misconfiguration it forgave in `x-onegate-hint`."""
    hint = reply.headers.get("x-onegate-hint")
    if hint and step.status == "pass":
        code, _, fix = hint.partition("; ")  # onegate sends the fix after the code
        step.status = "warn"
        step.summary += " " + text("doctor.flagged", d.lang, hint=code)
        step.fix = step.fix or fix or text("doctor.flagged.fix", d.lang)
    return step


def models_step(d: DoctorInput) -> Step:
    reply = request("GET", d.root + "/models", d.headers(), timeout=min(d.timeout, 60))
    data = reply.json() if reply.status == 200 and not reply.looks_like_html else None
    if data is None:
        return _refused("models", reply, d)
    if not isinstance(data, dict) or not isinstance(data.get("data"), list):
        return _answered(
            "models", "fail", reply, text("doctor.models.shape", d.lang), text("doctor.not_openai", d.lang)
        )
    ids = [str(m.get("id")) for m in data["data"] if isinstance(m, dict)]
    if d.model in ids:
        summary = text("doctor.models.ok", d.lang, count=str(len(ids)), model=d.model)
        return flagged(_answered("models", "pass", reply, summary), reply, d)
    names = ", ".join(diagnose_model(d.model, ids).suggestions) or ", ".join(ids[:5]) or "-"
    summary = text("doctor.models.absent", d.lang, count=str(len(ids)), model=d.model)
    return _answered("models", "fail", reply, summary, text("doctor.models.absent.fix", d.lang, names=names))


def chat_body(d: DoctorInput, prompt: str, max_tokens: int, stream_: bool) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": d.model,
        "messages": [{"role": "user", "content": prompt}],
        "max_tokens": max_tokens,
    }
    if stream_:
        body["stream"] = True
    return body


def chat_step(d: DoctorInput) -> Step:
    reply = request("POST", d.endpoint, d.headers(), chat_body(d, PLAIN_PROMPT, 16, False), d.timeout)
    if reply.status != 200 or reply.looks_like_html:
        return _refused("chat", reply, d)
    try:
        data = reply.json()
        message = data["content"][0] if d.anthropic else data["choices"][0]["message"]
        content = str(message.get("text" if d.anthropic else "content") or "")
    except (TypeError, KeyError, IndexError, AttributeError):
        return _answered("chat", "fail", reply, text("doctor.chat.shape", d.lang), text("doctor.not_openai", d.lang))
    summary = text("doctor.chat.ok", d.lang, ms=f"{reply.ms:.0f}", reply=content.strip()[:40])
    return flagged(_answered("chat", "pass", reply, summary), reply, d)


def _stream_problem(name: str, reply: StreamReply, d: DoctorInput) -> Step | None:
    """A failure every streamed step shares: no stream at all, an error event, or a stream cut short."""
    if reply.status != 200:
        return _refused(name, reply, d)
    if "text/event-stream" not in reply.headers.get("content-type", ""):
        summary = text("doctor.stream.not_sse", d.lang, type=reply.headers.get("content-type", "-"))
        return _answered(name, "fail", reply, summary, text("doctor.stream.not_sse.fix", d.lang))
    for _, payload in reply.events:
        if payload.startswith(b'{"error"') or payload[:20].replace(b" ", b"").startswith(b'{"type":"error"'):
            error = json.loads(payload).get("error")
            message = str(error.get("message") if isinstance(error, dict) else error)
            summary, fix = text("doctor.stream.error_event", d.lang), text("doctor.stream.error_event.fix", d.lang)
            return _answered(name, "fail", reply, summary, fix, message)
    if not reply.done:
        params = {"seconds": f"{reply.ms / 1000:.1f}", "events": str(len(reply.events))}
        summary, fix = text("doctor.stream.cut", d.lang, **params), text("doctor.stream.cut.fix", d.lang)
        return _answered(name, "fail", reply, summary, fix, reply.error)
    return None


def stream_step(d: DoctorInput) -> Step:
    """A short stream: do its events arrive spread out, or all at once after the whole reply (buffering)?"""
    reply = stream(d.endpoint, d.headers(), chat_body(d, PLAIN_PROMPT, 16, True), d.timeout)
    problem = _stream_problem("stream", reply, d)
    if problem is not None:
        return problem
    times = [t for t, _ in reply.events] or [0.0]
    first, last = times[0], times[-1]
    spread = last - first
    params = {"events": str(len(reply.events)), "first": f"{first:.2f}", "spread": f"{spread:.2f}"}
    if len(reply.events) >= 3 and last >= BUFFERED_MIN_TOTAL and spread < max(0.05, 0.1 * last):
        summary, fix = text("doctor.stream.buffered", d.lang, **params), text("doctor.stream.buffered.fix", d.lang)
        return _answered("stream", "fail", reply, summary, fix)
    quick = last < BUFFERED_MIN_TOTAL
    return _answered(
        "stream", "pass", reply, text("doctor.stream.too_quick" if quick else "doctor.stream.ok", d.lang, **params)
    )


def long_step(d: DoctorInput) -> Step:
    """A long reply: does it finish, or does something cut it (a proxy's read timeout) or leave long silences?"""
    reply = stream(d.endpoint, d.headers(), chat_body(d, LONG_PROMPT, 1200, True), d.timeout)
    problem = _stream_problem("long", reply, d)
    if problem is not None:
        return problem
    times = [0.0] + [t for t, _ in reply.events]
    gap = max((b - a for a, b in itertools.pairwise(times)), default=0.0)
    chars = sum(len(_delta_text(p)) for _, p in reply.events)
    params = {
        "seconds": f"{reply.ms / 1000:.1f}",
        "events": str(len(reply.events)),
        "chars": str(chars),
        "gap": f"{gap:.1f}",
    }
    if gap >= IDLE_WARNING:
        return _answered(
            "long", "warn", reply, text("doctor.long.gap", d.lang, **params), text("doctor.long.gap.fix", d.lang)
        )
    return _answered("long", "pass", reply, text("doctor.long.ok", d.lang, **params))


def _delta_text(payload: bytes) -> str:
    """The text an event adds: OpenAI's `choices[0].delta.content` or Anthropic's `delta.text`."""
    try:
        event = json.loads(payload)
        delta = event["delta"] if "delta" in event else event["choices"][0]["delta"]
        return delta.get("text") or delta.get("content") or ""
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        return ""


def run_steps(
    d: DoctorInput,
    report: Callable[[Step], None] = lambda step: None,
    extra: tuple[tuple[str, Callable[[DoctorInput], Step]], ...] = (),
) -> list[Step]:
    """Every step in order, each handed to `report` as soon as it is done. Once the server cannot be reached,
    or the plain request fails, later steps are skipped: they would fail for the same reason and bury it.
    `extra`: steps after the long reply (the media checks, doctor/media_steps.py)."""
    steps = [url_step(d)]
    report(steps[0])
    parts = urlsplit(d.base_url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return steps
    chained = (("models", models_step), ("chat", chat_step), ("stream", stream_step), ("long", long_step), *extra)
    for name, run in chained:
        blocker = next(
            (s for s in steps[1:] if s.status == "fail" and (s.http_status is None or s.name == "chat")), None
        )
        steps.append(
            run(d) if blocker is None else Step(name, "skip", text("doctor.skipped", d.lang, step=blocker.name))
        )
        report(steps[-1])
    return steps
