"""Keys, teams and prices in memory, kept fresh: the hot path reads them without touching the database.

Each part is reloaded when its fingerprint in the database changes, checked every `interval` seconds,
and at once when another instance or the CLI publishes a change over Redis (counters/pubsub.py). A
reload of teams also hands every team's database balance to the counters (a newer version wins), which
is how top-ups reach admission.
"""

from __future__ import annotations

import asyncio
import logging
import time
from importlib import import_module
from typing import TYPE_CHECKING

from onegate.accounting.periods import period_bounds
from onegate.accounting.pricing import Price
from onegate.apikeys import KeyRecord
from onegate.counters.protocol import Counters
from onegate.counters.pubsub import TOPICS
from onegate.keys.cache import KeyCache
from onegate.outages import Outage
from onegate.providers.registry import ModelRegistry
from onegate.store.rows import TeamRecord

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from onegate.settings import PriceConfig
    from onegate.store.quickread import Snapshot

log = logging.getLogger("onegate.directory")


class Directory:
    def __init__(
        self,
        engine: Engine,
        keys: KeyCache,
        registry: ModelRegistry,
        counters: Counters,
        database: Outage | None = None,
    ) -> None:
        self._engine = engine
        self._database = database or Outage("the database", log)
        self.keys = keys
        self._registry = registry
        self._counters = counters
        self._teams: dict[int, TeamRecord] = {}
        self._revisions: dict[str, object] = {}
        self._pushed: dict[int, int] = {}  # team id -> balance version last handed to the counters
        self._periods: dict[int, tuple[str, str, float]] = {}  # key id -> (kind, period, end)
        # (key id, period) this process handed to the counters: not preloaded again when keys change (if
        # the counters lose it, admission answers key_unknown and `load_key_spend` reloads it)
        self._preloaded: set[tuple[int, str]] = set()
        self._lock = asyncio.Lock()

    def team(self, team_id: int) -> TeamRecord | None:
        return self._teams.get(team_id)

    # loading ---------------------------------------------------------------------------------------
    def preload(self, snapshot: Snapshot) -> list[TeamRecord]:
        """What `_load` would have loaded, as start-up read it (store/quickread.py). Returns the teams."""
        self._set_teams(snapshot.teams, snapshot.teams_revision)
        self._set_prices(snapshot.prices, snapshot.prices_revision)
        self.keys.preload(snapshot.keys, snapshot.keys_revision)
        return snapshot.teams

    def _set_teams(self, teams: list[TeamRecord], revision: object) -> None:
        self._teams = {t.id: t for t in teams}
        self._revisions["teams"] = revision

    def _set_prices(self, prices: dict[str, PriceConfig], revision: object) -> None:
        self._registry.reprice({m: Price.from_config(p) for m, p in prices.items()})
        self._revisions["prices"] = revision

    def _load(self, topics: tuple[str, ...]) -> tuple[list[TeamRecord] | None, bool]:
        """Blocking: reload what changed. Returns (teams if reloaded, keys reloaded?)."""
        from onegate.store.prices import list_prices, prices_revision  # SQLAlchemy: imported on this thread
        from onegate.store.teams import list_teams, teams_revision

        teams = None
        keys_changed = False
        if "teams" in topics:
            revision = teams_revision(self._engine)
            if revision != self._revisions.get("teams"):
                teams = list_teams(self._engine)
                self._set_teams(teams, revision)
        if "prices" in topics:
            revision = prices_revision(self._engine)
            if revision != self._revisions.get("prices"):
                self._set_prices(list_prices(self._engine), revision)
        if "keys" in topics:
            before = self.keys.revision
            self.keys.load()
            keys_changed = self.keys.revision != before
        return teams, keys_changed

    async def refresh(self, topic: str | None = None) -> None:
        """Reload `topic` (every part when None) if it changed, and pass balances on to the counters."""
        async with self._lock:  # a push and the poll at once: one reload
            teams, keys_changed = await asyncio.to_thread(self._load, TOPICS if topic is None else (topic,))
            await self._hand_over(teams, keys_changed)

    async def start(self, snapshot: Snapshot | None) -> None:
        """Start-up's load: from `snapshot` if start-up read one without SQLAlchemy, else from the database."""
        if snapshot is None:
            await self.refresh()
            return
        async with self._lock:
            await self._hand_over(self.preload(snapshot), True)

    async def _hand_over(self, teams: list[TeamRecord] | None, keys_changed: bool) -> None:
        for team in teams or ():
            if self._pushed.get(team.id) != team.balance_version:
                await self._counters.set_balance(team.id, team.balance_micros, team.balance_version)
                self._pushed[team.id] = team.balance_version
        if keys_changed:
            await self._load_key_spend(self.keys.all(), time.time(), skip_loaded=True)

    async def _load_key_spend(self, keys: list[KeyRecord], now: float, skip_loaded: bool = False) -> None:
        """Hand the counters each budgeted key's spend in its current period (one query per period); the
        counters keep a spend they already have (it may hold charges the database does not have yet)."""
        by_period: dict[tuple[str, float, float], list[KeyRecord]] = {}
        for key in keys:
            if key.budget_micros is not None and key.budget_period is not None:
                bounds = period_bounds(key.budget_period, now)
                if not (skip_loaded and (key.id, bounds[0]) in self._preloaded):
                    by_period.setdefault(bounds, []).append(key)
        for (period, start, end), members in by_period.items():
            spent = await asyncio.to_thread(_key_spend_since, self._engine, [k.id for k in members], start)
            for key in members:
                await self._counters.load_key_spend(
                    key.id, key.team_id, period, spent.get(key.id, 0), end - now + 86400
                )
                self._preloaded.add((key.id, period))

    def key_period(self, key: KeyRecord, now: float) -> tuple[str, float]:
        """The key's budget period (name, end); ("", now) without a budget. No I/O."""
        if key.budget_micros is None or key.budget_period is None:
            return "", now
        cached = self._periods.get(key.id)
        if cached is not None and cached[0] == key.budget_period and now < cached[2]:
            return cached[1], cached[2]
        period, _, end = period_bounds(key.budget_period, now)
        self._periods[key.id] = (key.budget_period, period, end)
        return period, end

    async def load_key_spend(self, key: KeyRecord, now: float) -> None:
        """The counters have no spend for the key's period (a new key or period, or Redis restarted
        empty): from the database."""
        await self._load_key_spend([key], now)

    async def load_team(self, team_id: int) -> TeamRecord | None:
        """A team the counters have no balance for (new, or Redis was emptied): from the database."""
        await self.refresh("teams")
        team = self._teams.get(team_id)
        if team is not None:
            await self._counters.set_balance(team.id, team.balance_micros, team.balance_version)
            self._pushed[team.id] = team.balance_version
        return team

    async def recheck_balance(self, team_id: int) -> bool:
        """The counters refused a team's balance: the database may hold a top-up they have not heard of (its
        notice still on the way, or made where none is sent, and the next poll not due). Hands the counters
        the database balance; True if it was newer than what this process last gave them, so admission is
        worth trying again. Only refusals pay this one primary-key read; a database away keeps the refusal."""
        errors = await asyncio.to_thread(import_module, "sqlalchemy.exc")  # not on the loop's thread
        try:
            found = await asyncio.to_thread(self._balance, team_id)
        except errors.SQLAlchemyError as exc:
            self._database.failed(exc.__class__.__name__)
            return False
        if found is None or found[1] <= self._pushed.get(team_id, -1):
            return False
        await self._counters.set_balance(team_id, *found)  # the counters keep a newer copy if they have one
        self._pushed[team_id] = found[1]
        return True

    def _balance(self, team_id: int) -> tuple[int, int] | None:
        from onegate.store.teams import team_balance

        with self._engine.connect() as conn:
            return team_balance(conn, team_id)

    async def poll_forever(self, interval: float) -> None:
        errors = None
        while True:
            await asyncio.sleep(interval)
            if errors is None:  # SQLAlchemy: after the server's first answers (app.load_store), off the loop
                errors = await asyncio.to_thread(import_module, "sqlalchemy.exc")
            try:
                await self.refresh()
            except errors.SQLAlchemyError as exc:  # a locked or restarting database must not stop the refresher
                self._database.failed(exc.__class__.__name__)
            except Exception:  # Redis away: its client says so once
                log.debug("refresh failed", exc_info=True)
            else:
                self._database.ok()


def _key_spend_since(engine: Engine, key_ids: list[int], start: float) -> dict[int, int]:
    from onegate.store.ledger import key_spend_since  # SQLAlchemy: imported on the worker thread

    return key_spend_since(engine, key_ids, start)
