"""Key diagnosis: why a request's credentials were refused, and what the user should change.

Runs only after a key failed (no cost for valid keys). It looks at what arrived: no key, a placeholder
(`not-provided` from Roo Code, `YOUR_API_KEY`, `sk-xxx`, an unexpanded `$VARIABLE`), a Claude.ai login
token (`sk-ant-oat…`), another vendor's key, stray quotes or spaces, `Bearer Bearer …`, a key in a header
or query parameter onegate does not read, a onegate key cut short. Everything shown is masked to its last
four characters except known placeholders, which are not secrets. Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl

from onegate.apikeys import KEY_PREFIX
from onegate.diagnosis.clients import ClientInfo
from onegate.diagnosis.profiles import display_name, key_field, profile_of
from onegate.i18n.catalog import text

OUR_KEY_LENGTH = len(KEY_PREFIX) + 40  # apikeys.generate_key: token_urlsafe(30) is 40 characters
_PLACEHOLDERS = {
    "not-provided",  # Roo Code with an empty key field
    "your_api_key",
    "your-api-key",
    "yourapikey",
    "your_key",
    "api_key",
    "apikey",
    "none",
    "null",
    "undefined",
    "empty",  # vLLM's documented "no key" value
    "dummy",
    "placeholder",
    "sk-xxx",
    "sk-...",
    "sk-…",
    "sk-og-…",
    "<your onegate key>",
}
_PLACEHOLDER_SHAPES = re.compile(r"^(?:sk-)?x{3,}$|^<[^>]*>$|^your[\s_-]*(?:api[\s_-]*)?key|^\*+$", re.I)
_VARIABLE = re.compile(r"^\$\{?[A-Za-z_][A-Za-z0-9_]*\}?$|^%[A-Za-z_][A-Za-z0-9_]*%$|^\{\{\s*\w+\s*\}\}$")
# (pattern whose group "p" is the prefix safe to show, vendor slug, vendor name), most specific first
_VENDORS: tuple[tuple[re.Pattern[str], str, str], ...] = tuple(
    (re.compile(pattern), slug, name)
    for pattern, slug, name in (
        (r"^(?P<p>sk-ant-api)", "anthropic", "Anthropic"),
        (r"^(?P<p>sk-or-v1-)", "openrouter", "OpenRouter"),
        (r"^(?P<p>sk-(?:proj|svcacct|admin)-)", "openai", "OpenAI"),
        (r"^(?P<p>AIza)[0-9A-Za-z_-]{20,}$", "google", "Google (Gemini)"),
        (r"^(?P<p>gsk_)", "groq", "Groq"),
        (r"^(?P<p>xai-)", "xai", "xAI"),
        (r"^(?P<p>sk-)[0-9a-f]{32}$", "deepseek", "DeepSeek"),
        (r"^(?P<p>sk-)[A-Za-z0-9]{48}$", "openai", "OpenAI"),
    )
)
# Headers some clients or users put keys in, which onegate does not read.
_UNREAD_HEADERS = (
    "api_key",
    "apikey",
    "x-auth-token",
    "x-token",
    "token",
    "access-token",
    "openai-api-key",
    "x-openai-api-key",
    "anthropic-api-key",
    "x-anthropic-api-key",
    "proxy-authorization",
)
_QUERY_KEYS = ("key", "api_key", "apikey", "api-key", "access_token", "token")


@dataclass(frozen=True, slots=True)
class KeyFinding:
    code: str  # stable, e.g. "key.placeholder"
    missing: bool  # no usable key at all (missing_api_key) rather than a wrong one (invalid_api_key)
    message: str
    fix: str  # the fix sentence alone


def mask(secret: str) -> str:
    """`…abcd`, or only the length when the value is too short to show any of it."""
    return f"…{secret[-4:]}" if len(secret) >= 12 else f"({len(secret)} characters)"


def is_placeholder(token: str) -> bool:
    return token.strip().lower() in _PLACEHOLDERS or bool(_PLACEHOLDER_SHAPES.match(token.strip()))


def vendor_of(token: str) -> tuple[str, str, str] | None:
    """(slug, name, the key shown masked after its public prefix) when `token` has a vendor's key shape."""
    for pattern, slug, name in _VENDORS:
        match = pattern.match(token)
        if match:
            return slug, name, match.group("p") + mask(token)
    return None


def diagnose_key(
    headers: Mapping[str, str],
    query: str,
    token: str | None,
    header: str | None,
    client: ClientInfo,
    lang: str = "en",
) -> KeyFinding:
    """Why the key (`token`, read from `header`, or None) was refused; `headers` have lower-case names."""
    code, missing, params = _classify(headers, query, token, header, client)
    problem = text(code, lang, client=display_name(client, lang), **params)
    if header is not None:  # which header was read, so a client sending two can tell (docs/CLIENTS.md §4.2)
        problem += (" " if lang == "en" else "") + text("key.read_from", lang, header=header)
    fix = _fix(code, client, lang)
    return KeyFinding(code, missing, text("key.message", lang, problem=problem, fix=fix), fix)


def _classify(
    headers: Mapping[str, str], query: str, token: str | None, header: str | None, client: ClientInfo
) -> tuple[str, bool, dict[str, str]]:
    if token is None:
        return _no_token(headers, query)
    if is_placeholder(token):
        code = "key.placeholder_roo" if client.name == "roo-code" and token == "not-provided" else "key.placeholder"
        return code, True, {"received": token}
    if _VARIABLE.match(token):
        return "key.unexpanded_variable", True, {"received": token}
    if token.lower().startswith("bearer "):
        return "key.bearer_doubled", False, {"received": "Bearer " + mask(token[7:].strip())}
    if token[0] in "\"'" or token[-1] in "\"'":
        return "key.quoted", False, {"received": f"{token[0]}…{token.strip(chr(34) + chr(39))[-4:]}{token[-1]}"}
    if any(ch.isspace() for ch in token):
        return "key.whitespace", False, {"received": mask(token)}
    if token.startswith("sk-ant-oat"):
        return "key.claude_oauth", False, {"received": "sk-ant-oat…" + token[-4:]}
    vendor = vendor_of(token)
    if vendor is not None:
        slug, name, shown = vendor
        return f"key.vendor_{slug}", False, {"received": shown, "vendor": name}
    if token.startswith(KEY_PREFIX):
        received = KEY_PREFIX + mask(token)
        if len(token) != OUR_KEY_LENGTH:
            return (
                "key.truncated",
                False,
                {"received": received, "length": str(len(token)), "expected": str(OUR_KEY_LENGTH)},
            )
        return "key.unknown", False, {"received": received}
    return "key.invalid", False, {"received": mask(token)}


def _no_token(headers: Mapping[str, str], query: str) -> tuple[str, bool, dict[str, str]]:
    authorization = headers.get("authorization", "").strip()
    if authorization:
        scheme, _, rest = authorization.partition(" ")
        if scheme.lower() == "bearer":
            return "key.empty", True, {"where": "Authorization: Bearer"}
        if rest:
            return "key.wrong_scheme", True, {"scheme": scheme}
        return "key.missing_bearer", True, {"received": mask(authorization)}
    for name in ("x-api-key", "api-key", "x-goog-api-key"):
        if name in headers:
            return "key.empty", True, {"where": name}
    for name in _UNREAD_HEADERS:
        value = headers.get(name, "").strip()
        if value:
            return "key.unread_header", True, {"received": mask(value), "where": name}
    for name, value in parse_qsl(query):
        if name.lower() in _QUERY_KEYS and value:
            return "key.in_query", True, {"received": mask(value), "where": name}
    return "key.missing", True, {}


def _fix(code: str, client: ClientInfo, lang: str) -> str:
    if code in ("key.wrong_scheme", "key.missing_bearer", "key.unread_header", "key.in_query"):
        return text("fix.key_header", lang)
    if code == "key.claude_oauth" or client.name == "claude-code":
        return text("fix.key_claude_code", lang)
    if code == "key.unknown":
        return text("fix.key_unknown", lang)
    if profile_of(client.name).name == "unknown":
        return text("fix.key_generic", lang)
    return text("fix.key_field", lang, client=display_name(client.name, lang), field=key_field(client.name, lang))
