"""Start-up of `onegate serve`, spawn → first served `onegate-selftest` 200, compared between checkouts.

    .venv/bin/python -m bench.startup [--runs N] [--callgrind] [--modules] TREE [TREE ...]

Each TREE is a checkout with its own ``.venv`` (``scripts/setup`` done, bytecode compiled), e.g. ``/work/main .``.
Every spawn gets an existing data dir with a key made beforehand (bench/run's ``warm`` case); ``--cold``
uses an empty data dir each time (the database is created and the first key read from stdout).

- wall (default): ``--runs`` spawns per tree, interleaved (A B A B …) so machine load falls on all alike; median
  and min of spawn→/healthz and spawn→first selftest 200, in ms. A time: it moves with load.
- ``--callgrind``: one spawn per tree under ``valgrind --tool=callgrind``; the instructions executed from spawn to
  the first selftest 200 (``callgrind_control --dump`` right after it). A count: load does not move it.
- ``--modules``: one spawn per tree; how many modules ``sys.modules`` held when the server stopped after that
  first 200, and the names one tree loaded that the first did not (and the other way round).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench import procs

CONFIG = (
    "channels:\n  - name: fake-upstream\n    type: openai\n    base_url: http://127.0.0.1:9/v1\n"
    "    api_key_env: BENCH_STARTUP_UPSTREAM_KEY\n    models: [gpt-4o-mini]\n"
)
ENV = {"BENCH_STARTUP_UPSTREAM_KEY": "sk-unused"}
# Runs `onegate serve` as the console script does; a thread writes the names in sys.modules to NAMES once the
# file NAMES.go appears (the tool creates it after the first 200; uvicorn's SIGTERM exit skips atexit).
MODULES_MAIN = (
    "import os, sys, threading, time\n"
    "names = sys.argv.pop(1)\n"
    "def _dump():\n"
    "    while not os.path.exists(names + '.go'):\n"
    "        time.sleep(0.01)\n"
    "    with open(names + '.tmp', 'w') as f:\n"
    "        f.write('\\n'.join(sorted(sys.modules)))\n"
    "    os.rename(names + '.tmp', names)\n"
    "threading.Thread(target=_dump, daemon=True).start()\n"
    "from onegate.cli.main import main\n"
    "sys.exit(main())\n"
)


class Tree:
    def __init__(self, root: Path, work: Path, cold: bool) -> None:
        self.root = root.resolve()
        self.python = self.root / ".venv" / "bin" / "python"
        self.onegate = self.root / ".venv" / "bin" / "onegate"
        self.work = work / self.root.name
        self.config = self.work / "onegate.yaml"
        self.work.mkdir(parents=True)
        self.config.write_text(CONFIG)
        self.cold = cold
        self.spawns = 0
        self.key = None if cold else self._create_key(self.work / "data")

    def _create_key(self, data_dir: Path) -> str:
        out = subprocess.run(
            [
                str(self.onegate),
                "keys",
                "create",
                "--name",
                "bench",
                "--data-dir",
                str(data_dir),
                "--config",
                str(self.config),
            ],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, **ENV},
        )
        return out.stdout.strip()

    def spawn(self, prefix: list[str], program: list[str]) -> tuple[procs.Proc, str]:
        self.spawns += 1
        data_dir = self.work / (f"data-{self.spawns}" if self.cold else "data")
        port = procs.free_port()
        argv = [
            *prefix,
            *program,
            "serve",
            "--config",
            str(self.config),
            "--data-dir",
            str(data_dir),
            "--port",
            str(port),
        ]
        p = procs.start(
            f"startup-{self.root.name}-{self.spawns}", argv, cpu=None, log_dir=self.work, env=dict(ENV), cwd=self.work
        )
        return p, f"http://127.0.0.1:{port}"


def wall(trees: list[Tree], runs: int) -> None:
    times: dict[Path, list[tuple[float, float]]] = {t.root: [] for t in trees}
    for _ in range(runs):
        for t in trees:
            p, base = t.spawn([], [str(t.onegate)])
            try:
                times[t.root].append(procs.wait_first_selftest(p, base, t.key))
            finally:
                p.stop()
    print(f"wall ms, {runs} spawns per tree interleaved ({'empty' if trees[0].cold else 'existing'} data dir):")
    for root, rows in times.items():
        h = [r[0] * 1000 for r in rows]
        c = [r[1] * 1000 for r in rows]
        print(
            f"  {root}: /healthz median {statistics.median(h):.0f} (min {min(h):.0f}); "
            f"first selftest 200 median {statistics.median(c):.0f} (min {min(c):.0f})"
        )


def callgrind(t: Tree) -> int:
    out = t.work / "cg.out"
    p, base = t.spawn(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}"], [str(t.onegate)])
    try:
        procs.wait_first_selftest(p, base, t.key, timeout=600, request_timeout=120)
        subprocess.run(["callgrind_control", "--dump", str(p.pid)], check=True, capture_output=True)
    finally:
        p.stop(grace=60)
    dumps = sorted(t.work.glob("cg.out.*"), key=lambda f: f.stat().st_mtime)
    if keep := os.environ.get("BENCH_STARTUP_KEEP"):  # a path: keep the dump there, for callgrind_annotate
        shutil.copy(dumps[0], keep)
    for line in dumps[0].read_text().splitlines():
        if line.startswith(("summary:", "totals:")):
            return int(line.split()[1])
    raise RuntimeError(f"no totals in {dumps[0]}")


def modules(t: Tree) -> list[str]:
    names = t.work / "modules.txt"
    p, base = t.spawn([], [str(t.python), "-c", MODULES_MAIN, str(names)])
    try:
        procs.wait_first_selftest(p, base, t.key)
        Path(f"{names}.go").touch()
        procs.wait_until(p, names.exists, timeout=10)
    finally:
        p.stop()
    return names.read_text().split()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("trees", nargs="+", type=Path)
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--cold", action="store_true", help="an empty data dir for every spawn")
    ap.add_argument("--callgrind", action="store_true")
    ap.add_argument("--modules", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
        trees = [Tree(root, Path(tmp) / str(i), args.cold) for i, root in enumerate(args.trees)]
        if args.callgrind:
            for t in trees:
                print(f"callgrind {t.root}: {callgrind(t):,} instructions spawn → first selftest 200", flush=True)
        elif args.modules:
            first = set(modules(trees[0]))
            print(f"modules {trees[0].root}: {len(first)}")
            for t in trees[1:]:
                these = set(modules(t))
                print(f"modules {t.root}: {len(these)}")
                print(f"  only in {trees[0].root}: {' '.join(sorted(first - these))}")
                print(f"  only in {t.root}: {' '.join(sorted(these - first))}")
        else:
            wall(trees, args.runs)


if __name__ == "__main__":
    sys.exit(main())
