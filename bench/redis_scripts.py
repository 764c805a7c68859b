"""What the counters' Lua scripts cost Redis per request, in instructions: a count machine load does not change.

    .venv/bin/python -m bench.redis_scripts                    # 1500 requests, limits as bench/accounting.py
    BENCH_SCRIPTS_REQUESTS=3000 BENCH_SCRIPTS_SPREAD=0.01 .venv/bin/python -m bench.redis_scripts

A private `redis-server` runs under valgrind's callgrind. One client admits and settles requests (a team
balance, a key budget, key and team rpm/tpm/concurrency limits: every script path of the benchmark), one
after another, `BENCH_SCRIPTS_SPREAD` seconds of simulated time apart (0.05: a rate window holds every second
of its minute, as under steady load). The first half fills the windows; the instructions Redis executes
in the second half (callgrind's total between `callgrind_control -z` and `-d`), divided by the requests,
are the script cost of one admission plus one settlement. Needs `valgrind` (Debian package).
"""

from __future__ import annotations

import asyncio
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from onegate.counters.protocol import Admit, Limits, Settle
from onegate.counters.redis import RedisCounters
from tests.conftest import free_port

REQUESTS = int(os.environ.get("BENCH_SCRIPTS_REQUESTS", "1500"))
SPREAD = float(os.environ.get("BENCH_SCRIPTS_SPREAD", "0.05"))
HIGH = 100_000_000
LIMITS = Limits(rpm=HIGH, tpm=HIGH, concurrent=100_000)
PERIOD = "m2026-12"


async def _requests(counters: RedisCounters, start: float, first: int, last: int) -> None:
    for i in range(first, last):
        now = start + i * SPREAD
        admitted = await counters.admit(
            Admit(rid=f"r{i}", now=now, expires=now + 60, amount=1000, tokens=20, key_id=1, key_limits=LIMITS,
                  team_id=1, team_limits=LIMITS, budget=10**15, period=PERIOD, period_ttl=86400, least=10)
        )  # fmt: skip
        assert admitted is None, admitted
        counters.settle(
            Settle(rid=f"r{i}", now=now, key_id=1, team_id=1, cost=900, token_delta=3, admitted_at=now,
                   hold_until=now + 3600, period=PERIOD, period_ttl=86400)
        )  # fmt: skip
    await counters.flush()


async def _measure(port: int, pid: int) -> None:
    counters = RedisCounters(f"redis://127.0.0.1:{port}/0", timeout=30)  # valgrind is slow
    try:
        await counters.set_balance(1, 10**15, 1)
        await counters.load_key_spend(1, 1, PERIOD, 0, 86400)
        start = time.time()
        await _requests(counters, start, 0, REQUESTS)  # fills the windows
        subprocess.run(["callgrind_control", "-z", str(pid)], check=True, capture_output=True)
        await _requests(counters, start, REQUESTS, 2 * REQUESTS)
        subprocess.run(["callgrind_control", "-d", str(pid)], check=True, capture_output=True)
    finally:
        await counters.close()


def main() -> None:
    if shutil.which("valgrind") is None:
        raise SystemExit("bench.redis_scripts needs valgrind")
    work = tempfile.mkdtemp(prefix="onegate-scripts-")
    port = free_port()
    server = subprocess.Popen(
        ["valgrind", "--tool=callgrind", f"--callgrind-out-file={work}/cg.%p", "redis-server", "--port", str(port),
         "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", work],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        for _ in range(600):
            try:
                socket.create_connection(("127.0.0.1", port), 1).close()
                break
            except OSError:
                time.sleep(0.1)
        asyncio.run(_measure(port, server.pid))
    finally:
        server.terminate()
        server.wait(60)
    dumped = Path(glob.glob(f"{work}/cg.{server.pid}.1")[0])  # the part between the zeroing and the dump
    lines = dumped.read_text().splitlines()
    total = next(int(line.split()[1]) for line in lines if line.startswith(("summary:", "totals:")))
    print(f"Redis instructions per request (admit + settle scripts, {REQUESTS} requests, {SPREAD} s apart): "
          f"{total / REQUESTS:,.0f}")  # fmt: skip
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
