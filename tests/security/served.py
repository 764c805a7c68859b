"""A real `onegate serve` process for security tests: its stdout and stderr go to files a test reads."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import free_port, raw_request

ONEGATE = [sys.executable, "-m", "onegate.cli.main"]


class OnegateProcess:
    """`onegate serve` on a free loopback port; `umask` sets the process's umask before it starts."""

    def __init__(
        self,
        workdir: Path,
        config: dict[str, Any] | None = None,
        env: dict[str, str] | None = None,
        umask: int | None = None,
        data_dir: Path | None = None,
    ) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.root = f"http://127.0.0.1:{self.port}"
        self.data_dir = data_dir or workdir / "data"
        self.stdout_path, self.stderr_path = workdir / "stdout.txt", workdir / "stderr.txt"
        args = [*ONEGATE, "serve", "--port", str(self.port), "--data-dir", str(self.data_dir)]
        if config is not None:
            config_path = workdir / "onegate.yaml"
            config_path.write_text(yaml.safe_dump(config))
            args += ["--config", str(config_path)]
        full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        full_env.pop("ONEGATE_CONFIG", None)
        if umask is not None:  # through a shell: no preexec_fn in a threaded test process
            args = ["sh", "-c", f'umask {umask:03o} && exec "$@"', "sh", *args]
        with self.stdout_path.open("wb") as out, self.stderr_path.open("wb") as err:
            self.process = subprocess.Popen(args, stdout=out, stderr=err, env=full_env)
        self.key = ""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"onegate serve exited {self.process.returncode}: {self.stderr()}")
            try:
                if raw_request("GET", self.root + "/healthz").status == 200:
                    found = re.search(r"(sk-og-[A-Za-z0-9_-]+)", self.stdout())
                    self.key = found.group(1) if found else ""
                    return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("onegate serve did not come up")

    def stdout(self) -> str:
        return self.stdout_path.read_text(errors="replace")

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait(5)

    def __enter__(self) -> OnegateProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
