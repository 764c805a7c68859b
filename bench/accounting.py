"""The accounting switch: onegate targets with teams, prices, limits and reservations on.

``BENCH_ACCOUNTING=memory`` adds a target ``onegate+memory`` (SQLite, in-process counters);
``BENCH_ACCOUNTING=redis`` adds ``onegate+redis`` (PostgreSQL + Redis; a fresh schema of
``BENCH_POSTGRES_URL`` and a fresh key prefix, both removed afterwards). Both: ``memory,redis``.
Redis: a private ``redis-server`` pinned to the load core like the fake upstream (so it never takes the
gateway's core), unless ``BENCH_REDIS_URL`` names one.
``BENCH_ACCOUNTING=redis-off`` adds ``onegate+redis-off``: PostgreSQL + Redis with accounting off (no
prices, limits or team), the baseline that tells accounting's cost apart from what Redis-shared channel
state costs anyway. ``BENCH_ACCOUNTING=redis-nospec`` adds ``onegate+redis-nospec``: the ``redis`` target with
speculative admission off (``accounting.speculative_admission: false``: every request waits for its Redis
admission before it goes upstream), to see what speculation saves.
``BENCH_DURABLE=1`` also journals every request before the database queue (``durable_writes``).

``BENCH_WORKERS=N`` adds ``onegate+redis-wN``: the ``redis`` target served by ``onegate serve --workers N``
on the cores ``BENCH_WORKERS_CPUS`` (default ``0,1``), against one process of ``onegate+redis``.

Every request of these targets is admitted against key and team rate limits (set far above the load,
so all are checked and none refused), a key budget and the team balance (a reservation), and settled
into the ledger: the full accounting path.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MODES = [m.strip() for m in os.environ.get("BENCH_ACCOUNTING", "").split(",") if m.strip()]
# BENCH_WORKERS=N (N > 1): also `onegate+redis-wN`, the PostgreSQL + Redis target served by `serve --workers N`
# pinned to the cores BENCH_WORKERS_CPUS (default "0,1"); judged against one-process `onegate+redis`.
WORKERS = int(os.environ.get("BENCH_WORKERS", "") or 1)
WORKERS_CPUS = os.environ.get("BENCH_WORKERS_CPUS", "0,1")
if WORKERS > 1:
    MODES = [*dict.fromkeys([*MODES, "redis"]), f"redis-w{WORKERS}"]
DURABLE = os.environ.get("BENCH_DURABLE", "") not in ("", "0", "false", "no")
POSTGRES_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "")
HIGH = 100_000_000  # limits no load here reaches


@dataclass
class Setup:
    mode: str
    config: Path
    env: dict[str, str]
    cleanup: Callable[[], None]


def write_config(path: Path, base_config: str, model: str, mode: str, redis_url: str, redis_prefix: str) -> Path:
    lines = [base_config.rstrip("\n"), f"durable_writes: {'true' if DURABLE else 'false'}"]
    if mode != "redis-off":
        lines += [
            "prices:",
            f"  {model}: {{input: 0.4, cached_input: 0.1, output: 1.6}}",
            "accounting:",
            f"  key_limits: {{rpm: {HIGH}, tpm: {HIGH}, concurrent: 100000}}",
            f"  team_limits: {{rpm: {HIGH}, tpm: {HIGH}, concurrent: 100000}}",
        ]
        if mode == "redis-nospec":
            lines.append("  speculative_admission: false")
    if mode.startswith("redis"):
        lines += [f"redis_url: {redis_url}", "routing:", f"  redis_prefix: '{redis_prefix}'"]
    path.write_text("\n".join(lines) + "\n")
    return path


def start_redis(start: Callable[..., Any], free_port: Callable[[], int]) -> tuple[str, Any]:
    """A private redis-server (no persistence) via `start(name, argv)`; (its URL, the process)."""
    if REDIS_URL:
        return REDIS_URL, None
    if shutil.which("redis-server") is None:
        raise SystemExit("bench: BENCH_ACCOUNTING=redis needs redis-server, or BENCH_REDIS_URL")
    port = free_port()
    proc = start("redis", ["redis-server", "--port", str(port), "--save", "", "--appendonly", "no"])
    return f"redis://127.0.0.1:{port}/0", proc


def workers_of(mode: str) -> int:
    """How many `serve` processes a mode's target runs (`redis-wN`: N)."""
    return int(mode.removeprefix("redis-w")) if mode.startswith("redis-w") else 1


def prepare(mode: str, work: Path, base_config: str, model: str, python: Path, redis_url: str = "") -> Setup:
    """A config and environment for `mode`; for redis, a PostgreSQL schema and a Redis prefix of its own."""
    if mode not in ("memory", "redis", "redis-off", "redis-nospec") and workers_of(mode) == 1:
        raise SystemExit(f"bench: BENCH_ACCOUNTING takes memory, redis, redis-off, redis-nospec, not {mode!r}")
    tag = secrets.token_hex(4)
    prefix = f"onegate-bench-{tag}:"
    config = write_config(work / f"onegate-{mode}.yaml", base_config, model, mode, redis_url, prefix)
    if mode == "memory":
        return Setup(mode, config, {}, lambda: None)
    schema = f"onegate_bench_{tag}"
    _sql(python, f"CREATE SCHEMA {schema}")

    def cleanup() -> None:
        try:
            _sql(python, f"DROP SCHEMA {schema} CASCADE")
        except subprocess.CalledProcessError as exc:  # never lose the report over a leftover schema
            print(f"bench: could not drop schema {schema}: {exc.stderr.decode(errors='replace')[-300:]}")
        if REDIS_URL:  # a shared Redis: remove our keys (a private one is gone with its process)
            drop = (
                f"r = redis.Redis.from_url({REDIS_URL!r}); k = list(r.scan_iter({prefix + '*'!r})); k and r.delete(*k)"
            )
            _run_python(python, "import redis; " + drop)

    env = {"ONEGATE_DATABASE_URL": f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"}
    return Setup(mode, config, env, cleanup)


def _sql(python: Path, statement: str) -> None:
    _run_python(python, f"import psycopg; psycopg.connect({POSTGRES_URL!r}, autocommit=True).execute({statement!r})")


def _run_python(python: Path, code: str) -> None:
    subprocess.run([str(python), "-c", code], check=True, capture_output=True, timeout=60)


def provision_key(onegate: Path, data_dir: Path, setup: Setup, env: dict[str, str]) -> str:
    """A team with money and a key on it with a budget: every request reserves and is charged."""
    full_env = {**os.environ, **env, **setup.env}
    common = ["--data-dir", str(data_dir), "--config", str(setup.config)]

    def cli(*args: str) -> str:
        done = subprocess.run([str(onegate), *args, *common], capture_output=True, text=True, check=True, env=full_env)
        return done.stdout.strip()

    if setup.mode == "redis-off":
        return cli("keys", "create", "--name", "bench-plain")

    cli("teams", "create", "bench")
    cli("teams", "topup", "bench", "1000000000", "--note", "bench")
    return cli("keys", "create", "--name", "bench-acct", "--team", "bench", "--budget", "1000000000",
               "--budget-period", "monthly")  # fmt: skip
