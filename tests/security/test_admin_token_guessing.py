"""The admin API: a guessable token refuses to start; wrong tokens are logged and slowed like wrong keys;
other origins' scripts get no CORS grant to call it."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.conftest import raw_request
from tests.security.served import ONEGATE, OnegateProcess

ADMIN_TOKEN = "admin-token-for-tests-0123456789"
GUIDE = "/admin/api/setup/curl"


def test_an_admin_token_shorter_than_24_characters_refuses_to_start(tmp_path: Path) -> None:
    import subprocess

    result = subprocess.run(
        [*ONEGATE, "serve", "--port", "1", "--data-dir", str(tmp_path / "data")],
        env={**__import__("os").environ, "ONEGATE_ADMIN_TOKEN": "short-token-23-chars-xx"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "ONEGATE_ADMIN_TOKEN is 23 characters; it must be at least 24" in result.stderr + result.stdout


@pytest.fixture
def admin_server(tmp_path: Path):
    with OnegateProcess(tmp_path, env={"ONEGATE_ADMIN_TOKEN": ADMIN_TOKEN}) as server:
        yield server


def test_wrong_admin_tokens_are_slowed_and_logged(admin_server: OnegateProcess) -> None:
    started = time.perf_counter()
    for i in range(6):
        response = raw_request("GET", admin_server.root + GUIDE, None, {"authorization": f"Bearer guess-{i}"})
        assert response.status == 401
    took = time.perf_counter() - started
    assert took >= 1.5, f"6 wrong admin tokens took only {took:.2f} s"  # 3 free, then 0.25 + 0.5 + 1 s
    # the right token is never slowed, even from the address that just failed
    started = time.perf_counter()
    assert raw_request("GET", admin_server.root + GUIDE, None, {"authorization": f"Bearer {ADMIN_TOKEN}"}).status == 200
    assert time.perf_counter() - started < 0.5
    deadline = time.monotonic() + 5
    while admin_server.stderr().count("admin call refused") < 6 and time.monotonic() < deadline:
        time.sleep(0.05)
    refusals = [line for line in admin_server.stderr().splitlines() if "admin call refused" in line]
    assert len(refusals) == 6
    assert all(GUIDE in line and "127.0.0.1" in line and "guess" not in line for line in refusals)
    # and each admin call is a request-log row: an audit trail of who tried
    rows = _admin_rows(admin_server)
    assert sorted(status for status, _ in rows) == [200] + [401] * 6


def _admin_rows(server: OnegateProcess) -> list[tuple[int, str]]:
    import sqlite3
    from contextlib import closing

    deadline = time.monotonic() + 5
    while True:
        with closing(sqlite3.connect(server.data_dir / "onegate.db")) as db:
            rows = db.execute("SELECT status, path FROM request_logs WHERE path LIKE '/admin/%'").fetchall()
        if len(rows) >= 7 or time.monotonic() > deadline:
            return rows
        time.sleep(0.05)


def test_admin_key_failures_and_api_key_failures_share_one_streak(admin_server: OnegateProcess) -> None:
    """Alternating admin guesses and key guesses does not reset either slow-down."""
    started = time.perf_counter()
    for i in range(3):
        raw_request("GET", admin_server.root + GUIDE, None, {"authorization": f"Bearer guess-{i}"})
        raw_request("GET", admin_server.root + "/api/v1/models", None, {"authorization": f"Bearer sk-og-guess{i}"})
    assert time.perf_counter() - started >= 1.5


def test_the_admin_api_grants_no_cross_origin_access(admin_server: OnegateProcess) -> None:
    auth = {"authorization": f"Bearer {ADMIN_TOKEN}", "origin": "https://evil.example"}
    answer = raw_request("GET", admin_server.root + GUIDE, None, auth)
    assert answer.status == 200
    assert "access-control-allow-origin" not in answer.headers
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["cache-control"] == "no-store"
    preflight = raw_request(
        "OPTIONS",
        admin_server.root + GUIDE,
        None,
        {"origin": "https://evil.example", "access-control-request-method": "GET"},
    )
    assert "access-control-allow-origin" not in preflight.headers
    refused = raw_request("GET", admin_server.root + GUIDE, None, {"origin": "https://evil.example"})
    assert refused.status == 401 and "access-control-allow-origin" not in refused.headers
    unknown = raw_request("GET", admin_server.root + "/admin/api/keys", None, auth)
    assert unknown.status == 404 and "access-control-allow-origin" not in unknown.headers
    # the API itself stays open to browser-side clients
    api = raw_request("OPTIONS", admin_server.root + "/api/v1/chat/completions", None, {"origin": "https://x.example"})
    assert api.headers["access-control-allow-origin"] == "*"
