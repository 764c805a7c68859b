"""`onegate serve`, plus a way for the soak to count what the process holds from outside.

On SIGUSR1 it appends one JSON line to the file named by ``SOAK_STATS``: open file descriptors (in total and
by kind: sockets, pipes, each file by name), asyncio tasks of the running loop, objects the garbage
collector tracks, and RSS. Everything else is the real
command (``onegate.cli.main.main``), so the soak measures the server users run.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import signal
import sys
from collections import Counter
from pathlib import Path
from types import FrameType


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


def _report(signum: int, frame: FrameType | None) -> None:
    try:
        tasks = len(asyncio.all_tasks(asyncio.get_running_loop()))
    except RuntimeError:  # the loop is not running (yet, or any more)
        tasks = -1
    rss_kib = next(
        int(line.split()[1]) for line in Path("/proc/self/status").read_text().splitlines() if line.startswith("VmRSS:")
    )
    stats = {
        "fds": len(os.listdir("/proc/self/fd")),
        "fd_kinds": _fd_kinds(),
        "tasks": tasks,
        "gc_objects": len(gc.get_objects()),
        "rss_kib": rss_kib,
    }
    with open(os.environ["SOAK_STATS"], "a") as out:
        out.write(json.dumps(stats) + "\n")


if __name__ == "__main__":
    signal.signal(signal.SIGUSR1, _report)
    from onegate.cli.main import main

    sys.argv = ["onegate", "serve", *sys.argv[1:]]
    main()
