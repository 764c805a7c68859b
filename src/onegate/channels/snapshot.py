"""How a single onegate process and the `onegate channels` command talk without Redis: files in the data dir.

The server writes `channels/state.json` every `routing.sync_seconds` (and at shutdown); the CLI reads it.
The CLI drops commands (enable / disable) into `channels/commands/`; the server applies and deletes them
on its next tick. With Redis configured both sides use Redis instead, and every instance sees the change.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import orjson

from onegate.channels.state import Marks, Window
from onegate.store.private import private_dir, write_private


def state_path(data_dir: Path) -> Path:
    return data_dir / "channels" / "state.json"


def commands_dir(data_dir: Path) -> Path:
    return data_dir / "channels" / "commands"


def write_snapshot(data_dir: Path, channels: list[dict[str, Any]], now: float) -> None:
    path = state_path(data_dir)
    private_dir(path.parent)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    write_private(tmp, orjson.dumps({"written_at": now, "pid": os.getpid(), "channels": channels}))
    tmp.replace(path)  # atomic: the CLI never reads half a file


def read_snapshot(data_dir: Path) -> dict[str, Any] | None:
    try:
        data = orjson.loads(state_path(data_dir).read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None
    return data if isinstance(data, dict) else None


def queue_command(data_dir: Path, action: str, channel: str, reason: str = "", why: str | None = None) -> Path:
    """`why`, when given, is the whole text the channel's marks keep (else `by hand: REASON`)."""
    folder = commands_dir(data_dir)
    private_dir(folder)
    path = folder / f"{time.time_ns()}-{secrets.token_hex(3)}.json"
    tmp = path.with_suffix(".tmp")
    write_private(tmp, orjson.dumps({"action": action, "channel": channel, "reason": reason, "why": why}))
    tmp.replace(path)
    return path


def take_commands(data_dir: Path) -> list[dict[str, Any]]:
    """The queued commands, oldest first; each is deleted once read."""
    folder = commands_dir(data_dir)
    if not folder.is_dir():
        return []
    commands = []
    for path in sorted(folder.glob("*.json")):
        with contextlib.suppress(OSError, orjson.JSONDecodeError):
            commands.append(orjson.loads(path.read_bytes()))
        path.unlink(missing_ok=True)
    return commands


class SnapshotChannelStore:
    """A running single instance's channel state, seen from another process (the CLI) through the files:
    reads come from the last snapshot, an enable or disable is queued as a command the server applies.
    Only what a `ChannelBook` needs for reports, enable and disable; outcomes are the server's to count."""

    shared = True  # the book adopts the snapshot's marks on refresh

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.snapshot = read_snapshot(data_dir)
        rows = self.snapshot.get("channels", []) if self.snapshot else []
        self._rows: dict[str, dict[str, Any]] = {str(r.get("name")): r for r in rows if isinstance(r, dict)}

    async def windows(self, channels: Iterable[str], now: float) -> dict[str, Window]:
        del now  # as of the snapshot
        rows = {name: self._rows.get(name, {}) for name in channels}
        return {
            name: Window(int(r.get("successes", 0)), int(r.get("failures", 0)), float(r.get("latency_ms", 0)))
            for name, r in rows.items()
        }

    async def load_marks(self) -> dict[str, Marks]:
        return {name: Marks.from_dict(row) for name, row in self._rows.items()}

    async def save_marks(self, channel: str, marks: Marks) -> None:
        action = "enable" if marks.disabled is None else "disable"
        queue_command(self.data_dir, action, channel, why=marks.disabled)

    async def clear_window(self, channel: str) -> None:
        del channel  # the server clears its own window when it applies the command

    async def add_success(self, channel: str, latency_ms: float, now: float) -> None:
        raise RuntimeError("the snapshot is read-only: outcomes are counted by the server")

    async def add_failure(self, channel: str, now: float) -> Window:
        raise RuntimeError("the snapshot is read-only: outcomes are counted by the server")

    async def claim(self, token: str, seconds: float) -> bool:
        return False  # probes are the server's

    async def close(self) -> None:
        return None
