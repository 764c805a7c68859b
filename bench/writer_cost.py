"""What one log row costs the writer thread: CPU per row of a batch stored the way the writer stores it.

    .venv/bin/python bench/writer_cost.py                 # CPU µs per row (thread time), median of 5 repeats
    WRITER_COST_PROFILE=1 .venv/bin/python bench/writer_cost.py      # + a cProfile of the batches
    valgrind --tool=callgrind --callgrind-out-file=/dev/null .venv/bin/python bench/writer_cost.py 0
    valgrind --tool=callgrind --callgrind-out-file=/dev/null .venv/bin/python bench/writer_cost.py 40
        # instructions: (second - first) / (40 × WRITER_COST_ROWS) per row, a count machine load does not change
    WRITER_COST_PERF=1 .venv/bin/python bench/writer_cost.py    # the GIL: longest held stretch per batch, on-CPU

Argument: how many batches (default 40) of WRITER_COST_ROWS (120: 100 ms of requests at concurrency 1 on a
quiet machine) rows each, with a charge on every row when WRITER_COST_CHARGES=1. Every batch is a
`SettlementStore.store` (older commits: `write_transaction` + `write_settlements`) on a SQLite file (WAL) or
PostgreSQL, as `LogWriter._store` does. Runs the onegate on PYTHONPATH (another commit's `src` to compare).
"""

from __future__ import annotations

import os
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

ROWS = int(os.environ.get("WRITER_COST_ROWS", "120"))
CHARGES = os.environ.get("WRITER_COST_CHARGES", "0") not in ("", "0")
PROFILE = os.environ.get("WRITER_COST_PROFILE", "0") not in ("", "0")
POSTGRES = os.environ.get("WRITER_COST_POSTGRES", "")  # e.g. postgresql://postgres@127.0.0.1:5432/test
PERF = os.environ.get("WRITER_COST_PERF", "0") not in ("", "0")


def main() -> None:
    batches = int(sys.argv[1]) if len(sys.argv) > 1 else 40
    from onegate.store.db import open_engine

    with tempfile.TemporaryDirectory(prefix="onegate-writer-cost-") as tmp:
        schema = f"onegate_writer_cost_{secrets.token_hex(4)}"
        if POSTGRES:  # a schema of its own, dropped at the end
            import psycopg

            with psycopg.connect(POSTGRES, autocommit=True) as admin:
                admin.execute(f"CREATE SCHEMA {schema}")
        url = f"{POSTGRES}?options=-csearch_path%3D{schema}" if POSTGRES else f"sqlite:///{Path(tmp) / 'onegate.db'}"
        engine = open_engine(url)
        try:
            run(engine, batches)
        finally:
            engine.dispose()
            if POSTGRES:
                with psycopg.connect(POSTGRES, autocommit=True) as admin:
                    admin.execute(f"DROP SCHEMA {schema} CASCADE")


def run(engine: Engine, batches: int) -> None:
    from onegate.store.db import write_transaction
    from onegate.store.ledger import Charge, Settlement, write_settlements
    from onegate.store.logs import LogRow
    from onegate.store.migrations import migrate
    from onegate.store.teams import create_team

    migrate(engine)
    team = create_team(engine, "cost").id if CHARGES else None

    def item(i: int) -> Settlement:
        rid = "req_" + secrets.token_hex(12)
        now = time.time()
        timings = '{"auth":0.012,"admit":0.041,"route":0.03,"upstream":0.31,"total":0.52}'
        price = '{"model":"gpt-4.1-mini","input":0.4,"cached_input":0.1,"output":1.6}' if CHARGES else None
        log = LogRow(rid, now, 1, "sk-og-…b3f1", team, "openai-python", "1.99.0", "OpenAI/Python 1.99.0",
                     "POST", "/api/v1/chat/completions", "openai_chat", "gpt-4.1-mini", "gpt-4.1-mini",
                     "fake-upstream", 200, None, None, False, 0.52, 0.48, 13, 0, 0, 7, 0, 16 if CHARGES else 0,
                     price, False, None, None, None, timings)  # fmt: skip
        charge = Charge(f"{rid}:1", "charge", team, 1, rid, "gpt-4.1-mini", -16, now) if CHARGES else None
        return Settlement(log, charge)

    try:  # as LogWriter._store does
        from onegate.store.ledger import SettlementStore

        store = SettlementStore(engine).store
    except ImportError:  # an older commit's src: the batch in a transaction of its own

        def store(batch: list[Settlement]) -> None:
            with write_transaction(engine) as conn:
                write_settlements(conn, batch)

    store([item(0) for _ in range(ROWS)])  # warm: statement caches, pool, the first rollup rows
    work = [[item(i) for _ in range(ROWS)] for i in range(batches)]
    if PROFILE:
        import cProfile
        import pstats

        prof = cProfile.Profile()
        prof.enable()
        for batch in work:
            store(batch)
        prof.disable()
        pstats.Stats(prof).sort_stats("tottime").print_stats(25)
        return
    if PERF:
        gil_stretches(work, store)
        return
    per_row = []
    for repeat in range(5):
        chunk = work[repeat::5]
        if not chunk:
            continue
        began = time.thread_time()
        for batch in chunk:
            store(batch)
        per_row.append((time.thread_time() - began) / (len(chunk) * ROWS) * 1e6)
    if per_row:
        print(f"writer CPU per row: {statistics.median(per_row):.1f} µs (repeats: "
              f"{', '.join(f'{v:.1f}' for v in per_row)}; {ROWS} rows a batch, charges={CHARGES})")  # fmt: skip


def gil_stretches(work: list[list[Any]], store: Callable[[list[Any]], None]) -> None:
    """Per batch, the longest stretch the thread held the GIL without a break (the longest an event loop
    thread would wait for it, up to the switch interval) and the GIL-held time in all: uprobes on take_gil's
    return and drop_gil (writer_lag.py's docstring shows how to define them). Medians over the batches: a
    batch whose thread the machine preempted mid-stretch does not move them."""
    tmp = tempfile.TemporaryDirectory(prefix="onegate-writer-cost-perf-")
    data = Path(tmp.name) / "perf.data"
    events = ["-e", "probe_libpython3:take_gil_ret__return", "-e", "probe_libpython3:drop_gil"]
    perf = subprocess.Popen(["perf", "record", "-q", "--switch-events", "-k", "CLOCK_MONOTONIC", "-o", str(data),
                             *events, "-p", str(os.getpid())])  # fmt: skip
    time.sleep(1.0)  # perf attaches
    windows = []
    for batch in work:
        began = time.monotonic()
        store(batch)
        windows.append((began, time.monotonic()))
    perf.send_signal(signal.SIGINT)
    perf.wait()
    text = subprocess.run(["perf", "script", "-i", str(data), "--show-switch-events", "-F", "time,event"],
                          capture_output=True, text=True, check=True).stdout  # fmt: skip
    tmp.cleanup()
    marks = []  # (time, "take" | "drop" | "off" | "on"): GIL taken/dropped, this thread switched off/on the CPU
    for line in text.splitlines():
        parts = line.split()
        if len(parts) < 2:
            continue
        when, event = float(parts[0].rstrip(":")), parts[1]
        if event == "PERF_RECORD_SWITCH":
            marks.append((when, "off" if parts[2] == "OUT" else "on"))
        else:
            marks.append((when, "take" if "take_gil" in event else "drop"))
    longest, held = [], []
    for began, ended in windows:
        # on-CPU time of each stretch holding the GIL: a preemption by another process does not count
        stretches: list[float] = []
        since: float | None = began  # the batch starts holding the GIL
        run = 0.0
        off_at: float | None = None
        for when, kind in marks:
            if not began <= when <= ended:
                continue
            if kind == "off":
                off_at = when
            elif kind == "on" and off_at is not None:
                if since is not None:
                    run -= when - off_at
                off_at = None
            elif kind == "take":
                since, run = when, 0.0
            elif kind == "drop" and since is not None:
                stretches.append(when - since + run)
                since = None
        if since is not None:
            stretches.append(ended - since + run)
        longest.append(max(stretches) * 1e3)
        held.append(sum(stretches) * 1e3)
    batch = statistics.median((e - b) * 1e3 for b, e in windows)
    print(f"GIL per batch of {ROWS} rows (median of {len(work)}): longest stretch {statistics.median(longest):.3f} "
          f"ms, held in all {statistics.median(held):.3f} ms, batch (wall) {batch:.3f} ms")  # fmt: skip


if __name__ == "__main__":
    main()
