"""The `onegate` command as an operator uses it, against a real `onegate serve` process."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import orjson
import pytest

from tests.conftest import free_port, raw_request

ONEGATE = [sys.executable, "-m", "onegate.cli.main"]
CHAT = {"model": "onegate-selftest", "messages": [{"role": "user", "content": "a secret prompt 7731"}]}


def run_cli(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*ONEGATE, *args, "--data-dir", str(data_dir)], capture_output=True, text=True, timeout=60, check=False
    )


class Served:
    def __init__(self, data_dir: Path) -> None:
        self.port = free_port()
        self.root = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [*ONEGATE, "serve", "--port", str(self.port), "--data-dir", str(data_dir)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self.first_key = ""
        for line in self.process.stdout:  # type: ignore[union-attr]
            found = re.search(r"(sk-og-[A-Za-z0-9]+)", line)
            if found:
                self.first_key = found.group(1)
                break
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                if raw_request("GET", self.root + "/healthz").status == 200:
                    return
            except OSError:
                time.sleep(0.05)
        self.process.kill()
        self.stop()
        raise RuntimeError("onegate serve did not come up")

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(30)
        self.process.stdout.close()  # type: ignore[union-attr]
        return code


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    server = Served(tmp_path / "data")
    yield server
    server.stop()


def chat(server: Served, key: str) -> tuple[int, dict]:
    response = raw_request("POST", server.root + "/api/v1/chat/completions", CHAT, {"Authorization": f"Bearer {key}"})
    return response.status, response.json()


def test_first_start_prints_a_working_key(served):
    status, body = chat(served, served.first_key)
    assert status == 200 and body["choices"][0]["message"]["content"]


def test_keys_created_and_disabled_while_the_server_runs(served, tmp_path):
    data_dir = tmp_path / "data"
    created = run_cli("keys", "create", "--name", "bob", "--models", "onegate-selftest", data_dir=data_dir)
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip()
    assert key.startswith("sk-og-") and "\n" not in key
    assert chat(served, key)[0] == 200  # accepted at once

    listed = run_cli("keys", "list", data_dir=data_dir).stdout
    assert f"sk-…{key[-4:]}" in listed and key not in listed
    bob = next(line for line in listed.splitlines() if " bob " in line)
    assert "onegate-selftest" in bob and "active" in bob

    key_id = bob.split()[0]
    assert run_cli("keys", "disable", key_id, data_dir=data_dir).returncode == 0
    deadline = time.monotonic() + 3
    status, body = chat(served, key)
    while status == 200 and time.monotonic() < deadline:
        time.sleep(0.1)
        status, body = chat(served, key)
    assert status == 401 and body["error"]["code"] == "key_disabled"

    db = (data_dir / "onegate.db").read_bytes()
    assert key.encode() not in db  # only the hash is stored


def test_keys_create_prints_the_base_url_the_running_server_listens_on(served, tmp_path):
    """`onegate serve --port P` then `onegate keys create`: the printed base URL must be the one that works."""
    created = run_cli("keys", "create", "--name", "carol", data_dir=tmp_path / "data")
    assert created.returncode == 0, created.stderr
    assert f"Base URL for OpenAI-style clients: {served.root}/api/v1\n" in created.stderr


@pytest.mark.parametrize(
    ("server", "env", "printed"),
    [
        ({"host": "0.0.0.0", "port": 9123}, {}, "http://127.0.0.1:9123/api/v1"),  # a wildcard bind is not an address
        ({"port": 9123}, {"ONEGATE_PORT": "9200"}, "http://127.0.0.1:9200/api/v1"),  # what `serve` would use
        ({"host": "::1", "port": 9123}, {}, "http://[::1]:9123/api/v1"),
        ({"public_url": "https://gw.example.com/"}, {}, "https://gw.example.com/api/v1"),
    ],
    ids=["wildcard-host", "env-port", "ipv6", "public-url"],
)
def test_keys_create_prints_the_configured_base_url(tmp_path, monkeypatch, server, env, printed):
    from typer.testing import CliRunner

    from onegate.cli.main import app

    for name, value in env.items():
        monkeypatch.setenv(name, value)
    config = tmp_path / "onegate.yaml"
    config.write_text(orjson.dumps({"server": server}).decode())  # JSON is YAML
    args = ["keys", "create", "--name", "dave", "--data-dir", str(tmp_path / "data"), "--config", str(config)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert f"Base URL for OpenAI-style clients: {printed}\n" in result.stderr


def test_logs_list_and_show(served, tmp_path):
    data_dir = tmp_path / "data"
    response = raw_request(
        "POST",
        served.root + "/api/v1/chat/completions",
        CHAT,
        {"Authorization": f"Bearer {served.first_key}", "User-Agent": "OpenAI/Python 3.57.0"},
    )
    request_id = response.headers["x-request-id"]
    time.sleep(0.3)
    listed = run_cli("logs", "--status", "200", "--model", "onegate-selftest", data_dir=data_dir)
    assert request_id in listed.stdout
    shown = run_cli("logs", "show", request_id, "--json", data_dir=data_dir)
    row = orjson.loads(shown.stdout)
    assert row["client_name"] == "openai-python" and row["client_version"] == "3.57.0"
    assert row["path"] == "/api/v1/chat/completions" and row["key_mask"] == f"sk-…{served.first_key[-4:]}"
    assert "secret prompt" not in shown.stdout and served.first_key not in shown.stdout
    assert run_cli("logs", "show", "req_nope", data_dir=data_dir).returncode == 1


def test_sigterm_after_a_burst_loses_no_log_row(tmp_path):
    server = Served(tmp_path / "data")
    headers = {"Authorization": f"Bearer {server.first_key}"}

    async def burst() -> list[str]:
        ids: list[str] = []
        async with aiohttp.ClientSession() as session:

            async def one() -> None:
                async with session.post(server.root + "/api/v1/chat/completions", json=CHAT, headers=headers) as r:
                    await r.read()
                    ids.append(r.headers["x-request-id"])

            await asyncio.gather(*(one() for _ in range(400)))
        return ids

    ids = asyncio.run(burst())
    # at once: most rows are still in the writer's queue. uvicorn re-raises SIGTERM after its graceful
    # shutdown, so the exit status is the signal's.
    assert server.stop() in (0, -signal.SIGTERM)
    with sqlite3.connect(tmp_path / "data" / "onegate.db") as db:
        logged = {r[0] for r in db.execute("select request_id from request_logs")}
        assert not list(db.execute("select 1 from request_logs where path like '%secret prompt%'"))
    assert len(ids) == 400
    assert set(ids) <= logged
    assert (
        not (tmp_path / "data" / "spill" / "request_logs.jsonl").exists()
        or os.path.getsize(tmp_path / "data" / "spill" / "request_logs.jsonl") == 0
    )


# Python puts sitecustomize on PYTHONPATH first: here it makes the named packages look uninstalled
_UNINSTALL = """
import os, sys

class _Missing:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in os.environ["ONEGATE_TEST_MISSING"].split(","):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)

sys.meta_path.insert(0, _Missing())
"""


@pytest.mark.parametrize(
    ("config", "missing", "extra"),
    [
        ("redis_url: redis://127.0.0.1:6379/0\n", "redis", "onegate[redis]"),
        ("database_url: postgresql://postgres@127.0.0.1:5432/test\n", "psycopg", "onegate[postgres]"),
    ],
    ids=["redis", "postgres"],
)
def test_a_config_needing_an_uninstalled_extra_stops_with_one_line_naming_it(tmp_path, config, missing, extra):
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "sitecustomize.py").write_text(_UNINSTALL)
    (tmp_path / "onegate.yaml").write_text(config)
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "site"), "ONEGATE_TEST_MISSING": missing}
    command = [*ONEGATE, "serve", "--port", str(free_port()), "--config", str(tmp_path / "onegate.yaml")]
    done = subprocess.run(
        [*command, "--data-dir", str(tmp_path / "data")], capture_output=True, text=True, timeout=60, env=env
    )
    assert done.returncode == 2 and done.stdout == ""
    assert len(done.stderr.splitlines()) == 1 and "Traceback" not in done.stderr, done.stderr
    assert f"pip install '{extra}'" in done.stderr
