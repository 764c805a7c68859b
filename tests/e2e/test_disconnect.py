"""A client that goes away mid-stream: the upstream request is dropped and the row records what was produced."""

from __future__ import annotations

import threading
import time

from onegate.store.logs import query_logs
from tests.conftest import open_raw_post


def test_client_disconnect_mid_stream_is_logged_with_usage_so_far(proxied, upstream):
    release = threading.Event()
    upstream.hold_after_first_chunk = release
    body = {"model": "gpt-4.1-mini", "messages": [{"role": "user", "content": "hi"}], "stream": True}
    sock = open_raw_post(proxied.root, "/api/v1/chat/completions", body, proxied.key)
    received = b""
    while b"data: " not in received:
        received += sock.recv(65536)
    assert b" 200 OK" in received
    sock.close()  # while the upstream still holds the rest of the answer

    deadline = time.monotonic() + 3
    rows = []
    while time.monotonic() < deadline and not rows:
        rows = query_logs(proxied.gateway.engine, status=499)
        time.sleep(0.05)
    assert not release.is_set()
    assert len(rows) == 1, "the disconnect was not noticed while the upstream was silent"
    row = rows[0]
    assert row["error_code"] == "client_disconnected" and row["stream"]
    assert row["input_tokens"] > 0 and row["usage_estimated"]
    assert "client disconnected" in row["attempts"]
    assert upstream.wait_for_disconnects(1), "the upstream request was left running"
    release.set()
