"""`RequestContext`: the one typed record that travels authenticate → admit → route → forward → record."""

from __future__ import annotations

import asyncio
import itertools
import os
import secrets
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from onegate.accounting.pricing import FREE, Price
from onegate.accounting.usage import Usage
from onegate.apikeys import KeyRecord
from onegate.diagnosis.clients import ClientInfo
from onegate.surfaces import SurfaceId

if TYPE_CHECKING:
    from onegate.accounting.reservations import Reservation

_PROCESS_TAG = secrets.token_hex(5)  # unique per process (many instances share one log table)
_sequence = itertools.count(int(time.time() * 1000) % 0x10_0000_0000)


def _new_process_tag() -> None:
    global _PROCESS_TAG
    _PROCESS_TAG = secrets.token_hex(5)


os.register_at_fork(after_in_child=_new_process_tag)


def new_request_id() -> str:
    """`req_` + a random per-process tag + a counter: unique, sortable within a process, no syscall."""
    return f"req_{_PROCESS_TAG}{next(_sequence):013x}"


@dataclass(slots=True)
class Attempt:
    channel: str
    status: int | None = None
    error: str | None = None
    duration_ms: float = 0.0
    started_at: float = 0.0  # perf_counter when it was sent (traces place the attempt's span with it)

    def as_dict(self) -> dict[str, Any]:
        return {"channel": self.channel, "status": self.status, "error": self.error, "ms": self.duration_ms}


@dataclass(slots=True)
class RequestContext:
    request_id: str
    method: str
    path: str  # as sent, query string included
    headers: dict[str, str]  # lower-case names
    client: ClientInfo
    dialect: SurfaceId
    started: float = field(default_factory=time.perf_counter)
    created_at: float = field(default_factory=time.time)
    key: KeyRecord | None = None
    model_requested: str | None = None
    model_routed: str | None = None
    channel: str | None = None
    stream: bool = False
    status: int = 0
    error_code: str | None = None
    error_message: str | None = None
    first_byte_at: float | None = None
    # perf_counter marks at the end of each phase, for Server-Timing and the log row (observe/timing.py)
    authed_at: float | None = None  # the key is known
    admitted_at: float | None = None  # body read, model resolved, limits checked and reserved
    routed_at: float | None = None  # the first upstream attempt is about to be sent
    upstream_at: float | None = None  # the answering attempt's first byte from the upstream
    # Speculative admission (accounting/speculation.py): the upstream call started before the counters
    # answered; done once admission let the request through. No byte reaches the client before.
    admission: asyncio.Future[None] | None = None
    admission_ms: float | None = None  # the counters' answer, from when the upstream call was started
    admission_wait_ms: float | None = None  # how long the upstream's answer then waited for it
    usage: Usage = field(default_factory=Usage)
    price: Price = FREE
    cost_micros: int = 0
    config_hint: str | None = None  # a diagnosis code (path.*, key.*, model.*): the caller's setup needs a fix
    config_fix: str | None = None  # that fix in words, sent after the code in x-onegate-hint
    peer: str = ""  # the client's address, for slowing down repeated key failures
    attempts: list[Attempt] = field(default_factory=list)
    reservation: Reservation | None = None  # what admission reserved; settled (and cleared) by record
    recorded: bool = False  # the record step ran (once: before the response's last byte, or at the end)
    notes: list[str] = field(default_factory=list)  # what a translation dropped or changed, for support

    def mark_first_byte(self) -> None:
        if self.first_byte_at is None:
            self.first_byte_at = time.perf_counter()

    def elapsed_ms(self) -> float:
        return (time.perf_counter() - self.started) * 1000
