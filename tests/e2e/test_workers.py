"""`onegate serve --workers N` without Redis: each worker would count limits and money in its own memory,
so with anything counted it refuses to start instead of quietly allowing N× the limits."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

from onegate.store.db import open_engine
from onegate.store.keys import KeyOptions, create_key
from onegate.store.migrations import migrate
from tests.conftest import free_port


def serve(tmp_path: Path, *args: str, config: dict | None = None) -> subprocess.CompletedProcess[str]:
    extra = []
    if config is not None:
        path = tmp_path / "onegate.yaml"
        path.write_text(yaml.safe_dump(config))
        extra = ["--config", str(path)]
    command = [sys.executable, "-m", "onegate.cli.main", "serve", "--port", str(free_port()), "--data-dir",
               str(tmp_path / "data"), *extra, *args]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


def test_workers_with_prices_and_no_redis_refuse_to_start_naming_redis_url(tmp_path):
    done = serve(tmp_path, "--workers", "2", config={"prices": {"onegate-selftest": {"input": 1, "output": 2}}})
    assert done.returncode == 2
    assert "redis_url" in done.stderr and "--workers 2" in done.stderr and "models have prices" in done.stderr


def test_workers_with_a_budgeted_key_and_no_redis_refuse_to_start(tmp_path):
    engine = open_engine(f"sqlite:///{tmp_path / 'data' / 'onegate.db'}")
    migrate(engine)
    create_key(engine, "capped", options=KeyOptions(budget_micros=1_000_000, budget_period="daily"))
    engine.dispose()
    done = serve(tmp_path, "--workers", "3")
    assert done.returncode == 2
    assert "redis_url" in done.stderr and "keys have limits or budgets" in done.stderr
