"""What each client needs to be told: which base URL style it uses and where its settings live.

The base URL a client must be given depends on how it builds request paths (docs/CLIENTS.md §1, §5):
OpenAI-style clients append `/chat/completions` to `…/api/v1`; Anthropic SDKs (Claude Code) append
`/v1/messages` to `…/api`; Gemini clients append `/v1beta/models/…` to `…/api`. The names of the
fields a user sees come from the message catalog (`client.<name>.base`, `client.<name>.key`).
"""

from __future__ import annotations

from dataclasses import dataclass

from onegate.diagnosis.clients import ClientInfo
from onegate.i18n.catalog import messages, text


@dataclass(frozen=True, slots=True)
class ClientProfile:
    name: str
    style: str  # "openai" | "anthropic" | "gemini": which root the client appends its paths to
    env_base: bool = False  # the base URL is an environment variable: say NAME=value


PROFILES: dict[str, ClientProfile] = {
    p.name: p
    for p in (
        ClientProfile("openai-python", "openai"),
        ClientProfile("openai-node", "openai"),
        ClientProfile("codex", "openai"),
        ClientProfile("cursor", "openai"),
        ClientProfile("cherry-studio", "openai"),
        ClientProfile("lobechat", "openai"),
        ClientProfile("chatbox", "openai"),
        ClientProfile("continue", "openai"),
        ClientProfile("cline", "openai"),
        ClientProfile("roo-code", "openai"),
        ClientProfile("open-webui", "openai"),
        ClientProfile("curl", "openai"),
        ClientProfile("claude-code", "anthropic", env_base=True),
        ClientProfile("anthropic-python", "anthropic"),
        ClientProfile("anthropic-node", "anthropic"),
        ClientProfile("gemini-cli", "gemini", env_base=True),
    )
}
UNKNOWN = ClientProfile("unknown", "openai")


def profile_of(name: str) -> ClientProfile:
    return PROFILES.get(name, UNKNOWN)


def _catalog_id(name: str, what: str) -> str:
    candidate = f"client.{name}.{what}"
    return candidate if candidate in messages() else f"client.unknown.{what}"


def display_name(client: ClientInfo | str, lang: str = "en") -> str:
    """`Claude Code 2.1.197`, `Cherry Studio`, or "your client" when unknown."""
    name = client if isinstance(client, str) else client.name
    version = "" if isinstance(client, str) else client.version
    shown = text(_catalog_id(name, "name"), lang)
    return f"{shown} {version}" if version and name in PROFILES else shown


def base_field(name: str, lang: str = "en") -> str:
    return text(_catalog_id(name, "base"), lang)


def key_field(name: str, lang: str = "en") -> str:
    return text(_catalog_id(name, "key"), lang)


def version_tuple(version: str) -> tuple[int, ...]:
    parts: list[int] = []
    for piece in version.split("."):
        digits = "".join(ch for ch in piece if ch.isdigit())
        if not digits:
            break
        parts.append(int(digits))
    return tuple(parts)


def base_url_for(client: ClientInfo, root: str, *, claude_mode: bool = False) -> str:
    """The exact value `client` must be given, for a server reached at `root` (`https://HOST`)."""
    profile = profile_of(client.name)
    if profile.style in ("anthropic", "gemini") and not claude_mode:
        return f"{root}/api"
    if client.name == "cherry-studio" and client.version and version_tuple(client.version) < (1, 7):
        return f"{root}/api/v1/"  # older Cherry adds `/v1/` unless the host ends with `/`
    return f"{root}/api/v1"


def set_base_instruction(client: ClientInfo, root: str, lang: str = "en", *, claude_mode: bool = False) -> str:
    """`Set ANTHROPIC_BASE_URL=https://HOST/api.` or `Set Cherry Studio's API Host to …`."""
    value = base_url_for(client, root, claude_mode=claude_mode)
    profile = profile_of(client.name)
    if profile.env_base:
        return text("fix.set_env", lang, name=base_field(client.name, lang), value=value)
    message_id = "fix.cherry_old" if value.endswith("/") else "fix.set_field"
    return text(
        message_id,
        lang,
        client=display_name(client.name, lang),
        field=base_field(client.name, lang),
        value=value,
        alt=f"{root}/api",
    )
