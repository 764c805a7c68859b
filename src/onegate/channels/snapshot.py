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
from pathlib import Path
from typing import Any

import orjson

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


def queue_command(data_dir: Path, action: str, channel: str, reason: str = "") -> Path:
    folder = commands_dir(data_dir)
    private_dir(folder)
    path = folder / f"{time.time_ns()}-{secrets.token_hex(3)}.json"
    tmp = path.with_suffix(".tmp")
    write_private(tmp, orjson.dumps({"action": action, "channel": channel, "reason": reason}))
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
