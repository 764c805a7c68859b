"""The benchmark: start the fake upstream, onegate and LiteLLM, load each lane with wrk, print a table.

Run it as ``bench/run``. Environment knobs (all optional):

  BENCH_SECONDS=10        measured seconds per (lane, concurrency)
  BENCH_WARMUP=2          warm-up seconds per lane (at the highest concurrency, discarded)
  BENCH_CONCURRENCY=1,64  connections to test
  BENCH_LANES=chat,...    only these workloads (see lanes.py)
  BENCH_SKIP_LITELLM=1    leave LiteLLM out (no install, no start)
  BENCH_STARTUP_RUNS=3    fresh `onegate serve` spawns for the start-to-first-request time
  BENCH_THREE_CHANNELS=1  also run onegate with the model on three channels (routing cost vs one channel)
  BENCH_METRICS=1         also run onegate with Prometheus metrics on (their cost vs off)
  BENCH_GATEWAY_CPU=0     core the gateways are pinned to
  BENCH_LOAD_CPU=1        core the fake upstream and wrk are pinned to
  BENCH_ACCOUNTING=memory,redis  also onegate with teams, prices, limits, reservations (accounting.py)
  BENCH_DURABLE=1         with BENCH_ACCOUNTING: journal every request (durable_writes)
  BENCH_FIRST_CHUNK=300   requests per stream lane for the time to first chunk at concurrency 1 (0: off)
  BENCH_UPSTREAM_DELAY_MS=0  the fake upstream waits this long before each answer (a real vendor's latency:
                          what speculative admission hides; 0: the bare floor)
  BENCH_WORKERS=2         also onegate+redis-w2: `serve --workers 2` on cores BENCH_WORKERS_CPUS (0,1) vs onegate+redis
                          (rps, gateway CPU and scaling efficiency: rps per gateway core of 2 workers ÷ of one)
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import accounting
import firstchunk
import install
import loadgen
import procs
from lanes import MODEL, WORKLOADS, Lane, Target, build_lanes

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RESULTS = BENCH / "results"
LOGS = RESULTS / "logs"
ONEGATE = ROOT / ".venv" / "bin" / "onegate"
PYTHON = ROOT / ".venv" / "bin" / "python"
LITELLM_VENV = BENCH / ".venv-litellm"

SECONDS = float(os.environ.get("BENCH_SECONDS", "10"))
WARMUP = float(os.environ.get("BENCH_WARMUP", "2"))
CONCURRENCY = [int(c) for c in os.environ.get("BENCH_CONCURRENCY", "1,64").split(",") if c.strip()]
ONLY = {w.strip() for w in os.environ.get("BENCH_LANES", "").split(",") if w.strip()} or None
SKIP_LITELLM = os.environ.get("BENCH_SKIP_LITELLM", "") not in ("", "0", "false", "no")
STARTUP_RUNS = int(os.environ.get("BENCH_STARTUP_RUNS", "3"))
THREE_CHANNELS = os.environ.get("BENCH_THREE_CHANNELS", "") not in ("", "0", "false", "no")
METRICS = os.environ.get("BENCH_METRICS", "") not in ("", "0", "false", "no")
GATEWAY_CPU = int(os.environ.get("BENCH_GATEWAY_CPU", "0"))
LOAD_CPU = int(os.environ.get("BENCH_LOAD_CPU", "1"))
FIRST_CHUNK = int(os.environ.get("BENCH_FIRST_CHUNK", "300"))
UPSTREAM_DELAY_MS = float(os.environ.get("BENCH_UPSTREAM_DELAY_MS", "0"))

UPSTREAM_KEY_ENV = "BENCH_UPSTREAM_KEY"
UPSTREAM_KEY = "sk-fake-upstream-bench"
LITELLM_MASTER_KEY = "sk-litellm-bench-master"


def say(msg: str) -> None:
    print(f"bench: {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- processes


def start_upstream(delay_ms: float = UPSTREAM_DELAY_MS) -> tuple[procs.Proc, Target]:
    """The fake upstream on the load core; `delay_ms` before each answer (0: as fast as it goes)."""
    port = procs.free_port()
    p = procs.start(
        "upstream",
        [str(PYTHON), "-m", "tests.fakes.openai_upstream", "--port", str(port), "--delay", repr(delay_ms / 1000)],
        cpu=LOAD_CPU,
        log_dir=LOGS,
        cwd=ROOT,
    )
    base = f"http://127.0.0.1:{port}"
    procs.wait_http_ok(p, "GET", base + "/v1/models", timeout=60)
    return p, Target("upstream", base, {"Authorization": f"Bearer {UPSTREAM_KEY}"}, p.pid)


def onegate_config_text(upstream_base: str, channels: int = 1) -> str:
    """`channels` > 1: the model on that many channels in one tier (to the same upstream), so every
    request goes through the weighted pick, the breaker checks and the concurrency slots of several."""
    return "channels:\n" + "".join(
        f"  - name: fake-upstream{'' if i == 0 else f'-{i + 1}'}\n"
        "    type: openai\n"
        f"    base_url: {upstream_base}/v1\n"
        f"    api_key_env: {UPSTREAM_KEY_ENV}\n"
        f"    models: [{MODEL}]\n"
        for i in range(channels)
    )


def onegate_config(path: Path, upstream_base: str, channels: int = 1) -> Path:
    path.write_text(onegate_config_text(upstream_base, channels))
    return path


def create_onegate_key(data_dir: Path, config: Path) -> str:
    out = subprocess.run(
        [str(ONEGATE), "keys", "create", "--name", "bench", "--data-dir", str(data_dir), "--config", str(config)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, UPSTREAM_KEY_ENV: UPSTREAM_KEY},
    )
    key = out.stdout.strip()
    if not key.startswith("sk-"):
        raise RuntimeError(f"onegate keys create printed no key: {out.stdout!r} {out.stderr!r}")
    return key


def start_onegate(
    name: str,
    data_dir: Path,
    config: Path,
    env: dict[str, str] | None = None,
    args: tuple[str, ...] = (),  # more `onegate serve` options, e.g. ("--workers", "2")
    cpu: int | str | None = GATEWAY_CPU,  # None: not pinned; "0,1": a taskset list (several workers)
) -> tuple[procs.Proc, str]:
    port = procs.free_port()
    p = procs.start(
        name,
        [str(ONEGATE), "serve", "--config", str(config), "--data-dir", str(data_dir), "--port", str(port), *args],
        cpu=cpu,
        log_dir=LOGS,
        env={UPSTREAM_KEY_ENV: UPSTREAM_KEY, "PYTHONUNBUFFERED": "1", **(env or {})},
    )
    return p, f"http://127.0.0.1:{port}"


def start_onegate_target(
    name: str, work: Path, config: Path, args: tuple[str, ...] = (), cpu: int | None = GATEWAY_CPU
) -> tuple[procs.Proc, Target]:
    """A keyed `onegate serve` with its own data dir, checked to serve the lane's model."""
    data_dir = work / f"{name}-data"
    key = create_onegate_key(data_dir, config)
    p, base = start_onegate(name, data_dir, config, args=args, cpu=cpu)
    target = Target(name, base, {"Authorization": f"Bearer {key}"}, p.pid)
    procs.wait_http_ok(p, "GET", base + "/healthz", timeout=60)
    wait_chat_ok(p, target, "/api/v1/chat/completions", timeout=30)
    return p, target


def _redis_up(url: str) -> bool:
    import socket

    host, port = url.removeprefix("redis://").split("/")[0].split(":")
    with contextlib.suppress(OSError), socket.create_connection((host, int(port)), timeout=1) as s:
        s.sendall(b"PING\r\n")
        return s.recv(16).startswith(b"+PONG")
    return False


def start_accounting_targets(work: Path, upstream_base: str, started: list[procs.Proc], cleanups: list) -> list[Target]:
    """onegate with accounting on, one target per BENCH_ACCOUNTING mode (bench/accounting.py)."""
    targets = []
    redis_url = ""
    if any(mode.startswith("redis") for mode in accounting.MODES):
        redis_url, redis = accounting.start_redis(
            lambda name, argv: procs.start(name, argv, cpu=LOAD_CPU, log_dir=LOGS), procs.free_port
        )
        if redis is not None:
            started.append(redis)
            procs.wait_until(redis, lambda: _redis_up(redis_url), timeout=30)
    for mode in accounting.MODES:
        setup = accounting.prepare(mode, work, onegate_config_text(upstream_base), MODEL, PYTHON, redis_url)
        cleanups.append(setup.cleanup)
        data_dir = work / f"onegate-{mode}-data"
        key = accounting.provision_key(ONEGATE, data_dir, setup, {UPSTREAM_KEY_ENV: UPSTREAM_KEY})
        name = f"onegate+{mode}"
        workers = accounting.workers_of(mode)
        many = workers > 1
        p, base = start_onegate(
            name,
            data_dir,
            setup.config,
            setup.env,
            args=("--workers", str(workers)) if many else (),
            cpu=accounting.WORKERS_CPUS if many else GATEWAY_CPU,
        )
        started.append(p)
        target = Target(name, base, {"Authorization": f"Bearer {key}"}, p.pid)
        procs.wait_http_ok(p, "GET", base + "/healthz", timeout=60)
        wait_chat_ok(p, target, "/api/v1/chat/completions", timeout=30)
        targets.append(target)
    return targets


def litellm_config(path: Path, upstream_base: str) -> Path:
    path.write_text(
        "model_list:\n"
        f"  - model_name: {MODEL}\n"
        "    litellm_params:\n"
        f"      model: openai/{MODEL}\n"
        f"      api_base: {upstream_base}/v1\n"
        f"      api_key: os.environ/{UPSTREAM_KEY_ENV}\n"
        "litellm_settings:\n"
        "  telemetry: false\n"
        "  set_verbose: false\n"
        "  json_logs: false\n"
        "  cache: false\n"
        "  callbacks: []\n"
        "  success_callback: []\n"
        "  failure_callback: []\n"
        "  turn_off_message_logging: true\n"
        "general_settings:\n"
        f"  master_key: {LITELLM_MASTER_KEY}\n"
        "  disable_spend_logs: true\n"
        "  disable_error_logs: true\n"
        "  disable_adding_master_key_hash_to_db: true\n"
        "  allow_requests_on_db_unavailable: true\n"
        "  disable_reset_budget: true\n"
        "  background_health_checks: false\n"
    )
    return path


def start_litellm(config: Path, workdir: Path) -> tuple[procs.Proc, Target]:
    port = procs.free_port()
    exe = install.ensure_litellm(LITELLM_VENV)
    env: dict[str, str | None] = {**install.LITELLM_ENV, UPSTREAM_KEY_ENV: UPSTREAM_KEY}
    for var in ("DATABASE_URL", "REDIS_URL", "REDIS_HOST", "STORE_MODEL_IN_DB"):  # no DB, no cache
        env[var] = None
    p = procs.start(
        "litellm",
        [
            str(exe),
            "--config",
            str(config),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--num_workers",
            "1",
            "--telemetry",
            "False",
        ],
        cpu=GATEWAY_CPU,
        log_dir=LOGS,
        env=env,
        cwd=workdir,
    )
    base = f"http://127.0.0.1:{port}"
    return p, Target("litellm", base, {"Authorization": f"Bearer {LITELLM_MASTER_KEY}"}, p.pid)


def wait_chat_ok(p: procs.Proc, target: Target, path: str, timeout: float = 180) -> None:
    body = json.dumps({"model": MODEL, "messages": [{"role": "user", "content": "hi"}]}).encode()
    headers = {"Content-Type": "application/json", **target.headers}
    procs.wait_http_ok(p, "POST", target.base_url + path, body, headers, timeout=timeout, interval=0.2)


# ---------------------------------------------------------------- measurements


def measure_startup(workdir: Path, config: Path, runs: int) -> dict[str, list[float]]:
    """ms from spawning `onegate serve` to /healthz answering and to a served selftest chat request.

    ``cold``: an empty data dir (the database is created, the first key is printed and read from stdout);
    ``warm``: an existing data dir and a key made beforehand.
    """
    out: dict[str, list[float]] = {"cold_healthz": [], "cold_chat": [], "warm_healthz": [], "warm_chat": []}
    warm_dir = workdir / "startup-warm"
    warm_key = create_onegate_key(warm_dir, config)
    for i in range(runs):
        for kind in ("cold", "warm"):
            data_dir = workdir / f"startup-cold-{i}" if kind == "cold" else warm_dir
            p, base = start_onegate(f"onegate-startup-{kind}-{i}", data_dir, config)
            try:
                healthz_s, chat_s = procs.wait_first_selftest(p, base, warm_key if kind == "warm" else None)
                out[f"{kind}_healthz"].append(healthz_s * 1000)
                out[f"{kind}_chat"].append(chat_s * 1000)
            finally:
                p.stop()
    return out


@dataclass
class Usage:
    """What a target's process tree spent during one measured row."""

    cpu_s: float  # CPU seconds of the whole tree (user + system)
    # several busy processes (`serve --workers N`): per worker, (established connections halfway through the
    # row, CPU seconds), busiest first
    workers: list[tuple[int, float]] = field(default_factory=list)


def measure_row(lane: Lane, c: int, pid: int | None) -> tuple[loadgen.Result, Usage | None]:
    """One wrk row, with the CPU the target's process tree used meanwhile (and, for several worker processes,
    how the connections and the CPU were spread over them)."""
    if pid is None:
        return loadgen.run(lane, c, SECONDS, cpu=LOAD_CPU), None
    before = procs.cpu_by_process(pid)
    port = urlsplit(lane.url).port or 80
    spread: dict[int, int] = {}
    halfway = threading.Timer(SECONDS / 2, lambda: spread.update(procs.connections_by_process(port, list(before))))
    halfway.start()
    try:
        r = loadgen.run(lane, c, SECONDS, cpu=LOAD_CPU)
    finally:
        halfway.cancel()
    after = procs.cpu_by_process(pid)
    used = {p: after[p] - before.get(p, 0.0) for p in after}
    total = sum(used.values())
    busy = [p for p in used if total and used[p] >= 0.1 * total]  # leaves out the supervisor and helpers
    workers = sorted(((spread.get(p, 0), used[p]) for p in busy), key=lambda w: -w[1]) if len(busy) > 1 else []
    return r, Usage(total, workers)


def settle(pids: list[int], lane: Lane) -> None:
    """Let the target finish requests a previous wrk run abandoned, so they do not weigh on the next row."""
    for pid in pids:
        waited = procs.wait_idle(pid)
        if waited > 2:
            say(f"{lane.target} kept working {waited:.1f} s after the previous load stopped")


def check_lane(lane: Lane) -> str | None:
    """One request before the load: None if the response is 200 and looks right, else what is wrong."""
    try:
        status, body = procs.http("POST", lane.url, lane.body, lane.headers, timeout=30)
    except OSError as e:
        return f"request failed: {e}"
    if status != 200:
        return f"HTTP {status}: {body[:300]!r}"
    if lane.expect and lane.expect not in body:
        return f"200 but {lane.expect!r} missing from {body[:300]!r}"
    return None


def log_findings(proc: procs.Proc, limit: int = 8) -> list[str]:
    """Lines of a process log that look like errors or warnings (first ``limit``), plus a count."""
    keys = ("Traceback", "ERROR", "Error", "error", "WARNING", "Exception", "exception")
    hits = [ln.strip() for ln in proc.log_text().splitlines() if any(k in ln for k in keys)]
    if not hits:
        return []
    return [f"{proc.name} log ({proc.log_path.relative_to(ROOT)}): {len(hits)} error/warning line(s), first:"] + [
        f"    {h[:240]}" for h in hits[:limit]
    ]


# ---------------------------------------------------------------- report


def fmt(x: float | None, spec: str = ".1f", suffix: str = "") -> str:
    return "n/a" if x is None else f"{x:{spec}}{suffix}"


def cpu_ms(use: Usage | None, r: loadgen.Result) -> float | None:
    """The target's CPU milliseconds per successful response during a row (all its processes)."""
    ok = r.rps * r.seconds
    return use.cpu_s * 1000 / ok if use and ok else None


def cores(use: Usage | None, r: loadgen.Result) -> float | None:
    """How many cores the target kept busy during a row, on average."""
    return use.cpu_s / r.seconds if use and r.seconds else None


def scaling_line(
    t: str,
    base: str,
    w: str,
    c: int,
    results: dict[tuple[str, str, int], loadgen.Result],
    usage: dict[tuple[str, str, int], Usage],
) -> str:
    """N worker processes against one: the raw rps ratio, the gateway CPU each used, and the efficiency
    (rps per gateway core of N workers ÷ that of one) that predicts the ratio on N cores of their own."""
    n = accounting.workers_of(t.removeprefix("onegate+"))
    r_t, r_b = results.get((w, t, c)), results.get((w, base, c))
    u_t, u_b = usage.get((w, t, c)), usage.get((w, base, c))
    head = f"- {w}: {t} ({n} workers) vs {base} at c={c}:"
    if not (r_t and r_b and u_t and u_b and r_t.rps and r_b.rps and u_t.cpu_s and u_b.cpu_s):
        return f"{head} n/a"
    rps_x = r_t.rps / r_b.rps
    cores_t, cores_b = u_t.cpu_s / r_t.seconds, u_b.cpu_s / r_b.seconds
    efficiency = rps_x / (cores_t / cores_b)
    line = (
        f"{head} rps ×{rps_x:.2f} on ×{cores_t / cores_b:.2f} the gateway CPU ({cores_t:.2f} vs {cores_b:.2f} cores, "
        f"{cpu_ms(u_t, r_t):.3f} vs {cpu_ms(u_b, r_b):.3f} ms/req): scaling efficiency {efficiency:.0%}, "
        f"so ≈ {n * efficiency:.2f}× on {n} cores of their own"
    )
    if u_t.workers:
        conns = "/".join(str(k) for k, _ in u_t.workers)
        busy = "/".join(f"{s / r_t.seconds:.2f}" for _, s in u_t.workers)
        line += f"; per worker: {conns} connections, {busy} cores"
    return line


def build_report(
    results: dict[tuple[str, str, int], loadgen.Result],
    lane_errors: dict[tuple[str, str], str],
    memory: dict[str, dict[str, int]],
    startup: dict[str, list[float]],
    meta: dict[str, str],
    workloads: list[str],
    targets: list[str],
    first_chunks: dict[tuple[str, str], firstchunk.FirstChunk] | None = None,
    usage: dict[tuple[str, str, int], Usage] | None = None,
) -> str:
    used = usage or {}
    lines = ["# onegate benchmark", ""]
    lines += [f"- {k}: {v}" for k, v in meta.items()]
    lines += [
        "",
        "| target | lane | c | rps | p50 ms | p99 ms | errors | CPU ms/req | cores |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for w in workloads:
        for c in CONCURRENCY:
            for t in targets:
                if (w, t) in lane_errors:
                    if c == CONCURRENCY[0]:
                        lines.append(f"| {t} | {w} | - | failed | | | {lane_errors[(w, t)][:80]} |")
                    continue
                r = results.get((w, t, c))
                if r is None:
                    continue
                if r.requests == 0:  # nothing completed within the run: latency unknown, above the run length
                    above = f"> {r.seconds * 1000:.0f}"
                    lines.append(f"| {t} | {w} | {c} | 0 | {above} | {above} | {r.errors} | | |")
                    continue
                u = used.get((w, t, c))
                lines.append(
                    f"| {t} | {w} | {c} | {r.rps:,.0f} | {r.p50_ms:.2f} | {r.p99_ms:.2f} | {r.errors} "
                    f"| {fmt(cpu_ms(u, r), '.3f')} | {fmt(cores(u, r), '.2f')} |"
                )

    def p50(t: str, w: str, c: int) -> float | None:
        r = results.get((w, t, c))
        return r.p50_ms if r else None

    def rps(t: str, w: str, c: int) -> float | None:
        r = results.get((w, t, c))
        return r.rps if r and r.rps else None

    def diff(a: float | None, b: float | None) -> float | None:
        return None if a is None or b is None else a - b

    def ratio(a: float | None, b: float | None) -> float | None:
        return None if a is None or not b else a / b

    lo, hi = min(CONCURRENCY), max(CONCURRENCY)
    lines += ["", "## Derived", ""]

    def base_known(_: str) -> bool:
        return "onegate+redis-off" in targets

    for t in (t for t in targets if t.startswith("onegate+") and t != "onegate+metrics"):
        # accounting on PostgreSQL + Redis is judged against the same stack with accounting off
        base = "onegate+redis-off" if t == "onegate+redis" and base_known(t) else "onegate"
        if accounting.workers_of(t.removeprefix("onegate+")) > 1:  # N processes against one, same stack
            base = "onegate+redis"
        state = (
            "accounting off" if t.endswith("-off") else "accounting on" + (", durable" if accounting.DURABLE else "")
        )
        for w in workloads:
            lines.append(
                f"- {w}: {t} ({state}) vs {base}: added p50 at "
                f"c={lo} {fmt(diff(p50(t, w, lo), p50(base, w, lo)), '+.3f', ' ms')}; rps at c={hi} "
                f"{fmt(rps(t, w, hi), ',.0f')} vs {fmt(rps(base, w, hi), ',.0f')} "
                f"({fmt(ratio(rps(t, w, hi), rps(base, w, hi)), '.1%')})"
            )
    for t in (t for t in targets if accounting.workers_of(t.removeprefix("onegate+")) > 1):
        lines += [scaling_line(t, "onegate+redis", w, hi, results, used) for w in workloads]
    for w in workloads:
        lines.append(
            f"- {w}: onegate added p50 at c={lo} vs direct upstream: "
            f"{fmt(diff(p50('onegate', w, lo), p50('upstream', w, lo)), '+.2f', ' ms')}; "
            f"LiteLLM added p50: {fmt(diff(p50('litellm', w, lo), p50('upstream', w, lo)), '+.2f', ' ms')}"
        )

    def p99(t: str, w: str, c: int) -> float | None:
        r = results.get((w, t, c))
        return r.p99_ms if r else None

    for w in workloads:
        lines.append(
            f"- {w}: added p99 at c={lo} vs direct upstream: onegate "
            f"{fmt(diff(p99('onegate', w, lo), p99('upstream', w, lo)), '+.2f', ' ms')}, LiteLLM "
            f"{fmt(diff(p99('litellm', w, lo), p99('upstream', w, lo)), '+.2f', ' ms')}"
        )
    chunks = first_chunks or {}
    for w in workloads:
        up = chunks.get((w, "upstream"))
        if not up:
            continue
        parts = [
            f"{t} {fc.first_p50_ms:.2f} / {fc.first_p99_ms:.2f} ms (added p50 {fc.first_p50_ms - up.first_p50_ms:+.2f})"
            for t in targets
            if t != "upstream" and (fc := chunks.get((w, t)))
        ]
        lines.append(
            f"- {w}: first chunk at c=1, p50 / p99 (http.client, {up.requests} requests): upstream "
            f"{up.first_p50_ms:.2f} / {up.first_p99_ms:.2f} ms; " + "; ".join(parts)
        )
    baselines = {w.name: w.baseline for w in WORKLOADS if w.baseline}
    for w in workloads:
        if (base := baselines.get(w)) in workloads:
            lines.append(
                f"- {w}: added p50 at c={lo} vs {base} on the same gateway (translation vs pass-through): "
                f"onegate {fmt(diff(p50('onegate', w, lo), p50('onegate', base, lo)), '+.2f', ' ms')}, "
                f"LiteLLM {fmt(diff(p50('litellm', w, lo), p50('litellm', base, lo)), '+.2f', ' ms')}"
            )
    for w in workloads:
        lines.append(
            f"- {w}: onegate/LiteLLM rps at c={hi}: "
            f"{fmt(ratio(rps('onegate', w, hi), rps('litellm', w, hi)), '.2f', 'x')}; "
            f"onegate rps as % of upstream: {fmt(ratio(rps('onegate', w, hi), rps('upstream', w, hi)), '.1%')}"
            f" (c={hi}), {fmt(ratio(rps('onegate', w, lo), rps('upstream', w, lo)), '.1%')} (c={lo}); "
            f"LiteLLM: {fmt(ratio(rps('litellm', w, hi), rps('upstream', w, hi)), '.1%')} (c={hi})"
        )
    if "onegate-3ch" in targets:
        for w in workloads:
            lines.append(
                f"- {w}: three channels vs one: p50 at c={lo} "
                f"{fmt(diff(p50('onegate-3ch', w, lo), p50('onegate', w, lo)), '+.3f', ' ms')}, "
                f"rps at c={hi} {fmt(ratio(rps('onegate-3ch', w, hi), rps('onegate', w, hi)), '.1%')} of one channel's"
            )
    if "onegate+metrics" in targets:
        for w in workloads:
            added = diff(p50("onegate+metrics", w, lo), p50("onegate", w, lo))
            lines.append(
                f"- {w}: metrics on vs off: added p50 at c={lo} {fmt(added, '+.3f', ' ms')} "
                f"({fmt(ratio(added, p50('onegate', w, lo)), '+.1%')}), "
                f"rps at c={hi} {fmt(ratio(rps('onegate+metrics', w, hi), rps('onegate', w, hi)), '.1%')} of off"
            )
    for name, m in memory.items():
        lines.append(
            f"- {name} RSS: {m.get('after_start', 0) / 1024:.1f} MiB after start, "
            f"{m.get('after_load', 0) / 1024:.1f} MiB after the load"
        )

    def med(key: str) -> str:
        vals = startup.get(key) or []
        return f"{statistics.median(vals):.0f} ms (min {min(vals):.0f})" if vals else "n/a"

    if startup:
        n = len(startup.get("warm_chat") or [])
        lines.append(
            f"- onegate start to first served request (median of {n}, `onegate-selftest` chat 200): "
            f"{med('warm_chat')} with an existing data dir, {med('cold_chat')} with an empty one; "
            f"/healthz first answered at {med('warm_healthz')} / {med('cold_healthz')}"
        )
    return "\n".join(lines) + "\n"


def git_rev() -> str:
    out = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    dirty = subprocess.run(
        ["git", "-C", str(ROOT), "status", "--porcelain", "--", "src"], capture_output=True, text=True
    ).stdout.strip()
    return (out.stdout.strip() or "?") + (" (src has uncommitted changes)" if dirty else "")


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "?"


# ---------------------------------------------------------------- main


def main() -> int:
    if not ONEGATE.exists():
        raise SystemExit(f"bench: {ONEGATE} missing; run scripts/setup first")
    install.ensure_wrk()
    if not SKIP_LITELLM:
        install.ensure_litellm(LITELLM_VENV)
    if shutil.which("taskset") is None:
        raise SystemExit("bench: taskset missing (util-linux)")
    if LOGS.exists():
        shutil.rmtree(LOGS)
    LOGS.mkdir(parents=True)
    meta = {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "onegate commit": git_rev(),
        "machine": f"{os.cpu_count()} cores, {cpu_model()}",
        "pinning": f"gateway under test on core {GATEWAY_CPU}; fake upstream and wrk on core {LOAD_CPU}",
        "load": f"{install.wrk_version()}, 1 thread, closed loop, {SECONDS:g} s per row after {WARMUP:g} s warm-up",
        "upstream delay": f"{UPSTREAM_DELAY_MS:g} ms before each answer (BENCH_UPSTREAM_DELAY_MS)",
        "litellm": "skipped" if SKIP_LITELLM else install.litellm_version(LITELLM_VENV) + " (1 worker, no DB)",
    }
    started: list[procs.Proc] = []
    cleanups: list = []
    results: dict[tuple[str, str, int], loadgen.Result] = {}
    usage: dict[tuple[str, str, int], Usage] = {}
    lane_errors: dict[tuple[str, str], str] = {}
    memory: dict[str, dict[str, int]] = {}
    findings: list[str] = []
    first_chunks: dict[tuple[str, str], firstchunk.FirstChunk] = {}
    with tempfile.TemporaryDirectory(prefix="onegate-bench-") as tmp:
        work = Path(tmp)
        try:
            upstream, up_target = start_upstream()
            started.append(upstream)
            config = onegate_config(work / "onegate.yaml", up_target.base_url)

            if STARTUP_RUNS > 0:
                say(f"measuring onegate start to first served request ({STARTUP_RUNS} cold + warm spawns)")
                startup = measure_startup(work, config, STARTUP_RUNS)
            else:
                startup = {}

            targets = [up_target]
            og, og_target = start_onegate_target("onegate", work, config)
            started.append(og)
            targets.append(og_target)
            targets += start_accounting_targets(work, up_target.base_url, started, cleanups)

            if THREE_CHANNELS:
                config3 = onegate_config(work / "onegate-3ch.yaml", up_target.base_url, channels=3)
                og3, og3_target = start_onegate_target("onegate-3ch", work, config3)
                started.append(og3)
                targets.append(og3_target)

            if METRICS:
                config_m = work / "onegate-metrics.yaml"
                config_m.write_text(onegate_config_text(up_target.base_url) + "metrics:\n  enabled: true\n")
                ogm, ogm_target = start_onegate_target("onegate+metrics", work, config_m)
                started.append(ogm)
                targets.append(ogm_target)

            if not SKIP_LITELLM:
                say("starting LiteLLM proxy")
                ll, ll_target = start_litellm(litellm_config(work / "litellm.yaml", up_target.base_url), work)
                started.append(ll)
                procs.wait_http_ok(ll, "GET", ll_target.base_url + "/health/liveliness", timeout=240, interval=0.2)
                wait_chat_ok(ll, ll_target, "/v1/chat/completions", timeout=60)
                targets.append(ll_target)

            time.sleep(1)
            for t in targets:
                if t.name != "upstream" and t.pid:
                    memory[t.name] = {"after_start": procs.rss_kib(t.pid)}

            lanes = build_lanes(targets, ONLY)
            for lane in lanes:
                problem = check_lane(lane)
                if problem:
                    say(f"{lane.workload} @ {lane.target}: {problem}")
                    lane_errors[(lane.workload, lane.target)] = problem
                    continue
                pids = [t.pid for t in targets if t.name == lane.target and t.pid]
                if WARMUP > 0:
                    loadgen.run(lane, max(CONCURRENCY), WARMUP, cpu=LOAD_CPU)
                for c in CONCURRENCY:
                    settle(pids, lane)
                    r, use = measure_row(lane, c, pids[0] if pids else None)
                    results[(lane.workload, lane.target, c)] = r
                    if use is not None:
                        usage[(lane.workload, lane.target, c)] = use
                    say(
                        f"{lane.workload:<12} {lane.target:<9} c={c:<3} {r.rps:9,.0f} rps  p50 {r.p50_ms:7.2f} ms  "
                        f"p99 {r.p99_ms:7.2f} ms  errors {r.errors}  CPU {fmt(cpu_ms(use, r), '.3f')} ms/req"
                    )
                    if r.errors:
                        problem = check_lane(lane)
                        say(f"  errors seen; a single request now gives: {problem or 'OK'}")
                    if c == min(CONCURRENCY) and FIRST_CHUNK and lane.workload.endswith("-stream"):
                        settle(pids, lane)
                        fc = firstchunk.measure(lane, FIRST_CHUNK, LOAD_CPU)
                        first_chunks[(lane.workload, lane.target)] = fc
                        say(
                            f"{lane.workload:<12} {lane.target:<9} first chunk p50 {fc.first_p50_ms:.2f} ms  "
                            f"p99 {fc.first_p99_ms:.2f} ms (http.client, c=1)"
                        )

            for t in targets:
                if t.name in memory and t.pid:
                    memory[t.name]["after_load"] = procs.rss_kib(t.pid)
            for p in started:
                if not p.alive():
                    findings.append(f"{p.name} exited during the run with code {p.popen.returncode}")
        finally:
            for p in reversed(started):
                p.stop()
            for cleanup in cleanups:
                cleanup()
        for p in started:
            findings += log_findings(p)

    workloads = list(dict.fromkeys(w for w, _, _ in results) | dict.fromkeys(w for w, _ in lane_errors))
    seen = {t for _, t, _ in results} | {t for _, t in lane_errors}
    order = ("upstream", "onegate", "onegate-3ch", "onegate+metrics", *(f"onegate+{m}" for m in accounting.MODES))
    target_names = [t for t in (*order, "litellm") if t in seen]
    report = build_report(results, lane_errors, memory, startup, meta, workloads, target_names, first_chunks, usage)
    if findings:
        report += "\n## Process log findings\n\n```\n" + "\n".join(findings) + "\n```\n"
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "latest.md").write_text(report)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    (RESULTS / f"{stamp}.md").write_text(report)
    print(report)
    return 1 if lane_errors else 0


if __name__ == "__main__":
    sys.exit(main())
