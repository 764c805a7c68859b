"""The first doctor step, without a network: is this base URL shaped right for this client?

It also works out where the client's requests will go (its URL rule, docs/CLIENTS.md §1), so the later steps
call exactly the URLs the client would: Cherry Studio and Chatbox add `/v1` themselves, Anthropic-style
clients (Claude Code) add `/v1/...`, everyone else appends the endpoint to the base as typed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from onegate.diagnosis.profiles import profile_of
from onegate.setup.guides import is_private_address

_ENDPOINT = re.compile(r"/(chat/completions|completions|responses|messages|models|embeddings)(/.*)?$")
_VERSION_SEGMENT = re.compile(r"/v\d+[a-z]*\d*(?=/|$)")


@dataclass(frozen=True, slots=True)
class UrlCheck:
    level: str  # "pass" | "warn" | "fail"
    message_id: str  # doctor.url.* in the catalog
    params: dict[str, str]


def shown_url(url: str) -> str:
    """The URL without credentials (user:password@, ?key=), safe for evidence."""
    parts = urlsplit(url)
    netloc = parts.hostname or ""
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def request_root(base_url: str, client: str) -> str:
    """Where the client sends its requests: the prefix it puts before `/models`, `/chat/completions`."""
    base = shown_url(base_url.strip()).rstrip("/")
    path = urlsplit(base).path
    if client == "cherry-studio":  # ≥1.7: adds /v1 unless a /vN segment is present
        return base if _VERSION_SEGMENT.search(path) else base + "/v1"
    if client == "chatbox":
        return base if base.endswith("/v1") else base + "/v1"
    if profile_of(client).style == "anthropic":
        return base + "/v1"
    return base


def check_url(base_url: str, client: str) -> list[UrlCheck]:
    """Findings about the base URL's shape, worst first; one `pass` when there is nothing to say."""
    parts = urlsplit(base_url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return [UrlCheck("fail", "doctor.url.scheme", {"url": base_url})]
    path = parts.path.rstrip("/")
    style = profile_of(client).style
    found: list[UrlCheck] = []
    origin = shown_url(f"{parts.scheme}://{parts.netloc}")
    endpoint = _ENDPOINT.search(path)
    if endpoint:
        fixed = origin + path[: endpoint.start()]
        found.append(UrlCheck("fail", "doctor.url.endpoint", {"endpoint": endpoint.group(0), "fixed": fixed}))
    elif re.search(r"/v1/v1(/|$)", path):
        found.append(UrlCheck("fail", "doctor.url.doubled", {"fixed": origin + path.replace("/v1/v1", "/v1")}))
    elif style == "anthropic" and path.endswith("/v1"):
        found.append(UrlCheck("fail", "doctor.url.anthropic_v1", {"fixed": origin + path[:-3]}))
    elif style == "openai" and client not in ("cherry-studio", "chatbox") and not _VERSION_SEGMENT.search(path):
        found.append(UrlCheck("warn", "doctor.url.no_version", {"path": path or "/"}))
    if client == "cursor" and is_private_address(base_url):
        found.append(UrlCheck("fail", "doctor.url.cursor_private", {"host": parts.hostname}))
    elif client == "cursor" and parts.scheme == "http":
        found.append(UrlCheck("warn", "doctor.url.cursor_http", {}))
    if parts.username or parts.password or "key=" in parts.query:
        found.append(UrlCheck("warn", "doctor.url.credentials", {}))
    order = {"fail": 0, "warn": 1}
    return sorted(found, key=lambda c: order[c.level]) or [
        UrlCheck("pass", "doctor.url.ok", {"root": request_root(base_url, client)})
    ]
