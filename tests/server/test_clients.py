"""identify_client: header sets as real clients send them (docs/CLIENTS.md §2, §3)."""

from __future__ import annotations

import dataclasses

import pytest

from onegate.diagnosis.clients import ClientInfo, identify_client

STAINLESS_PY = {
    "x-stainless-lang": "python",
    "x-stainless-package-version": "3.57.0",
    "x-stainless-os": "Linux",
    "x-stainless-arch": "x64",
    "x-stainless-runtime": "CPython",
    "x-stainless-runtime-version": "3.11.7",
    "x-stainless-async": "false",
    "x-stainless-retry-count": "0",
}
STAINLESS_JS = {
    "x-stainless-lang": "js",
    "x-stainless-package-version": "6.49.0",
    "x-stainless-runtime": "node",
    "x-stainless-runtime-version": "v20.20.2",
    "x-stainless-retry-count": "0",
}
BEARER = {"authorization": "Bearer sk-test-abcd"}
ELECTRON = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko)"
    " {app} Chrome/134.0.6998.205 Electron/35.6.0 Safari/537.36"
)
CHROME = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko)"
    " Chrome/138.0.0.0 Safari/537.36"
)
CLINE_UA = "Cline/4.1.16 ai-sdk/openai-compatible/3.0.30 ai-sdk/provider-utils/5.0.27 runtime/node.js/v24.18.1"
CLAUDE_CODE = {
    "x-app": "cli",
    "x-claude-code-session-id": "6f1c8d2e-1b7a-4c5e-9f3a-2d4b6e8a0c1f",
    "anthropic-version": "2023-06-01",
    "anthropic-beta": "claude-code-20250219,interleaved-thinking-2025-05-14",
    "x-api-key": "sk-test-abcd",
    "x-stainless-lang": "js",
    "x-stainless-package-version": "0.94.0",
    "x-stainless-runtime": "node",
}

CASES = [
    # --- SDKs
    pytest.param(
        {"user-agent": "OpenAI/Python 3.57.0", **BEARER, **STAINLESS_PY},
        "openai-python",
        "3.57.0",
        id="openai-python",
    ),
    pytest.param(
        {"user-agent": "AsyncOpenAI/Python 3.57.0", **STAINLESS_PY, "x-stainless-async": "async:asyncio"},
        "openai-python",
        "3.57.0",
        id="openai-python-async",
    ),
    pytest.param(
        {"user-agent": "OpenAI/Python 3.57.0", **STAINLESS_PY, "x-stainless-raw-response": "true"},
        "openai-python",
        "3.57.0",
        id="langchain-looks-like-openai-python",
    ),
    pytest.param(
        {"user-agent": "OpenAI/Python 3.57.0", "accept-encoding": "gzip, deflate, zstd", **STAINLESS_PY},
        "openai-python",
        "3.57.0",
        id="litellm-looks-like-openai-python",
    ),
    pytest.param(
        {"user-agent": "OpenAI/JS 6.49.0", **BEARER, **STAINLESS_JS, "sec-fetch-mode": "cors"},
        "openai-node",
        "6.49.0",
        id="openai-node",
    ),
    pytest.param(
        {
            "user-agent": "Anthropic/Python 2.14.0",
            **BEARER,
            "anthropic-version": "2026-10-21",
            **STAINLESS_PY,
            "x-stainless-package-version": "2.14.0",
        },
        "anthropic-python",
        "2.14.0",
        id="anthropic-python-2",
    ),
    pytest.param(
        {
            "user-agent": "Anthropic/Python 1.17.0",
            "x-api-key": "sk-test-abcd",
            "anthropic-version": "2023-06-01",
            **STAINLESS_PY,
        },
        "anthropic-python",
        "1.17.0",
        id="anthropic-python-1",
    ),
    pytest.param(
        {
            "user-agent": "Anthropic/JS 1.14.0",
            **BEARER,
            "anthropic-version": "2026-10-21",
            **STAINLESS_JS,
            "x-stainless-timeout": "60",
        },
        "anthropic-node",
        "1.14.0",
        id="anthropic-node",
    ),
    pytest.param(
        {**STAINLESS_JS, **BEARER, "sec-fetch-mode": "cors"},
        "openai-node",
        "6.49.0",
        id="openai-node-in-browser-no-ua",
    ),
    pytest.param(
        {
            "user-agent": CHROME,
            **STAINLESS_JS,
            "x-stainless-package-version": "1.14.0",
            "anthropic-version": "2026-10-21",
        },
        "anthropic-node",
        "1.14.0",
        id="anthropic-node-in-browser",
    ),
    # --- Claude Code: its UA and x-app beat the bundled Anthropic SDK's stainless headers
    pytest.param(
        {"user-agent": "claude-cli/2.1.197 (external, sdk-cli)", **CLAUDE_CODE},
        "claude-code",
        "2.1.197",
        id="claude-code-print",
    ),
    pytest.param(
        {"user-agent": "claude-cli/2.1.197 (external, cli)", **CLAUDE_CODE},
        "claude-code",
        "2.1.197",
        id="claude-code-tui",
    ),
    pytest.param(
        {"user-agent": "claude-cli/1.0.67 (external, cli)"}, "claude-code", "1.0.67", id="claude-code-ua-only"
    ),
    pytest.param({"x-app": "cli", "x-api-key": "sk-test-abcd"}, "claude-code", "", id="claude-code-x-app-only"),
    # --- Codex
    pytest.param(
        {
            "user-agent": "codex_exec/0.171.0 (Debian 12.0.0; x86_64) dumb (codex_exec; 0.171.0)",
            "originator": "codex_exec",
            **BEARER,
            "accept": "text/event-stream",
        },
        "codex",
        "0.171.0",
        id="codex-exec",
    ),
    pytest.param(
        {
            "user-agent": "codex_exec/0.171.0 (Debian 12.0.0; x86_64) xterm-256color (codex_exec; 0.171.0)",
            "originator": "codex_exec",
        },
        "codex",
        "0.171.0",
        id="codex-exec-xterm",
    ),
    pytest.param(
        {
            "user-agent": "codex_cli_rs/0.98.0 (Mac OS 15.3.1; arm64) iTerm.app/3.5.10",
            "originator": "codex_cli_rs",
        },
        "codex",
        "0.98.0",
        id="codex-cli-rs",
    ),
    pytest.param(
        {"originator": "codex_cli_rs", "version": "0.171.0", "upgrade": "websocket"},
        "codex",
        "0.171.0",
        id="codex-originator-only",
    ),
    # --- Roo Code (wraps the OpenAI Node SDK; its own headers win)
    pytest.param(
        {
            "user-agent": "RooCode/3.25.1",
            "x-title": "Roo Code",
            "http-referer": "https://github.com/RooVetGit/Roo-Cline",
            "authorization": "Bearer not-provided",
            **STAINLESS_JS,
        },
        "roo-code",
        "3.25.1",
        id="roo-code",
    ),
    pytest.param(
        {"user-agent": "OpenAI/JS 5.10.1", "x-title": "Roo Code", **STAINLESS_JS},
        "roo-code",
        "",
        id="roo-code-title-over-sdk-ua",
    ),
    pytest.param(
        {"user-agent": "OpenAI/JS 5.10.1", "http-referer": "https://github.com/RooVetGit/Roo-Cline"},
        "roo-code",
        "",
        id="roo-code-referer-not-cline",
    ),
    # --- Cline
    pytest.param(
        {
            "user-agent": CLINE_UA,
            "x-title": "Cline",
            "http-referer": "https://cline.bot",
            "x-client-version": "4.1.16",
            "x-client-type": "VSCode Extension",
        },
        "cline",
        "4.1.16",
        id="cline",
    ),
    pytest.param(
        {
            "user-agent": "OpenAI/JS 4.96.0",
            "x-title": "Cline",
            "http-referer": "https://cline.bot",
            "x-cline-version": "3.17.5",
            **STAINLESS_JS,
        },
        "cline",
        "3.17.5",
        id="cline-title-over-sdk-ua",
    ),
    pytest.param({"user-agent": "Cline", "x-title": "Cline"}, "cline", "", id="cline-bare-ua"),
    # --- Cherry Studio
    pytest.param(
        {"user-agent": ELECTRON.format(app="CherryStudio/1.5.3"), **BEARER, **STAINLESS_JS},
        "cherry-studio",
        "1.5.3",
        id="cherry-studio-electron",
    ),
    pytest.param(
        {
            "user-agent": CHROME,
            "x-title": "Cherry Studio",
            "http-referer": "https://cherry-ai.com",
            "x-api-key": "sk-test-abcd",
            **BEARER,
        },
        "cherry-studio",
        "",
        id="cherry-studio-old-title",
    ),
    # --- LobeChat (server side uses the OpenAI Node SDK)
    pytest.param(
        {
            "user-agent": "OpenAI/JS 4.104.0",
            "x-title": "LobeHub",
            "http-referer": "https://lobehub.com",
            **STAINLESS_JS,
        },
        "lobechat",
        "",
        id="lobechat-title",
    ),
    pytest.param(
        {"user-agent": "OpenAI/JS 4.104.0", "http-referer": "https://lobechat.com", **STAINLESS_JS},
        "lobechat",
        "",
        id="lobechat-referer",
    ),
    # --- Chatbox
    pytest.param(
        {"user-agent": ELECTRON.format(app="xyz.chatboxapp.app/1.10.4"), **BEARER},
        "chatbox",
        "1.10.4",
        id="chatbox-electron-app-id",
    ),
    pytest.param(
        {"user-agent": ELECTRON.format(app="chatbox/1.10.4"), **BEARER},
        "chatbox",
        "1.10.4",
        id="chatbox-electron-name",
    ),
    pytest.param(
        {
            "user-agent": "ai-sdk/openai-compatible/1.0.2",
            "x-title": "Chatbox AI",
            "http-referer": "https://chatboxai.app",
        },
        "chatbox",
        "",
        id="chatbox-openrouter-title",
    ),
    # --- Cursor (conservative: only an explicit Cursor/<version> token)
    pytest.param({"user-agent": ELECTRON.format(app="Cursor/1.2.4"), **BEARER}, "cursor", "1.2.4", id="cursor"),
    pytest.param({"user-agent": "cursor-proxy/1.0", **BEARER}, "unknown", "", id="cursor-lookalike-not-cursor"),
    pytest.param({"user-agent": "Cursor/beta", **BEARER}, "unknown", "", id="cursor-without-version"),
    # --- Continue: Bearer plus Azure's api-key, always both
    pytest.param(
        {"user-agent": "node", "authorization": "Bearer sk-test-abcd", "api-key": "sk-test-abcd"},
        "continue",
        "",
        id="continue-double-key",
    ),
    pytest.param({"user-agent": "Continue/1.0.20", **BEARER}, "continue", "1.0.20", id="continue-ua"),
    pytest.param(
        {"user-agent": "OpenAI/JS 5.8.2", "x-continue-version": "1.0.20", **STAINLESS_JS},
        "continue",
        "",
        id="continue-header",
    ),
    pytest.param(
        {"authorization": "Bearer sk-other", "api-key": "sk-test-abcd"},
        "unknown",
        "",
        id="azure-style-key-alone-not-continue",
    ),
    # --- Open WebUI (aiohttp; user-info headers when enabled)
    pytest.param(
        {
            "user-agent": "Python/3.11 aiohttp/3.11.11",
            **BEARER,
            "x-openwebui-user-name": "Ada",
            "x-openwebui-user-id": "u-1",
            "x-openwebui-user-email": "ada@example.com",
            "x-openwebui-user-role": "admin",
            "x-openwebui-chat-id": "c-1",
        },
        "open-webui",
        "",
        id="open-webui",
    ),
    pytest.param(
        {"user-agent": "Python/3.11 aiohttp/3.11.11", **BEARER},
        "unknown",
        "",
        id="open-webui-without-user-headers",
    ),
    # --- Gemini CLI
    pytest.param(
        {"user-agent": "GeminiCLI/0.1.5/gemini-2.5-pro (linux; x64)", "x-goog-api-key": "k"},
        "gemini-cli",
        "0.1.5",
        id="gemini-cli",
    ),
    pytest.param(
        {"user-agent": "GeminiCLI/0.20.0/gemini-3-pro-preview (darwin; arm64; terminal)", **BEARER},
        "gemini-cli",
        "0.20.0",
        id="gemini-cli-surface",
    ),
    # --- generic tools
    pytest.param({"user-agent": "curl/8.5.0", **BEARER, "accept": "*/*"}, "curl", "8.5.0", id="curl"),
    pytest.param({"user-agent": "python-requests/2.32.3", **BEARER}, "python-requests", "2.32.3", id="python-requests"),
    # --- unknown
    pytest.param({"user-agent": "Bun/1.4.0", "accept": "*/*"}, "unknown", "", id="claude-code-head-warmup-bun"),
    pytest.param({"user-agent": "Go-http-client/1.1", **BEARER}, "unknown", "", id="unknown-ua"),
    pytest.param({**BEARER}, "unknown", "", id="no-ua"),
    pytest.param({}, "unknown", "", id="no-headers"),
]


@pytest.mark.parametrize(("headers", "name", "version"), CASES)
def test_identify_client(headers: dict[str, str], name: str, version: str) -> None:
    info = identify_client(headers)
    assert (info.name, info.version) == (name, version)
    assert info.user_agent == headers.get("user-agent", "")


def test_unknown_client_keeps_raw_user_agent() -> None:
    assert identify_client({"user-agent": "MyScript/0.1 (+https://example.com)"}) == ClientInfo(
        "unknown", "", "MyScript/0.1 (+https://example.com)"
    )


def test_user_agent_truncated_to_300_chars() -> None:
    long_ua = "X" * 1000
    info = identify_client({"user-agent": long_ua})
    assert info == ClientInfo("unknown", "", "X" * 300)


def test_known_client_with_long_user_agent_is_still_identified_and_truncated() -> None:
    ua = "OpenAI/Python 3.57.0 " + "pad " * 200
    info = identify_client({"user-agent": ua})
    assert (info.name, info.version, len(info.user_agent)) == ("openai-python", "3.57.0", 300)


def test_client_info_is_frozen() -> None:
    info = identify_client({"user-agent": "curl/8.5.0"})
    with pytest.raises(dataclasses.FrozenInstanceError):
        info.name = "other"  # type: ignore[misc]
