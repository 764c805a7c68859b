"""Settings: command-line options, environment and the YAML config file, validated once at start.

Secrets never live in the config file: a channel names the environment variable that holds its key.
The file's shape is declared as msgspec Structs: strict (unknown keys are errors), typed and constrained,
and a tenth of the start-up cost of the alternatives, which matters for the one-second start.
"""

from __future__ import annotations

import importlib.util
import ipaddress
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Literal

import msgspec
import yaml
from msgspec import Meta
from msgspec import field as config_field
from msgspec.structs import force_setattr

MICROS = 1_000_000  # amounts are integer micro-units of the account currency


class ConfigError(Exception):
    """The config file is missing, unreadable or invalid; the message says where."""


class _Strict(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """A config section: unknown keys are errors, values are checked, instances are immutable.

    Subclasses repeat `frozen=True` with their `kw_only=True` (msgspec inherits it, type checkers do not)."""


class Timeouts(_Strict, frozen=True, kw_only=True):
    connect: float = 10.0
    first_byte: float = 120.0  # status and first event; reasoning models can think for a while
    idle: float = 120.0  # gap between two chunks of a stream
    total: float = 900.0
    # keep-alive to the client while the upstream is silent mid-stream: well inside Codex's 300 s idle limit
    keepalive: float = 15.0


class ModelRoute(_Strict, frozen=True, kw_only=True):
    """One model a channel serves, when it needs more than its name (see ChannelConfig.models)."""

    name: str  # public name
    upstream: str | None = None  # the upstream's name for it; defaults to the public name
    priority: int | None = None  # overrides the channel's, for this model only
    weight: Annotated[float, Meta(gt=0)] | None = None


class ChannelConfig(_Strict, frozen=True, kw_only=True):
    """An upstream account. Several channels may serve one public model: the lowest `priority` tier is
    tried first, and inside a tier channels are picked at random in proportion to `weight`.

        models:
          - gpt-4.1-mini                      # plain: this channel's priority and weight
          - {name: gpt-4.1, priority: 1}      # this channel is only a fallback for gpt-4.1
          - {name: fast, upstream: gpt-4.1-mini, weight: 3}
    """

    name: str
    type: Literal["openai", "anthropic", "gemini"] = "openai"  # wire dialect the upstream speaks (gemini: Veo videos)
    base_url: str
    api_key_env: str | None = None
    models: list[str | ModelRoute] = config_field(default_factory=list)
    aliases: dict[str, str] = config_field(default_factory=dict)  # public name -> upstream model
    responses_api: bool = False  # the upstream serves /responses natively (OpenAI itself)
    timeouts: Timeouts = config_field(default_factory=Timeouts)
    priority: int = 0  # tier: 0 is tried first, then 1, …
    weight: Annotated[float, Meta(gt=0)] = 1.0  # share of traffic inside its tier
    max_concurrency: Annotated[int, Meta(ge=1)] | None = None  # in-flight requests per onegate process
    # Body fields an aggregator routes by (models, route, provider, plugins, transforms, preset, fallbacks)
    # are removed before forwarding, unless listed here: list them only if every key may use them.
    passthrough_fields: list[str] = config_field(default_factory=list)

    def routes(self) -> list[ServedModel]:
        """Every public model this channel serves, with its upstream name, priority and weight settled."""
        entries = [ModelRoute(name=m) if isinstance(m, str) else m for m in self.models]
        entries += [ModelRoute(name=public, upstream=upstream) for public, upstream in self.aliases.items()]
        return [
            ServedModel(
                e.name,
                e.upstream or e.name,
                self.priority if e.priority is None else e.priority,
                e.weight or self.weight,
            )
            for e in entries
        ]

    def __post_init__(self) -> None:
        force_setattr(self, "base_url", self.base_url.rstrip("/"))


@dataclass(frozen=True, slots=True)
class ServedModel:
    name: str
    upstream: str
    priority: int
    weight: float


class PriceConfig(_Strict, frozen=True, kw_only=True):
    """Prices in currency units per 1M tokens (and per request, per image)."""

    input: float = 0.0
    cached_input: float | None = None  # prompt tokens read from the vendor's cache; defaults to the input price
    cache_write: float | None = None  # prompt tokens written to the vendor's cache; defaults to the input price
    output: float = 0.0
    per_request: float = 0.0
    per_image: float = 0.0  # when the upstream reports no image tokens (or there is no image_output rate)
    image_input: float | None = None  # per 1M image tokens in a prompt; defaults to the input price
    image_output: float | None = None  # per 1M image tokens generated; defaults to the output price
    # per image by size and quality: {"1024x1024/high": 0.167, "1536x1024": 0.063}; else per_image
    image_prices: dict[str, float] = config_field(default_factory=dict)
    per_second: float = 0.0  # per second of video
    video_sizes: dict[str, float] = config_field(default_factory=dict)  # size → multiplier of per_second


class LimitsConfig(_Strict, frozen=True, kw_only=True):
    """Rate limits; None = unlimited. A key's or team's own limits override these defaults."""

    rpm: Annotated[int, Meta(ge=1)] | None = None  # requests per minute
    tpm: Annotated[int, Meta(ge=1)] | None = None  # tokens (prompt + output) per minute
    concurrent: Annotated[int, Meta(ge=1)] | None = None  # requests in flight at once


def _check_networks(setting: str, values: list[str]) -> None:
    for value in values:
        try:
            ipaddress.ip_network(value, strict=False)
        except ValueError:
            raise ValueError(f"{setting}: {value!r} is not an IP address or network") from None


class AlertsConfig(_Strict, frozen=True, kw_only=True):
    """Abnormal spend: a key's or team's spend rate over `factor` × its own recent baseline."""

    enabled: bool = True
    factor: Annotated[float, Meta(gt=1)] = 5.0
    window_minutes: Annotated[int, Meta(ge=1)] = 5  # the recent window whose rate is judged
    baseline_minutes: Annotated[int, Meta(ge=1)] = 60  # the window before it: the baseline rate
    min_spend: float = 1.0  # currency units in the recent window below which nothing is raised
    check_seconds: Annotated[float, Meta(gt=0)] = 60.0
    cooldown_minutes: Annotated[int, Meta(ge=1)] = 60  # one alert per subject per cooldown
    webhook_url: str | None = None
    webhook_allow_private: bool = False  # may the webhook reach any loopback/private address?
    # …or only these networks ("10.0.5.0/24", "fd00::/8"): an internal receiver, everything else still refused
    webhook_allow_networks: list[str] = config_field(default_factory=list)

    def __post_init__(self) -> None:
        if self.webhook_url is not None and not self.webhook_url.startswith(("http://", "https://")):
            raise ValueError("webhook_url must be an http:// or https:// URL")
        _check_networks("webhook_allow_networks", self.webhook_allow_networks)


class AccountingConfig(_Strict, frozen=True, kw_only=True):
    currency: str = "USD"
    # reserved for the output when a request sets no output limit (the reservation is settled to actual use);
    # when a team balance or key budget pays for the request, onegate also sets it as the request's limit,
    # so the reservation is the worst case (README: "What can go negative")
    reserve_output_tokens: Annotated[int, Meta(ge=1)] = 4096
    # how far (currency units) a team balance or key budget may be reserved below zero; 0: never on purpose
    overdraft: Annotated[float, Meta(ge=0)] = 0.0
    # a reservation is a lease: renewed while its request runs, gone this long after its instance dies
    reservation_ttl: Annotated[float, Meta(gt=0)] = 60.0
    # a charge not yet in the database (it is down; or the instance holding it in its spill file stopped)
    # keeps counting against its team's balance on every instance until it lands, this long at most
    pending_charge_ttl: Annotated[float, Meta(gt=0)] = 7 * 86400.0
    # With Redis counters, a request may go upstream while its admission round trip is on the way (its
    # answer waits for it) when its key's last admission, at most `speculation_fresh_seconds` ago, left
    # room for `speculation_margin` more like it. A refusal then cancels an upstream call the vendor may
    # bill for its prompt (docs/OPERATIONS.md, "Speculative admission").
    speculative_admission: bool = True
    speculation_fresh_seconds: Annotated[float, Meta(gt=0)] = 1.0
    speculation_margin: Annotated[int, Meta(ge=1)] = 50
    key_limits: LimitsConfig = config_field(default_factory=LimitsConfig)
    team_limits: LimitsConfig = config_field(default_factory=LimitsConfig)
    alerts: AlertsConfig = config_field(default_factory=AlertsConfig)


class MediaConfig(_Strict, frozen=True, kw_only=True):
    """Video tasks: how they are polled and timed out, and how their callbacks are delivered."""

    poll_seconds: Annotated[float, Meta(gt=0)] = 2.0  # first poll after submit; also the poller's tick
    max_poll_seconds: Annotated[float, Meta(gt=0)] = 30.0  # backoff ceiling (an upstream's hint may exceed it)
    lease_seconds: Annotated[float, Meta(gt=0)] = 60.0  # a claimed task returns to the pool after this
    task_timeout_minutes: Annotated[float, Meta(gt=0)] = 120.0  # then failed, code `timeout`
    claim_batch: Annotated[int, Meta(ge=1)] = 50  # tasks claimed per poll round
    # seconds after the first attempt for each retry of a callback (Standard Webhooks' schedule, ~3 days)
    callback_retries: list[float] = config_field(
        default_factory=lambda: [5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400]
    )
    callback_timeout: Annotated[float, Meta(gt=0)] = 15.0
    callback_allow_private: bool = False  # may callbacks reach loopback/private addresses (tests, a LAN)?
    callback_allow_networks: list[str] = config_field(default_factory=list)


class BreakerConfig(_Strict, frozen=True, kw_only=True):
    """When a channel's circuit opens: `min_failures` failures AND `failure_ratio` of its attempts in the
    last `window_seconds`. Open for `open_seconds`, doubling on each failed probe up to `max_open_seconds`."""

    window_seconds: Annotated[float, Meta(gt=0)] = 60.0
    min_failures: Annotated[int, Meta(ge=1)] = 5
    failure_ratio: Annotated[float, Meta(gt=0, le=1)] = 0.5
    open_seconds: Annotated[float, Meta(gt=0)] = 30.0
    max_open_seconds: Annotated[float, Meta(gt=0)] = 300.0
    # Opens in a row without a single success before the channel is disabled (alert in the log); None: never.
    disable_after_opens: Annotated[int, Meta(ge=1)] | None = 5


class RoutingConfig(_Strict, frozen=True, kw_only=True):
    max_attempts: Annotated[int, Meta(ge=1)] = 3  # channels tried for one request, each at most once
    total_timeout: Annotated[float, Meta(gt=0)] = 900.0  # one deadline for the whole request, every attempt
    cooldown_seconds: Annotated[float, Meta(ge=0)] = 30.0  # after a 429 without Retry-After
    max_cooldown_seconds: Annotated[float, Meta(ge=0)] = 600.0  # a Retry-After longer than this is capped
    breaker: BreakerConfig = config_field(default_factory=BreakerConfig)
    probe_seconds: Annotated[float, Meta(gt=0)] | None = None  # probe every channel this often; None: off
    recovery_probe_seconds: Annotated[float, Meta(gt=0)] = 60.0  # probe disabled channels this often
    sync_seconds: Annotated[float, Meta(gt=0)] = 1.0  # state snapshot, Redis refresh, CLI commands
    redis_prefix: str = "onegate:"


class ServerConfig(_Strict, frozen=True, kw_only=True):
    host: str = "127.0.0.1"
    port: int = 8080
    public_url: str | None = None
    max_body_mb: float = 32.0
    # Addresses (or CIDR networks) of reverse proxies whose X-Forwarded-For/-Proto/-Host are believed;
    # nobody's by default, so a client cannot pick the address its key failures are counted against.
    trusted_proxies: list[str] = config_field(default_factory=list)
    # A client must finish sending its request headers this long after it connects (or starts a request).
    header_timeout: Annotated[float, Meta(gt=0)] = 10.0
    # A request body may pause this long between two chunks before the connection is dropped.
    body_idle_timeout: Annotated[float, Meta(gt=0)] = 30.0
    keep_alive_timeout: Annotated[float, Meta(gt=0)] = 5.0  # an idle connection between requests
    # Connections plus requests in flight per process; beyond it a request gets a 503 (None: no limit).
    max_concurrency: Annotated[int, Meta(ge=1)] | None = 1000
    access_log: bool = False  # one line per request on stdout (control characters escaped)
    # Keep upstreams' own words out of every 5xx answer (the log keeps them, redacted); 4xx text still helps callers.
    hide_upstream_5xx_text: bool = False

    def __post_init__(self) -> None:
        _check_networks("trusted_proxies", self.trusted_proxies)


class MetricsConfig(_Strict, frozen=True, kw_only=True):
    """`GET /metrics` (Prometheus text format) on the server's own port: off by default (a 404 then)."""

    enabled: bool = False  # also ONEGATE_METRICS=1; needs `pip install 'onegate[metrics]'`
    # Scrapers from these addresses need no token; anyone else sends `Authorization: Bearer <ONEGATE_ADMIN_TOKEN>`.
    allow_networks: list[str] = config_field(default_factory=lambda: ["127.0.0.0/8", "::1/128"])
    # Spend is labelled by team for at most this many teams (the first seen); the rest add up under "other".
    max_team_labels: Annotated[int, Meta(ge=0)] = 50

    def __post_init__(self) -> None:
        _check_networks("metrics.allow_networks", self.allow_networks)


class FileConfig(_Strict, frozen=True, kw_only=True):
    server: ServerConfig = config_field(default_factory=ServerConfig)
    database_url: str | None = None
    channels: list[ChannelConfig] = config_field(default_factory=list)
    prices: dict[str, PriceConfig] = config_field(default_factory=dict)
    model_groups: dict[str, list[str]] = config_field(default_factory=dict)  # tiers a team may be given
    accounting: AccountingConfig = config_field(default_factory=AccountingConfig)
    media: MediaConfig = config_field(default_factory=MediaConfig)
    # journal each request's log row and charge to a local file before queueing it: survives kill -9
    durable_writes: bool = False
    log_queue_size: int = 50_000
    # raw request-log rows older than this many days are deleted (in batches, hourly); rollups are kept. None: keep all
    log_retention_days: Annotated[int, Meta(ge=1)] | None = None
    selftest_model: str = "onegate-selftest"
    routing: RoutingConfig = config_field(default_factory=RoutingConfig)
    metrics: MetricsConfig = config_field(default_factory=MetricsConfig)
    # shared state across instances (channel breakers; counters, reservations, cache pushes); None: in memory
    redis_url: str | None = None
    # seconds any Redis command on the request path may take; past it the request gets a 503
    # `accounting_unavailable` rather than waiting on a frozen or unreachable Redis
    redis_timeout: Annotated[float, Meta(gt=0)] = 0.25
    # model names clients hard-code (Claude Code's claude-haiku-…) → a public model; glob patterns, first match wins
    model_map: dict[str, str] = config_field(default_factory=dict)
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
    model_groups: dict[str, list[str]] = field(default_factory=dict)
    accounting: AccountingConfig = field(default_factory=AccountingConfig)
    media: MediaConfig = field(default_factory=MediaConfig)
    durable_writes: bool = False
    key_refresh_seconds: float = 1.0  # how often caches poll the database (a safety net when Redis pushes)
    extra: dict[str, str] = field(default_factory=dict)
    routing: RoutingConfig = field(default_factory=RoutingConfig)
    redis_url: str | None = None  # counters, reservations, breakers, cache invalidation across instances
    redis_timeout: float = 0.25
    path_policy: str = "lenient"
    resolve_model_variants: bool = False
    admin_token: str | None = None  # ONEGATE_ADMIN_TOKEN; the admin API is disabled without it
    server: ServerConfig = field(default_factory=ServerConfig)  # timeouts, limits, proxies of the listener
    log_retention_days: int | None = None
    metrics: MetricsConfig = field(default_factory=MetricsConfig)

    @property
    def redis_prefix(self) -> str:
        return self.routing.redis_prefix

    @property
    def root_url(self) -> str:
        """The server's public address, `https://HOST`, without the API path."""
        if self.public_url:
            return self.public_url.rstrip("/")
        host = _WILDCARD_HOSTS.get(self.host, self.host)  # a bind-all address is not one a client can use
        return f"http://[{host}]:{self.port}" if ":" in host else f"http://{host}:{self.port}"

    @property
    def base_url(self) -> str:
        """The base URL OpenAI-style clients should be given."""
        return self.root_url + "/api/v1"

    def public_root(self, headers: dict[str, str]) -> str:
        """The server's address as the caller reached us (behind a proxy, via its forwarded headers)."""
        if self.public_url or "host" not in headers:
            return self.root_url
        scheme = headers.get("x-forwarded-proto", "http") if self.server.trusted_proxies else "http"
        # forwarded headers count only when a trusted proxy is configured (uvicorn drops them otherwise)
        host = (self.server.trusted_proxies and headers.get("x-forwarded-host")) or headers["host"]
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
        return msgspec.convert(raw, FileConfig)
    except msgspec.ValidationError as exc:
        raise ConfigError(f"config {path} is invalid:\n  {_readable(str(exc))}") from exc


def _readable(error: str) -> str:
    """msgspec's "Expected `int`, got `str` - at `$.channels[0].port`" → "channels.0.port: Expected …"."""
    message, _, where = error.partition(" - at `")
    if not where:
        return message
    path = re.sub(r"\[(\d+)\]", r".\1", where.rstrip("`")).removeprefix("$").lstrip(".")
    return f"{path}: {message}" if path else message


_WILDCARD_HOSTS = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}


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
    _check_groups(file)
    redis_url = os.environ.get("ONEGATE_REDIS_URL") or file.redis_url
    _check_extras(database_url, redis_url)
    return Settings(
        data_dir=data_dir,
        # the same sources as `onegate serve --host/--port`, so every command names the address it serves on
        host=host or os.environ.get("ONEGATE_HOST") or file.server.host,
        port=port if port is not None else _env_port() or file.server.port,
        database_url=database_url,
        public_url=os.environ.get("ONEGATE_PUBLIC_URL") or file.server.public_url,
        max_body_bytes=int(file.server.max_body_mb * 1024 * 1024),
        channels=tuple(file.channels),
        prices=dict(file.prices),
        log_queue_size=file.log_queue_size,
        selftest_model=file.selftest_model,
        config_path=config_path,
        routing=file.routing,
        redis_url=redis_url,
        redis_timeout=file.redis_timeout,
        model_map=dict(file.model_map),
        path_policy=file.path_policy,
        resolve_model_variants=file.resolve_model_variants,
        admin_token=_admin_token(),
        server=file.server,
        log_retention_days=file.log_retention_days,
        model_groups=dict(file.model_groups),
        accounting=file.accounting,
        media=file.media,
        durable_writes=_env_flag("ONEGATE_DURABLE_WRITES", file.durable_writes),
        metrics=_metrics(file.metrics),
        # with Redis, changes are pushed over pub/sub and polling is only the safety net
        key_refresh_seconds=10.0 if redis_url else 1.0,
    )


def _metrics(config: MetricsConfig) -> MetricsConfig:
    enabled = _env_flag("ONEGATE_METRICS", config.enabled)
    if enabled and not _installed("prometheus_client"):
        raise ConfigError("metrics are enabled, but prometheus-client is not installed: pip install 'onegate[metrics]'")
    return msgspec.structs.replace(config, enabled=enabled)


def _check_extras(database_url: str, redis_url: str | None) -> None:
    """A config that needs an optional extra which is not installed stops here, with the command that fixes it."""
    needs = []
    if redis_url:
        needs.append(("redis", "redis_url is set", "redis"))
    if database_url.startswith(("postgresql", "postgres:")):
        needs.append(("psycopg", "the database is PostgreSQL", "postgres"))
    for module, why, extra in needs:
        if not _installed(module):
            raise ConfigError(
                f"{why}, but the Python package {module} is not installed: pip install 'onegate[{extra}]'"
            )


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ImportError:
        return False


def _env_port() -> int | None:
    value = os.environ.get("ONEGATE_PORT", "").strip()
    if not value:
        return None
    if not value.isdigit():
        raise ConfigError(f"ONEGATE_PORT must be a port number, not {value!r}")
    return int(value)


MIN_ADMIN_TOKEN_LENGTH = 24


def _admin_token() -> str | None:
    """ONEGATE_ADMIN_TOKEN, refused when short enough to guess: the token is the whole admin credential."""
    token = (os.environ.get("ONEGATE_ADMIN_TOKEN") or "").strip() or None
    if token is not None and len(token) < MIN_ADMIN_TOKEN_LENGTH:
        raise ConfigError(
            f"ONEGATE_ADMIN_TOKEN is {len(token)} characters; it must be at least {MIN_ADMIN_TOKEN_LENGTH} "
            "(for example: python -c 'import secrets; print(secrets.token_urlsafe(32))')"
        )
    return token


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


def _check_model_map(file: FileConfig) -> None:
    public = public_models(file.channels, file.selftest_model)
    for pattern, target in file.model_map.items():
        if target not in public:
            raise ConfigError(
                f"model_map: '{pattern}' points at '{target}', which no channel serves "
                f"(known models: {', '.join(sorted(public))})"
            )


def public_models(channels: tuple[ChannelConfig, ...] | list[ChannelConfig], selftest_model: str) -> set[str]:
    """Every public model name the channels serve, the self-test models included."""
    return {route.name for channel in channels for route in channel.routes()} | set(selftest_models(selftest_model))


def selftest_models(selftest_model: str) -> tuple[str, str, str]:
    """The built-in zero-cost models: text (`onegate-selftest`), image and video (`…-image`, `…-video`)."""
    return selftest_model, f"{selftest_model}-image", f"{selftest_model}-video"


def _check_groups(file: FileConfig) -> None:
    known = public_models(file.channels, file.selftest_model)
    for group, models in file.model_groups.items():
        unknown = sorted(set(models) - known)
        if unknown:
            raise ConfigError(f"model group {group}: unknown models {', '.join(unknown)}")
