"""The doctor's steps, in the order support uses: URL shape, `GET /models`, a plain request, a stream, a long reply.

Each step returns a `Step` with pass/warn/fail, a one-line summary, the fix, and what evidence needs: the
HTTP status, the time, the server's original error text and its request id. Works against any
OpenAI-compatible gateway: only `/models` and `/chat/completions` are called.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from onegate.diagnosis.models import diagnose_model
from onegate.doctor.http import Reply, StreamReply, request, stream
from onegate.doctor.urlshape import check_url, request_root
from onegate.i18n.catalog import text

PLAIN_PROMPT = "Reply with the single word: ok"
LONG_PROMPT = "Count from 1 to 200, one number per line, and nothing else."
BUFFERED_MIN_TOTAL = 0.3  # seconds: below this a stream is too quick to tell buffering from speed
IDLE_WARNING = 30.0  # seconds without an event in a long reply: close to proxies' read timeouts


@dataclass
class Step:
    name: str  # url | models | chat | stream | long
    status: str  # pass | warn | fail | skip
    summary: str
    fix: str = ""
    http_status: int | None = None
    ms: float | None = None
    error_text: str | None = None  # the server's own words, for the ticket
    request_id: str | None = None


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

    def headers(self) -> dict[str, str]:
        return {
            "authorization": f"Bearer {self.key}",
            "content-type": "application/json",
            "user-agent": self.user_agent,
        }


def url_step(d: DoctorInput) -> Step:
    checks = check_url(d.base_url, d.client)
    worst = checks[0]
    lines = [text(c.message_id, d.lang, **c.params) for c in checks]
    fix = text(f"{worst.message_id}.fix", d.lang, **worst.params) if worst.level != "pass" else ""
    return Step("url", worst.level, " ".join(lines), fix)


def _refused(name: str, reply: Reply, d: DoctorInput) -> Step:
    """A step whose request did not get the answer it needed: say what came back and what to change."""
    if reply.status is None:
        return Step(
            name, "fail", text("doctor.net", d.lang, error=reply.error), text("doctor.net.fix", d.lang), ms=reply.ms
        )
    data = reply.json()
    code = data.get("error", {}).get("code") if isinstance(data, dict) and isinstance(data.get("error"), dict) else None
    why = "html" if reply.looks_like_html else ("model_not_found" if code == "model_not_found" else str(reply.status))
    message_id = f"doctor.http.{why}" if f"doctor.http.{why}" in _KNOWN_STATUSES else "doctor.http.other"
    return Step(
        name,
        "fail",
        text(message_id, d.lang, status=str(reply.status)),
        text(f"{message_id}.fix", d.lang, root=d.root),
        reply.status,
        reply.ms,
        reply.error_text(),
        reply.request_id,
    )


_KNOWN_STATUSES = {f"doctor.http.{s}" for s in ("html", "model_not_found", "401", "402", "403", "404", "429")}


def flagged(step: Step, reply: Reply, d: DoctorInput) -> Step:
    """onegate (and any gateway that copies it) names a misconfiguration it forgave in `x-onegate-hint`."""
    hint = reply.headers.get("x-onegate-hint")
    if hint and step.status == "pass":
        step.status = "warn"
        step.summary += " " + text("doctor.flagged", d.lang, hint=hint)
        step.fix = step.fix or text("doctor.flagged.fix", d.lang)
    return step


def models_step(d: DoctorInput) -> Step:
    reply = request("GET", d.root + "/models", d.headers(), timeout=min(d.timeout, 60))
    data = reply.json() if reply.status == 200 and not reply.looks_like_html else None
    if data is None:
        return _refused("models", reply, d)
    if not isinstance(data, dict) or not isinstance(data.get("data"), list):
        return Step(
            "models",
            "fail",
            text("doctor.models.shape", d.lang),
            text("doctor.models.shape.fix", d.lang),
            200,
            reply.ms,
        )
    ids = [str(m.get("id")) for m in data["data"] if isinstance(m, dict)]
    step = Step("models", "pass", "", "", 200, reply.ms, None, reply.request_id)
    if d.model in ids:
        step.summary = text("doctor.models.ok", d.lang, count=str(len(ids)), model=d.model)
        return flagged(step, reply, d)
    finding = diagnose_model(d.model, ids)
    step.status = "fail"
    step.summary = text("doctor.models.absent", d.lang, count=str(len(ids)), model=d.model)
    names = ", ".join(finding.suggestions) or ", ".join(ids[:5]) or "-"
    step.fix = text("doctor.models.absent.fix", d.lang, names=names)
    return step


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
    reply = request("POST", d.root + "/chat/completions", d.headers(), chat_body(d, PLAIN_PROMPT, 16, False), d.timeout)
    data = reply.json() if reply.status == 200 else None
    try:
        content = data["choices"][0]["message"].get("content") or ""  # type: ignore[index]
    except (TypeError, KeyError, IndexError, AttributeError):
        if reply.status == 200 and not reply.looks_like_html:
            return Step(
                "chat",
                "fail",
                text("doctor.chat.shape", d.lang),
                text("doctor.models.shape.fix", d.lang),
                200,
                reply.ms,
            )
        return _refused("chat", reply, d)
    summary = text("doctor.chat.ok", d.lang, ms=f"{reply.ms:.0f}", reply=content.strip()[:40])
    return flagged(Step("chat", "pass", summary, "", 200, reply.ms, None, reply.request_id), reply, d)


def _stream_problem(name: str, reply: StreamReply, d: DoctorInput) -> Step | None:
    """A failure every streamed step shares: no stream at all, an error event, or a stream cut short."""
    if reply.status != 200:
        return _refused(name, reply, d)
    if "text/event-stream" not in reply.headers.get("content-type", ""):
        kind = reply.headers.get("content-type", "-")
        return Step(
            name,
            "fail",
            text("doctor.stream.not_sse", d.lang, type=kind),
            text("doctor.stream.not_sse.fix", d.lang),
            200,
            reply.ms,
        )
    for _, payload in reply.events:
        if payload.startswith(b'{"error"'):
            error = json.loads(payload).get("error")
            message = error.get("message") if isinstance(error, dict) else str(error)
            step = Step(
                name, "fail", text("doctor.stream.error_event", d.lang), text("doctor.stream.error_event.fix", d.lang)
            )
            step.http_status, step.ms, step.error_text, step.request_id = 200, reply.ms, str(message), reply.request_id
            return step
    if not reply.done:
        step = Step(
            name,
            "fail",
            text("doctor.stream.cut", d.lang, seconds=f"{reply.ms / 1000:.1f}", events=str(len(reply.events))),
        )
        step.fix, step.http_status, step.ms = text("doctor.stream.cut.fix", d.lang), 200, reply.ms
        step.error_text, step.request_id = reply.error, reply.request_id
        return step
    return None


def stream_step(d: DoctorInput) -> Step:
    reply = stream(d.root + "/chat/completions", d.headers(), chat_body(d, PLAIN_PROMPT, 16, True), d.timeout)
    problem = _stream_problem("stream", reply, d)
    if problem is not None:
        return problem
    times = [t for t, _ in reply.events]
    first, last, count = (times[0], times[-1], len(times)) if times else (0.0, 0.0, 0)
    spread = last - first
    params = {"events": str(count), "first": f"{first:.2f}", "spread": f"{spread:.2f}"}
    step = Step("stream", "pass", "", "", 200, reply.ms, None, reply.request_id)
    if count >= 3 and last >= BUFFERED_MIN_TOTAL and spread < max(0.05, 0.1 * last):
        step.status, step.summary = "fail", text("doctor.stream.buffered", d.lang, **params)
        step.fix = text("doctor.stream.buffered.fix", d.lang)
    elif last < BUFFERED_MIN_TOTAL:
        step.summary = text("doctor.stream.too_quick", d.lang, **params)
    else:
        step.summary = text("doctor.stream.ok", d.lang, **params)
    return step


def long_step(d: DoctorInput) -> Step:
    reply = stream(d.root + "/chat/completions", d.headers(), chat_body(d, LONG_PROMPT, 1200, True), d.timeout)
    problem = _stream_problem("long", reply, d)
    if problem is not None:
        return problem
    times = [0.0] + [t for t, _ in reply.events]
    gap = max((b - a for a, b in zip(times, times[1:], strict=False)), default=0.0)
    chars = sum(len(_delta_text(p)) for _, p in reply.events)
    params = {
        "seconds": f"{reply.ms / 1000:.1f}",
        "events": str(len(reply.events)),
        "chars": str(chars),
        "gap": f"{gap:.1f}",
    }
    if gap >= IDLE_WARNING:
        return Step(
            "long",
            "warn",
            text("doctor.long.gap", d.lang, **params),
            text("doctor.long.gap.fix", d.lang),
            200,
            reply.ms,
            None,
            reply.request_id,
        )
    return Step("long", "pass", text("doctor.long.ok", d.lang, **params), "", 200, reply.ms, None, reply.request_id)


def _delta_text(payload: bytes) -> str:
    try:
        choice = json.loads(payload)["choices"][0]
        return choice.get("delta", {}).get("content") or ""
    except (ValueError, KeyError, IndexError, TypeError):
        return ""


def run_steps(d: DoctorInput, report: Callable[[Step], None] = lambda step: None) -> list[Step]:
    """Every step in order, each handed to `report` as soon as it is done. Once the server cannot be reached,
    or the plain request fails, later steps are skipped: they would fail for the same reason and bury it."""
    steps = [url_step(d)]
    report(steps[0])
    parts = urlsplit(d.base_url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return steps
    for name, run in (("models", models_step), ("chat", chat_step), ("stream", stream_step), ("long", long_step)):
        blocker = next(
            (s for s in steps[1:] if s.status == "fail" and (s.http_status is None or s.name == "chat")), None
        )
        steps.append(
            run(d) if blocker is None else Step(name, "skip", text("doctor.skipped", d.lang, step=blocker.name))
        )
        report(steps[-1])
    return steps
