"""Header sets as real clients send them (docs/CLIENTS.md §3; tests/server/test_clients.py), keyed by client.

`headers(client, key)` puts the key where that client puts it.
"""

from __future__ import annotations

from typing import Any

from tests.server.test_clients import ELECTRON, STAINLESS_JS, STAINLESS_PY

_BASE: dict[str, dict[str, str]] = {
    "openai-python": {"user-agent": "OpenAI/Python 3.57.0", "accept": "application/json", **STAINLESS_PY},
    "openai-node": {"user-agent": "OpenAI/JS 6.49.0", "accept": "application/json", **STAINLESS_JS},
    "lobechat": {
        "user-agent": "OpenAI/JS 4.104.0",
        "x-title": "LobeHub",
        "http-referer": "https://lobehub.com",
        "accept": "*/*",
        **STAINLESS_JS,
    },
    "cherry-studio-old": {"user-agent": ELECTRON.format(app="CherryStudio/1.5.3"), **STAINLESS_JS},
    "cherry-studio": {"user-agent": ELECTRON.format(app="CherryStudio/1.7.4"), **STAINLESS_JS},
    "chatbox": {"user-agent": ELECTRON.format(app="xyz.chatboxapp.app/1.10.4")},
    "cursor": {"user-agent": ELECTRON.format(app="Cursor/1.2.4")},
    "continue": {"user-agent": "Continue/1.0.20"},
    "open-webui": {"user-agent": "Python/3.11 aiohttp/3.11.11", "x-openwebui-user-name": "alice"},
    "roo-code": {
        "user-agent": "RooCode/3.25.1",
        "x-title": "Roo Code",
        "http-referer": "https://github.com/RooVetGit/Roo-Cline",
        **STAINLESS_JS,
    },
    "claude-code": {
        "user-agent": "claude-cli/2.1.197 (external, cli)",
        "x-app": "cli",
        "x-claude-code-session-id": "6f1c8d2e-1b7a-4c5e-9f3a-2d4b6e8a0c1f",
        "anthropic-version": "2023-06-01",
        "anthropic-beta": "claude-code-20250219,interleaved-thinking-2025-05-14",
        "anthropic-dangerous-direct-browser-access": "true",
        "accept": "application/json",
        "x-stainless-lang": "js",
        "x-stainless-package-version": "0.94.0",
        "x-stainless-runtime": "node",
    },
    "anthropic-python": {"user-agent": "Anthropic/Python 2.14.0", "anthropic-version": "2026-10-21", **STAINLESS_PY},
    "codex": {
        "user-agent": "codex_exec/0.171.0 (Debian 12.0.0; x86_64) dumb (codex_exec; 0.171.0)",
        "originator": "codex_exec",
        "accept": "text/event-stream",
    },
    "gemini-cli": {"user-agent": "GeminiCLI/0.20.0/gemini-2.5-pro (linux; x64; terminal)"},
}
# Where each client puts the key
_KEY_HEADER = {"gemini-cli": "x-goog-api-key"}


def headers(client: str, key: str | None, **extra: str) -> dict[str, str]:
    sent = {**_BASE[client], "content-type": "application/json", **extra}
    if key is not None:
        name = _KEY_HEADER.get(client, "authorization")
        sent[name] = f"Bearer {key}" if name == "authorization" else key
    if client == "continue" and key is not None:
        sent["api-key"] = key  # Continue sends the key twice
    return sent


CHAT = {"model": "onegate-selftest", "messages": [{"role": "user", "content": "hi"}]}
CLAUDE_CODE_BODY: dict[str, Any] = {
    "model": "claude-sonnet-4-5",
    "max_tokens": 32000,
    "stream": True,
    "system": [{"type": "text", "text": "You are a Claude agent, built on Anthropic's Claude Agent SDK."}],
    "messages": [{"role": "user", "content": [{"type": "text", "text": "say hi"}]}],
}
GEMINI_BODY = {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}
