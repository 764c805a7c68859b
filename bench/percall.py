"""What one request costs `onegate serve`'s event loop at concurrency 1 on a keep-alive connection, as counts.

    .venv/bin/python bench/percall.py                          # Python calls per request, chat and stream
    PERCALL_MODE=syscalls .venv/bin/python bench/percall.py    # syscalls of the loop thread per request (strace -c)
    PERCALL_MODE=instructions .venv/bin/python bench/percall.py  # loop-thread instructions per request (callgrind)
    PERCALL_VARIANTS=base=/tmp/base/src,new=src .venv/bin/python bench/percall.py   # checkouts side by side

A real `onegate serve` (plain: one channel to the fake upstream, SQLite, request logging on) pinned to core 0,
the fake upstream on core 1, and `PERCALL_REQUESTS` (500; 200 under callgrind) requests one after another on
one connection after a warm-up, as wrk's connections send them (`bench/roundtrips.py` opens a connection
per request, so its counts include accepting one). Only the loop thread is counted: the log writer's work
is `bench/writer_cost.py`'s subject.

- `calls`: cProfile switched on and off by signals around the measured requests (the loop runs in the main
  thread, where the handlers run): function calls per request. A coroutine's every resumption counts.
- `syscalls`: `strace -c` attached to the main thread only: calls per request by name.
- `instructions`: `valgrind --tool=callgrind` with collection switched on for the requests; the loop thread's
  instructions per request. The loop also ticks while idle (uvicorn's 0.1 s timer, background tasks), and
  under valgrind a request takes ~100 ms, so a following idle stretch of `PERCALL_IDLE` (8) seconds is
  counted too and its rate subtracted: still ±3% between runs.

Variants (`name=srcdir`, as bench/tail.py) run one after another per workload.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import procs
from main import LOAD_CPU, PYTHON, ROOT, UPSTREAM_KEY, UPSTREAM_KEY_ENV, onegate_config_text, start_upstream

MODE = os.environ.get("PERCALL_MODE", "calls")
WORKLOADS = os.environ.get("PERCALL_WORKLOADS", "chat,stream").split(",")
REQUESTS = int(os.environ.get("PERCALL_REQUESTS", "200" if MODE == "instructions" else "500"))
IDLE = float(os.environ.get("PERCALL_IDLE", "8"))
VARIANTS = [v.split("=", 1) for v in os.environ.get("PERCALL_VARIANTS", f"this={ROOT / 'src'}").split(",")]

# cProfile on SIGUSR1, off and dumped on SIGUSR2, then `onegate` as `python -m onegate` runs it
_PROFILED = (
    "import cProfile, os, runpy, signal, sys\n"
    "p = cProfile.Profile()\n"
    "signal.signal(signal.SIGUSR1, lambda *_: p.enable())\n"
    "signal.signal(signal.SIGUSR2, lambda *_: (p.disable(), p.dump_stats(os.environ['PERCALL_PROFILE'])))\n"
    "sys.argv[0] = 'onegate'\n"
    "runpy.run_module('onegate', run_name='__main__')\n"
)


def _serve(work: Path, src: str, upstream: str, logs: Path) -> tuple[procs.Proc, int, str]:
    config = work / "onegate.yaml"
    config.write_text(onegate_config_text(upstream))
    data = work / "data"
    env = {**os.environ, UPSTREAM_KEY_ENV: UPSTREAM_KEY, "PYTHONPATH": src, "PERCALL_PROFILE": str(work / "prof")}
    argv = [str(PYTHON), "-m", "onegate", "keys", "create", "--name", "bench", "--data-dir", str(data)]
    key = subprocess.run([*argv, "--config", str(config)], capture_output=True, text=True, check=True, env=env)
    port = procs.free_port()
    args = ["serve", "--config", str(config), "--data-dir", str(data), "--port", str(port)]
    if MODE == "calls":
        argv = [str(PYTHON), "-c", _PROFILED, *args]
    elif MODE == "instructions":
        out = f"--callgrind-out-file={work / 'cg.out'}"
        argv = ["valgrind", "--tool=callgrind", "--instr-atstart=no", "--separate-threads=yes", out]
        argv += [str(PYTHON), "-m", "onegate", *args]
    else:
        argv = [str(PYTHON), "-m", "onegate", *args]
    proc = procs.start("percall-onegate", argv, cpu=0, log_dir=logs, env=env)
    procs.wait_http_ok(proc, "GET", f"http://127.0.0.1:{port}/healthz", timeout=300)
    return proc, port, key.stdout.strip()


def _loop_instructions(out: Path, part: int) -> int:
    text = Path(f"{out}.{part}-01").read_text(errors="replace")  # thread 1: the main thread, the loop's
    found = re.search(r"^totals: (\d+)", text, re.M)
    assert found, f"no totals in {out}.{part}-01"
    return int(found.group(1))


def measure(src: str, workload: str, upstream: str, logs: Path) -> str:
    work = Path(tempfile.mkdtemp(prefix="onegate-percall-"))
    proc, port, key = _serve(work, src, upstream, logs)
    body = {"model": "gpt-4.1-mini", "messages": [{"role": "user", "content": "Say hello in five words."}]}
    payload = json.dumps(body | ({"stream": True} if workload == "stream" else {})).encode()
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)

    def one() -> None:
        conn.request("POST", "/api/v1/chat/completions", payload, headers)
        response = conn.getresponse()
        answer = response.read()
        assert response.status == 200, (response.status, answer[:300])

    try:
        for _ in range(50):
            one()
        time.sleep(1.0)
        tracer = None
        if MODE == "calls":
            os.kill(proc.pid, signal.SIGUSR1)
        elif MODE == "instructions":
            subprocess.run(["callgrind_control", "-i", "on", str(proc.pid)], check=True, capture_output=True)
        elif MODE == "syscalls":
            tracer = subprocess.Popen(["strace", "-c", "-o", str(work / "strace"), "-p", str(proc.pid)])
            time.sleep(1.0)
        t0 = time.perf_counter()
        for _ in range(REQUESTS):
            one()
        took = time.perf_counter() - t0
        if MODE == "calls":
            os.kill(proc.pid, signal.SIGUSR2)
            for _ in range(100):
                if (work / "prof").exists():
                    break
                time.sleep(0.05)
            time.sleep(0.2)
            import pstats

            return f"{pstats.Stats(str(work / 'prof')).total_calls / REQUESTS:.1f} Python calls per request"
        if MODE == "instructions":
            subprocess.run(["callgrind_control", "-d", str(proc.pid)], check=True, capture_output=True)
            t1 = time.perf_counter()
            time.sleep(IDLE)
            subprocess.run(["callgrind_control", "-d", str(proc.pid)], check=True, capture_output=True)
            rate = _loop_instructions(work / "cg.out", 2) / (time.perf_counter() - t1)
            busy = _loop_instructions(work / "cg.out", 1)
            return (
                f"{(busy - rate * took) / REQUESTS:,.0f} loop instructions per request "
                f"(raw {busy / REQUESTS:,.0f}, idle {rate:,.0f}/s subtracted)"
            )
        assert tracer is not None
        tracer.send_signal(signal.SIGINT)
        tracer.wait(30)
        calls = {}
        for line in (work / "strace").read_text().splitlines():
            parts = line.split()
            if len(parts) >= 5 and parts[3].isdigit() and parts[-1] != "total":
                calls[parts[-1]] = int(parts[3])
        total = sum(calls.values()) / REQUESTS
        by_name = ", ".join(f"{name} {n / REQUESTS:.2f}" for name, n in sorted(calls.items(), key=lambda x: -x[1]))
        return f"{total:.2f} syscalls per request: {by_name}"
    finally:
        conn.close()
        proc.stop()


def main() -> None:
    logs = Path(tempfile.mkdtemp(prefix="onegate-percall-logs-"))
    upstream, target = start_upstream()
    try:
        for workload in WORKLOADS:
            for name, src in VARIANTS:
                print(f"{workload:<7} {name:<10} {measure(src, workload, target.base_url, logs)}", flush=True)
    finally:
        upstream.stop()
    print(f"(core {LOAD_CPU}: fake upstream; logs in {logs})", file=sys.stderr)


if __name__ == "__main__":
    main()
