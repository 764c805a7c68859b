"""Data at rest is the server user's alone: under umask 000 (the worst case) the data dir and every
directory onegate makes are 0700, and the SQLite database, its WAL/SHM, the journal, the spill file and
channel state are 0600. Other local users cannot read key hashes, prompts in logs, balances or upstream text."""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from onegate.channels.snapshot import queue_command
from onegate.store.db import open_engine
from onegate.store.migrations import migrate
from onegate.store.writer import LogWriter
from tests.conftest import UPSTREAM_SECRET, channel_config, raw_request
from tests.fakes.openai_upstream import FakeOpenAIUpstream
from tests.records import log_row
from tests.security.served import OnegateProcess


def _modes(root: Path) -> dict[str, int]:
    found = {".": stat.S_IMODE(root.stat().st_mode)}
    for path in root.rglob("*"):
        found[str(path.relative_to(root))] = stat.S_IMODE(path.stat().st_mode)
    return found


def _loose(root: Path) -> dict[str, str]:
    return {
        name: oct(mode) for name, mode in _modes(root).items() if mode != (0o700 if (root / name).is_dir() else 0o600)
    }


@contextmanager
def umask(mask: int) -> Iterator[None]:
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def test_under_umask_000_the_server_keeps_its_files_private(tmp_path: Path, upstream: FakeOpenAIUpstream) -> None:
    config = channel_config(upstream)
    config["durable_writes"] = True  # the journal too
    config["routing"] = {"sync_seconds": 0.1}  # channels/state.json soon
    upstream.required_api_key = UPSTREAM_SECRET
    env = {"ONEGATE_TEST_UPSTREAM_KEY": UPSTREAM_SECRET}
    with OnegateProcess(tmp_path, config, env=env, umask=0) as server:
        auth = {"authorization": f"Bearer {server.key}", "content-type": "application/json"}
        body = {"model": "gpt-4.1-mini", "messages": [{"role": "user", "content": "a private prompt"}]}
        for _ in range(3):
            assert raw_request("POST", server.root + "/api/v1/chat/completions", body, auth).status == 200
        deadline = time.monotonic() + 5
        names = ("onegate.db", "onegate.db-wal", "onegate.db-shm", "journal", "channels/state.json")
        while not all((server.data_dir / n).exists() for n in names) and time.monotonic() < deadline:
            time.sleep(0.05)
        running = _modes(server.data_dir)
        assert set(names) <= set(running), sorted(running)
        assert any(name.startswith("journal/") for name in running), sorted(running)
        assert _loose(server.data_dir) == {}
    assert _loose(server.data_dir) == {}  # and after shutdown (the final snapshot, checkpoints)


def test_the_spill_file_and_cli_commands_are_private_under_umask_000(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with umask(0):
        engine = open_engine(f"sqlite:///{data / 'onegate.db'}")
        migrate(engine)
        writer = LogWriter(engine, data / "spill" / "request_logs.jsonl", max_queue=1)  # not started: spills
        for i in range(3):
            writer.submit(log_row(f"req_{i}", path="/x"))
        queue_command(data, "disable", "fake", "test")
    writer.start()
    writer.close()
    engine.dispose()
    assert writer.stats.spilled >= 1
    assert _loose(data) == {}


def test_an_existing_database_left_world_readable_is_tightened(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    database = data / "onegate.db"
    database.touch(mode=0o644)
    os.chmod(database, 0o644)
    open_engine(f"sqlite:///{database}").dispose()
    assert stat.S_IMODE(database.stat().st_mode) == 0o600
