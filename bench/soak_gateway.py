"""`onegate serve`, plus a way for the soak to count what the process holds from outside.

On SIGUSR1 it appends one JSON line to the file named by ``SOAK_STATS``: open file descriptors (in total and
by kind: sockets, pipes, each file by name), asyncio tasks of the running loop, objects the garbage
collector tracks (in total and by type), collections so far and the time they took, RSS (and its
anonymous and file-backed parts), where the C heap stands (glibc's ``mallinfo2``: bytes in use, free but
kept, arenas; pymalloc's allocated blocks) and SQLite's own allocations (its page caches). With
``SOAK_TRACEMALLOC=1`` it also traces Python allocations from the start (one frame a trace; slows the
gateway down) and reports the lines that grew most since the baseline, which SIGUSR2 sets. SIGRTMIN runs a
full garbage collection first, then reports. Everything else is the real command (``onegate.cli.main.main``),
so the soak measures the server users run.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import functools
import gc
import json
import os
import signal
import sys
import time
import tracemalloc
from collections import Counter
from pathlib import Path
from types import FrameType
from typing import Any

TRACE = os.environ.get("SOAK_TRACEMALLOC") == "1"
# the baseline as {line: (bytes, blocks)}, not a Snapshot: a snapshot's hundreds of thousands of tuples would
# show up as GC-tracked objects of their own
_baseline: dict[str, tuple[int, int]] = {}
_collected = [-1]  # objects the last full collection (SIGRTMIN) freed; -1: none asked for
_garbage_origins: list[list[Any]] = []  # what the last SIGRTMIN collection freed, by origin
_gc_seconds = [0.0, 0.0, 0.0]  # time spent in collections, by generation (what a GC setting costs)
_gc_started = [0.0]


def _time_gc(phase: str, info: dict[str, int]) -> None:
    if phase == "start":
        _gc_started[0] = time.perf_counter()
    else:
        _gc_seconds[info["generation"]] += time.perf_counter() - _gc_started[0]


class _MallInfo2(ctypes.Structure):  # glibc's struct mallinfo2 (all size_t), summed over every arena
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks")
    ] + [("keepcost", ctypes.c_size_t)]


@functools.cache  # once: a CDLL and its function pointers are cyclic garbage of their own
def _libc() -> Any:
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    libc.mallinfo2.restype = _MallInfo2
    libc.fopen.restype = ctypes.c_void_p
    libc.fopen.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
    libc.fclose.argtypes = [ctypes.c_void_p]
    libc.malloc_info.argtypes = [ctypes.c_int, ctypes.c_void_p]
    return libc


def _malloc() -> dict[str, int]:
    """glibc's heap: `in_use` bytes handed out, `free` bytes it keeps (fragmentation or not yet returned),
    `mmapped` large blocks, and how many arenas (one per thread that malloc'd under contention, up to 8 a core)."""
    try:
        libc = _libc()
    except (OSError, AttributeError):  # not glibc
        return {}
    info = libc.mallinfo2()
    arenas = -1
    # malloc_info writes XML with one <heap nr=…> a arena: count them
    path = f"/tmp/onegate-soak-malloc-{os.getpid()}.xml"
    out = libc.fopen(path.encode(), b"w")
    if out:
        libc.malloc_info(0, out)
        libc.fclose(out)
        arenas = Path(path).read_text().count("<heap nr=")
        os.unlink(path)
    return {
        "in_use": info.uordblks + info.hblkhd,
        "free": info.fordblks,
        "mmapped": info.hblkhd,
        "top_releasable": info.keepcost,
        "arenas": arenas,
    }


@functools.cache
def _sqlite() -> Any:
    lib = ctypes.CDLL("libsqlite3.so.0")
    lib.sqlite3_memory_used.restype = ctypes.c_int64
    return lib


def _sqlite_bytes() -> int:
    """Bytes SQLite has allocated (page caches of every connection, schemas, statements), from the library
    Python's sqlite3 module is linked to (dlopen hands back the loaded copy)."""
    try:
        return int(_sqlite().sqlite3_memory_used())
    except OSError:
        return -1


def _status_kib() -> dict[str, int]:
    fields = {"VmRSS:": "rss_kib", "RssAnon:": "rss_anon_kib", "RssFile:": "rss_file_kib", "RssShmem:": "rss_shmem_kib"}
    out = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        name = line.split(maxsplit=1)[0] if line else ""
        if name in fields:
            out[fields[name]] = int(line.split()[1])
    return out


def _fd_kinds() -> dict[str, int]:
    kinds: Counter[str] = Counter()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:  # the listing's own fd, closed already
            continue
        kind = target.split(":")[0] if target.startswith(("socket:", "pipe:")) else target
        kinds[Path(kind).name if kind.startswith("/") and not kind.startswith("/dev/") else kind] += 1
    return dict(kinds)


def _by_line() -> dict[str, tuple[int, int]]:
    snapshot = tracemalloc.take_snapshot().filter_traces([tracemalloc.Filter(False, tracemalloc.__file__)])
    return {str(s.traceback[0]): (s.size, s.count) for s in snapshot.statistics("lineno")}


def _traced() -> dict[str, Any]:
    out: dict[str, Any] = {
        "traced_kib": tracemalloc.get_traced_memory()[0] // 1024,
        "tracer_kib": tracemalloc.get_tracemalloc_memory() // 1024,
    }
    if _baseline:
        now = _by_line()
        diff = {
            k: (size - _baseline.get(k, (0, 0))[0], n - _baseline.get(k, (0, 0))[1]) for k, (size, n) in now.items()
        }
        growers = sorted(diff.items(), key=lambda kv: kv[1][0], reverse=True)[:15]
        out["top_growers"] = [[where, size // 1024, n] for where, (size, n) in growers]
    return out


def _report(signum: int, frame: FrameType | None) -> None:
    try:
        tasks = len(asyncio.all_tasks(asyncio.get_running_loop()))
    except RuntimeError:  # the loop is not running (yet, or any more)
        tasks = -1
    objects = gc.get_objects()
    by_type = Counter(type(o).__name__ for o in objects)
    stats = {
        "fds": len(os.listdir("/proc/self/fd")),
        "fd_kinds": _fd_kinds(),
        "tasks": tasks,
        "gc_objects": len(objects),
        "gc_by_type": {k: v for k, v in by_type.items() if v >= 20},
        **_status_kib(),
        "py_blocks": sys.getallocatedblocks(),
        "malloc": _malloc(),
        "sqlite_bytes": _sqlite_bytes(),
        "gc_collections": [g["collections"] for g in gc.get_stats()],
        "gc_ms": [round(1000 * t, 1) for t in _gc_seconds],
        "gc_collected": _collected[0],
        "garbage_origins": _garbage_origins,
    }
    del objects
    if TRACE:
        stats["tracemalloc"] = _traced()
    with open(os.environ["SOAK_STATS"], "a") as out:
        out.write(json.dumps(stats) + "\n")


def _set_baseline(signum: int, frame: FrameType | None) -> None:
    if TRACE:
        _baseline.clear()
        _baseline.update(_by_line())


def _collect_and_report(signum: int, frame: FrameType | None) -> None:
    """The last sample: what a full collection finds (cyclic garbage waiting for the oldest generation is
    not a leak), then the counts again."""
    gc.set_debug(gc.DEBUG_SAVEALL)  # keep what the collection finds, to say where it came from
    try:
        _collected[0] = gc.collect()
        _garbage_origins[:] = _origins(gc.garbage)
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.collect()  # what DEBUG_SAVEALL kept is cyclic garbage again
    _report(signum, frame)


def _origins(garbage: list[Any]) -> list[list[Any]]:
    """Where the cyclic garbage comes from: frames by code location (top 15), objects of our own and our
    libraries' classes by class (top 20; builtins say little)."""
    frames: Counter[str] = Counter()
    classes: Counter[str] = Counter()
    for o in garbage:
        if isinstance(o, FrameType):
            frames[f"frame {o.f_code.co_qualname} ({o.f_code.co_filename.rsplit('/', 2)[-1]}:{o.f_lineno})"] += 1
        elif type(o).__module__ not in ("builtins",):
            classes[f"{type(o).__module__}.{type(o).__qualname__}"] += 1
    return [[k, v] for k, v in frames.most_common(15) + classes.most_common(20)]


if __name__ == "__main__":
    if TRACE:
        tracemalloc.start(1)
    gc.callbacks.append(_time_gc)
    signal.signal(signal.SIGUSR1, _report)
    signal.signal(signal.SIGUSR2, _set_baseline)
    signal.signal(signal.SIGRTMIN, _collect_and_report)
    from onegate.cli.main import main

    sys.argv = ["onegate", "serve", *sys.argv[1:]]
    main()
