"""The server's background loop for channels: share state, take CLI commands, probe, write the snapshot.

Every `routing.sync_seconds`: adopt the shared store's marks (Redis), apply `onegate channels enable /
disable` commands, start the probes that are due, and write the snapshot `onegate channels list` reads.
Probes: a channel disabled automatically is probed every `recovery_probe_seconds` and re-enabled by the
first success (a channel disabled by hand stays disabled); with `probe_seconds` set, every channel is
probed that often too, which keeps its success rate and latency fresh without traffic.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from pathlib import Path

from onegate.channels.book import ChannelBook
from onegate.channels.probe import ProbeResult, probe
from onegate.channels.snapshot import read_snapshot, take_commands, write_snapshot
from onegate.channels.state import Marks
from onegate.providers.registry import Target
from onegate.settings import RoutingConfig

log = logging.getLogger("onegate.channels")


class ChannelHealth:
    def __init__(self, book: ChannelBook, channels: dict[str, Target], data_dir: Path, routing: RoutingConfig) -> None:
        self.book = book
        self.channels = channels  # configured channel → what to probe it with
        self.data_dir = data_dir
        self.routing = routing
        self._probed_at: dict[str, float] = {}
        self._probes: set[asyncio.Task[None]] = set()

    async def run_forever(self) -> None:
        if not self.book.store.shared:  # a restart keeps what it knew: disabled channels stay disabled
            snapshot = await asyncio.to_thread(read_snapshot, self.data_dir)
            if snapshot:
                self.book.restore({row["name"]: Marks.from_dict(row) for row in snapshot.get("channels", [])})
        while True:
            try:
                await self.tick()
            except Exception:  # the loop must outlive any one bad tick
                log.exception("channel health tick failed")
            await asyncio.sleep(self.routing.sync_seconds)

    async def tick(self) -> None:
        await self.book.refresh()
        await self.apply_commands()
        self.start_due_probes(time.monotonic())
        await self.write_snapshot()

    async def apply_commands(self) -> None:
        for command in await asyncio.to_thread(take_commands, self.data_dir):
            channel, action = str(command.get("channel")), command.get("action")
            if channel not in self.channels and channel not in self.book.known:
                log.warning("channel command for unknown channel %r ignored", channel)
            elif action == "enable":
                await self.book.enable(channel, "enabled by hand")
            elif action == "disable":
                reason = f": {command['reason']}" if command.get("reason") else ""
                await self.book.disable(channel, str(command.get("why") or f"by hand{reason}"))

    def start_due_probes(self, now: float) -> None:
        wall = time.time()
        for name, target in self.channels.items():
            marks = self.book.marks(name)
            if marks.disabled is not None:
                every: float | None = None if marks.disabled_by_hand else self.routing.recovery_probe_seconds
            else:
                every = self.routing.probe_seconds
            if every is None or now - self._probed_at.get(name, -every) < every:
                continue
            if marks.state(wall) in ("open", "half_open"):
                continue  # live traffic probes an open breaker when its time comes
            self._probed_at[name] = now
            task = asyncio.create_task(self._probe(target, every))
            self._probes.add(task)
            task.add_done_callback(self._probes.discard)

    async def _probe(self, target: Target, every: float) -> None:
        if not await self.book.store.claim(f"background-probe:{target.channel}", every * 0.9):
            return  # another instance probes this channel this round
        result = await probe(target)
        await self.apply_probe(result)

    async def apply_probe(self, result: ProbeResult) -> None:
        channel, book = result.channel, self.book
        if result.verdict == "rate_limited":
            await book.rate_limited(channel, result.retry_after, result.detail)
        elif book.marks(channel).disabled is not None:
            if result.verdict == "ok":
                await book.enable(channel, f"re-enabled: a probe succeeded in {result.latency_ms:.0f} ms")
        elif result.verdict == "ok":
            await book.succeeded(channel, result.latency_ms)
        else:
            await book.failed(channel, f"probe: {result.detail}")

    async def write_snapshot(self) -> None:
        reports = await self.book.reports(self.channels.keys() | self.book.known)
        rows = [r.as_dict() for r in reports]
        await asyncio.to_thread(write_snapshot, self.data_dir, rows, time.time())

    async def stop(self) -> None:
        for task in list(self._probes):
            task.cancel()
        for task in list(self._probes):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        with contextlib.suppress(OSError):
            await self.write_snapshot()
