"""Abnormal spend: a key's or team's spend rate in the recent window over `factor` × its rate in the
baseline window before it. Raised once per subject per cooldown across every instance (a counters
claim), as a database row, a log line and, if configured, a webhook POST.

The webhook never reaches loopback, private, link-local or otherwise non-public addresses unless the
config allows it: the name is resolved once, every answer checked, and the POST connects to the checked
address (accounting/webhook.py), so a name that resolves to a private address, or re-resolves to one
between the check and the connect, is refused too.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from onegate.counters.protocol import Counters
from onegate.counters.windows import minute_of
from onegate.settings import MICROS, AlertsConfig

if TYPE_CHECKING:
    from sqlalchemy import Engine

log = logging.getLogger("onegate.alerts")


@dataclass(frozen=True, slots=True)
class Subject:
    scope: str  # team | key
    id: int
    team_id: int | None  # where its counters live
    name: str


class SpendAlerts:
    def __init__(self, config: AlertsConfig, counters: Counters, engine: Engine, currency: str) -> None:
        self.config = config
        self._counters = counters
        self._engine = engine
        self._currency = currency
        self._seen: dict[Subject, float] = {}  # subjects with spend lately -> when last seen
        self._webhooks: set[asyncio.Task[None]] = set()

    def saw(self, subject: Subject, now: float) -> None:
        """A subject spent something: watch it while its spend is in the recent window."""
        self._seen[subject] = now

    async def check(self, now: float) -> list[dict[str, Any]]:
        """Judge every subject with recent spend; returns the alerts raised by this call."""
        config = self.config
        window, baseline = config.window_minutes, config.baseline_minutes
        current = minute_of(now)
        minutes = list(range(current - window - baseline + 1, current + 1))
        raised = []
        for subject, seen in list(self._seen.items()):
            if seen < now - window * 60:
                del self._seen[subject]
                continue
            spend = await self._counters.spend_minutes(subject.scope, subject.id, subject.team_id, minutes)
            before, recent = sum(spend[:baseline]), sum(spend[baseline:])
            if recent < config.min_spend * MICROS:
                continue
            ratio = (recent / window) / (before / baseline) if before else None
            if ratio is not None and ratio < config.factor:
                continue
            if not await self._counters.claim(f"alert:{subject.scope}:{subject.id}", now, config.cooldown_minutes * 60):
                continue
            raised.append(await self._raise(subject, recent, before, ratio, now))
        return raised

    async def _raise(self, subject: Subject, recent: int, before: int, ratio: float | None, now: float) -> dict:
        config = self.config
        spent = f"{recent / MICROS:.2f} {self._currency} in {config.window_minutes} min"
        versus = (
            f"{ratio:.1f}× its rate over the {config.baseline_minutes} min before"
            if ratio is not None
            else f"with no spend in the {config.baseline_minutes} min before"
        )
        row = {
            "created_at": now,
            "scope": subject.scope,
            "subject_id": subject.id,
            "subject_name": subject.name,
            "recent_micros": recent,
            "baseline_micros": before,
            "ratio": ratio,
            "message": f"Abnormal spend: {subject.scope} {subject.name} spent {spent}, {versus}.",
        }
        from onegate.store.alerts import insert_alert  # SQLAlchemy: off the start-up path (cli/launch.py)

        row["id"] = alert_id = await asyncio.to_thread(insert_alert, self._engine, row)
        log.warning("%s (alert %s)", row["message"], alert_id)
        if config.webhook_url:
            payload = {"type": "onegate.spend_alert", "currency": self._currency, **row}
            task = asyncio.create_task(self._notify(alert_id, payload))
            self._webhooks.add(task)
            task.add_done_callback(self._webhooks.discard)
        return row

    async def _notify(self, alert_id: int, payload: dict[str, Any]) -> None:
        from onegate.accounting.webhook import post_webhook  # aiohttp loads only when an alert is sent

        config = self.config
        assert config.webhook_url is not None
        status = await post_webhook(
            config.webhook_url, payload, config.webhook_allow_private, allow_networks=config.webhook_allow_networks
        )
        if not status.isdigit():
            log.warning("spend alert %s webhook: %s", alert_id, status)
        from onegate.store.alerts import set_webhook_status

        await asyncio.to_thread(set_webhook_status, self._engine, alert_id, status)

    async def run_forever(self) -> None:
        while True:
            await asyncio.sleep(self.config.check_seconds)
            try:
                await self.check(time.time())
            except Exception:
                log.warning("spend alert check failed", exc_info=True)

    async def close(self) -> None:
        if self._webhooks:
            await asyncio.wait(self._webhooks, timeout=5)
