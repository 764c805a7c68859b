"""The real CLI clients the suite drives (Claude Code, Codex), pinned, installed once into a cache outside the clone.

`python -m tests.clients.install` installs every pinned client (what .ci/run does up front); tests call
`client_bin(name)`, which installs on first use. Several pytest runs at once share the cache: a lock file
serialises the installs, and a stamp written last tells a finished install from a half-done one.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Client:
    package: str
    version: str
    bin: str

    @property
    def spec(self) -> str:
        return f"{self.package}@{self.version}"


CLIENTS = {
    "claude": Client("@anthropic-ai/claude-code", "2.1.197", "claude"),
    "codex": Client("@openai/codex", "0.171.0", "codex"),
}


def cache_root() -> Path:
    """`ONEGATE_TEST_CLIENTS_DIR`, else ~/.cache/onegate-test-clients (XDG_CACHE_HOME honoured)."""
    if configured := os.environ.get("ONEGATE_TEST_CLIENTS_DIR"):
        return Path(configured)
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "onegate-test-clients"


class ClientUnavailable(RuntimeError):
    """The client cannot be installed here (no npm, no registry): tests skip, CI fails."""


def client_bin(name: str, install: bool = True) -> Path:
    """The pinned client's executable, installed into the cache when missing."""
    client = CLIENTS[name]
    prefix = cache_root() / client.spec.replace("/", "+")
    binary = prefix / "node_modules" / ".bin" / client.bin
    stamp = prefix / ".installed"
    if stamp.exists() and binary.exists():
        return binary
    if not install:
        raise ClientUnavailable(f"{client.spec} is not installed in {prefix}")
    npm = shutil.which("npm")
    if npm is None:
        raise ClientUnavailable(f"npm is not on PATH, so {client.spec} cannot be installed")
    prefix.mkdir(parents=True, exist_ok=True)
    with open(prefix.parent / f"{prefix.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another run may be installing the same client: wait for it
        if stamp.exists() and binary.exists():
            return binary
        # offline, npm would retry for minutes: give up soon so the tests skip (or CI fails) promptly
        quick = ["--no-audit", "--no-fund", "--loglevel=error", "--fetch-retries=1", "--fetch-timeout=30000"]
        command = [npm, "install", "--prefix", str(prefix), *quick, client.spec]
        done = subprocess.run(command, capture_output=True, text=True, timeout=900)
        if done.returncode != 0 or not binary.exists():
            raise ClientUnavailable(f"`npm install {client.spec}` failed: {(done.stderr or done.stdout)[-800:]}")
        stamp.write_text(client.spec + "\n")
    return binary


def main() -> int:
    for name in CLIENTS:
        try:
            print(client_bin(name))
        except ClientUnavailable as exc:
            print(exc, file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
