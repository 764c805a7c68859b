"""X-Forwarded-For/-Host/-Proto are believed only from `server.trusted_proxies` (none by default).

Before: uvicorn believed X-Forwarded-For from 127.0.0.1, so a local client (or anything behind a local
proxy that appends the header) could rotate it to escape the key-failure slow-down, or name a victim's
address to have the victim slowed. And `Host`/`X-Forwarded-Host` could shape the URLs onegate prints.
"""

from __future__ import annotations

import time
from pathlib import Path

from tests.conftest import raw_request
from tests.security.served import OnegateProcess

CHAT = {"model": "onegate-selftest", "messages": [{"role": "user", "content": "hi"}]}


def _bad_key_requests(server: OnegateProcess, forwarded_for: list[str]) -> float:
    """Seconds taken by one wrong-key request per X-Forwarded-For value, one after another."""
    started = time.perf_counter()
    for address in forwarded_for:
        response = raw_request(
            "POST",
            server.root + "/api/v1/chat/completions",
            CHAT,
            {"authorization": "Bearer sk-og-wrong", "x-forwarded-for": address, "content-type": "application/json"},
        )
        assert response.status == 401
    return time.perf_counter() - started


def test_rotating_x_forwarded_for_does_not_escape_the_key_failure_slowdown(tmp_path: Path) -> None:
    with OnegateProcess(tmp_path) as server:
        # 3 free failures, then 0.25 + 0.5 + 1.0 s: all counted against 127.0.0.1, whatever the header says
        took = _bad_key_requests(server, [f"203.0.113.{i}" for i in range(6)])
    assert took >= 1.5, f"6 wrong keys with rotating X-Forwarded-For took only {took:.2f} s"


def test_a_configured_proxy_is_believed(tmp_path: Path) -> None:
    """Behind a trusted proxy each forwarded client has its own streak: rotating clients are not slowed…"""
    with OnegateProcess(tmp_path, {"server": {"trusted_proxies": ["127.0.0.1"]}}) as server:
        assert _bad_key_requests(server, [f"203.0.113.{i}" for i in range(6)]) < 1.0
        # … and one client repeating itself is, though the proxy's own address never failed
        assert _bad_key_requests(server, ["198.51.100.7"] * 6) >= 1.5


def test_host_headers_never_shape_urls_when_public_url_is_set(tmp_path: Path) -> None:
    config = {"server": {"public_url": "https://gateway.example.com"}}
    with OnegateProcess(tmp_path, config) as server:
        forged = {"host": "evil.example", "x-forwarded-host": "evil.example", "x-forwarded-proto": "https"}
        # a misplaced path gets a 404 naming the base URL to use; the home page shows it too
        for path in ("/api/v1/v1/chat/complete", "/", "/setup/curl"):
            response = raw_request("GET", server.root + path, None, forged)
            assert b"evil.example" not in response.body, path
            assert b"gateway.example.com" in response.body, path
        assert "public_url" not in server.stdout()  # no recommendation needed


def test_without_a_trusted_proxy_x_forwarded_host_is_ignored_and_startup_recommends_public_url(
    tmp_path: Path,
) -> None:
    with OnegateProcess(tmp_path) as server:
        response = raw_request(
            "GET", server.root + "/", None, {"host": "real.example:8080", "x-forwarded-host": "evil.example"}
        )
        assert b"evil.example" not in response.body
        assert b"http://real.example:8080/api/v1" in response.body
        assert "set server.public_url" in server.stdout()
