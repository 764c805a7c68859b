"""The doctor's HTTP: plain blocking requests with timings, and SSE streams with the arrival time of each event.

The standard library's client is enough and shows exactly what arrived: status, headers, raw body, and when
each `data:` line came off the socket (which is how buffering between client and model is measured).
"""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

USER_AGENT = "onegate-doctor/{version}"


@dataclass
class Reply:
    status: int | None  # None: no HTTP answer at all (see error)
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    ms: float = 0.0
    error: str | None = None  # connection-level failure, in words

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    @property
    def request_id(self) -> str | None:
        return self.headers.get("x-request-id")

    @property
    def looks_like_html(self) -> bool:
        return "html" in self.headers.get("content-type", "") or self.body.lstrip()[:15].lower().startswith(
            (b"<!doctype", b"<html")
        )

    def error_text(self, limit: int = 500) -> str:
        """The server's own error message when it sent one, else the start of the raw body."""
        data = self.json()
        if isinstance(data, dict):
            err = data.get("error")
            if isinstance(err, dict) and err.get("message"):
                return str(err["message"])[:limit]
            if isinstance(err, str):
                return err[:limit]
            if "detail" in data:
                return str(data["detail"])[:limit]
        return self.body.decode("utf-8", "replace").strip()[:limit]


@dataclass
class StreamReply(Reply):
    events: list[tuple[float, bytes]] = field(default_factory=list)  # (seconds since sent, data payload)
    done: bool = False  # saw the end of the answer: `data: [DONE]` or Anthropic's `message_stop`


def _connect(url: str, timeout: float) -> tuple[http.client.HTTPConnection, str]:
    parts = urlsplit(url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    if parts.scheme == "https":
        context = ssl.create_default_context()
        return http.client.HTTPSConnection(parts.hostname or "", parts.port, timeout=timeout, context=context), path
    return http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=timeout), path


def _describe(exc: BaseException, url: str) -> str:
    host = urlsplit(url).netloc
    if isinstance(exc, socket.gaierror):
        return f"cannot resolve the host name in {host} ({exc.strerror})"
    if isinstance(exc, ConnectionRefusedError):
        return f"connection refused by {host}: nothing listens there"
    if isinstance(exc, TimeoutError | socket.timeout):
        return f"no answer from {host} in time"
    if isinstance(exc, ssl.SSLError):
        return f"TLS failed with {host}: {exc.reason or exc}"
    return f"{type(exc).__name__}: {exc}"


def request(
    method: str, url: str, headers: dict[str, str], body: dict[str, Any] | None = None, timeout: float = 60.0
) -> Reply:
    started = time.monotonic()
    try:
        conn, path = _connect(url, timeout)
        try:
            conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
            response = conn.getresponse()
            data = response.read()
        finally:
            conn.close()
    except (OSError, http.client.HTTPException) as exc:
        return Reply(None, ms=(time.monotonic() - started) * 1000, error=_describe(exc, url))
    elapsed = (time.monotonic() - started) * 1000
    return Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, data, elapsed)


def stream(url: str, headers: dict[str, str], body: dict[str, Any], timeout: float = 300.0) -> StreamReply:
    """POST and read an SSE answer line by line, timing each `data:` event as it arrives."""
    started = time.monotonic()
    reply = StreamReply(None)
    try:
        conn, path = _connect(url, timeout)
        try:
            conn.request("POST", path, body=json.dumps(body), headers={**headers, "accept": "text/event-stream"})
            response = conn.getresponse()
            reply.status = response.status
            reply.headers = {k.lower(): v for k, v in response.getheaders()}
            if response.status != 200 or "text/event-stream" not in reply.headers.get("content-type", ""):
                reply.body = response.read()
            else:
                _read_events(response, reply, started)
        finally:
            conn.close()
    except (OSError, http.client.HTTPException) as exc:
        reply.error = _describe(exc, url)
    reply.ms = (time.monotonic() - started) * 1000
    return reply


def _read_events(response: http.client.HTTPResponse, reply: StreamReply, started: float) -> None:
    while True:
        line = response.readline()
        if not line:
            return
        if not line.startswith(b"data:"):
            continue
        payload = line[5:].strip()
        if payload == b"[DONE]":  # OpenAI's end of stream
            reply.done = True
            return
        reply.events.append((time.monotonic() - started, payload))
        if b"message_stop" in payload[:40]:  # Anthropic's end of stream: {"type": "message_stop"}
            reply.done = True
            return
