"""Several real `onegate serve` processes sharing one PostgreSQL schema and one Redis prefix, a fake
upstream in this process, and an asyncio load generator: what the multi-instance tests stand on."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import yaml
from sqlalchemy import Engine, func, select

from onegate.counters.protocol import TeamState
from onegate.counters.redis import RedisCounters
from onegate.store.schema import ledger, request_logs
from onegate.store.teams import get_team
from tests.conftest import UPSTREAM_SECRET, channel, free_port, raw_request
from tests.services import REDIS_URL

UPSTREAM_KEY_ENV = "ONEGATE_TEST_UPSTREAM_KEY"
MODEL = "gpt-4.1-mini"


@dataclass
class Instance:
    name: str
    data_dir: Path
    env: dict[str, str]
    args: list[str] = field(default_factory=list)
    port: int = 0
    process: subprocess.Popen | None = None

    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Instance:
        self.port = free_port()
        log = (self.data_dir.parent / f"{self.name}.log").open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "onegate.cli.main", "serve", "--port", str(self.port), "--data-dir",
             str(self.data_dir), *self.args],
            stdout=log, stderr=subprocess.STDOUT, env=self.env,
        )  # fmt: skip
        log.close()
        return self

    def wait_ready(self, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None and self.process.poll() is None, f"{self.name} exited: {self.output()}"
            try:
                if raw_request("GET", self.root + "/healthz").status == 200:
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"{self.name} did not come up: {self.output()}")

    def output(self) -> str:
        path = self.data_dir.parent / f"{self.name}.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


@contextmanager
def open_stack(tmp: Path, redis_url: str | None = None, pooled: bool = False) -> Iterator[Stack]:
    """A Stack on a fresh PostgreSQL schema and Redis prefix (skipped without them), cleaned up after.
    `redis_url`: another Redis (a private cluster) instead of the shared one; `pooled`: the database
    through a private transaction-mode PgBouncer."""
    from onegate.store.db import open_engine
    from onegate.store.migrations import migrate
    from tests.conftest import require_service
    from tests.services import (
        POSTGRES_HOST,
        POSTGRES_PORT,
        REDIS_HOST,
        REDIS_PORT,
        drop_redis_prefix,
        pgbouncer_schema,
        postgres_schema,
        redis_prefix,
    )

    require_service("PostgreSQL", POSTGRES_HOST, POSTGRES_PORT)
    if redis_url is None:
        require_service("Redis", REDIS_HOST, REDIS_PORT)
    prefix = redis_prefix()
    with pgbouncer_schema() if pooled else postgres_schema() as url:
        engine = open_engine(url)
        migrate(engine)
        stack = Stack(tmp, url, prefix, engine, redis_url or REDIS_URL)
        try:
            yield stack
        finally:
            stack.stop_all()
            engine.dispose()
            if redis_url is None:
                drop_redis_prefix(prefix)


@dataclass
class Stack:
    """The shared database and Redis, a fake upstream process, a config, and the instances started on them."""

    tmp: Path
    database_url: str
    prefix: str
    engine: Engine
    redis_url: str = REDIS_URL
    upstream_url: str = ""
    instances: list[Instance] = field(default_factory=list)
    upstream: subprocess.Popen | None = None

    def start_upstream(self, *args: str) -> None:
        """The fake upstream with knobs (tests/multi/upstream_process.py), in a process of its own."""
        port = free_port()
        self.upstream = subprocess.Popen(
            [sys.executable, "-m", "tests.multi.upstream_process", "--port", str(port), *args], env=os.environ.copy()
        )
        self.upstream_url = f"http://127.0.0.1:{port}/v1"
        # 60 s: its imports alone took 10 s on a machine loaded with other test runs; a crash ends the wait
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and self.upstream.poll() is None:
            try:
                if raw_request("GET", self.upstream_url + "/models").status in (200, 401):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"the fake upstream did not start (exit code {self.upstream.poll()})")

    def config(self, **overrides: Any) -> Path:
        config = {
            "channels": [channel("fake", self.upstream_url, [MODEL], type="openai", api_key_env=UPSTREAM_KEY_ENV)],
            "prices": {MODEL: {"input": 1000, "output": 1000}},  # 1000 micro-units a token
            "redis_url": self.redis_url,
            "routing": {"redis_prefix": self.prefix},
        }  # fmt: skip
        for name, value in overrides.items():
            if isinstance(value, dict) and isinstance(config.get(name), dict):
                config[name] = {**config[name], **value}
            else:
                config[name] = value
        path = self.tmp / f"onegate-{len(list(self.tmp.glob('onegate-*.yaml')))}.yaml"
        path.write_text(yaml.safe_dump(config))
        return path

    def env(self, config: Path) -> dict[str, str]:
        return {
            **os.environ,
            "ONEGATE_DATABASE_URL": self.database_url,
            "ONEGATE_CONFIG": str(config),
            UPSTREAM_KEY_ENV: UPSTREAM_SECRET,
            "PYTHONUNBUFFERED": "1",
        }

    def start(self, count: int, config: Path, *args: str) -> list[Instance]:
        started = [
            Instance(f"onegate{len(self.instances) + i}", self.tmp / f"data{len(self.instances) + i}", self.env(config),
                     list(args)).start()
            for i in range(count)
        ]  # fmt: skip
        self.instances.extend(started)
        for instance in started:
            instance.wait_ready()
        return started

    def cli(self, config: Path, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "onegate.cli.main", *args, "--data-dir", str(self.tmp / "cli")],
            env=self.env(config), capture_output=True, text=True, timeout=60, check=True,
        )  # fmt: skip

    def stop_all(self) -> None:
        for instance in self.instances:
            instance.stop()
        if self.upstream is not None:
            self.upstream.terminate()
            self.upstream.wait(10)

    # what the database and Redis say --------------------------------------------------------------
    def logged(self) -> dict[str, dict]:
        with self.engine.connect() as conn:
            return {r.request_id: dict(r._mapping) for r in conn.execute(select(request_logs))}

    def charges(self) -> dict[str, int]:
        """request id -> charged micro-units."""
        stmt = select(ledger.c.request_id, ledger.c.amount_micros).where(ledger.c.kind == "charge")
        with self.engine.connect() as conn:
            return {rid: -amount for rid, amount in conn.execute(stmt)}

    def log_count(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(request_logs)).scalar_one())

    def balance(self, team: str) -> int:
        return get_team(self.engine, team).balance_micros

    def live_reservations(self, team_id: int, beyond: float = 0.0) -> list[str]:
        """Request ids with a team reservation whose lease has not run out (and runs `beyond` seconds more)."""
        import redis

        client = redis.Redis.from_url(self.redis_url)
        try:
            members = client.zrangebyscore(f"{self.prefix}{{t{team_id}}}:res", f"({time.time() + beyond!r}", "+inf")
        finally:
            client.close()
        return [m.decode() for m in members]

    def team_state(self, team_id: int) -> TeamState:
        async def read() -> TeamState:
            counters = RedisCounters(self.redis_url, self.prefix)
            try:
                return await counters.team_state(team_id, time.time())
            finally:
                await counters.close()

        return asyncio.run(read())


@dataclass
class Outcome:
    status: int  # 0: the connection failed (the instance died)
    request_id: str | None
    complete: bool  # the whole answer arrived (a stream up to [DONE])
    body: bytes = b""


async def fire(
    urls: list[str],
    key: str,
    count: int,
    stream: bool = False,
    body_extra: dict | None = None,
    spread: float = 0.0,
    done: list[tuple[str, Outcome]] | None = None,
) -> list[Outcome]:
    """`count` chat requests spread over `urls`: all at once, or started evenly over `spread` seconds.
    `done` receives (url, outcome) as each answer completes."""
    body = {"model": MODEL, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 10, "stream": stream}
    body.update(body_extra or {})
    headers = {"Authorization": f"Bearer {key}"}

    async def one(session: aiohttp.ClientSession, url: str, delay: float) -> Outcome:
        if delay:
            await asyncio.sleep(delay)
        try:
            async with session.post(url + "/api/v1/chat/completions", json=body, headers=headers) as response:
                data = await response.read()
                complete = response.status == 200 and (not stream or data.rstrip().endswith(b"data: [DONE]"))
                outcome = Outcome(response.status, response.headers.get("x-request-id"), complete, data)
                if done is not None:
                    done.append((url, outcome))
                return outcome
        except (TimeoutError, aiohttp.ClientError):
            return Outcome(0, None, False)

    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=60)) as session:
        return await asyncio.gather(*(one(session, urls[i % len(urls)], spread * i / count) for i in range(count)))


def wait_until(predicate, timeout: float = 15.0, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)
