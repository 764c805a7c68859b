"""`onegate serve` with plain options starts without typer (and the pydantic it pulls in); anything else
(`--help`, an unknown option, a bad value) still goes through typer, which explains it. Model requests do
not load aiohttp (only the media adapters' calls need it), nor what a model request never uses: uvicorn's
command line, the WebSocket library, pages, console, management API and the media endpoints. On a SQLite
database that is ready, the first answer does not wait for SQLAlchemy either: the log writer imports it."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from onegate.cli.launch import open_store, parse_serve, settings_or_exit
from onegate.store.keys import create_key
from tests.conftest import UPSTREAM_SECRET, channel_config, free_port, raw_request
from tests.fakes.openai_upstream import REPLY_TEXT, FakeOpenAIUpstream


def probe(report: str) -> str:
    """Code that runs the real entry point with argv, then prints `report` (an expression on sys.modules)."""
    return (
        "import sys\n"
        "from onegate.cli.main import main\n"
        "sys.argv = ['onegate', *sys.argv[1:]]\n"
        "try:\n"
        "    main()\n"
        "finally:\n"
        f"    print({report}, file=sys.stderr)\n"
    )


PROBE = probe("'typer' in sys.modules, 'pydantic' in sys.modules")
# `onegate serve` stopped by Ctrl-C (SIGINT: after SIGTERM uvicorn re-raises it and the process dies before
# `finally`), then the client libraries it imported
# (each a measured share of start-up: see bench/README.md, "Start-up")
NOT_ON_THE_SERVE_PATH = (
    "aiohttp",
    "yarl",
    "multidict",
    "click",
    "watchfiles",
    "uvicorn.main",
    "websockets",
    "onegate.server.pages",
    "onegate.setup.guides",
    "onegate.console.endpoints",
    "onegate.admin.api",
    "onegate.admin.api_v1.entry",
    "onegate.media.images",
    "onegate.media.videos",
)
SERVE_PROBE = probe(f"'loaded:', sorted(m for m in {NOT_ON_THE_SERVE_PATH!r} if m in sys.modules)")


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
    )


def test_serve_with_a_config_error_exits_2_without_loading_typer(tmp_path: Path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("channels: 3\n")
    done = run("serve", "--data-dir", str(tmp_path / "d"), f"--config={bad}", "--port", "0")
    assert done.returncode == 2
    assert str(bad) in done.stderr or "channels" in done.stderr
    assert done.stderr.strip().endswith("False False")


def test_a_bad_port_goes_to_typer_which_names_the_option(tmp_path: Path):
    done = run("serve", "--data-dir", str(tmp_path / "d"), "--port", "eighty")
    assert done.returncode == 2
    assert "--port" in done.stderr
    assert done.stderr.strip().endswith("True True")


def test_serve_help_is_typers(tmp_path: Path):
    done = run("serve", "--help")
    assert done.returncode == 0 and "--workers" in done.stdout and "--data-dir" in done.stdout


@pytest.mark.parametrize(
    ("args", "env", "expected"),
    [
        ([], {}, {"workers": 1}),
        (["--port", "81", "--host=::1"], {}, {"workers": 1, "port": 81, "host": "::1"}),
        ([], {"ONEGATE_PORT": "82", "ONEGATE_WORKERS": "2"}, {"workers": 2, "port": 82}),
        (["--port", "83"], {"ONEGATE_PORT": "82"}, {"workers": 1, "port": 83}),  # the option wins
        ([], {"ONEGATE_HOST": ""}, {"workers": 1}),  # an empty variable is unset, as in click
        (
            ["--data-dir", "d", "--config", "c.yaml"],
            {},
            {"workers": 1, "data_dir": Path("d"), "config": Path("c.yaml")},
        ),
    ],
)
def test_plain_options_and_their_variables_parse(monkeypatch, args, env, expected):
    for name in ("ONEGATE_HOST", "ONEGATE_PORT", "ONEGATE_WORKERS", "ONEGATE_DATA_DIR", "ONEGATE_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert parse_serve(args) == expected


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["--port"],  # no value
        ["--port", "--host", "h"],  # an option where the value should be
        ["--port", "x"],
        ["--workers", "0"],  # typer's min=1 explains it
        ["--reload"],
        ["--port", "1", "--port", "2"],
        ["extra"],
    ],
)
def test_anything_else_is_left_to_typer(monkeypatch, args):
    for name in ("ONEGATE_PORT", "ONEGATE_WORKERS"):
        monkeypatch.delenv(name, raising=False)
    assert parse_serve(args) is None


def test_a_bad_variable_is_left_to_typer(monkeypatch):
    monkeypatch.setenv("ONEGATE_WORKERS", "many")
    assert parse_serve([]) is None


def _wait_healthy(port: int) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            if raw_request("GET", f"http://127.0.0.1:{port}/healthz").status == 200:
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("onegate serve did not come up")


def test_serve_answers_through_a_channel_without_importing_aiohttp(tmp_path: Path, upstream: FakeOpenAIUpstream):
    """aiohttp's import is a third of start-up (its CA bundle parsed twice): model requests, streamed or not,
    go through providers/h1.py and must not bring it back onto the serve path. Nor may they load the other
    modules that are imported on first use."""
    config = tmp_path / "onegate.yaml"
    config.write_text(yaml.safe_dump(channel_config(upstream)))
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-c", SERVE_PROBE, "serve", "--port", str(port), "--data-dir", str(tmp_path / "d")]
        + ["--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1", "ONEGATE_TEST_UPSTREAM_KEY": UPSTREAM_SECRET},
    )
    try:
        key = ""
        for line in process.stdout:  # type: ignore[union-attr]
            found = re.search(r"sk-og-[A-Za-z0-9]+", line)
            if found:
                key = found.group(0)
                break
        _wait_healthy(port)
        headers = {"Authorization": f"Bearer {key}"}
        url = f"http://127.0.0.1:{port}/api/v1/chat/completions"
        messages = [{"role": "user", "content": "hi"}]
        plain = raw_request("POST", url, {"model": "gpt-4.1-mini", "messages": messages}, headers)
        streamed = raw_request("POST", url, {"model": "gpt-4.1-mini", "messages": messages, "stream": True}, headers)
    finally:
        process.send_signal(signal.SIGINT)
        _out, err = process.communicate(timeout=30)
    assert plain.status == 200 and plain.json()["choices"][0]["message"]["content"] == REPLY_TEXT
    assert streamed.status == 200 and streamed.body.endswith(b"data: [DONE]\n\n")
    assert len(upstream.requests) == 2  # both reached the channel, not the selftest model
    assert process.returncode == 0, err
    assert err.rstrip().splitlines()[-1] == "loaded: []", err


# SQLAlchemy's import waits until the file GATE (the first argument) exists: its module runs only then (a finder
# that waited would hold the global import lock, and every thread's imports with it)
BLOCKED_PROBE = (
    "import importlib.machinery, os, sys, time\n"
    "gate = sys.argv.pop(1)\n"
    "class WaitForGate:\n"
    "    def find_spec(self, name, path=None, target=None):\n"
    "        if name != 'sqlalchemy':\n"
    "            return None\n"
    "        spec = importlib.machinery.PathFinder.find_spec(name, path)\n"
    "        run = spec.loader.exec_module\n"
    "        def exec_module(module):\n"
    "            while not os.path.exists(gate):\n"
    "                time.sleep(0.01)\n"
    "            run(module)\n"
    "        spec.loader.exec_module = exec_module\n"
    "        return spec\n"
    "sys.meta_path.insert(0, WaitForGate())\n"
) + probe("'sqlalchemy' in sys.modules")


def _request_logs(database: Path) -> int:
    with sqlite3.connect(database) as conn:
        return conn.execute("SELECT count(*) FROM request_logs").fetchone()[0]


def test_the_first_answer_does_not_wait_for_sqlalchemy_whose_import_then_stores_its_row(tmp_path: Path):
    """SQLAlchemy's import was ~45% of the instructions from spawn to the first answer (bench/startup.py
    --callgrind). With the database at the latest version and a key in it, start-up reads keys, teams and
    prices with sqlite3 and the log writer's thread imports SQLAlchemy: here that import is held back until the
    first request is answered, and the rows are stored once it is let go, none lost."""
    config = tmp_path / "onegate.yaml"
    config.write_text("channels: []\n")
    engine = open_store(settings_or_exit(tmp_path / "d", config))
    _, key = create_key(engine, "ready")
    engine.dispose()
    gate, port = tmp_path / "gate", free_port()
    process = subprocess.Popen(
        [sys.executable, "-c", BLOCKED_PROBE, str(gate), "serve", "--port", str(port)]
        + ["--data-dir", str(tmp_path / "d"), "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}/api/v1/chat/completions"
    body = {"model": "onegate-selftest", "messages": [{"role": "user", "content": "hi"}]}
    try:
        _wait_healthy(port)
        first = raw_request("POST", url, body, {"Authorization": f"Bearer {key}"})
        gate.touch()
        second = raw_request("POST", url, body, {"Authorization": f"Bearer {key}"})
        deadline = time.monotonic() + 15
        while _request_logs(tmp_path / "d" / "onegate.db") < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        process.send_signal(signal.SIGINT)
        _out, err = process.communicate(timeout=30)
    assert first.status == 200 and second.status == 200
    assert _request_logs(tmp_path / "d" / "onegate.db") == 2
    assert process.returncode == 0, err
    assert err.rstrip().splitlines()[-1] == "True", err  # imported in the end, by the writer


UVICORN_PROBE = """
import sys
from onegate.server import uvicorn_core
uvicorn_core.without_cli()
from uvicorn.config import Config
from uvicorn.lifespan.on import LifespanOn  # does `from uvicorn import Config`
import uvicorn
before = "uvicorn.main" in sys.modules or "click" in sys.modules
assert uvicorn.Config is Config
run = uvicorn.run  # a name only uvicorn's __init__ (uvicorn.main) gives: imported now
from uvicorn.main import run as real_run
print(before, run is real_run, "click" in sys.modules)
"""


def test_uvicorn_without_its_command_line_still_has_all_its_names():
    """`onegate serve` imports uvicorn's server without `uvicorn.main` (click, the reload supervisors); a later
    `uvicorn.run` (or any other name of uvicorn's `__init__`) still works and loads it then."""
    done = subprocess.run([sys.executable, "-c", UVICORN_PROBE], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "True", "True"]
