"""Identify which AI client sent a request, from its headers alone.

The request log records the result and error hints are tailored to it. This runs
on every request: precompiled patterns, cheap lookups first, no I/O.

Precedence, strongest signal first:

1. An app's own User-Agent token (``claude-cli/``, ``codex_exec/``, ``RooCode/``,
   ``Cline/``, ``GeminiCLI/``, the Electron tokens ``CherryStudio/`` and ``Chatbox/``, ...).
2. App-specific headers (``X-Title``, ``HTTP-Referer``, ``originator``, ``x-app``,
   ``X-OpenWebUI-*``). Roo Code, Cline and LobeChat wrap the OpenAI SDK, so these
   must beat the SDK's User-Agent.
3. SDK User-Agents (``OpenAI/Python``, ``OpenAI/JS``, ``Anthropic/Python``, ``Anthropic/JS``).
4. Generic HTTP tools (``curl/``, ``python-requests/``).
5. ``X-Stainless-*`` headers without a User-Agent (the SDKs omit it in browsers).

langchain and litellm are not told apart from the plain openai SDK: both send its
exact User-Agent (docs/CLIENTS.md §3).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["ClientInfo", "identify_client"]

_UA_MAX = 300
_V = r"([^\s;(),/]+)"  # a version token: up to whitespace, ';', '(', ')', ',' or '/'


@dataclass(frozen=True, slots=True)
class ClientInfo:
    """Who sent a request: stable id, the app's version ("" if unknown), raw User-Agent."""

    name: str
    version: str
    user_agent: str


# App tokens in the User-Agent, in priority order: (client, lower-case needle that must be
# present, pattern whose group 1 is the version). The needle is a cheap `in` check on the
# lower-cased User-Agent so that the patterns only run when they can match.
_APP_UA_RULES: tuple[tuple[str, str, re.Pattern[str]], ...] = tuple(
    (name, needle, re.compile(pattern, re.IGNORECASE))
    for name, needle, pattern in (
        ("claude-code", "claude-cli/", rf"claude-cli/{_V}"),
        ("codex", "codex_", rf"^codex_\w+/{_V}"),  # "{originator}/{version} (os; arch) terminal"
        ("roo-code", "roo", rf"(?:RooCode|Roo-?Cline)/{_V}"),
        ("cline", "cline", rf"(?<![\w-])Cline(?:/{_V})?"),
        ("gemini-cli", "geminicli/", rf"GeminiCLI/{_V}"),
        ("cherry-studio", "cherrystudio/", rf"CherryStudio/{_V}"),
        ("chatbox", "chatbox", rf"(?:xyz\.chatboxapp(?:\.\w+)*|(?<![\w.-])chatbox)/{_V}"),
        # Cursor calls from its own servers; only trust an explicit "Cursor/<digit...>" token.
        ("cursor", "cursor/", r"(?<![\w-])(?-i:Cursor)/(\d[^\s;(),/]*)"),
        ("continue", "continue", rf"(?<![\w-])continue(?:/{_V})?(?![\w-])"),
    )
)

_SDK_UA = re.compile(r"^(?:Async)?(?:Azure)?(OpenAI|Anthropic)/(Python|JS) " + _V)
_SDK_NAMES = {
    ("OpenAI", "Python"): "openai-python",
    ("OpenAI", "JS"): "openai-node",
    ("Anthropic", "Python"): "anthropic-python",
    ("Anthropic", "JS"): "anthropic-node",
}
_TOOL_UA = re.compile(r"^(curl|python-requests)/" + _V)

# X-Title values, case-folded.
_TITLES = {
    "roo code": "roo-code",
    "cline": "cline",
    "cherry studio": "cherry-studio",
    "lobehub": "lobechat",
    "lobechat": "lobechat",
    "lobe chat": "lobechat",
    "chatbox ai": "chatbox",
    "chatbox": "chatbox",
    "open webui": "open-webui",
    "continue": "continue",
}
# HTTP-Referer substrings, lower-case; Roo's referer contains "cline", so it goes first.
_REFERERS: tuple[tuple[str, str], ...] = (
    ("roo-cline", "roo-code"),
    ("roocode", "roo-code"),
    ("cline.bot", "cline"),
    ("cherry-ai.com", "cherry-studio"),
    ("lobehub", "lobechat"),
    ("lobechat", "lobechat"),
    ("chatboxai", "chatbox"),
    ("openwebui", "open-webui"),
)
# Header-name prefixes that only one client sends.
_MARKER_PREFIXES = ("x-openwebui-", "x-continue")


def _header_version(name: str, headers: Mapping[str, str]) -> str:
    if name == "cline":
        return headers.get("x-cline-version") or headers.get("x-client-version") or ""
    if name == "codex":
        return headers.get("version", "")  # sent on Codex's WebSocket upgrade
    return ""


def _from_app_headers(headers: Mapping[str, str]) -> str | None:
    title = headers.get("x-title")
    if title:
        name = _TITLES.get(title.strip().casefold())
        if name:
            return name
    if headers.get("originator", "").startswith("codex"):
        return "codex"
    if headers.get("x-app") == "cli" or "x-claude-code-session-id" in headers:
        return "claude-code"
    referer = headers.get("http-referer")
    if referer:
        referer = referer.lower()
        for needle, name in _REFERERS:
            if needle in referer:
                return name
    # Continue always sends the key twice, as Bearer and as Azure's "api-key".
    api_key = headers.get("api-key")
    if api_key and headers.get("authorization") == f"Bearer {api_key}":
        return "continue"
    for key in headers:
        if key.startswith(_MARKER_PREFIXES):
            return "open-webui" if key.startswith("x-openwebui-") else "continue"
    return None


def identify_client(headers: Mapping[str, str]) -> ClientInfo:
    """Name the client that sent a request; ``headers`` must have lower-case keys."""
    raw_ua = headers.get("user-agent", "")
    ua = raw_ua[:_UA_MAX]

    if raw_ua:
        ua_lower = ua.lower()
        for name, needle, pattern in _APP_UA_RULES:
            if needle in ua_lower and (match := pattern.search(ua)) is not None:
                return ClientInfo(name, match.group(1) or _header_version(name, headers), ua)

    app = _from_app_headers(headers)
    if app is not None:
        return ClientInfo(app, _header_version(app, headers), ua)

    if raw_ua:
        match = _SDK_UA.match(raw_ua)
        if match is not None:
            return ClientInfo(_SDK_NAMES[match[1], match[2]], match.group(3), ua)
        match = _TOOL_UA.match(raw_ua)
        if match is not None:
            return ClientInfo(match.group(1), match.group(2), ua)

    lang = headers.get("x-stainless-lang")
    if lang in ("python", "js") and (not raw_ua or raw_ua.startswith("Mozilla/")):
        vendor = "Anthropic" if "anthropic-version" in headers else "OpenAI"
        name = _SDK_NAMES[(vendor, "Python" if lang == "python" else "JS")]
        return ClientInfo(name, headers.get("x-stainless-package-version", ""), ua)

    return ClientInfo("unknown", "", ua)
