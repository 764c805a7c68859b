"""The real Claude Code CLI (`claude -p`, pinned in tests/clients/install.py) through onegate: on the self-test
model, on a Chat-only upstream (Messages translated to Chat) and on an Anthropic upstream."""

from __future__ import annotations

import time

import sqlalchemy as sa

from onegate.providers.selftest import REPLY
from tests.clients.run import run_claude
from tests.conftest import ANTHROPIC_SECRET, UPSTREAM_SECRET, anthropic_channel, channel_config
from tests.fakes.anthropic_upstream import REPLY_TEXT as ANTHROPIC_REPLY
from tests.fakes.openai_upstream import REPLY_TEXT as CHAT_REPLY


def _rows(gw, count: int) -> list[tuple]:
    """(method, path, dialect, model, channel, status) of every logged request, once `count` are written."""
    query = sa.text("select method, path, dialect, model_routed, channel, status from request_logs order by created_at")
    deadline = time.monotonic() + 5
    while True:
        with gw.gateway.engine.connect() as conn:
            rows = [tuple(r) for r in conn.execute(query)]
        if len(rows) >= count or time.monotonic() > deadline:
            return rows
        time.sleep(0.05)


def test_claude_code_finishes_a_turn_on_the_selftest_model(start_gateway, claude_bin, tmp_path):
    gw = start_gateway()
    started = time.monotonic()
    done = run_claude(claude_bin, tmp_path, gw.anthropic_base_url, gw.key, "onegate-selftest")
    elapsed = time.monotonic() - started
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert REPLY in done.stdout and elapsed < 30
    # one streamed request, answered in text: no tool is called, so no sub-agent and no second turn
    assert _rows(gw, 1) == [
        ("POST", "/api/v1/messages?beta=true", "anthropic_messages", "onegate-selftest", "selftest", 200)
    ]


# The fake vendors call the first offered tool (Claude Code's `Agent`) with input it rejects; Claude Code
# sends the error back as the tool's result and the vendor answers that in text: two requests, one turn.


def test_claude_code_on_a_chat_only_upstream_runs_a_tool_turn_through_translation(
    start_gateway, upstream, claude_bin, tmp_path, monkeypatch
):
    monkeypatch.setenv("ONEGATE_TEST_UPSTREAM_KEY", UPSTREAM_SECRET)
    upstream.required_api_key = UPSTREAM_SECRET
    gw = start_gateway(channel_config(upstream))
    done = run_claude(claude_bin, tmp_path, gw.anthropic_base_url, gw.key, "gpt-4.1-mini")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert CHAT_REPLY in done.stdout
    row = ("POST", "/api/v1/messages?beta=true", "anthropic_messages", "gpt-4.1-mini", "fake", 200)
    assert _rows(gw, 2) == [row, row]
    assert [r.path for r in upstream.requests] == ["/v1/chat/completions"] * 2
    assert upstream.requests[1].json["messages"][-1]["role"] == "tool"  # the tool_result, in Chat's spelling


def test_claude_code_on_an_anthropic_upstream(start_gateway, anthropic_upstream, claude_bin, tmp_path, monkeypatch):
    monkeypatch.setenv("ONEGATE_TEST_ANTHROPIC_KEY", ANTHROPIC_SECRET)
    anthropic_upstream.required_api_key = ANTHROPIC_SECRET
    gw = start_gateway({"channels": [anthropic_channel(anthropic_upstream)]})
    done = run_claude(claude_bin, tmp_path, gw.anthropic_base_url, gw.key, "claude-sonnet-4-6")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert ANTHROPIC_REPLY in done.stdout
    row = ("POST", "/api/v1/messages?beta=true", "anthropic_messages", "claude-sonnet-4-6", "claude", 200)
    assert _rows(gw, 2) == [row, row]
    assert [r.path for r in anthropic_upstream.requests] == ["/v1/messages"] * 2
    assert anthropic_upstream.requests[1].json["messages"][-1]["content"][0]["type"] == "tool_result"
