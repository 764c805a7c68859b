"""Settings: command-line options, environment and the YAML config file, validated once at start.

Secrets never live in the config file: a channel names the environment variable that holds its key.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

MICROS = 1_000_000  # amounts are integer micro-units of the account currency


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
    type: str = "openai"  # wire dialect the upstream speaks
    base_url: str
    api_key_env: str | None = None
    models: list[str] = Field(default_factory=list)
    aliases: dict[str, str] = Field(default_factory=dict)  # public name -> upstream model
    responses_api: bool = False  # the upstream serves /responses natively (OpenAI itself)
    timeouts: Timeouts = Field(default_factory=Timeouts)

    @field_validator("type")
    @classmethod
    def _known_type(cls, value: str) -> str:
        if value not in {"openai"}:
            raise ValueError(f"unknown channel type {value!r}; expected 'openai'")
        return value

    @field_validator("base_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return value.rstrip("/")


class PriceConfig(_Strict):
    """Prices in currency units per 1M tokens (and per request, per image)."""

    input: float = 0.0
    cached_input: float | None = None  # prompt tokens read from the vendor's cache; defaults to the input price
    cache_write: float | None = None  # prompt tokens written to the vendor's cache; defaults to the input price
    output: float = 0.0
    per_request: float = 0.0
    per_image: float = 0.0


class LimitsConfig(_Strict):
    """Rate limits; None = unlimited. A key's or team's own limits override these defaults."""

    rpm: int | None = Field(default=None, ge=1)  # requests per minute
    tpm: int | None = Field(default=None, ge=1)  # tokens (prompt + output) per minute
    concurrent: int | None = Field(default=None, ge=1)  # requests in flight at once


class AlertsConfig(_Strict):
    """Abnormal spend: a key's or team's spend rate over `factor` × its own recent baseline."""

    enabled: bool = True
    factor: float = Field(default=5.0, gt=1)
    window_minutes: int = Field(default=5, ge=1)  # the recent window whose rate is judged
    baseline_minutes: int = Field(default=60, ge=1)  # the window before it: the baseline rate
    min_spend: float = 1.0  # currency units in the recent window below which nothing is raised
    check_seconds: float = Field(default=60.0, gt=0)
    cooldown_minutes: int = Field(default=60, ge=1)  # one alert per subject per cooldown
    webhook_url: str | None = None
    webhook_allow_private: bool = False  # may the webhook reach loopback/private addresses?

    @field_validator("webhook_url")
    @classmethod
    def _http_only(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("webhook_url must be an http:// or https:// URL")
        return value


class AccountingConfig(_Strict):
    currency: str = "USD"
    # reserved for the output when a request sets no max_tokens (the reservation is settled to actual use)
    reserve_output_tokens: int = Field(default=1024, ge=0)
    # a reservation is a lease: renewed while its request runs, gone this long after its instance dies
    reservation_ttl: float = Field(default=60.0, gt=0)
    key_limits: LimitsConfig = Field(default_factory=LimitsConfig)
    team_limits: LimitsConfig = Field(default_factory=LimitsConfig)
    alerts: AlertsConfig = Field(default_factory=AlertsConfig)


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
    model_groups: dict[str, list[str]] = Field(default_factory=dict)  # tiers a team may be given
    accounting: AccountingConfig = Field(default_factory=AccountingConfig)
    # counters, reservations and cache invalidation shared by every instance; None = in this process
    redis_url: str | None = None
    redis_prefix: str = "onegate:"
    # journal each request's log row and charge to a local file before queueing it: survives kill -9
    durable_writes: bool = False
    log_queue_size: int = 50_000
    selftest_model: str = "onegate-selftest"


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
    model_groups: dict[str, list[str]] = field(default_factory=dict)
    accounting: AccountingConfig = field(default_factory=AccountingConfig)
    redis_url: str | None = None
    redis_prefix: str = "onegate:"
    durable_writes: bool = False
    key_refresh_seconds: float = 1.0  # how often caches poll the database (a safety net when Redis pushes)
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        """The base URL OpenAI-style clients should be given."""
        root = self.public_url or f"http://{self.host}:{self.port}"
        return root.rstrip("/") + "/api/v1"

    def public_base_url(self, headers: dict[str, str]) -> str:
        """The base URL as the caller reached us (behind a proxy, via its forwarded headers)."""
        if self.public_url or "host" not in headers:
            return self.base_url
        scheme = headers.get("x-forwarded-proto", "http")
        host = headers.get("x-forwarded-host") or headers["host"]
        return f"{scheme}://{host}/api/v1"


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
    _check_groups(file)
    redis_url = os.environ.get("ONEGATE_REDIS_URL") or file.redis_url
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
        model_groups=dict(file.model_groups),
        accounting=file.accounting,
        redis_url=redis_url,
        redis_prefix=os.environ.get("ONEGATE_REDIS_PREFIX") or file.redis_prefix,
        durable_writes=_env_flag("ONEGATE_DURABLE_WRITES", file.durable_writes),
        # with Redis, changes are pushed over pub/sub and polling is only the safety net
        key_refresh_seconds=10.0 if redis_url else 1.0,
    )


def _env_flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    return default if value is None else value.strip().lower() in ("1", "true", "yes", "on")


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


def _check_groups(file: FileConfig) -> None:
    known = {m for c in file.channels for m in [*c.models, *c.aliases]} | {file.selftest_model}
    for group, models in file.model_groups.items():
        unknown = sorted(set(models) - known)
        if unknown:
            raise ConfigError(f"model group {group}: unknown models {', '.join(unknown)}")
