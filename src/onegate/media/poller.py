"""The poller: every tick, claim the due open tasks (one indexed query), poll each upstream, and move
each task on — the next poll time with backoff (the upstream's `openai-poll-after-ms` / `Retry-After`
when it gives one), or its end state (once, see service.py). A task older than the configured limit
ends `failed` with code `timeout`. Due callbacks are claimed and sent the same way.

Leases make this safe across instances and restarts: a claimed task is leased for `lease_seconds`; if
its instance dies (kill -9) the lease runs out and another instance (or the restarted one) claims it.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from importlib import import_module
from typing import TYPE_CHECKING

from onegate.media.adapters.base import Polled, Refused
from onegate.media.service import Media
from onegate.providers.protocol import UpstreamTransportError

if TYPE_CHECKING:
    from onegate.media.tasks import Task
    from onegate.media.webhooks import Delivery

log = logging.getLogger("onegate.media")


class Poller:
    def __init__(self, media: Media) -> None:
        self.media = media
        self.config = media.config
        self.owner = "poller_" + secrets.token_hex(6)

    async def run_forever(self) -> None:
        # the task store's modules import SQLAlchemy: after a first sleep (the server's first answers go without
        # it, app.load_store) and on a worker thread, so the event loop answers meanwhile
        await asyncio.sleep(min(self.config.poll_seconds, 1.0))
        await asyncio.to_thread(import_module, "onegate.media.webhooks")
        while True:
            try:
                await self.round()
            except Exception:
                log.warning("video task poll round failed", exc_info=True)
            await asyncio.sleep(min(self.config.poll_seconds, 1.0))

    async def round(self) -> int:
        """One round: poll what is due, send the callbacks that are due. Returns the tasks polled."""
        from onegate.media import tasks, webhooks

        now = time.time()
        engine = self.media.engine
        claimed = await asyncio.to_thread(
            tasks.claim_due, engine, self.owner, now, self.config.lease_seconds, self.config.claim_batch
        )
        await asyncio.gather(*(self.poll_one(task) for task in claimed))
        due = await asyncio.to_thread(webhooks.claim_due, engine, time.time(), self.config.callback_timeout * 2)
        await asyncio.gather(*(self.deliver(d) for d in due))
        return len(claimed)

    def delay(self, task: Task, hint: float | None) -> float:
        """The upstream's hint when it gave one; else the base interval growing 1.5× a poll, capped."""
        if hint is not None:
            return max(0.05, hint)
        return min(self.config.max_poll_seconds, self.config.poll_seconds * 1.5 ** min(task.polls, 20))

    async def poll_one(self, task: Task) -> None:
        media, now = self.media, time.time()
        if now - task.created_at > self.config.task_timeout_minutes * 60:
            limit = f"{self.config.task_timeout_minutes:g} minutes"
            await media.finish(task, "failed", {}, error=("timeout", f"The video task did not finish within {limit}."))
            return
        adapter = media.adapter(task.channel, task.model)
        if adapter is None:
            why = f"The channel '{task.channel}' that runs this task is no longer configured."
            await media.finish(task, "failed", {}, error=("channel_gone", why))
            return
        try:
            polled = await adapter.poll(task.upstream_id, task.upstream_data)
        except Refused as exc:
            if not exc.channel_fault:  # the upstream no longer knows the task, or refuses it for good
                await media.finish(task, "failed", {}, error=(exc.error.kind.code, exc.error.message))
                return
            await self._later(task, exc.retry_after)
            return
        except (UpstreamTransportError, TimeoutError) as exc:
            log.info("polling %s on %s failed: %s", task.id, task.channel, exc)
            await self._later(task, None)
            return
        await self.apply(task, polled)

    async def apply(self, task: Task, polled: Polled) -> None:
        from onegate.media import tasks

        values = {"progress": polled.progress, "upstream_data": tasks.dumps({**task.upstream_data, **polled.data})}
        if polled.expires_at:
            values["expires_at"] = polled.expires_at
        if polled.size:
            values["size"] = polled.size
        if polled.seconds:
            values["seconds"] = polled.seconds
        if polled.status in tasks.TERMINAL:
            error = (
                (polled.error_code or "upstream_failed", polled.error_message or "")
                if polled.status == "failed"
                else None
            )
            await self.media.finish(task, polled.status, values, polled.seconds, error)
            return
        values.update(
            status=polled.status,
            polls=task.polls + 1,
            next_poll_at=time.time() + self.delay(task, polled.poll_after),
            lease_until=None,
            lease_owner=None,
        )
        await asyncio.to_thread(tasks.advance, self.media.engine, task, values, self.owner)

    async def _later(self, task: Task, hint: float | None) -> None:
        from onegate.media import tasks

        values = {
            "polls": task.polls + 1,
            "next_poll_at": time.time() + self.delay(task, hint),
            "lease_until": None,
            "lease_owner": None,
        }
        await asyncio.to_thread(tasks.advance, self.media.engine, task, values, self.owner)

    async def deliver(self, delivery: Delivery) -> str:
        from onegate.media import webhooks

        engine = self.media.engine
        secret, _ = await asyncio.to_thread(webhooks.key_settings, engine, delivery.key_id)
        if secret is None:
            secret = await asyncio.to_thread(webhooks.rotate_secret, engine, delivery.key_id)
        outcome = await webhooks.send(delivery, secret, self.config)
        return await asyncio.to_thread(
            webhooks.record_attempt, engine, delivery, outcome, self.config.callback_retries, time.time()
        )
