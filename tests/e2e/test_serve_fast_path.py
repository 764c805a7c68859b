"""`onegate serve` with plain options starts without typer (and the pydantic it pulls in); anything else
(`--help`, an unknown option, a bad value) still goes through typer, which explains it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from onegate.cli.launch import parse_serve

# runs the real entry point with argv, then says whether typer/pydantic were imported
PROBE = (
    "import sys\n"
    "from onegate.cli.main import main\n"
    "sys.argv = ['onegate', *sys.argv[1:]]\n"
    "try:\n"
    "    main()\n"
    "finally:\n"
    "    print('typer' in sys.modules, 'pydantic' in sys.modules, file=sys.stderr)\n"
)


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
