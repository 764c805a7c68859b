"""Start, pin, probe and stop the processes under test.

Every process is started in its own session (process group) with ``taskset -c CPU`` in front, its
stdout/stderr go to a log file, and it is stopped by signalling exactly that group — never by name.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen
    log_path: Path
    started_at: float  # time.perf_counter() just before spawn
    _log: object = field(repr=False, default=None)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def stop(self, grace: float = 10.0) -> None:
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(grace)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(5)
        if self._log is not None:
            self._log.close()  # type: ignore[attr-defined]
            self._log = None


def start(
    name: str,
    argv: list[str],
    *,
    cpu: int | str | None,  # a core, or a taskset list ("0,1")
    log_dir: Path,
    env: dict[str, str | None] | None = None,  # None removes a variable
    cwd: Path | None = None,
) -> Proc:
    """Spawn ``argv`` pinned to ``cpu`` (``taskset`` execs, so the pid is the program's own)."""
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{name}.log"
    log = open(log_path, "wb")  # noqa: SIM115 - closed in Proc.stop
    full = (["taskset", "-c", str(cpu)] if cpu is not None else []) + argv
    t0 = time.perf_counter()
    popen = subprocess.Popen(
        full,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env={k: v for k, v in {**os.environ, **(env or {})}.items() if v is not None},
        cwd=cwd,
        start_new_session=True,
    )
    return Proc(name, popen, log_path, t0, log)


def http(
    method: str, url: str, body: bytes | None = None, headers: dict[str, str] | None = None, timeout: float = 5.0
) -> tuple[int, bytes]:
    """One request; (status, body). Connection errors raise OSError."""
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def wait_until(proc: Proc, probe, timeout: float = 120.0, interval: float = 0.005) -> float:
    """Poll ``probe()`` (True = ready) until it succeeds; returns seconds since spawn."""
    deadline = time.perf_counter() + timeout
    last_err: Exception | None = None
    while time.perf_counter() < deadline:
        if not proc.alive():
            raise RuntimeError(f"{proc.name} exited with {proc.popen.returncode}; log:\n{proc.log_text()[-3000:]}")
        try:
            if probe():
                return time.perf_counter() - proc.started_at
        except (OSError, ValueError) as e:  # not listening yet / reset / timeout
            last_err = e
        time.sleep(interval)
    raise TimeoutError(f"{proc.name} not ready after {timeout}s ({last_err}); log:\n{proc.log_text()[-3000:]}")


SELFTEST_BODY = json.dumps({"model": "onegate-selftest", "messages": [{"role": "user", "content": "hi"}]}).encode()
KEY_RE = re.compile(r"sk-og-[A-Za-z0-9_-]+")


def wait_first_selftest(
    proc: Proc, base: str, key: str | None, timeout: float = 60.0, request_timeout: float = 5.0
) -> tuple[float, float]:
    """Seconds from spawning `onegate serve` to `/healthz` 200 and to its first `onegate-selftest` chat 200.

    ``key`` None: the server's first key, read from its output (a first start prints it)."""
    state: dict[str, float | str | None] = {"key": key, "healthz": None}

    def probe() -> bool:
        if state["key"] is None:
            found = KEY_RE.search(proc.log_text())
            if found is None:
                return False
            state["key"] = found.group(0)
        if state["healthz"] is None:
            if http("GET", base + "/healthz", timeout=request_timeout)[0] != 200:
                return False
            state["healthz"] = time.perf_counter() - proc.started_at
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {state['key']}"}
        return http("POST", base + "/api/v1/chat/completions", SELFTEST_BODY, headers, request_timeout)[0] == 200

    chat = wait_until(proc, probe, timeout=timeout, interval=0.002)
    return float(state["healthz"] or 0.0), chat


def wait_http_ok(
    proc: Proc,
    method: str,
    url: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 120.0,
    interval: float = 0.005,
) -> float:
    last: list[tuple[int, bytes]] = []

    def probe() -> bool:
        last[:] = [http(method, url, body, headers, timeout=5)]
        return last[0][0] == 200

    try:
        return wait_until(proc, probe, timeout, interval)
    except TimeoutError as e:
        if last:
            raise TimeoutError(f"{e}\nlast answer from {url}: HTTP {last[0][0]} {last[0][1][:500]!r}") from None
        raise


def _children(pid: int) -> list[int]:
    """Direct children of ``pid``, whichever of its threads started them (uvicorn's supervisor spawns
    workers from its main thread, but a child made from another thread is listed under that thread)."""
    found: list[int] = []
    for children in Path(f"/proc/{pid}/task").glob("*/children"):
        with contextlib.suppress(OSError):
            found += [int(p) for p in children.read_text().split()]
    return found


def tree(pid: int) -> list[int]:
    """``pid`` and all its descendants."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(_children(p))
    return out


def rss_kib(pid: int) -> int:
    """Resident set size of ``pid`` and all its descendants, in KiB (from /proc/PID/status VmRSS)."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
                    break
        except OSError:
            continue
        todo.extend(_children(p))
    return total


def own_cpu_seconds(pid: int) -> float:
    """User + system CPU time of ``pid`` alone so far (from /proc/PID/stat); 0 if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of ``pid`` and its descendants so far."""
    return sum(own_cpu_seconds(p) for p in tree(pid))


def cpu_by_process(pid: int) -> dict[int, float]:
    """CPU seconds so far of ``pid`` and of each descendant, by pid (to tell workers apart)."""
    return {p: own_cpu_seconds(p) for p in tree(pid)}


def connections_by_process(port: int, pids: list[int]) -> dict[int, int]:
    """Established TCP connections on local ``port`` held by each of ``pids`` (sockets in /proc/net/tcp*
    matched to the processes' fds): how a listening port's clients are spread over worker processes."""
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                cols = line.split()
                # local address "HEX_IP:HEX_PORT", state 01 = ESTABLISHED, inode column 9
                if cols[3] == "01" and int(cols[1].rsplit(":", 1)[1], 16) == port:
                    inodes.add(cols[9])
    out: dict[int, int] = {}
    for p in pids:
        n = 0
        with contextlib.suppress(OSError):
            for fd in Path(f"/proc/{p}/fd").iterdir():
                with contextlib.suppress(OSError):
                    link = os.readlink(fd)
                    n += link.startswith("socket:[") and link[8:-1] in inodes
        out[p] = n
    return out


def wait_idle(pid: int, busy_below: float = 0.05, window: float = 0.25, max_wait: float = 60.0) -> float:
    """Wait until ``pid`` uses under ``busy_below`` of a core over ``window`` seconds (e.g. after a load
    generator has gone, a slow server may still be working through abandoned requests). Returns seconds waited."""
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < max_wait:
        before = cpu_seconds(pid)
        time.sleep(window)
        if cpu_seconds(pid) - before < busy_below * window:
            break
    return time.perf_counter() - t0
