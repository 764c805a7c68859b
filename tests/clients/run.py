"""Run the real Claude Code and Codex CLIs headless against onegate, each in a throw-away home.

Everything that could reach beyond loopback (telemetry, auto-update, error reporting, non-essential
traffic) is turned off, and retries are cut to one so a failure fails in seconds instead of minutes.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa

TIMEOUT = 60.0  # a turn takes seconds; a client that loops or waits on the network is killed, with its output

# Variables of the developer's shell that would point a client elsewhere or change what it sends
_LEAKY_PREFIXES = ("ANTHROPIC_", "CLAUDE_", "CODEX_", "OPENAI_")
QUIET = {
    "DISABLE_AUTOUPDATER": "1",
    "DISABLE_TELEMETRY": "1",
    "DISABLE_ERROR_REPORTING": "1",
    "DISABLE_BUG_COMMAND": "1",
    "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
    "NO_PROXY": "127.0.0.1,localhost",
    "NO_COLOR": "1",
    "TERM": "dumb",
}


def isolated_env(home: Path, **extra: str) -> dict[str, str]:
    """The caller's environment minus client settings, with HOME and the clients' config dirs under `home`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_LEAKY_PREFIXES) and "PROXY" not in k.upper()}
    for sub in ("claude", "codex", "xdg"):
        (home / sub).mkdir(parents=True, exist_ok=True)
    env.update(QUIET)
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / "xdg"),
        CLAUDE_CONFIG_DIR=str(home / "claude"),
        CODEX_HOME=str(home / "codex"),
    )
    env.update(extra)
    return env


def run_claude(
    binary: Path, home: Path, anthropic_base_url: str, key: str, model: str, *, bearer: bool = False
) -> subprocess.CompletedProcess[str]:
    """`claude -p "say hi"`, one retry at most; the key as ANTHROPIC_API_KEY (sent as x-api-key) or, with
    `bearer`, as ANTHROPIC_AUTH_TOKEN (sent as Authorization: Bearer, the way the README sets it up)."""
    env = isolated_env(
        home,
        ANTHROPIC_BASE_URL=anthropic_base_url,
        ANTHROPIC_MODEL=model,
        ANTHROPIC_SMALL_FAST_MODEL=model,
        CLAUDE_CODE_MAX_RETRIES="1",
        **({"ANTHROPIC_AUTH_TOKEN": key, "ANTHROPIC_API_KEY": ""} if bearer else {"ANTHROPIC_API_KEY": key}),
    )
    return run([str(binary), "-p", "say hi", "--output-format", "text"], home, env)


def codex_config(settings: str, tables: str = "") -> str:
    """A config.toml: top-level `settings`, then `tables`, with what would leave loopback turned off
    (update check on GitHub, curated-plugin sync, analytics: found with strace, 0.171.0)."""
    quiet = "[features]\nplugins = false\n[analytics]\nenabled = false\n"
    return settings + "check_for_update_on_startup = false\n" + tables + quiet


def codex_provider_config(base_url: str, model: str, extra: str = "") -> str:
    """Codex with onegate as a custom provider (the only wire API Codex still has: responses), one retry."""
    provider = (
        '[model_providers.onegate]\nname = "onegate"\n'
        f'base_url = "{base_url}"\nenv_key = "ONEGATE_KEY"\nwire_api = "responses"\n'
        "request_max_retries = 1\nstream_max_retries = 1\n"
    )
    return codex_config(f'model = "{model}"\n{extra}model_provider = "onegate"\n', provider)


def run_codex(
    binary: Path, home: Path, key: str, config: str, prompt: str = "say hi"
) -> subprocess.CompletedProcess[str]:
    """`codex exec PROMPT` with `config` as its config.toml; stdin closed or it waits for more input."""
    env = isolated_env(home, ONEGATE_KEY=key)
    (home / "codex" / "config.toml").write_text(config)
    return run([str(binary), "exec", "--skip-git-repo-check", prompt], home, env)


def run(
    command: list[str], cwd: Path, env: dict[str, str], stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a client in its own process group; past TIMEOUT the whole group (sub-agents, tools) is killed."""
    with subprocess.Popen(
        command,
        stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd,
        env=env,
        start_new_session=True,
    ) as process:
        try:
            out, err = process.communicate(stdin, timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            out, err = process.communicate()
            name, tail = Path(command[0]).name, f"stdout: {out[-1500:]}\nstderr: {err[-1500:]}"
            raise AssertionError(f"{name} did not finish in {TIMEOUT:.0f}s\n{tail}") from None
    return subprocess.CompletedProcess(command, process.returncode, out, err)


_LOGGED = sa.text(
    "select method, path, dialect, model_routed, channel, status, error_code from request_logs order by created_at"
)


def logged(gw: Any, count: int) -> list[tuple]:
    """(method, path, dialect, model, channel, status, error code) of each logged request, once `count` are written."""
    deadline = time.monotonic() + 5
    while True:
        with gw.gateway.engine.connect() as conn:
            rows = [tuple(r) for r in conn.execute(_LOGGED)]
        if len(rows) >= count or time.monotonic() > deadline:
            return rows
        time.sleep(0.05)
