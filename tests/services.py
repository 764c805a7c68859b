"""Real PostgreSQL and Redis for tests: a fresh schema / key prefix per use, removed afterwards.

Tests that need them call `require_service` first (conftest.py): skipped when the server is absent,
failed under ONEGATE_REQUIRE_SERVICES=1.
"""

from __future__ import annotations

import secrets
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

POSTGRES_HOST, POSTGRES_PORT = "127.0.0.1", 5432
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
POSTGRES_ROOT = f"postgresql://postgres@{POSTGRES_HOST}:{POSTGRES_PORT}/test"
REDIS_URL = f"redis://{REDIS_HOST}:{REDIS_PORT}/0"


@contextmanager
def postgres_schema() -> Iterator[str]:
    """A database URL whose tables live in a new schema of database `test`, dropped at the end."""
    import psycopg

    schema = f"og_test_{secrets.token_hex(6)}"
    with psycopg.connect(POSTGRES_ROOT, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield f"{POSTGRES_ROOT}?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(POSTGRES_ROOT, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


def redis_prefix() -> str:
    return f"ogtest:{secrets.token_hex(6)}:"


def drop_redis_prefix(prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        keys = list(client.scan_iter(match=prefix + "*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


class PrivateRedis:
    """A `redis-server` of the test's own on a free port (no persistence): one the test may freeze
    (SIGSTOP), thaw and restart empty, never the machine's shared one."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = _free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> PrivateRedis:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.directory)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        _wait_for_port(self.port, self.process)
        return self

    def freeze(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def restart(self) -> None:
        """Stop it and start it again on the same port, empty."""
        self.stop()
        self.start()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)
            self.process.kill()
            self.process.wait(10)


@contextmanager
def private_redis(directory: Path) -> Iterator[PrivateRedis]:
    if shutil.which("redis-server") is None:
        _absent("redis-server is not installed")
    server = PrivateRedis(directory).start()
    try:
        yield server
    finally:
        server.stop()


class PrivateRedisCluster:
    """A Redis Cluster of the test's own: three `redis-server` masters (cluster-enabled, no replicas) on
    free ports, their cluster bus on free ports too, joined by `redis-cli --cluster create`."""

    def __init__(self, directory: Path, nodes: int = 3) -> None:
        self.directory = directory
        self.ports = [_free_port() for _ in range(nodes)]
        self.processes: list[subprocess.Popen] = []

    def url_away_from(self, key: str) -> str:
        """The URL of a node that does not own `key`: the client must learn the cluster to reach it."""
        owner = self.node_of(key)
        return f"redis://127.0.0.1:{next(p for p in self.ports if p != owner)}/0"

    def cli(self, port: int, *args: str) -> str:
        return subprocess.run(["redis-cli", "-p", str(port), *args], capture_output=True, text=True, timeout=10,
                              check=True).stdout.strip()  # fmt: skip

    def start(self) -> PrivateRedisCluster:
        for port in self.ports:
            node_dir = self.directory / str(port)
            node_dir.mkdir()
            self.processes.append(subprocess.Popen(
                ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                 "--cluster-enabled", "yes", "--cluster-port", str(_free_port()), "--cluster-config-file",
                 str(node_dir / "nodes.conf"), "--dir", str(node_dir)],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            ))  # fmt: skip
        for port, process in zip(self.ports, self.processes, strict=True):
            _wait_for_port(port, process)
        subprocess.run(
            ["redis-cli", "--cluster", "create", *(f"127.0.0.1:{p}" for p in self.ports), "--cluster-replicas", "0",
             "--cluster-yes"],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while not all(self._ok(port) for port in self.ports):
            if time.monotonic() > deadline:
                raise RuntimeError("the Redis Cluster did not come up")
            time.sleep(0.05)
        return self

    def _ok(self, port: int) -> bool:
        return "cluster_state:ok" in self.cli(port, "cluster", "info")

    def slot_of(self, key: str) -> int:
        return int(self.cli(self.ports[0], "cluster", "keyslot", key))

    def node_id(self, port: int) -> str:
        return self.cli(port, "cluster", "myid")

    def node_of(self, key: str) -> int:
        """The port of the node that owns `key`'s slot."""
        slot = self.slot_of(key)
        words = self.cli(self.ports[0], "cluster", "slots").split()
        # redis-cli prints each range as: start, end, host, port, id, ...
        for i in range(len(words) - 3):
            ranged = words[i].isdigit() and words[i + 1].isdigit() and words[i + 2] == "127.0.0.1"
            if ranged and int(words[i]) <= slot <= int(words[i + 1]):
                return int(words[i + 3])
        raise RuntimeError(f"no node owns slot {slot}")

    def start_moving(self, slot: int, source: int, target: int) -> None:
        """Begin moving a slot and move all its keys, but leave the slot migrating: the source now answers
        ASK for them, until `finish_moving`."""
        self.cli(target, "cluster", "setslot", str(slot), "importing", self.node_id(source))
        self.cli(source, "cluster", "setslot", str(slot), "migrating", self.node_id(target))
        keys = self.cli(source, "cluster", "getkeysinslot", str(slot), "1000").split()
        if keys:
            self.cli(source, "migrate", "127.0.0.1", str(target), "", "0", "5000", "keys", *keys)

    def finish_moving(self, slot: int, target: int) -> None:
        """The slot belongs to the target: every node answers MOVED for it (told the target first, as
        `redis-cli --cluster reshard` does, so no node sends a client back to the source)."""
        for port in sorted(self.ports, key=lambda p: p != target):
            self.cli(port, "cluster", "setslot", str(slot), "node", self.node_id(target))

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.kill()
                process.wait(10)


@contextmanager
def private_redis_cluster(directory: Path) -> Iterator[PrivateRedisCluster]:
    if shutil.which("redis-server") is None or shutil.which("redis-cli") is None:
        _absent("redis-server and redis-cli are not installed")
    cluster = PrivateRedisCluster(directory)
    try:
        yield cluster.start()
    finally:
        cluster.stop()


class PrivatePostgres:
    """A PostgreSQL cluster of the test's own (`initdb` under a temp dir, its own port, trust auth): one the
    test may stop and start, never the machine's shared one. PostgreSQL refuses to run as root: as root,
    the cluster belongs to the `postgres` user, in a directory of its own."""

    def __init__(self, bin_dir: Path, directory: Path, user: str | None) -> None:
        self.bin = bin_dir
        self.directory = directory
        self.data = directory / "pgdata"
        self.user = user
        self.port = _free_port()

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str, check: bool = True) -> None:
        subprocess.run([str(self.bin / args[0]), *args[1:]], check=check, capture_output=True, timeout=120,
                       user=self.user)  # fmt: skip

    def init(self) -> PrivatePostgres:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "--no-sync")
        return self

    def start(self) -> None:
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.directory / "pg.log"), "-w", "start")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop", check=False)


@contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    import os
    import pwd
    import tempfile

    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    initdb = shutil.which("initdb")
    bin_dir = found[-1].parent if found else Path(initdb).parent if initdb else None
    if bin_dir is None:
        _absent("PostgreSQL's initdb is not installed")
    user = None
    directory = Path(tempfile.mkdtemp(prefix="onegate-pg-"))
    if os.geteuid() == 0:
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            shutil.rmtree(directory)
            _absent("running as root and there is no 'postgres' user to own a private PostgreSQL cluster")
        os.chown(directory, owner.pw_uid, owner.pw_gid)
        user = "postgres"
    server = PrivatePostgres(bin_dir, directory, user)  # type: ignore[arg-type]
    try:
        server.init().start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(directory, ignore_errors=True)


class PgBouncer:
    """A `pgbouncer` of the test's own in transaction mode on a free port, in front of the shared PostgreSQL:
    each transaction may get another server connection, so nothing may rely on session state (SET,
    session advisory locks, server-side prepared statements). The schema comes from a role of the test's
    own whose search_path is set on the server (a pooler passes no `options` startup parameter on)."""

    def __init__(self, directory: Path, role: str, user: str | None) -> None:
        self.directory = directory
        self.role = role
        self.user = user
        self.port = _free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"postgresql://{self.role}@127.0.0.1:{self.port}/test"

    def start(self) -> PgBouncer:
        config = self.directory / "pgbouncer.ini"
        config.write_text(
            "[databases]\n"
            f"test = host={POSTGRES_HOST} port={POSTGRES_PORT} dbname=test user={self.role}\n"
            "[pgbouncer]\n"
            f"listen_addr = 127.0.0.1\nlisten_port = {self.port}\nunix_socket_dir =\n"
            "auth_type = any\npool_mode = transaction\ndefault_pool_size = 4\nmax_client_conn = 200\n"
            "server_reset_query =\nserver_round_robin = 1\nignore_startup_parameters = extra_float_digits,options\n"
            + (f"user = {self.user}\n" if self.user else "")
        )
        self.process = subprocess.Popen(["pgbouncer", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _wait_for_port(self.port, self.process)
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        if self.process is not None and self.process.stderr is not None:
            self.process.stderr.close()


@contextmanager
def pgbouncer_schema() -> Iterator[str]:
    """A database URL through a private transaction-mode PgBouncer, whose tables live in a new schema of
    database `test` (owned by a new role), both dropped at the end."""
    import os
    import pwd
    import tempfile

    import psycopg

    if shutil.which("pgbouncer") is None:
        _absent("pgbouncer is not installed (apt-get install -y pgbouncer)")
    user = None
    if os.geteuid() == 0:  # PgBouncer will not run as root: it switches to `postgres`
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            _absent("running as root and there is no 'postgres' user for pgbouncer to run as")
        user = "postgres"
    name = f"og_pgb_{secrets.token_hex(6)}"
    with psycopg.connect(POSTGRES_ROOT, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {name} LOGIN")
        conn.execute(f"CREATE SCHEMA {name} AUTHORIZATION {name}")
        conn.execute(f"ALTER ROLE {name} SET search_path = {name}")
    directory = Path(tempfile.mkdtemp(prefix="onegate-pgbouncer-"))
    bouncer = PgBouncer(directory, name, user)
    try:
        yield bouncer.start().url
    finally:
        bouncer.stop()
        shutil.rmtree(directory, ignore_errors=True)
        with psycopg.connect(POSTGRES_ROOT, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {name} CASCADE")
            conn.execute(f"DROP ROLE {name}")


def _absent(reason: str) -> None:
    import os

    import pytest

    if os.environ.get("ONEGATE_REQUIRE_SERVICES") == "1":
        pytest.fail(reason + " (ONEGATE_REQUIRE_SERVICES=1)")
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_port(port: int, process: subprocess.Popen, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server on port {port} exited at start")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError(f"nothing listens on port {port}")
