"""The real Claude Code CLI (`claude -p`, pinned in tests/clients/install.py) through onegate: on the self-test
model, on a Chat-only upstream (Messages translated to Chat) and on an Anthropic upstream."""

from __future__ import annotations

import time

import pytest

from onegate.providers.selftest import REPLY
from tests.clients.run import logged, run_claude
from tests.conftest import ANTHROPIC_SECRET, UPSTREAM_SECRET, anthropic_channel, channel_config
from tests.fakes.anthropic_upstream import REPLY_TEXT as ANTHROPIC_REPLY
from tests.fakes.openai_upstream import REPLY_TEXT as CHAT_REPLY

PATH = "/api/v1/messages?beta=true"  # Claude Code's path for ANTHROPIC_BASE_URL=http://HOST/api


def test_claude_code_finishes_a_turn_on_the_selftest_model(start_gateway, claude_bin, tmp_path):
    gw = start_gateway()
    started = time.monotonic()
    done = run_claude(claude_bin, tmp_path, gw.anthropic_base_url, gw.key, "onegate-selftest")
    elapsed = time.monotonic() - started
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert REPLY in done.stdout and elapsed < 30
    # one streamed request, answered in text: no tool is called, so no sub-agent and no second turn
    assert logged(gw, 1) == [("POST", PATH, "anthropic_messages", "onegate-selftest", "selftest", 200, None)]


def _chat_only(request, monkeypatch):
    upstream = request.getfixturevalue("upstream")
    monkeypatch.setenv("ONEGATE_TEST_UPSTREAM_KEY", UPSTREAM_SECRET)
    upstream.required_api_key = UPSTREAM_SECRET
    return upstream, channel_config(upstream), "gpt-4.1-mini", "fake", CHAT_REPLY


def _anthropic(request, monkeypatch):
    upstream = request.getfixturevalue("anthropic_upstream")
    monkeypatch.setenv("ONEGATE_TEST_ANTHROPIC_KEY", ANTHROPIC_SECRET)
    upstream.required_api_key = ANTHROPIC_SECRET
    return upstream, {"channels": [anthropic_channel(upstream)]}, "claude-sonnet-4-6", "claude", ANTHROPIC_REPLY


@pytest.mark.parametrize(
    ("setup", "upstream_path", "result_role"),
    [(_chat_only, "/v1/chat/completions", "tool"), (_anthropic, "/v1/messages", "user")],
    ids=["chat-only-upstream", "anthropic-upstream"],
)
def test_claude_code_runs_a_tool_turn_on_a_real_upstream(
    start_gateway, claude_bin, tmp_path, request, monkeypatch, setup, upstream_path, result_role
):
    """The fake vendors call the first offered tool (Claude Code's `Agent`) with input it rejects; Claude Code
    sends the error back as the tool's result, and the vendor answers that in text: two requests, one turn.
    The key goes in ANTHROPIC_AUTH_TOKEN here, as the README says; the self-test run uses ANTHROPIC_API_KEY."""
    upstream, config, model, channel, reply = setup(request, monkeypatch)
    gw = start_gateway(config)
    done = run_claude(claude_bin, tmp_path, gw.anthropic_base_url, gw.key, model, bearer=True)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert reply in done.stdout
    assert logged(gw, 2) == [("POST", PATH, "anthropic_messages", model, channel, 200, None)] * 2
    assert [r.path for r in upstream.requests] == [upstream_path] * 2
    # the tool's result went back upstream in the upstream's own spelling (Chat: a `tool` message)
    assert upstream.requests[1].json["messages"][-1]["role"] == result_role
