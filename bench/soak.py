"""Soak: hours of traffic in minutes. Does onegate hold on to memory, file descriptors or tasks?

    bench/soak                      # 10 minutes at concurrency 64 (after a 60 s warm-up)
    SOAK_SECONDS=60 bench/soak      # a short look

`onegate serve` (through ``soak_gateway.py``, which adds a SIGUSR1 counter) runs pinned to core 0 with the
fake OpenAI upstream in this process on core 1, and ``SOAK_CONCURRENCY`` clients loop back to back on a
mix of requests: plain chat, streams, clients that hang up mid-stream or before the answer, and upstream
errors (the fake answers some requests with a 500, injected ``SOAK_ERRORS_PER_S`` times a second).
After the warm-up and again at the end, with no request in flight, the gateway idle and ``SOAK_SETTLE``
(35) seconds of quiet (longer than onegate keeps an idle upstream connection, 30 s), it records RSS, open fds (by
kind), asyncio tasks and GC-tracked objects. Pass: RSS grew < ``SOAK_MAX_RSS_MIB`` (10) MiB, tasks and fds
are no higher (SQLite's files may follow its connection pool, within the pool's bound). Every
``SOAK_SAMPLE_EVERY`` (30) seconds under load it also takes a sample, so the report shows whether memory levels
off: RSS (anonymous and file-backed), GC-tracked objects (and which types grew), glibc's heap (in use, free
but kept, arenas), pymalloc's blocks, SQLite's allocations; ``SOAK_TRACEMALLOC=1`` adds the Python lines
whose allocations grew most (tracemalloc slows the gateway; the growth, not the rate, is what counts). Writes
``bench/results/soak-latest.md``; exit 1 on a failed check.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import json
import os
import signal
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp
import procs
from main import BENCH, GATEWAY_CPU, LOAD_CPU, LOGS, PYTHON, RESULTS, ROOT, create_onegate_key, git_rev, say

sys.path.insert(0, str(ROOT))
from tests.fakes.openai_upstream import FakeOpenAIUpstream  # noqa: E402

SECONDS = float(os.environ.get("SOAK_SECONDS", "600"))
WARMUP = float(os.environ.get("SOAK_WARMUP", "60"))
CONCURRENCY = int(os.environ.get("SOAK_CONCURRENCY", "64"))
ERRORS_PER_S = float(os.environ.get("SOAK_ERRORS_PER_S", "5"))
MAX_RSS_MIB = float(os.environ.get("SOAK_MAX_RSS_MIB", "10"))
SETTLE = float(os.environ.get("SOAK_SETTLE", "35"))  # > onegate's keep-alive for idle upstream connections
SAMPLE_EVERY = float(os.environ.get("SOAK_SAMPLE_EVERY", "30"))
TRACEMALLOC = os.environ.get("SOAK_TRACEMALLOC") == "1"
MODEL = "gpt-4o-mini"
MESSAGES = [{"role": "user", "content": "Say hello."}]
# one cycle of the mix per 20 requests: 9 chat, 8 streams, 2 streams the client drops after the first
# chunk, 1 chat the client gives up on before the answer
MIX = ["chat"] * 9 + ["stream"] * 8 + ["drop-stream"] * 2 + ["drop-chat"]


async def one(session: aiohttp.ClientSession, url: str, kind: str, tally: Counter[str]) -> None:
    body = {"model": MODEL, "messages": MESSAGES, "stream": kind.endswith("stream")}
    try:
        if kind == "drop-chat":  # hang up before the answer: the gateway sees a disconnect mid-request
            try:
                async with asyncio.timeout(0.0005):
                    async with session.post(url, json=body) as resp:
                        await resp.read()
                tally["drop-chat answered first"] += 1
            except TimeoutError:
                tally["drop-chat"] += 1
            return
        async with session.post(url, json=body) as resp:
            if kind == "drop-stream" and resp.status == 200:
                await resp.content.readany()  # the first chunk, then close the connection under the stream
                resp.close()
                tally["drop-stream"] += 1
                return
            data = await resp.read()
            ok = resp.status == 200 and (b"data: [DONE]" in data if body["stream"] else b"Hello" in data)
            tally[f"{kind} {resp.status}" if resp.status != 200 else kind if ok else f"{kind} 200 but wrong body"] += 1
    except (aiohttp.ClientError, OSError) as exc:
        tally[f"{kind} {type(exc).__name__}"] += 1


async def drive(url: str, key: str, seconds: float, fake: FakeOpenAIUpstream, sampler: Any = None) -> Counter[str]:
    tally: Counter[str] = Counter()
    deadline = time.monotonic() + seconds
    kinds = itertools.cycle(MIX)
    headers = {"Authorization": f"Bearer {key}"}
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    timeout = aiohttp.ClientTimeout(total=60)

    async def client(session: aiohttp.ClientSession) -> None:
        while time.monotonic() < deadline:
            await one(session, url, next(kinds), tally)

    async def upstream_errors() -> None:
        # 500s only: a 429 would (rightly) cool the only channel down and turn the rest of the mix into 429s
        while True:
            await asyncio.sleep(1 / ERRORS_PER_S)
            if time.monotonic() >= deadline:
                return
            fake.fail_next(500, {"error": {"message": "soak: injected", "type": "server_error", "code": None}})
            tally["injected upstream 500"] += 1

    async with aiohttp.ClientSession(connector=connector, headers=headers, timeout=timeout) as session:
        jobs = [client(session) for _ in range(CONCURRENCY)]
        if ERRORS_PER_S > 0:
            jobs.append(upstream_errors())
        if sampler is not None:
            jobs.append(sampler(deadline))
        await asyncio.gather(*jobs)
    return tally


def _lines(stats_file: Path) -> int:
    return len(stats_file.read_text().splitlines()) if stats_file.exists() else 0


def sample(p: procs.Proc, stats_file: Path, sig: int = signal.SIGUSR1, settle: float = SETTLE) -> dict[str, Any]:
    """Counts from inside the idle gateway (SIGUSR1 → one JSON line), with RSS as the bench reads it.
    SIGRTMIN: after a full garbage collection."""
    procs.wait_idle(p.pid)
    time.sleep(settle)  # every client connection is gone and idle upstream connections have timed out
    before = _lines(stats_file)
    os.kill(p.pid, sig)
    for _ in range(3000):  # tracemalloc's snapshot takes a while
        if _lines(stats_file) > before:
            return {**json.loads(stats_file.read_text().splitlines()[-1]), "rss_tree_kib": procs.rss_kib(p.pid)}
        time.sleep(0.01)
    raise RuntimeError(f"the gateway did not answer SIGUSR1; log:\n{p.log_text()[-2000:]}")


def periodic(p: procs.Proc, stats_file: Path, samples: list[dict[str, Any]]) -> Any:
    """A coroutine for `drive`: a sample every SAMPLE_EVERY seconds under load, appended to `samples` with the
    seconds since the soak started (the gateway answers between requests; the loop here is not blocked)."""

    async def run(deadline: float) -> None:
        t0 = time.monotonic()
        while time.monotonic() + SAMPLE_EVERY < deadline:
            await asyncio.sleep(SAMPLE_EVERY)
            before = _lines(stats_file)
            os.kill(p.pid, signal.SIGUSR1)
            for _ in range(3000):
                await asyncio.sleep(0.01)
                if _lines(stats_file) > before:
                    line = json.loads(stats_file.read_text().splitlines()[-1])
                    samples.append({**line, "t": time.monotonic() - t0})
                    break

    return run


def _mib(kib: int | None) -> str:
    return "-" if kib is None else f"{kib / 1024:,.1f}"


def memory_over_time(
    start: dict[str, Any], samples: list[dict[str, Any]], end: dict[str, Any], collected: dict[str, Any] | None
) -> list[str]:
    """One row a sample: does memory level off, and in which part (Python objects, the C heap, SQLite)?"""
    lines = [
        "## Memory over time",
        "",
        "Idle rows are taken with no request in flight (the check compares the first two); the others under load."
        " The last row is after a full garbage collection: what it frees is cyclic garbage, not a leak.",
        "",
        "| sample | RSS MiB | anon | file | GC objects | pymalloc blocks | malloc in use MiB | malloc free MiB "
        "| arenas | SQLite MiB | traced MiB | GCs by generation | GC ms |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    rows = [("idle, after warm-up", start)] + [(f"{s['t']:.0f} s", s) for s in samples] + [("idle, end", end)]
    if collected is not None:
        rows.append((f"idle, end, after gc.collect() (freed {collected['gc_collected']:,})", collected))
    for name, s in rows:
        m = s.get("malloc", {})
        traced = s.get("tracemalloc", {}).get("traced_kib")
        lines.append(
            f"| {name} | {_mib(s['rss_kib'])} | {_mib(s.get('rss_anon_kib'))} | {_mib(s.get('rss_file_kib'))} "
            f"| {s['gc_objects']:,} | {s.get('py_blocks', 0):,} | {_mib(m.get('in_use', 0) // 1024)} "
            f"| {_mib(m.get('free', 0) // 1024)} | {m.get('arenas', '-')} | {_mib(s.get('sqlite_bytes', 0) // 1024)} "
            f"| {_mib(traced)} | {'/'.join(map(str, s.get('gc_collections', [])))} "
            f"| {sum(s.get('gc_ms', [])):,.0f} |"
        )
    a, b = start.get("gc_by_type", {}), end.get("gc_by_type", {})
    growth = sorted(((b.get(k, 0) - a.get(k, 0), k) for k in {*a, *b}), reverse=True)[:12]
    lines += ["", "GC-tracked objects by type, idle end vs. after warm-up (top growers):", ""]
    lines += ["| type | after warm-up | end | change |", "| --- | ---: | ---: | ---: |"]
    lines += [f"| {k} | {a.get(k, 0):,} | {b.get(k, 0):,} | {d:+,} |" for d, k in growth if d > 0]
    if collected is not None:
        c = collected.get("gc_by_type", {})
        freed = sorted(((b.get(k, 0) - c.get(k, 0), k) for k in b), reverse=True)[:12]
        lines += ["", "What the full collection freed, by type (cyclic garbage waiting for the oldest generation):", ""]
        lines += ["| type | before | after | freed |", "| --- | ---: | ---: | ---: |"]
        lines += [f"| {k} | {b.get(k, 0):,} | {c.get(k, 0):,} | {d:,} |" for d, k in freed if d > 0]
    if collected is not None and collected.get("garbage_origins"):
        lines += ["", "Where that garbage came from (frames by code line, then objects by class):", ""]
        lines += ["| origin | objects |", "| --- | ---: |"]
        lines += [f"| `{where}` | {n:,} |" for where, n in collected["garbage_origins"]]
    growers = end.get("tracemalloc", {}).get("top_growers")
    if growers:
        lines += ["", "tracemalloc, idle end vs. after warm-up (top growers):", ""]
        lines += ["| line | KiB | blocks |", "| --- | ---: | ---: |"]
        lines += [f"| `{where}` | {kib:+,} | {count:+,} |" for where, kib, count in growers]
    return lines + [""]


def report(
    meta: dict[str, str],
    start: dict[str, Any],
    end: dict[str, Any],
    tally: Counter[str],
    samples: list[dict[str, Any]] | None = None,
    collected: dict[str, Any] | None = None,
) -> tuple[str, bool]:
    rss_growth = (end["rss_kib"] - start["rss_kib"]) / 1024
    kinds_a, kinds_b = start["fd_kinds"], end["fd_kinds"]
    grown = {k: kinds_b.get(k, 0) - kinds_a.get(k, 0) for k in kinds_b if kinds_b.get(k, 0) > kinds_a.get(k, 0)}
    # SQLite files are held by pooled connections (SQLAlchemy's QueuePool: at most 15, each with the database,
    # its -wal and its -shm open): a pool that grew by one is not a leak, one past its bound would be
    sqlite = sum(v for k, v in kinds_b.items() if ".db" in k)
    leaked = {k: v for k, v in grown.items() if ".db" not in k}
    checks = {
        f"RSS grew < {MAX_RSS_MIB:g} MiB": rss_growth < MAX_RSS_MIB,
        f"no fd leak (sockets and other fds no higher; grew: {grown or 'none'})": not leaked,
        f"SQLite files within the pool's bound ({sqlite} <= 45)": sqlite <= 45,
        "no task leak": end["tasks"] <= start["tasks"],
    }
    lines = ["# onegate soak", ""] + [f"- {k}: {v}" for k, v in meta.items()]
    lines += ["", "| | after warm-up | end | change |", "| --- | ---: | ---: | ---: |"]
    rows = (("RSS MiB", "rss_kib"), ("open fds", "fds"), ("asyncio tasks", "tasks"), ("GC objects", "gc_objects"))
    for name, field in rows:
        a, b = start[field], end[field]
        scale = 1024 if field == "rss_kib" else 1
        lines.append(f"| {name} | {a / scale:,.1f} | {b / scale:,.1f} | {(b - a) / scale:+,.1f} |")
    lines += ["", "| fds by kind | after warm-up | end |", "| --- | ---: | ---: |"]
    lines += [f"| {k} | {kinds_a.get(k, 0)} | {kinds_b.get(k, 0)} |" for k in sorted({*kinds_a, *kinds_b})]
    served = sum(tally.values()) - sum(v for k, v in tally.items() if k.startswith("injected"))
    lines += ["", f"Requests: {served:,} ({served / float(meta['seconds']):,.0f}/s)", ""]
    lines += [f"- {k}: {v:,}" for k, v in sorted(tally.items())]
    lines += ["", *memory_over_time(start, samples or [], end, collected)]
    lines += ["## Checks", ""] + [f"- {'PASS' if ok else 'FAIL'}: {name}" for name, ok in checks.items()]
    return "\n".join(lines) + "\n", all(checks.values())


def main() -> int:
    os.sched_setaffinity(0, {LOAD_CPU})  # this process is the load generator and the upstream
    LOGS.mkdir(parents=True, exist_ok=True)
    fake = FakeOpenAIUpstream(record=False).start()
    with tempfile.TemporaryDirectory(prefix="onegate-soak-") as tmp:
        work = Path(tmp)
        config = work / "onegate.yaml"
        config.write_text(
            "channels:\n  - name: fake-upstream\n    type: openai\n"
            f"    base_url: {fake.base_url}\n    api_key_env: BENCH_UPSTREAM_KEY\n    models: [{MODEL}]\n"
        )
        data_dir = work / "data"
        key = create_onegate_key(data_dir, config)
        port = procs.free_port()
        stats_file = work / "stats.jsonl"
        argv = [str(PYTHON), str(BENCH / "soak_gateway.py"), "--config", str(config), "--data-dir", str(data_dir)]
        env = {"BENCH_UPSTREAM_KEY": "sk-fake-upstream-bench", "SOAK_STATS": str(stats_file), "PYTHONUNBUFFERED": "1"}
        env["SOAK_TRACEMALLOC"] = "1" if TRACEMALLOC else "0"
        p = procs.start("onegate-soak", [*argv, "--port", str(port)], cpu=GATEWAY_CPU, log_dir=LOGS, env=env)
        try:
            base = f"http://127.0.0.1:{port}"
            procs.wait_http_ok(p, "GET", base + "/healthz", timeout=60)
            url = base + "/api/v1/chat/completions"
            say(f"soak: warm-up {WARMUP:g} s at concurrency {CONCURRENCY}")
            asyncio.run(drive(url, key, WARMUP, fake))
            start = sample(p, stats_file)
            os.kill(p.pid, signal.SIGUSR2)  # tracemalloc's baseline (if on)
            say(f"soak: after warm-up RSS {start['rss_kib']} KiB, {start['gc_objects']} objects; now {SECONDS:g} s")
            samples: list[dict[str, Any]] = []
            t0 = time.monotonic()
            tally = asyncio.run(drive(url, key, SECONDS, fake, periodic(p, stats_file, samples)))
            elapsed = time.monotonic() - t0
            end = sample(p, stats_file)
            say(f"soak: end RSS {end['rss_kib']} KiB, {end['gc_objects']} objects")
            collected = sample(p, stats_file, signal.SIGRTMIN, settle=0)
        finally:
            p.stop()
            fake.stop()
    meta = {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "onegate commit": git_rev(),
        "seconds": f"{elapsed:.0f}",
        "warm-up": f"{WARMUP:g} s",
        "concurrency": str(CONCURRENCY),
        "pinning": f"gateway on core {GATEWAY_CPU}; fake upstream and aiohttp clients on core {LOAD_CPU}",
    }
    if TRACEMALLOC:
        meta["tracemalloc"] = "on (RSS includes the tracer's own memory)"
    text, ok = report(meta, start, end, tally, samples, collected)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "soak-latest.md").write_text(text)
    print(text)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
