"""How long the log writer keeps the event loop from answering: a loop-lag probe, A/B between checkouts.

    .venv/bin/python bench/writer_lag.py
    LAG_VARIANTS=base=/tmp/base/src,new=src LAG_ROUNDS=4 .venv/bin/python bench/writer_lag.py

One child process per run plays the gateway, pinned to one core (as bench/run pins `onegate serve`): an
asyncio loop (uvloop, as served) and the real `LogWriter` on a SQLite file (WAL, as served), imported from
the variant's `src`. A second process on the other core sends a UDP datagram carrying its send time
(CLOCK_MONOTONIC) at a fixed rate, like requests arriving at concurrency 1; for each one the loop records
how late its callback ran (the loop lag a request would see), does a request's worth of Python work, and
submits a realistic log row (with a charge, if LAG_CHARGES=1) to the writer. A fixed rate, not a closed
loop: the writer's work per flush is then the same on a busy machine and a quiet one.

Prints per variant the lag's p50/p99/p99.9/max, how many datagrams waited more than 0.5 ms and 1 ms, and
the writer thread's CPU per row (/proc schedstat). Variant `none` (LAG_VARIANTS=...,none=src:nowriter)
submits nothing: the machine's own noise floor; `:si=0.5` sets sys.setswitchinterval to 0.5 ms in that
run. Rounds alternate the order of the variants.

Knobs: LAG_VARIANTS (name=src[:nowriter|:si=MS], ...), LAG_ROUNDS (3), LAG_SECONDS (10), LAG_RATE (1200 a second),
LAG_CHARGES (0), LAG_WORK_US (150: Python work per request on the loop), LAG_CPU / LAG_SENDER_CPU (0 / 1).

LAG_PERF=1 also records the GIL hand-overs with uprobes on libpython's take_gil/drop_gil and reports how long
the loop thread waited for the GIL and how long the writer thread held it at a stretch. Needs root and the
probes defined once (remove them afterwards with `perf probe -d 'probe_libpython3:*'`):

    LIB=$(ldd .venv/bin/python | awk '/libpython/ {print $3}')
    perf probe -x $LIB -a take_gil -a 'take_gil_ret=take_gil%return' -a drop_gil
"""

from __future__ import annotations

import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
PYTHON = ROOT / ".venv" / "bin" / "python"
PERF = os.environ.get("LAG_PERF", "0") not in ("", "0")
PROBES = ("probe_libpython3:take_gil", "probe_libpython3:take_gil_ret__return", "probe_libpython3:drop_gil")

ROUNDS = int(os.environ.get("LAG_ROUNDS", "3"))
SECONDS = float(os.environ.get("LAG_SECONDS", "10"))
RATE = float(os.environ.get("LAG_RATE", "1200"))
CHARGES = os.environ.get("LAG_CHARGES", "0") not in ("", "0")
WORK_US = float(os.environ.get("LAG_WORK_US", "150"))
CPU = os.environ.get("LAG_CPU", "0")
SENDER_CPU = os.environ.get("LAG_SENDER_CPU", "1")

SENDER = r"""
import socket, struct, sys, time
port, rate, seconds = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
period = 1e9 / rate
start = time.monotonic_ns()
i = 0
while True:
    due = start + i * period
    now = time.monotonic_ns()
    if now - start > seconds * 1e9:
        break
    if due > now:
        time.sleep((due - now) / 1e9)
    s.sendto(struct.pack("q", time.monotonic_ns()), ("127.0.0.1", port))
    i += 1
s.sendto(struct.pack("q", -1), ("127.0.0.1", port))
"""


def child(work: Path, writer_on: bool) -> dict[str, float]:
    """The gateway stand-in: runs in the child process, prints its numbers as one JSON line."""
    import asyncio
    import secrets
    import socket
    import struct
    import threading
    import time

    import uvloop

    from onegate.app import tune_gc
    from onegate.store.db import open_engine
    from onegate.store.ledger import Charge
    from onegate.store.logs import LogRow
    from onegate.store.migrations import migrate
    from onegate.store.teams import create_team
    from onegate.store.writer import LogWriter

    engine = open_engine(f"sqlite:///{work / 'onegate.db'}")
    migrate(engine)
    team = create_team(engine, "lag").id if CHARGES else None
    writer = LogWriter(engine, work / "spill.jsonl")
    writer.start()
    writer_tid = next(t.native_id for t in threading.enumerate() if t.name == "onegate-log-writer")

    def row() -> tuple[LogRow, Charge | None]:
        rid = "req_" + secrets.token_hex(12)
        now = time.time()
        timings = '{"auth":0.012,"admit":0.041,"route":0.03,"upstream":0.31,"total":0.52}'
        price = '{"model":"gpt-4.1-mini","input":0.4,"cached_input":0.1,"output":1.6}' if CHARGES else None
        log = LogRow(rid, now, 1, "sk-og-…b3f1", team, "openai-python", "1.99.0", "OpenAI/Python 1.99.0", "POST",
                     "/api/v1/chat/completions", "openai_chat", "gpt-4.1-mini", "gpt-4.1-mini", "fake-upstream",
                     200, None, None, False, 0.52, 0.48, 13, 0, 0, 7, 0, 16 if CHARGES else 0, price, False, None,
                     None, None, timings)  # fmt: skip
        charge = Charge(f"{rid}:1", "charge", team, 1, rid, "gpt-4.1-mini", -16, now) if CHARGES else None
        return log, charge

    lags: list[int] = []
    done = asyncio.Event()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.setblocking(False)

    def busy() -> None:  # a request's worth of Python on the loop (parsing, routing, building a row)
        end = time.perf_counter() + WORK_US / 1e6
        n = 0
        while time.perf_counter() < end:
            n += len(json.dumps({"n": n, "model": "gpt-4.1-mini"}))

    def readable() -> None:
        while True:
            try:
                data = sock.recv(16)
            except BlockingIOError:
                return
            sent = struct.unpack("q", data)[0]
            if sent < 0:
                done.set()
                return
            lags.append(time.monotonic_ns() - sent)
            busy()
            if writer_on:
                writer.submit(*row())

    def schedstat_ns(tid: int) -> int:
        return int(Path(f"/proc/self/task/{tid}/schedstat").read_text().split()[0])

    async def run() -> None:
        loop = asyncio.get_running_loop()
        loop.add_reader(sock.fileno(), readable)
        tune_gc()
        sender = subprocess.Popen(
            [
                "taskset",
                "-c",
                SENDER_CPU,
                sys.executable,
                "-c",
                SENDER,
                str(sock.getsockname()[1]),
                str(RATE),
                str(SECONDS),
            ]  # fmt: skip
        )
        with contextlib.suppress(TimeoutError):  # the last datagram may be dropped by a full socket buffer
            await asyncio.wait_for(done.wait(), SECONDS + 5)
        sender.wait()

    perf = None
    if PERF:
        events = [arg for probe in PROBES for arg in ("-e", probe)]
        perf = subprocess.Popen(
            ["perf", "record", "-q", "-o", str(work / "perf.data"), *events, "-p", str(os.getpid())]
        )
        time.sleep(1.0)  # perf attaches
    writer_before = schedstat_ns(writer_tid)
    uvloop.run(run())
    writer_ns = schedstat_ns(writer_tid) - writer_before
    gil: dict[str, float] = {}
    if perf is not None:
        perf.send_signal(2)
        perf.wait()
        gil = gil_report(work / "perf.data", os.getpid(), writer_tid, len(lags))
    written_before_close = writer.stats.written
    writer.close()
    lags.sort()
    n = len(lags)
    ms = [x / 1e6 for x in lags]
    return {
        "samples": n,
        "p50": ms[n // 2],
        "p99": ms[int(n * 0.99)],
        "p999": ms[int(n * 0.999)],
        "max": ms[-1],
        "over_0.5ms_per_1k": sum(1 for x in ms if x > 0.5) * 1000 / n,
        "over_1ms_per_1k": sum(1 for x in ms if x > 1.0) * 1000 / n,
        "writer_us_per_row": writer_ns / 1e3 / max(written_before_close, 1) if writer_on else 0.0,
        "batches": writer.stats.batches,
        **gil,
    }


def gil_report(data: Path, loop_tid: int, writer_tid: int, requests: int) -> dict[str, float]:
    """From the uprobes: the loop thread's waits in take_gil, and the writer's stretches holding the GIL."""
    text = subprocess.run(["perf", "script", "-i", str(data), "-F", "tid,time,event"], capture_output=True,
                          text=True, check=True).stdout  # fmt: skip
    entered: dict[int, float] = {}
    held_since: dict[int, float] = {}
    waits: list[float] = []
    holds: list[float] = []
    convoy = 0  # loop waits during which the writer dropped the GIL and took it back before the loop got it
    drops_while_waiting = 0
    for line in text.splitlines():
        parts = line.split()
        if len(parts) < 3:
            continue
        tid, when, event = int(parts[0]), float(parts[1].rstrip(":")), parts[2]
        if event.startswith("probe_libpython3:take_gil_ret"):
            if tid == loop_tid and tid in entered:
                waits.append(when - entered.pop(tid))
                convoy += drops_while_waiting > 0
                drops_while_waiting = 0
            held_since[tid] = when
        elif event.startswith("probe_libpython3:take_gil"):
            entered[tid] = when
        elif event.startswith("probe_libpython3:drop_gil") and tid in held_since:
            if tid == writer_tid:
                holds.append(when - held_since[tid])
                drops_while_waiting += loop_tid in entered
            held_since.pop(tid)
    waits.sort()
    holds.sort()
    per_1k = 1000 / max(requests, 1)
    return {
        "loop_gil_waits_over_0.5ms_per_1k": sum(1 for w in waits if w > 0.0005) * per_1k,
        "loop_gil_wait_ms_per_1k": sum(waits) * 1e3 * per_1k,
        "loop_gil_wait_max": waits[-1] * 1e3 if waits else 0.0,
        "loop_waits_through_writer_drops_per_1k": convoy * per_1k,
        "writer_hold_p99": holds[int(len(holds) * 0.99)] * 1e3 if holds else 0.0,
        "writer_hold_max": holds[-1] * 1e3 if holds else 0.0,
        "writer_holds_over_0.5ms_per_1k": sum(1 for h in holds if h > 0.0005) * per_1k,
    }


def main() -> None:
    spec = os.environ.get("LAG_VARIANTS", f"this={ROOT / 'src'}")
    variants = []
    for part in spec.split(","):
        name, _, rest = part.partition("=")
        src, _, flag = rest.partition(":")
        variants.append((name.strip(), str(Path(src).resolve()), flag))
    results: dict[str, list[dict[str, float]]] = {name: [] for name, _, _ in variants}
    for round_no in range(ROUNDS):
        for name, src, flag in variants if round_no % 2 == 0 else variants[::-1]:
            with tempfile.TemporaryDirectory(prefix="onegate-lag-") as tmp:
                out = subprocess.run(
                    ["taskset", "-c", CPU, str(PYTHON), __file__, "--child", tmp, flag],
                    env={**os.environ, "PYTHONPATH": src},
                    capture_output=True,
                    text=True,
                    timeout=SECONDS + 120,
                )
            if out.returncode != 0:
                raise SystemExit(f"{name}: child failed:\n{out.stderr[-3000:]}")
            row = json.loads(out.stdout.strip().splitlines()[-1])
            results[name].append(row)
            print(f"round {round_no} {name}: " + " ".join(f"{k}={v:.3g}" for k, v in row.items()), flush=True)
    print(f"\nrate={RATE:g}/s seconds={SECONDS:g} charges={CHARGES} work={WORK_US:g}µs rounds={ROUNDS}")
    keys = list(results[variants[0][0]][0])
    print("| metric | " + " | ".join(name for name, _, _ in variants) + " |")
    print("| --- |" + " ---: |" * len(variants))
    for key in keys:
        cells = []
        for name, _, _ in variants:
            values = [r[key] for r in results[name]]
            cells.append(f"{statistics.median(values):.3g} ({' / '.join(f'{v:.3g}' for v in values)})")
        print(f"| {key} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        if sys.argv[3].startswith("si="):
            sys.setswitchinterval(float(sys.argv[3][3:]) / 1000)
        print(json.dumps(child(Path(sys.argv[2]), writer_on=sys.argv[3] != "nowriter")))
    else:
        main()
