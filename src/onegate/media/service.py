"""What the video surface and its poller share: the adapters per channel, the task store, billing, callbacks.

One per Gateway. Billing goes through the request path's own accounting: the submit is admitted (limits,
budget, balance) and its reservation becomes the task's (renewed while the task is open, by any
instance); the end state is recorded like a request — a log row and a charge through the writer, the
reservation settled — by whichever poller wins the guarded status change, so exactly once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any

from onegate import errors
from onegate.accounting.pricing import FREE, Price
from onegate.accounting.reservations import Reservation, Reservations
from onegate.accounting.usage import Usage
from onegate.apikeys import KeyRecord
from onegate.context import RequestContext
from onegate.counters.protocol import Lease
from onegate.diagnosis.clients import identify_client
from onegate.media.adapters.base import VideoAdapter
from onegate.media.adapters.selftest_video import SelftestVideoAdapter
from onegate.pipeline.record import record
from onegate.providers.registry import ModelRegistry, Target
from onegate.providers.selftest import SelftestProvider
from onegate.settings import MediaConfig
from onegate.store.writer import LogWriter
from onegate.surfaces import SurfaceId

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from onegate.media.tasks import Task

log = logging.getLogger("onegate.media")
DIALECT: SurfaceId = "openai_videos"
_TASK_CLIENT = identify_client({"user-agent": "onegate-tasks"})


def adapter_for(target: Target) -> VideoAdapter | None:
    """The task API a channel speaks, or None when it serves no video."""
    provider = target.provider
    if isinstance(provider, SelftestProvider):
        return SelftestVideoAdapter() if provider.model.endswith("-video") else None
    if DIALECT not in provider.native_dialects:
        return None
    # imported here: HTTP channels exist only when channels are configured (a bare start stays fast)
    from onegate.providers.http import HttpChannel

    if not isinstance(provider, HttpChannel):
        return None
    if provider.dialect == "gemini":
        from onegate.media.adapters.veo import VeoAdapter

        return VeoAdapter(provider)
    from onegate.media.adapters.openai_videos import OpenAIVideosAdapter

    return OpenAIVideosAdapter(provider)


class Media:
    def __init__(
        self,
        engine: Engine,
        registry: ModelRegistry,
        writer: LogWriter,
        reservations: Reservations,
        config: MediaConfig,
    ) -> None:
        self.engine = engine
        self.registry = registry
        self.writer = writer
        self.reservations = reservations
        self.config = config
        self._adapters: dict[str, VideoAdapter] = {}

    def adapter(self, channel: str, model: str) -> VideoAdapter | None:
        """The adapter of a task's channel (by name; the selftest's by its model)."""
        if channel in self._adapters:
            return self._adapters[channel]
        entry = self.registry.get(model)
        targets = list(entry.targets) if entry else []
        targets += list(self.registry.channels.values())
        for target in targets:
            if target.channel == channel:
                found = adapter_for(target)
                if found is not None:
                    self._adapters[channel] = found
                return found
        return None

    # the end of a task: once ------------------------------------------------------------------------
    def bill(self, task: Task, status: str, seconds: str | None, error: tuple[str, str] | None) -> int:
        """Record the task's end like a request: its log row and charge, and its reservation settled (a
        completed task costs its seconds at its price; a failed one nothing, releasing the hold)."""
        from onegate.media.tasks import settlement_id  # loaded by whoever ended the task (finish)

        ctx = RequestContext(
            request_id=settlement_id(task.id),
            method="TASK",
            path=f"/api/v1/videos/{task.id}",
            headers={},
            client=_TASK_CLIENT,
            dialect=DIALECT,
        )
        ctx.key = KeyRecord(
            id=task.key_id,
            name="",
            key_hash="",
            mask=task.key_mask or "",
            status="active",
            models=None,
            expires_at=None,
            created_at=0.0,
            team_id=task.team_id,
        )
        ctx.model_requested, ctx.model_routed, ctx.channel = task.model, task.upstream_model, task.channel
        ctx.price = price_from(task.price)
        ctx.started = time.perf_counter() - (time.time() - task.created_at)
        ctx.notes.append(f"video task {task.id} {status} (submitted by {task.request_id})")
        if status == "completed":
            ctx.status = 200
            ctx.usage = Usage(video_seconds=_seconds(seconds or task.seconds), reported=True)
        else:
            code, message = error or ("upstream_failed", "the task failed")
            ctx.status = errors.UPSTREAM_BAD_RESPONSE.status if code != "timeout" else errors.UPSTREAM_TIMEOUT.status
            ctx.error_code, ctx.error_message = code, message
        if task.reservation:
            ctx.reservation = Reservation(**task.reservation)
            # this instance settles it: renewed here until settled, and while held, until committed
            self.reservations.adopt(Lease(ctx.reservation.rid, task.key_id, task.team_id))
        record(ctx, self.writer, self.reservations)
        return ctx.cost_micros

    async def finish(
        self,
        task: Task,
        status: str,
        values: dict[str, Any],
        seconds: str | None = None,
        error: tuple[str, str] | None = None,
    ) -> bool:
        """Move an open task to `status`, guarded; the winner bills it and queues its callback."""
        from onegate.media import tasks  # with SQLAlchemy: loaded off the start-up path (cli/launch.py)

        now = time.time()
        values = {**values, "status": status, "completed_at": now, "lease_until": None, "lease_owner": None}
        if error is not None:
            values["error_code"], values["error_message"] = error
        if status == "completed":
            values["progress"] = 100
        won = await asyncio.to_thread(tasks.advance, self.engine, task, values)
        if not won:
            return False
        cost = self.bill(task, status, seconds, error)
        if cost:
            await asyncio.to_thread(tasks.set_cost, self.engine, task.id, cost)
        await asyncio.to_thread(self._queue_callback, task, status)
        return True

    def _queue_callback(self, task: Task, status: str) -> None:
        from onegate.media import webhooks

        url = task.callback_url or webhooks.key_settings(self.engine, task.key_id)[1]
        if url:
            webhooks.enqueue(self.engine, task.id, task.key_id, status, url)

    # reservations of open tasks --------------------------------------------------------------------
    async def renew_forever(self) -> None:
        """Keep the reservations of open tasks alive (any instance may; renewing twice is harmless)."""
        ttl = self.reservations.ttl
        while True:
            await asyncio.sleep(ttl / 3)
            try:
                leases = await asyncio.to_thread(self._open_leases)
                if leases:
                    await self.reservations.counters.renew(leases, time.time() + ttl)
            except Exception:
                log.warning("renewing the reservations of open video tasks failed", exc_info=True)

    def _open_leases(self) -> list[Lease]:
        from onegate.media import tasks  # on a worker thread

        return [
            Lease(t.reservation["rid"], t.key_id, t.team_id)
            for t in tasks.list_tasks(self.engine, limit=100_000, statuses=tasks.OPEN)
            if t.reservation
        ]


def price_from(stored: dict[str, Any] | None) -> Price:
    if not stored:
        return FREE
    fields: dict[str, Any] = {
        k: tuple(tuple(x) for x in v) if isinstance(v, list) else v for k, v in stored.items() if k in Price.__slots__
    }
    fields.setdefault("image_input", fields.get("input", 0))  # as_dict leaves out what equals its default
    fields.setdefault("image_output", fields.get("output", 0))
    return Price(**fields)


def _seconds(value: str | None) -> float:
    try:
        return max(0.0, float(value or 0))
    except ValueError:
        return 0.0
