"""Time to the first chunk of a stream, which wrk cannot see (it times whole responses).

One keep-alive connection, requests back to back (concurrency 1): the time from writing the request to
reading the first piece of the body (the first SSE event), and the time to its end. The client is
Python's http.client, the same for every target, so its own cost cancels out of "added" numbers.
"""

from __future__ import annotations

import http.client
import os
import statistics
import time
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit

from lanes import Lane


@dataclass(frozen=True)
class FirstChunk:
    requests: int
    first_p50_ms: float
    first_p99_ms: float
    whole_p50_ms: float


@contextmanager
def pinned(cpu: int | None):
    """Run the client on the load core, like wrk (and give the caller's affinity back after)."""
    before = os.sched_getaffinity(0)
    if cpu is not None:
        os.sched_setaffinity(0, {cpu})
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


def measure(lane: Lane, requests: int, cpu: int | None) -> FirstChunk:
    url = urlsplit(lane.url)
    headers = {"Content-Type": "application/json", **lane.headers}
    first: list[float] = []
    whole: list[float] = []
    with pinned(cpu):
        conn = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port, timeout=30)
        try:
            for i in range(requests + requests // 10):  # the first tenth warms the connection and caches up
                t0 = time.perf_counter()
                conn.request("POST", url.path, lane.body, headers)
                resp = conn.getresponse()
                chunk = resp.read1()
                t1 = time.perf_counter()
                rest = resp.read()
                t2 = time.perf_counter()
                if resp.status != 200 or (lane.expect and lane.expect not in chunk + rest):
                    raise RuntimeError(f"{lane.target} {lane.workload}: HTTP {resp.status} {(chunk + rest)[:200]!r}")
                if i >= requests // 10:
                    first.append((t1 - t0) * 1000)
                    whole.append((t2 - t0) * 1000)
        finally:
            conn.close()
    q = statistics.quantiles(first, n=100)
    return FirstChunk(len(first), statistics.median(first), q[98], statistics.median(whole))
