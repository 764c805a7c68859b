"""The tail at concurrency 1: interleaved A/B runs of onegate checkouts, and where the slow requests lost time.

    .venv/bin/python bench/tail.py                      # this checkout, 3 rounds of 10 s at c=1
    TAIL_VARIANTS=base=/tmp/base/src,new=src TAIL_ROUNDS=4 .venv/bin/python bench/tail.py

Each variant is a `src` directory (another commit: `git archive COMMIT src | tar -x -C /tmp/base`), run with this
checkout's venv and PYTHONPATH pointing at it. Rounds alternate the variants (ABAB…), so a busy machine weighs on
each alike. Per run, besides wrk's p50/p99 (client side, gateway pinned to core 0, wrk and the fake upstream on
core 1, as bench/run), it reports counts that machine load does not change much:

- the gateway's CPU µs per request, and the share of it not on the event loop's thread (the log writer, mostly);
- the event loop thread's voluntary context switches per request: at c=1 the loop sleeps in epoll about
  twice a request (request in, upstream answer in); every switch beyond that is a wait for the GIL (or a lock);
- from the log rows' `timings` (observe/timing.py), which phase the slowest 1% lost their time in.

Knobs: TAIL_VARIANTS (name=srcdir,...; default this checkout), TAIL_ROUNDS (3), TAIL_SECONDS (10),
TAIL_CONCURRENCY (1), TAIL_LANE (chat), TAIL_ACCOUNTING (unset or `memory`: SQLite accounting as bench/run's
onegate+memory; `redis`, `redis-nospec`: PostgreSQL + Redis as onegate+redis, a private redis-server on the load
core; a variant may name its own after its src: `plain=src:off,spec=src:redis,nospec=src:redis-nospec`),
TAIL_PYSPY (a py-spy binary: record each run with --gil, raw samples per thread in bench/results/logs),
TAIL_UPSTREAM_DELAY_MS (BENCH_UPSTREAM_DELAY_MS, 0: the fake upstream waits this long before each answer, as a real
vendor would: with accounting on Redis, what speculative admission hides), TAIL_PERF=1 (cyclic GC collections per
1000 requests and their length, from uprobes on libpython's gc_collect_main:
`perf probe -x LIB -a gc_collect_main -a 'gc_ret=gc_collect_main%return'`).
"""

from __future__ import annotations

import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import accounting
import loadgen
import procs
from lanes import WORKLOADS, Lane
from main import (
    GATEWAY_CPU,
    LOAD_CPU,
    LOGS,
    PYTHON,
    ROOT,
    UPSTREAM_KEY,
    UPSTREAM_KEY_ENV,
    onegate_config_text,
    start_upstream,
)

ROUNDS = int(os.environ.get("TAIL_ROUNDS", "3"))
SECONDS = float(os.environ.get("TAIL_SECONDS", "10"))
CONCURRENCY = int(os.environ.get("TAIL_CONCURRENCY", "1"))
LANE = os.environ.get("TAIL_LANE", "chat")
ACCOUNTING = os.environ.get("TAIL_ACCOUNTING", "")
PYSPY = os.environ.get("TAIL_PYSPY", "")
UPSTREAM_DELAY_MS = float(os.environ.get("TAIL_UPSTREAM_DELAY_MS", os.environ.get("BENCH_UPSTREAM_DELAY_MS", "0")))
PERF = os.environ.get("TAIL_PERF", "0") not in ("", "0")  # uprobes on gc_collect_main (see writer_lag.py)


def variants() -> list[tuple[str, Path, str]]:
    """(name, src, accounting mode: "" off, or a bench/accounting.py mode) of each `name=src[:mode]`."""
    spec = os.environ.get("TAIL_VARIANTS", f"this={ROOT / 'src'}")
    out = []
    for part in spec.split(","):
        name, _, src = part.partition("=")
        src, _, mode = src.partition(":")
        mode = mode.strip() or ACCOUNTING
        out.append((name.strip(), Path(src.strip()).resolve(), "" if mode == "off" else mode))
    return out


@dataclass
class Threads:
    """CPU seconds and context switches of the gateway's threads, from /proc."""

    cpu: dict[str, float]  # "loop" (the main thread) and "other" (the log writer, mostly) -> CPU seconds
    loop_voluntary: int
    loop_involuntary: int


def threads(pid: int) -> Threads:
    cpu: dict[str, float] = {}
    vol = invol = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            name = "loop" if task.name == str(pid) else "other"  # Python does not name OS threads
            ran_ns = int((task / "schedstat").read_text().split()[0])  # ns on a CPU: finer than stat's ticks
            status = (task / "status").read_text()
        except OSError:
            continue
        cpu[name] = cpu.get(name, 0.0) + ran_ns / 1e9
        if task.name == str(pid):
            for line in status.splitlines():
                if line.startswith("voluntary_ctxt_switches"):
                    vol = int(line.split()[1])
                elif line.startswith("nonvoluntary_ctxt_switches"):
                    invol = int(line.split()[1])
    return Threads(cpu, vol, invol)


def slow_phases(db: Path | str, since: float) -> dict[str, float]:
    """Server-side view of the rows logged after `since`: p50/p99 of `total`, and for the rows above the p99,
    each phase's mean excess over its median (where the slow ones lost their time). `db`: the SQLite file, or
    a PostgreSQL URL."""
    query = "SELECT timings FROM request_logs WHERE created_at >= {} AND timings IS NOT NULL"
    if isinstance(db, str):
        import psycopg

        with psycopg.connect(db) as pg:
            rows = [json.loads(t) for (t,) in pg.execute(query.format("%s"), (since,))]  # type: ignore[arg-type]
    else:
        with sqlite3.connect(db) as conn:
            rows = [json.loads(t) for (t,) in conn.execute(query.format("?"), (since,))]
    if len(rows) < 100:
        return {}
    totals = sorted(r["total"] for r in rows)
    p99 = totals[int(len(totals) * 0.99)]
    slow = [r for r in rows if r["total"] >= p99]
    out = {"server_p50": statistics.median(totals), "server_p99": p99}
    for extra in ("admit_async", "admit_wait"):  # speculative admission: the round trip beside the upstream call
        values = [r[extra] for r in rows if extra in r]
        if values:
            out[f"{extra}_p50"] = statistics.median(values)
            out[f"{extra}_rows"] = len(values) / len(rows)
    for phase in ("auth", "admit", "route", "upstream", "rest"):

        def value(r: dict[str, float], phase: str = phase) -> float:
            if phase == "rest":  # after the upstream's first byte: relay, response, record
                return r["total"] - sum(r.get(p, 0.0) for p in ("auth", "admit", "route", "upstream"))
            return r.get(phase, 0.0)

        med = statistics.median(value(r) for r in rows)
        out[f"slow_{phase}"] = statistics.mean(value(r) for r in slow) - med
    return out


def run_variant(
    name: str, src: Path, mode: str, work: Path, upstream: str, lane_proto: Lane, run_no: int, redis_url: str = ""
) -> dict[str, float]:
    data = work / f"{name}-{run_no}"
    config_text = onegate_config_text(upstream)
    env = {UPSTREAM_KEY_ENV: UPSTREAM_KEY, "PYTHONPATH": str(src), "PYTHONUNBUFFERED": "1"}
    common = ["--data-dir", str(data)]
    setup = None
    if mode:
        setup = accounting.prepare(mode, work, config_text, "gpt-4.1-mini", PYTHON, redis_url)
        config, env = setup.config, {**env, **setup.env}
        onegate = [str(PYTHON), "-m", "onegate"]
        key = _key(onegate, env, common + ["--config", str(config)], accounting=True)
    else:
        config = work / f"{name}-{run_no}.yaml"
        config.write_text(config_text)
        onegate = [str(PYTHON), "-m", "onegate"]
        key = _key(onegate, env, common + ["--config", str(config)], accounting=False)
    port = procs.free_port()
    proc = procs.start(
        f"tail-{name}",
        [*onegate, "serve", "--config", str(config), "--port", str(port), *common],
        cpu=GATEWAY_CPU,
        log_dir=LOGS,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    lane = Lane(lane_proto.workload, "onegate", base + "/api/v1/chat/completions", lane_proto.body,
                {"Content-Type": "application/json", "Authorization": f"Bearer {key}"}, lane_proto.expect)  # fmt: skip
    spy: subprocess.Popen[bytes] | None = None
    try:
        procs.wait_http_ok(proc, "POST", lane.url, lane.body, lane.headers, timeout=60, interval=0.2)
        loadgen.run(lane, CONCURRENCY, 2, cpu=LOAD_CPU)  # warm-up
        procs.wait_idle(proc.pid)
        since = time.time()
        before = threads(proc.pid)
        if PYSPY:
            out = LOGS / f"tail-{name}-{run_no}.pyspy.txt"
            spy = subprocess.Popen(
                [
                    PYSPY,
                    "record",
                    "--format",
                    "raw",
                    "--threads",
                    "--gil",
                    "-r",
                    "200",
                    "-o",
                    str(out),
                    "-d",
                    str(int(SECONDS)),
                    "-p",
                    str(proc.pid),
                ],  # fmt: skip
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        perf = None
        if PERF:
            events = ["-e", "probe_libpython3:gc_collect_main", "-e", "probe_libpython3:gc_ret__return"]
            perf_data = work / f"{name}-{run_no}.perf"
            perf = subprocess.Popen(["perf", "record", "-q", "-o", str(perf_data), *events, "-p", str(proc.pid)])
        result = loadgen.run(lane, CONCURRENCY, SECONDS, cpu=LOAD_CPU)
        after = threads(proc.pid)
        if spy is not None:
            spy.wait(60)
        if perf is not None:
            perf.send_signal(2)
            perf.wait()
    finally:
        proc.stop()  # SIGTERM: the writer flushes every row before the process ends
    database = setup.env.get("ONEGATE_DATABASE_URL") if setup else None
    phases = slow_phases(database or data / "onegate.db", since)
    if setup is not None:
        setup.cleanup()
    requests = max(result.requests, 1)
    cpu = {k: after.cpu.get(k, 0.0) - before.cpu.get(k, 0.0) for k in after.cpu}
    total_cpu = sum(cpu.values())
    out = {
        "rps": result.rps,
        "p50": result.p50_ms,
        "p99": result.p99_ms,
        "errors": result.errors,
        "cpu_us_per_req": total_cpu / requests * 1e6,
        "other_threads_cpu_share": cpu.get("other", 0.0) / total_cpu if total_cpu else 0.0,
        "loop_voluntary_per_req": (after.loop_voluntary - before.loop_voluntary) / requests,
        "loop_involuntary_per_req": (after.loop_involuntary - before.loop_involuntary) / requests,
    }
    out.update(phases)
    if PERF:
        out.update(gc_pauses(work / f"{name}-{run_no}.perf", requests))
    return out


def gc_pauses(data: Path, requests: int) -> dict[str, float]:
    """Cyclic GC collections (any thread) from the uprobes: how many per 1000 requests, and how long."""
    text = subprocess.run(["perf", "script", "-i", str(data), "-F", "tid,time,event"], capture_output=True,
                          text=True, check=True).stdout  # fmt: skip
    began: dict[int, float] = {}
    pauses = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) < 3:
            continue
        tid, when, event = int(parts[0]), float(parts[1].rstrip(":")), parts[2]
        if event.startswith("probe_libpython3:gc_ret"):
            if tid in began:
                pauses.append(when - began.pop(tid))
        elif event.startswith("probe_libpython3:gc_collect_main"):
            began[tid] = when
    return {
        "gc_per_1k": len(pauses) * 1000 / requests,
        "gc_ms_max": max(pauses, default=0.0) * 1e3,
        "gc_ms_per_1k": sum(pauses) * 1e3 * 1000 / requests,
    }


def _key(onegate: list[str], env: dict[str, str], common: list[str], accounting: bool) -> str:
    full_env = {**os.environ, **env}

    def cli(*args: str) -> str:
        return subprocess.run([*onegate, *args, *common], capture_output=True, text=True, check=True,
                              env=full_env).stdout.strip()  # fmt: skip

    if not accounting:
        return cli("keys", "create", "--name", "tail")
    cli("teams", "create", "bench")
    cli("teams", "topup", "bench", "1000000000", "--note", "bench")
    return cli("keys", "create", "--name", "tail", "--team", "bench", "--budget", "1000000000",
               "--budget-period", "monthly")  # fmt: skip


def main() -> None:
    chosen = variants()
    workload = next(w for w in WORKLOADS if w.name == LANE)
    proto = Lane(workload.name, "onegate", "", workload.body, {}, workload.expect)
    results: dict[str, list[dict[str, float]]] = {name: [] for name, _, _ in chosen}
    upstream_rows: list[loadgen.Result] = []
    with tempfile.TemporaryDirectory(prefix="onegate-tail-") as tmp:
        work = Path(tmp)
        up, target = start_upstream(
            UPSTREAM_DELAY_MS
        )  # the same fake upstream, pinned and probed as bench/run starts it
        upstream = target.base_url
        redis_url, redis = "", None
        if any(mode.startswith("redis") for _, _, mode in chosen):
            redis_url, redis = accounting.start_redis(
                lambda name, argv: procs.start(name, argv, cpu=LOAD_CPU, log_dir=LOGS), procs.free_port
            )
            time.sleep(0.5)  # the server listening
        try:
            direct = Lane(workload.name, "upstream", upstream + "/v1/chat/completions", workload.body,
                          target.headers, workload.expect)  # fmt: skip
            for round_no in range(ROUNDS):
                upstream_rows.append(loadgen.run(direct, CONCURRENCY, min(SECONDS, 5), cpu=LOAD_CPU))
                order = chosen if round_no % 2 == 0 else chosen[::-1]
                for name, src, mode in order:
                    row = run_variant(name, src, mode, work, upstream, proto, round_no, redis_url)
                    results[name].append(row)
                    print(f"round {round_no} {name}: " + " ".join(f"{k}={v:.3g}" for k, v in row.items()), flush=True)
        finally:
            up.stop()
            if redis is not None:
                redis.stop()
    up_p50 = statistics.median(r.p50_ms for r in upstream_rows)
    up_p99 = statistics.median(r.p99_ms for r in upstream_rows)
    print(f"\nupstream direct: p50 {up_p50:.3f} ms, p99 {up_p99:.3f} ms (median of {len(upstream_rows)} runs)")
    modes = ", ".join(f"{name}: {mode or 'off'}" for name, _, mode in chosen)
    print(f"c={CONCURRENCY} lane={LANE} accounting ({modes}) rounds={ROUNDS} seconds={SECONDS} "
          f"upstream delay={UPSTREAM_DELAY_MS:g} ms")  # fmt: skip
    keys = list(dict.fromkeys(k for rows in results.values() for r in rows for k in r))
    print("| metric | " + " | ".join(name for name, _, _ in chosen) + " |")
    print("| --- |" + " ---: |" * len(chosen))
    for key in keys:
        cells = []
        for name, _, _ in chosen:
            values = [r[key] for r in results[name] if key in r]
            cells.append(
                " / ".join(f"{v:.3g}" for v in values) + (f" (med {statistics.median(values):.3g})" if values else "")
            )
        print(f"| {key} | " + " | ".join(cells) + " |")
    added = [f"{name} {statistics.median(r['p50'] for r in results[name]) - up_p50:+.3f} ms" for name, _, _ in chosen]
    print("added p50 over the direct upstream (medians): " + ", ".join(added))


if __name__ == "__main__":
    sys.exit(main())
