"""`serve --workers N` against one process, interleaved: what N workers cost per request on a shared machine.

    .venv/bin/python bench/workers_ab.py                                   # 1 vs 2 workers, 3 rounds
    AB_VARIANTS=1,2@0,2@0-1 AB_ROUNDS=5 .venv/bin/python bench/workers_ab.py

Each variant is `onegate serve` with the PostgreSQL + Redis accounting of `bench/accounting.py`: `1` is one
process pinned to BENCH_GATEWAY_CPU, `N@CPUS` is `--workers N` under `taskset -c CPUS` (`-` for `,`; default
BENCH_WORKERS_CPUS; a trailing `p`, e.g. `2@0-1p`, pins each worker to one of those cores). All variants run
side by side (one fake upstream and one private Redis on the load core, a PostgreSQL database of their own
each) and their rows alternate: round 1 A B C, round 2 A B C, ... so every variant sees the same machine.
`bench/run` measures one target after another, which on a machine other work shares can put a busy minute
on one side only.

Per row (wrk at AB_CONCURRENCY, AB_SECONDS): rps; the gateway process tree's CPU ms per request and cores;
what load does not change or changes little: PostgreSQL transactions per request (from `pg_stat_database`
of the variant's own database), Redis commands per request (the private server's counter; commands inside
Lua scripts count), voluntary / involuntary context switches and read / write system calls per request
(how well requests' bytes were batched), how the connections and the CPU were spread over the workers.
Printed as JSON lines, then medians per variant and the paired efficiency of each round (one process's
CPU ms/req ÷ the variant's) in a markdown table.
"""

from __future__ import annotations

import json
import os
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import accounting
import loadgen
import main as bench
import procs
import psycopg
import redis
from lanes import Target, build_lanes

VARIANTS = [v.strip() for v in os.environ.get("AB_VARIANTS", "1,2").split(",") if v.strip()]
LANES = [w.strip() for w in os.environ.get("AB_LANES", "chat,chat-stream").split(",") if w.strip()]
ROUNDS = int(os.environ.get("AB_ROUNDS", "3"))
SECONDS = float(os.environ.get("AB_SECONDS", "6"))
CONCURRENCY = int(os.environ.get("AB_CONCURRENCY", "64"))
SERVER = accounting.POSTGRES_URL  # its database holds the statistics; each variant gets a database of its own


def _admin(statement: str, *params: object) -> Any:
    with psycopg.connect(SERVER, autocommit=True) as conn:
        cursor = conn.execute(statement, params or None)
        return cursor.fetchone() if cursor.description else None


def transactions(db: str) -> int:
    row = _admin("SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = %s", db)
    return int(row[0]) if row else 0


def switches(pids: list[int]) -> tuple[int, int]:
    """Voluntary and involuntary context switches of every thread of ``pids`` so far."""
    vol = invol = 0
    for pid in pids:
        for status in Path(f"/proc/{pid}/task").glob("*/status"):
            try:
                text = status.read_text()
            except OSError:
                continue
            for line in text.splitlines():
                if line.startswith("voluntary_ctxt_switches"):
                    vol += int(line.split()[1])
                elif line.startswith("nonvoluntary_ctxt_switches"):
                    invol += int(line.split()[1])
    return vol, invol


def io_calls(pids: list[int]) -> tuple[int, int]:
    """read- and write-type system calls of ``pids`` so far (/proc/PID/io syscr, syscw; all threads): with
    sockets, how many reads and writes the requests' bytes took, i.e. how well they were batched."""
    reads = writes = 0
    for pid in pids:
        try:
            fields = dict(line.split(": ") for line in Path(f"/proc/{pid}/io").read_text().splitlines())
        except OSError:
            continue
        reads, writes = reads + int(fields["syscr"]), writes + int(fields["syscw"])
    return reads, writes


def parse(variant: str) -> tuple[int, str, bool]:
    """`1` → (1, gateway core, False); `2@0-1` → (2, "0,1", False); `2@0-1p`: each worker pinned to one core."""
    workers, _, cpus = variant.partition("@")
    n, one_each = int(workers), cpus.endswith("p")
    cpus = cpus.removesuffix("p").replace("-", ",") or accounting.WORKERS_CPUS
    return n, cpus if n > 1 else str(bench.GATEWAY_CPU), one_each


def pin_workers(parent: int, cpus: str) -> None:
    """Worker i of a `serve --workers N` to the i-th of ``cpus`` (uvicorn's workers are spawned children)."""
    cores = [int(c) for c in cpus.split(",")]
    workers = [pid for pid in procs.tree(parent) if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()]
    for i, pid in enumerate(sorted(workers)):
        for task in Path(f"/proc/{pid}/task").iterdir():  # every thread: the writer's too
            os.sched_setaffinity(int(task.name), {cores[i % len(cores)]})


def start_variant(i: int, variant: str, work: Path, upstream: Target, redis_url: str, db: str) -> tuple[Any, Target]:
    n, cpus, one_each = parse(variant)
    accounting.POSTGRES_URL = SERVER.rsplit("/", 1)[0] + "/" + db  # prepare() makes its schema there
    setup = accounting.prepare("redis", work, bench.onegate_config_text(upstream.base_url), bench.MODEL,
                               bench.PYTHON, redis_url)  # fmt: skip
    data_dir = work / f"ab-{i}-data"
    key = accounting.provision_key(bench.ONEGATE, data_dir, setup, {bench.UPSTREAM_KEY_ENV: bench.UPSTREAM_KEY})
    name = f"onegate+ab{i}"
    args = ("--workers", str(n)) if n > 1 else ()
    p, base = bench.start_onegate(name, data_dir, setup.config, setup.env, args=args, cpu=cpus)
    target = Target(name, base, {"Authorization": f"Bearer {key}"}, p.pid)
    procs.wait_http_ok(p, "GET", base + "/healthz", timeout=120)
    bench.wait_chat_ok(p, target, "/api/v1/chat/completions", timeout=60)
    if one_each:
        pin_workers(p.pid, cpus)
    return p, target


def measure(variant: str, lane_name: str, rnd: int, p: Any, target: Target, db: str, r: redis.Redis) -> dict:
    lane = build_lanes([target], {lane_name})[0]
    procs.wait_idle(p.pid)
    tree = procs.tree(p.pid)
    tx0, cmd0, sw0, io0 = transactions(db), r.info("stats")["total_commands_processed"], switches(tree), io_calls(tree)
    result, use = bench.measure_row(lane, CONCURRENCY, p.pid)
    time.sleep(1.5)  # the writers' last batches of the row
    tx1, cmd1, sw1, io1 = transactions(db), r.info("stats")["total_commands_processed"], switches(tree), io_calls(tree)
    ok = result.rps * result.seconds or 1
    assert use is not None
    return {
        "variant": variant,
        "lane": lane_name,
        "round": rnd,
        "rps": round(result.rps),
        "errors": result.errors,
        "cpu_ms": round(use.cpu_s * 1000 / ok, 3),
        "cores": round(use.cpu_s / result.seconds, 2),
        "pg_tx": round((tx1 - tx0) / ok, 3),
        "redis_cmds": round((cmd1 - cmd0) / ok, 1),
        "vol_cs": round((sw1[0] - sw0[0]) / ok, 2),
        "invol_cs": round((sw1[1] - sw0[1]) / ok, 2),
        "reads": round((io1[0] - io0[0]) / ok, 2),
        "writes": round((io1[1] - io0[1]) / ok, 2),
        "workers": [f"{conns} conns {cpu / result.seconds:.2f} cores" for conns, cpu in use.workers],
    }


def table(rows: list[dict]) -> str:
    lines = [
        "| lane | variant | rps | CPU ms/req | cores | efficiency (paired, median) | PG tx/req | Redis cmds/req "
        "| vol / invol switches/req | read / write syscalls/req "
        "| connections per worker |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for lane in LANES:
        base = {x["round"]: x for x in rows if x["lane"] == lane and x["variant"] == VARIANTS[0]}
        for v in VARIANTS:
            mine = [x for x in rows if x["lane"] == lane and x["variant"] == v]
            if not mine:
                continue

            def med(k: str, mine: list[dict] = mine) -> float:
                return statistics.median(x[k] for x in mine)

            eff = [base[x["round"]]["cpu_ms"] / x["cpu_ms"] for x in mine if x["round"] in base and x["cpu_ms"]]
            spread = "; ".join(
                "/".join(w.split(" conns")[0] for w in x["workers"]) for x in mine if x["workers"]
            )  # fmt: skip
            lines.append(
                f"| {lane} | {v} | {med('rps'):,.0f} | {med('cpu_ms'):.3f} | {med('cores'):.2f} "
                f"| {statistics.median(eff):.0%} ({', '.join(f'{e:.2f}' for e in eff)}) | {med('pg_tx'):.3f} "
                f"| {med('redis_cmds'):.1f} | {med('vol_cs'):.2f} / {med('invol_cs'):.2f} "
                f"| {med('reads'):.2f} / {med('writes'):.2f} | {spread} |"
            )
    return "\n".join(lines) + "\n"


def main() -> int:
    tag = secrets.token_hex(3)
    dbs = [f"onegate_ab_{tag}_{i}" for i in range(len(VARIANTS))]
    started: list[Any] = []
    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="onegate-ab-") as tmp:
        work = Path(tmp)
        try:
            upstream, up_target = bench.start_upstream()
            started.append(upstream)
            redis_url, redis_proc = accounting.start_redis(
                lambda name, argv: procs.start(name, argv, cpu=bench.LOAD_CPU, log_dir=bench.LOGS), procs.free_port
            )
            if redis_proc is not None:
                started.append(redis_proc)
                procs.wait_until(redis_proc, lambda: bench._redis_up(redis_url), timeout=30)
            counter = redis.Redis.from_url(redis_url)
            variants = []
            for i, (variant, db) in enumerate(zip(VARIANTS, dbs, strict=True)):
                _admin(f"CREATE DATABASE {db}")
                p, target = start_variant(i, variant, work, up_target, redis_url, db)
                started.append(p)
                variants.append((variant, p, target, db))
            for _, _, target, _ in variants:  # warm-up, discarded
                for lane in LANES:
                    loadgen.run(build_lanes([target], {lane})[0], CONCURRENCY, 2, cpu=bench.LOAD_CPU)
            bench.SECONDS = SECONDS
            for rnd in range(ROUNDS):
                for lane in LANES:
                    for variant, p, target, db in variants:
                        row = measure(variant, lane, rnd, p, target, db, counter)
                        rows.append(row)
                        print(json.dumps(row), flush=True)
        finally:
            for proc in reversed(started):
                proc.stop()
            for db in dbs:
                _admin(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
    print()
    print(f"{ROUNDS} rounds of {SECONDS:g} s at c={CONCURRENCY}, variants interleaved; efficiency: "
          f"{VARIANTS[0]}'s CPU ms/req ÷ the variant's, per round")  # fmt: skip
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
