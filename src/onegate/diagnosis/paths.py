"""Wrong-URL diagnosis: from a path no route serves to what the user typed and the exact base URL to set.

Every pattern of docs/CLIENTS.md §6 is recognised from the method, the path, the headers and the client
fingerprint. A finding names the canonical endpoint when the intent is unambiguous (so a lenient
server can serve it), the error shape the caller understands, and a message naming the client, the
path that arrived and the value to put in that client's base-URL field. Pure: no I/O, no settings.

How a path is read: the longest known endpoint at its end (`/chat/completions`, `/messages`,
`/models`, …) is the intent; what comes before it is what the user typed as base URL path, plus
whatever the client added. The canonical prefix is `/api/v1` (and its alias `/v1`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from onegate.diagnosis.clients import ClientInfo
from onegate.diagnosis.profiles import base_url_for, display_name, profile_of, set_base_instruction
from onegate.i18n.catalog import text
from onegate.redaction import mask_key_shaped

# The endpoints clients append to a base URL, longest first within a family; anchored at the end.
_ENDPOINT_TAIL = re.compile(
    r"(/chat/completions|/completions|/embeddings|/responses(?:/compact)?|/messages(?:/count_tokens)?"
    r"|/models(?:/[^/]+)?|/images/(?:generations|edits)|/audio/(?:speech|transcriptions|translations)"
    r"|/moderations|/rerank)$"
)
_GEMINI = re.compile(r"(?:^|/)models/[^/]+?(?::|%3a)(?:stream)?(?:generatecontent|counttokens|embedcontent)$", re.I)
_VERSION = re.compile(r"^v\d+(?:beta|alpha)?\d*$")
_SLASHES = re.compile(r"/{2,}")
_SECRET_PARAMS = re.compile(r"((?:^|&)(?:key|api_key|apikey|api-key|token|access_token)=)([^&]*)", re.I)
CANONICAL_PREFIXES = ("/api/v1", "/v1")
_CREDENTIAL_HEADERS = ("authorization", "x-api-key", "api-key", "x-goog-api-key")


@dataclass(frozen=True, slots=True)
class PathFinding:
    code: str  # stable, e.g. "path.doubled_v1"
    suffix: str | None  # the canonical endpoint (`/chat/completions`) when the intent is unambiguous
    family: str  # "openai" | "anthropic" | "gemini": the error shape the caller understands
    message: str  # what arrived, from whom, what is wrong, and the fix
    fix: str  # the fix sentence alone


def shown_path(path: str, query: str) -> str:
    """The path as it arrived, with key-shaped runs and credentials in the query string (`?key=`) masked
    to 4 characters (a client that pasted its key into the base URL must not find it in a log)."""
    path = mask_key_shaped(path)
    if not query:
        return path
    return path + "?" + _SECRET_PARAMS.sub(lambda m: m.group(1) + "…" + m.group(2)[-4:], query)


def is_api_shaped(method: str, path: str, headers: Mapping[str, str]) -> bool:
    """Whether a request is meant for the API (so it must never get HTML or a 200 page): docs/CLIENTS.md §4.4."""
    if method not in ("GET", "HEAD"):
        return True
    if any(headers.get(h) for h in _CREDENTIAL_HEADERS):
        return True
    clean = _SLASHES.sub("/", path).rstrip("/")
    return bool(_ENDPOINT_TAIL.search(clean) or _GEMINI.search(clean))


def diagnose_path(
    method: str,
    path: str,
    query: str,
    headers: Mapping[str, str],
    client: ClientInfo,
    root: str,
    lang: str = "en",
) -> PathFinding | None:
    """Why no route serves `path`, or None when it does not look like an API request at all.

    `root` is the server's public address (`https://HOST`), from which the fix is built.
    """
    clean = _SLASHES.sub("/", path).rstrip("/") or "/"
    reading = _read(method, clean, headers, client)
    if reading is None:
        return None
    code, suffix, family = reading
    fix = _fix(code, family, client, root, lang)
    # Anthropic SDKs append `/v1/messages` to their base; Chatbox's Claude mode only `/messages`.
    anthropic_sdk = family == "anthropic" and client.name != "chatbox" and code == "path.endpoint_in_base"
    appended = f"/v1{suffix}" if suffix and anthropic_sdk else suffix
    problem = text(code, lang, client=display_name(client, lang), suffix=appended or "", root=root)
    message = text(
        "path.message",
        lang,
        method=method,
        path=shown_path(path, query),
        client=display_name(client, lang),
        problem=problem,
        fix=fix,
    )
    return PathFinding(code, suffix, family, message, fix)


def _read(method: str, path: str, headers: Mapping[str, str], client: ClientInfo) -> tuple[str, str | None, str] | None:
    """(code, canonical suffix or None, family) for a path no route serves."""
    if _GEMINI.search(path):
        return _gemini_code(path), None, "gemini"
    tail = _ENDPOINT_TAIL.search(path)
    if tail is None:
        if path in ("/", "/api", *CANONICAL_PREFIXES) and is_api_shaped(method, path, headers):
            return "path.no_endpoint", None, _family(None, headers, client)
        return None
    suffix = tail.group(1)
    prefix = path[: tail.start()]
    family = _family(suffix, headers, client)
    anthropic = suffix.startswith("/messages")
    if prefix in CANONICAL_PREFIXES:
        return "path.endpoint_not_served", suffix, family
    if client.name == "chatbox" and anthropic and prefix in ("", "/api"):
        return "path.chatbox_claude_needs_v1", suffix, family
    if client.name == "chatbox" and suffix == "/models" and prefix == "":
        return "path.chatbox_api_path", suffix, family
    if _ENDPOINT_TAIL.search(_strip_version(prefix)):
        return "path.endpoint_in_base", suffix, family
    segments = [s for s in prefix.split("/") if s]
    versions = [s for s in segments if _VERSION.match(s)]
    if prefix == "":
        return "path.missing_api_v1", suffix, family
    if prefix == "/api":
        return "path.missing_v1", suffix, family
    if len(versions) >= 2 and segments[-2:] == ["v1", "v1"]:
        return ("path.anthropic_base_has_v1" if family == "anthropic" else "path.doubled_v1"), suffix, family
    return "path.unexpected_prefix", suffix, family


def _strip_version(prefix: str) -> str:
    """`/api/v1/messages/v1` → `/api/v1/messages`: an Anthropic client appends `/v1` before its endpoint."""
    head, _, last = prefix.rpartition("/")
    return head if _VERSION.match(last) else prefix


def _gemini_code(path: str) -> str:
    before = path[: path.lower().rfind("models/")]
    segments = [s for s in before.split("/") if s]
    if segments.count("v1beta") >= 2:
        return "path.gemini_doubled_version"
    if "v1" in segments:
        return "path.gemini_base_has_v1"
    return "path.gemini_not_served"


def _family(suffix: str | None, headers: Mapping[str, str], client: ClientInfo) -> str:
    if suffix is not None and suffix.startswith("/messages"):
        return "anthropic"
    if suffix is None or suffix == "/models" or suffix.startswith("/models/"):
        # No endpoint says it: the caller's headers and fingerprint do (Claude Code's model discovery).
        if "x-goog-api-key" in headers or client.name == "gemini-cli":
            return "gemini"
        # the rule of server/anthropic_endpoints.speaks_anthropic (older Cherry Studio sends x-api-key beside Bearer)
        anthropic_headers = "anthropic-version" in headers or (
            "x-api-key" in headers and "authorization" not in headers
        )
        if anthropic_headers or profile_of(client.name).style == "anthropic":
            return "anthropic"
    return "openai"


def _anthropic_view(client: ClientInfo) -> ClientInfo:
    """The client whose Anthropic base-URL field to name: itself, or the generic Anthropic-style client."""
    if profile_of(client.name).style == "anthropic":
        return client
    return ClientInfo("anthropic-sdk", "", client.user_agent)


def _fix(code: str, family: str, client: ClientInfo, root: str, lang: str) -> str:
    if code.startswith("path.gemini_"):
        return text("fix.gemini", lang, gemini_base=f"{root}/api", openai_base=f"{root}/api/v1")
    if code == "path.chatbox_claude_needs_v1":
        return set_base_instruction(client, root, lang, claude_mode=True)
    if code == "path.chatbox_api_path":
        return text("fix.chatbox_api_path", lang, value=base_url_for(client, root))
    if code == "path.endpoint_not_served":
        return text("fix.endpoint_not_served", lang, openai_base=f"{root}/api/v1", anthropic_base=f"{root}/api")
    if code == "path.no_endpoint" and client.name == "cherry-studio":
        return text("fix.cherry_hash", lang, value=f"{root}/api/v1")
    if code == "path.no_endpoint":
        return text("fix.no_endpoint", lang, value=f"{root}/api/v1", endpoint=f"{root}/api/v1/chat/completions")
    if family == "anthropic" and client.name != "chatbox":
        return set_base_instruction(_anthropic_view(client), root, lang)
    return set_base_instruction(client, root, lang)
