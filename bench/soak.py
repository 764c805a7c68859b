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
are no higher (SQLite's files may follow its connection pool, within the pool's bound). Writes
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


async def drive(url: str, key: str, seconds: float, fake: FakeOpenAIUpstream) -> Counter[str]:
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
        await asyncio.gather(*jobs)
    return tally


def sample(p: procs.Proc, stats_file: Path) -> dict[str, Any]:
    """Counts from inside the idle gateway (SIGUSR1 → one JSON line), with RSS as the bench reads it."""
    procs.wait_idle(p.pid)
    time.sleep(SETTLE)  # every client connection is gone and idle upstream connections have timed out
    before = len(stats_file.read_text().splitlines()) if stats_file.exists() else 0
    os.kill(p.pid, signal.SIGUSR1)
    for _ in range(500):
        lines = stats_file.read_text().splitlines() if stats_file.exists() else []
        if len(lines) > before:
            return {**json.loads(lines[-1]), "rss_tree_kib": procs.rss_kib(p.pid)}
        time.sleep(0.01)
    raise RuntimeError(f"the gateway did not answer SIGUSR1; log:\n{p.log_text()[-2000:]}")


def report(meta: dict[str, str], start: dict[str, Any], end: dict[str, Any], tally: Counter[str]) -> tuple[str, bool]:
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
    lines += ["", "## Checks", ""] + [f"- {'PASS' if ok else 'FAIL'}: {name}" for name, ok in checks.items()]
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
        p = procs.start("onegate-soak", [*argv, "--port", str(port)], cpu=GATEWAY_CPU, log_dir=LOGS, env=env)
        try:
            base = f"http://127.0.0.1:{port}"
            procs.wait_http_ok(p, "GET", base + "/healthz", timeout=60)
            url = base + "/api/v1/chat/completions"
            say(f"soak: warm-up {WARMUP:g} s at concurrency {CONCURRENCY}")
            asyncio.run(drive(url, key, WARMUP, fake))
            start = sample(p, stats_file)
            say(f"soak: after warm-up {start}; now {SECONDS:g} s")
            t0 = time.monotonic()
            tally = asyncio.run(drive(url, key, SECONDS, fake))
            elapsed = time.monotonic() - t0
            end = sample(p, stats_file)
            say(f"soak: end {end}")
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
    text, ok = report(meta, start, end, tally)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "soak-latest.md").write_text(text)
    print(text)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
