"""A callback receiver on loopback, written as a user would write one: the official `standardwebhooks`
library verifies every delivery's signature over the raw body. Tests script its answers (500, 410, a
redirect, Retry-After) and read what arrived and whether it verified."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson
from standardwebhooks.webhooks import Webhook, WebhookVerificationError


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    verified: bool
    event: dict[str, Any] | None


class CallbackReceiver:
    def __init__(self) -> None:
        self.secret: str | None = None
        self.received: list[Received] = []
        self.answers: list[tuple[int, dict[str, str]]] = []  # scripted (status, headers); then 200
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                headers = {k.lower(): v for k, v in self.headers.items()}
                verified, event = receiver.verify(body, headers)
                with receiver._lock:
                    receiver.received.append(Received(self.path, headers, body, verified, event))
                    status, extra = receiver.answers.pop(0) if receiver.answers else (200, {})
                self.send_response(status)
                for name, value in extra.items():
                    self.send_header(name, value)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def verify(self, body: bytes, headers: dict[str, str]) -> tuple[bool, dict[str, Any] | None]:
        if self.secret is None:
            return False, None
        try:
            Webhook(self.secret).verify(body, headers)
        except WebhookVerificationError:
            return False, None
        return True, orjson.loads(body)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/onegate"

    def wait(self, count: int, timeout: float = 10.0) -> list[Received]:
        import time

        deadline = time.monotonic() + timeout
        while len(self.received) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(self.received)} callbacks arrived, expected {count}")
            time.sleep(0.02)
        return list(self.received)

    def __enter__(self) -> CallbackReceiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
