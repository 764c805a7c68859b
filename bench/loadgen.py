"""The load generator: ``wrk`` (one thread, pinned) with a generated Lua script for the POST.

wrk keeps ``-c`` connections busy back to back (closed loop) for ``-d`` seconds and measures each
request from write to the end of the full response, so a streamed (SSE) reply counts when its last
chunk has arrived. The Lua ``done()`` hook prints one machine-readable line that we parse.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from lanes import Lane

_DONE = r"""
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH_RESULT {\"requests\":%d,\"duration_us\":%d,\"bytes\":%d,\"p50_us\":%d,\"p90_us\":%d," ..
    "\"p99_us\":%d,\"max_us\":%d,\"mean_us\":%.1f,\"connect\":%d,\"read\":%d,\"write\":%d,\"status\":%d," ..
    "\"timeout\":%d}\n",
    summary.requests, summary.duration, summary.bytes, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, latency.mean, e.connect, e.read, e.write, e.status, e.timeout))
end
"""


@dataclass(frozen=True)
class Result:
    requests: int  # completed responses, any status
    status_errors: int  # responses with a status outside 2xx/3xx (counted in requests)
    socket_errors: int  # connect/read/write errors and timeouts (not counted in requests)
    seconds: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    bytes: int

    @property
    def errors(self) -> int:
        return self.status_errors + self.socket_errors

    @property
    def rps(self) -> float:
        """Successful responses per second."""
        ok = self.requests - self.status_errors
        return max(ok, 0) / self.seconds if self.seconds else 0.0


def wrk_path() -> str | None:
    return shutil.which("wrk")


def _lua_str(s: str) -> str:
    if not s.isascii():
        raise ValueError(f"header must be ASCII: {s!r}")
    return json.dumps(s)  # ASCII JSON escapes (\" \\ \n \t) are valid Lua escapes


def lua_script(lane: Lane, body_file: Path) -> str:
    lines = [
        'wrk.method = "POST"',
        f'local f = assert(io.open({_lua_str(str(body_file))}, "rb"))',
        'wrk.body = f:read("*a")',
        "f:close()",
    ]
    lines += [f"wrk.headers[{_lua_str(k)}] = {_lua_str(v)}" for k, v in lane.headers.items()]
    return "\n".join(lines) + "\n" + _DONE


def run(lane: Lane, connections: int, seconds: float, *, cpu: int | None, timeout_s: int = 30) -> Result:
    """Run wrk against ``lane`` for ``seconds`` with ``connections`` connections on one thread."""
    with tempfile.TemporaryDirectory(prefix="bench-wrk-") as tmp:
        body_file = Path(tmp) / "body.json"
        body_file.write_bytes(lane.body)
        script = Path(tmp) / "lane.lua"
        script.write_text(lua_script(lane, body_file))
        argv = [
            wrk_path() or "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{max(1, round(seconds))}s",
            f"--timeout={timeout_s}s",
            "-s",
            str(script),
            lane.url,
        ]
        if cpu is not None:
            argv = ["taskset", "-c", str(cpu), *argv]
        out = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + timeout_s + 30)
    for line in out.stdout.splitlines():
        if line.startswith("BENCH_RESULT "):
            d = json.loads(line[len("BENCH_RESULT ") :])
            socket_errors = d["connect"] + d["read"] + d["write"] + d["timeout"]
            return Result(
                d["requests"],
                d["status"],
                socket_errors,
                d["duration_us"] / 1e6,
                d["p50_us"] / 1e3,
                d["p90_us"] / 1e3,
                d["p99_us"] / 1e3,
                d["max_us"] / 1e3,
                d["bytes"],
            )
    raise RuntimeError(f"wrk gave no result (exit {out.returncode}):\n{out.stdout}\n{out.stderr}")
