"""The real Codex CLI (`codex exec`) through onegate, when its binary is installed.

Install it with `npm install @openai/codex@0.171.0` and point ONEGATE_CODEX_BIN at node_modules/.bin/codex
(or put `codex` on PATH); without it these tests skip.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from onegate.providers.selftest import REPLY
from tests.conftest import ANTHROPIC_SECRET, anthropic_channel
from tests.fakes.anthropic_upstream import REPLY_TEXT as ANTHROPIC_REPLY
from tests.fakes.anthropic_upstream import SIGNATURE, THINKING_TEXT

CODEX = os.environ.get("ONEGATE_CODEX_BIN") or shutil.which("codex")
pytestmark = pytest.mark.skipif(not CODEX, reason="the Codex CLI is not installed (set ONEGATE_CODEX_BIN)")


def _codex(home: Path, workdir: Path, key: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CODEX_HOME": str(home), "GATEWAY_KEY": key}
    command = [str(CODEX), "exec", "--skip-git-repo-check", "say hi"]
    return subprocess.run(
        command, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120, cwd=workdir, env=env
    )


def _rows(gw) -> list[tuple]:
    time.sleep(0.3)  # the log writer batches
    with gw.gateway.engine.connect() as conn:
        query = sa.text("select method, status, error_code from request_logs order by created_at")
        return [tuple(r) for r in conn.execute(query)]


def test_codex_custom_provider_runs_a_turn_with_a_tool_call_on_the_selftest_model(start_gateway, tmp_path):
    gw = start_gateway()
    home = tmp_path / "codex"
    home.mkdir()
    (home / "config.toml").write_text(
        'model = "onegate-selftest"\nmodel_provider = "onegate"\n[model_providers.onegate]\nname = "onegate"\n'
        f'base_url = "{gw.base_url}"\nenv_key = "GATEWAY_KEY"\nwire_api = "responses"\n'
        "request_max_retries = 0\nstream_max_retries = 0\n"
    )
    done = _codex(home, tmp_path, gw.key)
    assert done.returncode == 0, done.stderr[-2000:]
    assert REPLY in done.stdout
    # turn 1: the model calls Codex's first function tool; turn 2: it answers the tool result in text
    assert _rows(gw) == [("POST", 200, None), ("POST", 200, None)]


def test_codex_builtin_provider_falls_back_from_websocket_at_once(start_gateway, tmp_path):
    gw = start_gateway()
    home = tmp_path / "codex"
    home.mkdir()
    (home / "config.toml").write_text(f'model = "onegate-selftest"\nopenai_base_url = "{gw.base_url}"\n')
    env = {**os.environ, "CODEX_HOME": str(home)}
    login = [str(CODEX), "login", "--with-api-key"]
    subprocess.run(login, input=gw.key, text=True, capture_output=True, env=env, timeout=60, check=True)
    started = time.monotonic()
    done = _codex(home, tmp_path, gw.key)
    assert done.returncode == 0, done.stderr[-2000:]
    assert REPLY in done.stdout and time.monotonic() - started < 20
    assert _rows(gw)[0] == ("GET", 426, "websocket_not_supported")  # one refused upgrade, then HTTPS


def test_codex_on_claude_keeps_signed_thinking_across_the_tool_turn(
    start_gateway, anthropic_upstream, tmp_path, monkeypatch
):
    monkeypatch.setenv("ONEGATE_TEST_ANTHROPIC_KEY", ANTHROPIC_SECRET)
    anthropic_upstream.required_api_key = ANTHROPIC_SECRET
    gw = start_gateway({"channels": [anthropic_channel(anthropic_upstream)]})
    home = tmp_path / "codex"
    home.mkdir()
    (home / "config.toml").write_text(
        'model = "claude-sonnet-4-6"\nmodel_reasoning_effort = "low"\nmodel_reasoning_summary = "auto"\n'
        'model_provider = "onegate"\n[model_providers.onegate]\nname = "onegate"\n'
        f'base_url = "{gw.base_url}"\nenv_key = "GATEWAY_KEY"\nwire_api = "responses"\n'
        "request_max_retries = 0\nstream_max_retries = 0\n"
    )
    done = _codex(home, tmp_path, gw.key)
    assert done.returncode == 0, done.stderr[-2000:]
    assert ANTHROPIC_REPLY in done.stdout and THINKING_TEXT in done.stderr  # Codex shows the reasoning summary
    first, second = (r.json for r in anthropic_upstream.requests)
    assert first["thinking"]["type"] == "enabled"
    turn = second["messages"][-2]["content"]  # Codex's history, sent back: signed thinking, then the call
    assert [b["type"] for b in turn] == ["thinking", "tool_use"] and turn[0]["signature"] == SIGNATURE
