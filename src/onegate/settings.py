"""Settings: command-line options, environment and the YAML config file, validated once at start.

Secrets never live in the config file: a channel names the environment variable that holds its key.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

MICROS = 1_000_000  # amounts are integer micro-units of the account currency
CHANNEL_TYPES = ("openai", "anthropic")  # the wire an upstream speaks: OpenAI-compatible, or Anthropic's own


class ConfigError(Exception):
    """The config file is missing, unreadable or invalid; the message says where."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Timeouts(_Strict):
    connect: float = 10.0
    first_byte: float = 120.0  # status and first event; reasoning models can think for a while
    idle: float = 120.0  # gap between two chunks of a stream
    total: float = 900.0
    # keep-alive to the client while the upstream is silent mid-stream: well inside Codex's 300 s idle limit
    keepalive: float = 15.0


class ChannelConfig(_Strict):
    name: str
    type: str = "openai"  # wire dialect the upstream speaks: openai | anthropic
    base_url: str
    api_key_env: str | None = None
    models: list[str] = Field(default_factory=list)
    aliases: dict[str, str] = Field(default_factory=dict)  # public name -> upstream model
    responses_api: bool = False  # the upstream serves /responses natively (OpenAI itself)
    timeouts: Timeouts = Field(default_factory=Timeouts)

    @field_validator("type")
    @classmethod
    def _known_type(cls, value: str) -> str:
        if value not in CHANNEL_TYPES:
            raise ValueError(f"unknown channel type {value!r}; expected one of: {', '.join(CHANNEL_TYPES)}")
        return value

    @field_validator("base_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return value.rstrip("/")


class PriceConfig(_Strict):
    """Prices in currency units per 1M tokens (and per request)."""

    input: float = 0.0
    cached_input: float | None = None  # defaults to the input price
    output: float = 0.0
    per_request: float = 0.0


class ServerConfig(_Strict):
    host: str = "127.0.0.1"
    port: int = 8080
    public_url: str | None = None
    max_body_mb: float = 32.0


class FileConfig(_Strict):
    server: ServerConfig = Field(default_factory=ServerConfig)
    database_url: str | None = None
    channels: list[ChannelConfig] = Field(default_factory=list)
    prices: dict[str, PriceConfig] = Field(default_factory=dict)
    log_queue_size: int = 50_000
    selftest_model: str = "onegate-selftest"
    # model names clients hard-code (Claude Code's claude-haiku-…) → a public model; glob patterns, first match wins
    model_map: dict[str, str] = Field(default_factory=dict)
    # A path that only ends in a known endpoint (`/api/v1/v1/chat/completions`): serve it and flag it
    # (lenient), or answer 404 with the fix (strict). See server/pathdoctor.py.
    path_policy: Literal["lenient", "strict"] = "lenient"
    # Serve `GPT-4.1-Mini` or `openai/gpt-4.1-mini` as `gpt-4.1-mini` when exactly one name fits (logged as a hint).
    resolve_model_variants: bool = False


@dataclass(frozen=True, slots=True)
class Settings:
    data_dir: Path
    host: str
    port: int
    database_url: str
    public_url: str | None
    max_body_bytes: int
    channels: tuple[ChannelConfig, ...]
    prices: dict[str, PriceConfig]
    log_queue_size: int
    selftest_model: str
    config_path: Path | None = None
    model_map: dict[str, str] = field(default_factory=dict)
    key_refresh_seconds: float = 1.0
    extra: dict[str, str] = field(default_factory=dict)
    path_policy: str = "lenient"
    resolve_model_variants: bool = False
    admin_token: str | None = None  # ONEGATE_ADMIN_TOKEN; the admin API is disabled without it

    @property
    def root_url(self) -> str:
        """The server's public address, `https://HOST`, without the API path."""
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def base_url(self) -> str:
        """The base URL OpenAI-style clients should be given."""
        return self.root_url + "/api/v1"

    def public_root(self, headers: dict[str, str]) -> str:
        """The server's address as the caller reached us (behind a proxy, via its forwarded headers)."""
        if self.public_url or "host" not in headers:
            return self.root_url
        scheme = headers.get("x-forwarded-proto", "http")
        host = headers.get("x-forwarded-host") or headers["host"]
        return f"{scheme}://{host}"

    def public_base_url(self, headers: dict[str, str]) -> str:
        """The base URL as the caller reached us."""
        return self.public_root(headers) + "/api/v1"


def default_data_dir() -> Path:
    env = os.environ.get("ONEGATE_DATA_DIR")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(xdg) / "onegate"


def read_config_file(path: Path | None) -> FileConfig:
    if path is None:
        return FileConfig()
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except OSError as exc:
        raise ConfigError(f"cannot read config {path}: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"config {path} is not valid YAML: {exc}") from exc
    try:
        return FileConfig.model_validate(raw)
    except ValidationError as exc:
        lines = [f"  {'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
        raise ConfigError(f"config {path} is invalid:\n" + "\n".join(lines)) from exc


def load_settings(
    data_dir: Path | None = None,
    config_path: Path | None = None,
    host: str | None = None,
    port: int | None = None,
) -> Settings:
    """Merge options > environment > config file > defaults."""
    if config_path is None and os.environ.get("ONEGATE_CONFIG"):
        config_path = Path(os.environ["ONEGATE_CONFIG"])
    file = read_config_file(config_path)
    data_dir = data_dir or default_data_dir()
    database_url = os.environ.get("ONEGATE_DATABASE_URL") or file.database_url or f"sqlite:///{data_dir / 'onegate.db'}"
    _check_channels(file)
    _check_model_map(file)
    return Settings(
        data_dir=data_dir,
        host=host or file.server.host,
        port=port if port is not None else file.server.port,
        database_url=database_url,
        public_url=os.environ.get("ONEGATE_PUBLIC_URL") or file.server.public_url,
        max_body_bytes=int(file.server.max_body_mb * 1024 * 1024),
        channels=tuple(file.channels),
        prices=dict(file.prices),
        log_queue_size=file.log_queue_size,
        selftest_model=file.selftest_model,
        config_path=config_path,
        model_map=dict(file.model_map),
        path_policy=file.path_policy,
        resolve_model_variants=file.resolve_model_variants,
        admin_token=os.environ.get("ONEGATE_ADMIN_TOKEN") or None,
    )


def _check_channels(file: FileConfig) -> None:
    names = [c.name for c in file.channels]
    dupes = {n for n in names if names.count(n) > 1}
    if dupes:
        raise ConfigError(f"channel names must be unique; repeated: {', '.join(sorted(dupes))}")
    for channel in file.channels:
        if channel.api_key_env and channel.api_key_env.startswith(("sk-", "sk_")):
            raise ConfigError(
                f"channel {channel.name}: api_key_env must name an environment variable, not hold the key"
            )


def _check_model_map(file: FileConfig) -> None:
    public = {file.selftest_model}
    for channel in file.channels:
        public.update(channel.models, channel.aliases)
    for pattern, target in file.model_map.items():
        if target not in public:
            raise ConfigError(
                f"model_map: '{pattern}' points at '{target}', which no channel serves "
                f"(known models: {', '.join(sorted(public))})"
            )
