"""The real Codex CLI (`codex exec`, pinned in tests/clients/install.py) through onegate: on the self-test
model, on a Chat-only upstream (Responses translated to Chat), on an Anthropic upstream, and with Codex's
built-in provider (WebSocket first)."""

from __future__ import annotations

import time

from onegate.providers.selftest import REPLY
from tests.clients.run import codex_config, codex_provider_config, isolated_env, logged, run, run_codex
from tests.conftest import ANTHROPIC_SECRET, UPSTREAM_SECRET, anthropic_channel, channel_config
from tests.fakes.anthropic_upstream import REPLY_TEXT as ANTHROPIC_REPLY
from tests.fakes.anthropic_upstream import SIGNATURE, THINKING_TEXT
from tests.fakes.openai_upstream import REPLY_TEXT as CHAT_REPLY


def _row(model: str, channel: str) -> tuple:
    return ("POST", "/api/v1/responses", "openai_responses", model, channel, 200, None)


def test_codex_finishes_a_turn_on_the_selftest_model(start_gateway, codex_bin, tmp_path):
    gw = start_gateway()
    started = time.monotonic()
    done = run_codex(codex_bin, tmp_path, gw.key, codex_provider_config(gw.base_url, "onegate-selftest"))
    assert done.returncode == 0, done.stderr[-2000:]
    assert REPLY in done.stdout and time.monotonic() - started < 30
    # Codex offers its tools; the self-test model answers in text, so the turn ends after one request
    assert logged(gw, 1) == [_row("onegate-selftest", "selftest")]


def test_codex_on_a_chat_only_upstream_runs_a_tool_turn_through_translation(
    start_gateway, upstream, codex_bin, tmp_path, monkeypatch
):
    monkeypatch.setenv("ONEGATE_TEST_UPSTREAM_KEY", UPSTREAM_SECRET)
    upstream.required_api_key = UPSTREAM_SECRET
    gw = start_gateway(channel_config(upstream))
    done = run_codex(codex_bin, tmp_path, gw.key, codex_provider_config(gw.base_url, "gpt-4.1-mini"))
    assert done.returncode == 0, done.stderr[-2000:]
    assert CHAT_REPLY in done.stdout
    # the fake calls Codex's first tool, Codex sends back the result, the fake answers it in text
    assert logged(gw, 2) == [_row("gpt-4.1-mini", "fake")] * 2
    assert [r.path for r in upstream.requests] == ["/v1/chat/completions"] * 2
    assert upstream.requests[1].json["messages"][-1]["role"] == "tool"


def test_codex_on_claude_keeps_signed_thinking_across_the_tool_turn(
    start_gateway, anthropic_upstream, codex_bin, tmp_path, monkeypatch
):
    monkeypatch.setenv("ONEGATE_TEST_ANTHROPIC_KEY", ANTHROPIC_SECRET)
    anthropic_upstream.required_api_key = ANTHROPIC_SECRET
    gw = start_gateway({"channels": [anthropic_channel(anthropic_upstream)]})
    reasoning = 'model_reasoning_effort = "low"\nmodel_reasoning_summary = "auto"\n'
    done = run_codex(codex_bin, tmp_path, gw.key, codex_provider_config(gw.base_url, "claude-sonnet-4-6", reasoning))
    assert done.returncode == 0, done.stderr[-2000:]
    assert ANTHROPIC_REPLY in done.stdout and THINKING_TEXT in done.stderr  # Codex shows the reasoning summary
    assert logged(gw, 2) == [_row("claude-sonnet-4-6", "claude")] * 2
    first, second = (r.json for r in anthropic_upstream.requests)
    assert first["thinking"]["type"] == "enabled"
    turn = second["messages"][-2]["content"]  # Codex's history, sent back: signed thinking, then the call
    assert [b["type"] for b in turn] == ["thinking", "tool_use"] and turn[0]["signature"] == SIGNATURE


def test_codex_builtin_provider_falls_back_from_websocket_at_once(start_gateway, codex_bin, tmp_path):
    gw = start_gateway()
    config = codex_config(f'model = "onegate-selftest"\nopenai_base_url = "{gw.base_url}"\n')
    login = run([str(codex_bin), "login", "--with-api-key"], tmp_path, isolated_env(tmp_path), stdin=gw.key)
    assert login.returncode == 0, login.stderr[-2000:]
    started = time.monotonic()
    done = run_codex(codex_bin, tmp_path, gw.key, config)
    assert done.returncode == 0, done.stderr[-2000:]
    assert REPLY in done.stdout and time.monotonic() - started < 20
    rows = logged(gw, 2)
    # one refused upgrade, then the same request over HTTPS
    assert rows[0][:2] == ("GET", "/api/v1/responses") and rows[0][5:] == (426, "websocket_not_supported")
    assert rows[1:] == [_row("onegate-selftest", "selftest")]
