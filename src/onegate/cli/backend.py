"""Where a management command runs: here, on the database (the service layer, as an owner), or on a remote
server through its management API (`onegate --server https://HOST --token … keys list`). Both return the
service layer's own types, so every command prints the same either way and holds no logic of its own."""

from __future__ import annotations

import asyncio
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import msgspec
import typer

from onegate.manage import admins, audit, callbacks, channels, keys, logs, prices, tasks, teams
from onegate.manage.actor import Actor, ManageError, cli_actor
from onegate.settings import PriceConfig, Settings

if TYPE_CHECKING:
    from onegate.channels.book import ChannelBook

T = TypeVar("T")


@dataclass
class Remote:
    server: str
    token: str


_remote: Remote | None = None


def use_remote(server: str | None, token: str | None) -> None:
    """Set by the root command's --server/--token (or ONEGATE_SERVER/ONEGATE_TOKEN)."""
    global _remote
    server = server or os.environ.get("ONEGATE_SERVER")
    token = token or os.environ.get("ONEGATE_TOKEN")
    if server:
        if not token:
            typer.secho("--server needs --token (an admin token, or ONEGATE_TOKEN)", fg="red", err=True)
            raise typer.Exit(2)
        _remote = Remote(server.rstrip("/"), token)
    else:
        _remote = None


def remote() -> Remote | None:
    return _remote


class Local:
    """The service layer on this machine's database; the person at the shell acts as an owner."""

    def __init__(self, settings: Settings, actor_name: str | None = None) -> None:
        from onegate.cli.common import default_actor, open_store

        self.settings = settings
        self.engine = open_store(settings)
        self.actor: Actor = cli_actor(actor_name or default_actor())

    def changed(self, topic: str) -> None:
        from onegate.cli.common import announce

        announce(self.settings, topic)

    def model_names(self) -> set[str]:
        from onegate.settings import public_models

        return set(public_models(self.settings.channels, self.settings.selftest_model))

    # keys
    def create_key(self, spec: keys.KeyCreate) -> keys.KeyCreated:
        created = keys.create_key(self.engine, self.actor, spec)
        self.changed("keys")
        return created

    def list_keys(self, query: str | None, cursor: str | None, limit: int) -> keys.KeyPage:
        return keys.list_keys(self.engine, self.actor, query=query, cursor=cursor, limit=limit)

    def key_id(self, id_or_name: str) -> int:
        return keys.resolve(self.engine, id_or_name)

    def update_key(self, key_id: int, spec: keys.KeyUpdate) -> keys.KeyView:
        view = keys.update(self.engine, self.actor, key_id, spec)
        self.changed("keys")
        return view

    def rotate_key(self, key_id: int, grace: float) -> keys.KeyRotated:
        rotated = keys.rotate(self.engine, self.actor, key_id, grace)
        self.changed("keys")
        return rotated

    def delete_key(self, key_id: int) -> keys.KeyView:
        view = keys.delete(self.engine, self.actor, key_id)
        self.changed("keys")
        return view

    # teams
    def team_id(self, id_or_name: str) -> int:
        return teams.resolve(self.engine, id_or_name)

    def list_teams(self) -> list[teams.TeamView]:
        return teams.list_teams(self.engine, self.actor)

    def create_team(self, spec: teams.TeamCreate) -> teams.TeamView:
        view = teams.create_team(self.engine, self.actor, spec, set(self.settings.model_groups))
        self.changed("teams")
        return view

    def update_team(self, team_id: int, spec: teams.TeamUpdate) -> teams.TeamView:
        view = teams.update_team(self.engine, self.actor, team_id, spec, set(self.settings.model_groups))
        self.changed("teams")
        return view

    def show_team(self, team_id: int, since: float) -> teams.TeamDetail:
        return teams.show_team(self.engine, self.actor, team_id, since)

    def change_balance(self, team_id: int, spec: teams.BalanceChangeIn) -> teams.BalanceChanged:
        changed = teams.change_balance(self.engine, self.actor, team_id, spec)
        self.changed("teams")
        return changed

    # prices
    def list_prices(self) -> list[prices.PriceView]:
        return prices.list_prices(self.engine, self.actor, self.settings.prices)

    def set_price(self, model: str, price: PriceConfig) -> prices.PriceView:
        view = prices.set_price(self.engine, self.actor, model, price, self.model_names())
        self.changed("prices")
        return view

    def clear_price(self, model: str) -> None:
        prices.clear_price(self.engine, self.actor, model)
        self.changed("prices")

    # logs
    def list_logs(self, q: logs.LogQuery) -> logs.LogPage:
        return logs.list_logs(self.engine, self.actor, q)

    def log_detail(self, request_id: str, lang: str) -> logs.LogDetail:
        return logs.detail(self.engine, self.actor, request_id, lang)

    # channels: the running server's state, from Redis when configured, else from its snapshot file
    def _book(self) -> tuple[ChannelBook, str]:
        from onegate.channels.book import ChannelBook
        from onegate.channels.snapshot import SnapshotChannelStore

        s = self.settings
        if s.redis_url:
            return ChannelBook.from_settings(s), f"shared state in Redis ({s.routing.redis_prefix})"
        store = SnapshotChannelStore(s.data_dir)
        book = ChannelBook(store, s.routing, {c.name: c.max_concurrency for c in s.channels})
        if store.snapshot is None:
            return book, "no snapshot yet: has onegate served here?"
        age = time.time() - float(store.snapshot.get("written_at", 0))
        stale = age > max(10.0, 5 * s.routing.sync_seconds)
        return book, f"snapshot {age:.0f} s old" + (" (is onegate running?)" if stale else "")

    def _on_book(self, action: Callable[[ChannelBook], Awaitable[T]]) -> tuple[T, str]:
        book, source = self._book()

        async def go() -> T:
            try:
                await book.refresh()
                return await action(book)
            finally:
                await book.store.close()

        return asyncio.run(go()), source

    def _configured(self) -> dict[str, Any]:
        return {c.name: c for c in self.settings.channels}

    def list_channels(self) -> tuple[list[channels.ChannelView], str]:
        return self._on_book(lambda book: channels.list_channels(book, self._configured(), self.actor))

    def set_channel(self, name: str, enable: bool, reason: str) -> tuple[channels.ChannelView, str]:
        view, source = self._on_book(
            lambda book: channels.set_enabled(self.engine, book, self._configured(), self.actor, name, enable, reason)
        )
        done = "for every instance" if self.settings.redis_url else "queued; the running onegate applies it"
        return view, f"{done} within {self.settings.routing.sync_seconds:g} s ({source})"

    def test_channels(self, name: str | None) -> list[channels.ChannelTest]:
        from onegate.providers.registry import ModelRegistry

        if name is not None and name not in self._configured():
            raise ManageError("not_found", f"no channel named {name!r}")
        registry = ModelRegistry.from_settings(self.settings)

        async def go() -> list[channels.ChannelTest]:
            try:
                if name is None:
                    return await channels.test_channels(registry.channels, self.actor)
                return [await channels.test_channel(registry.channels, self.actor, name)]
            finally:
                if registry.sessions is not None:
                    await registry.sessions.close()

        return asyncio.run(go())

    # video tasks, key callbacks
    def list_tasks(self, q: tasks.TaskQuery) -> tasks.TaskPage:
        return tasks.list_tasks(self.engine, self.actor, q)

    def show_task(self, task_id: str) -> tasks.TaskDetail:
        return tasks.show_task(self.engine, self.actor, task_id)

    def redeliver_task(self, task_id: str) -> tasks.Redelivered:
        return tasks.redeliver(self.engine, self.actor, task_id)

    def webhook_secret(self, key_id: int, spec: callbacks.WebhookSecretIn) -> callbacks.WebhookSecret:
        return callbacks.rotate_secret(self.engine, self.actor, key_id, spec)

    # admins, audit
    def create_admin(self, spec: admins.AdminCreate) -> admins.AdminCreated:
        return admins.create_admin(self.engine, self.actor, spec)

    def list_admins(self) -> list[admins.AdminView]:
        return admins.list_admins(self.engine, self.actor)

    def update_admin(self, admin_id: int, spec: admins.AdminUpdate) -> admins.AdminView:
        return admins.update_admin(self.engine, self.actor, admin_id, spec)

    def delete_admin(self, admin_id: int) -> admins.AdminView:
        return admins.delete_admin(self.engine, self.actor, admin_id)

    def audit(self, cursor: str | None, limit: int) -> audit.AuditPage:
        return audit.list_audit(self.engine, self.actor, int(cursor) if cursor else None, limit)


_CODES = {401: "forbidden", 403: "forbidden", 404: "not_found", 409: "conflict"}


class RemoteApi:
    """The same calls over the management API; errors come back as the service layer's `ManageError`."""

    def __init__(self, target: Remote) -> None:
        self.target = target

    def _call(
        self, method: str, path: str, kind: type[T], body: object = None, query: dict[str, Any] | None = None
    ) -> T:
        url = f"{self.target.server}/admin/api/v1{path}"
        if query:
            url += "?" + urllib.parse.urlencode({k: v for k, v in query.items() if v is not None})
        data = msgspec.json.encode(body) if body is not None else None
        request = urllib.request.Request(url, data=data, method=method)
        request.add_header("authorization", f"Bearer {self.target.token}")
        request.add_header("user-agent", "onegate-cli")
        if data is not None:
            request.add_header("content-type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                payload = response.read()
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            try:
                message = msgspec.json.decode(raw)["error"]["message"]
            except (msgspec.DecodeError, KeyError, TypeError):
                message = raw.decode("utf-8", "replace")[:300]
            raise ManageError(
                _CODES.get(exc.code, "invalid"), f"{exc.code} from {self.target.server}: {message}"
            ) from None
        except urllib.error.URLError as exc:
            raise ManageError("invalid", f"cannot reach {self.target.server}: {exc.reason}") from None
        return msgspec.json.decode(payload, type=kind)

    def changed(self, topic: str) -> None:
        del topic  # the server announces its own changes

    def create_key(self, spec: keys.KeyCreate) -> keys.KeyCreated:
        return self._call("POST", "/keys", keys.KeyCreated, spec)

    def list_keys(self, query: str | None, cursor: str | None, limit: int) -> keys.KeyPage:
        return self._call("GET", "/keys", keys.KeyPage, query={"q": query, "cursor": cursor, "limit": limit})

    def key_id(self, id_or_name: str) -> int:
        if id_or_name.isdigit():
            return int(id_or_name)
        page = self._call("GET", "/keys", keys.KeyPage, query={"q": id_or_name, "limit": 200})
        ids = [k.id for k in page.items if k.name == id_or_name]
        if len(ids) != 1:
            raise ManageError("not_found", f"no single key named {id_or_name!r}; use the id")
        return ids[0]

    def update_key(self, key_id: int, spec: keys.KeyUpdate) -> keys.KeyView:
        return self._call("PATCH", f"/keys/{key_id}", keys.KeyView, spec)

    def rotate_key(self, key_id: int, grace: float) -> keys.KeyRotated:
        return self._call("POST", f"/keys/{key_id}/rotate", keys.KeyRotated, {"grace_seconds": grace})

    def delete_key(self, key_id: int) -> keys.KeyView:
        return self._call("DELETE", f"/keys/{key_id}", keys.KeyView)

    def team_id(self, id_or_name: str) -> int:
        for team in self.list_teams():
            if team.name == id_or_name:
                return team.id
        if id_or_name.isdigit():
            return int(id_or_name)
        raise ManageError("not_found", f"no team named {id_or_name!r}")

    def list_teams(self) -> list[teams.TeamView]:
        return self._call("GET", "/teams", list[teams.TeamView])

    def create_team(self, spec: teams.TeamCreate) -> teams.TeamView:
        return self._call("POST", "/teams", teams.TeamView, spec)

    def update_team(self, team_id: int, spec: teams.TeamUpdate) -> teams.TeamView:
        return self._call("PATCH", f"/teams/{team_id}", teams.TeamView, spec)

    def show_team(self, team_id: int, since: float) -> teams.TeamDetail:
        return self._call("GET", f"/teams/{team_id}", teams.TeamDetail, query={"since": since})

    def change_balance(self, team_id: int, spec: teams.BalanceChangeIn) -> teams.BalanceChanged:
        return self._call("POST", f"/teams/{team_id}/balance", teams.BalanceChanged, spec)

    def list_prices(self) -> list[prices.PriceView]:
        return self._call("GET", "/prices", list[prices.PriceView])

    def set_price(self, model: str, price: PriceConfig) -> prices.PriceView:
        return self._call("PUT", f"/prices/{urllib.parse.quote(model, safe='')}", prices.PriceView, price)

    def clear_price(self, model: str) -> None:
        self._call("DELETE", f"/prices/{urllib.parse.quote(model, safe='')}", dict)

    def list_logs(self, q: logs.LogQuery) -> logs.LogPage:
        return self._call("GET", "/logs", logs.LogPage, query=msgspec.to_builtins(q))

    def log_detail(self, request_id: str, lang: str) -> logs.LogDetail:
        return self._call(
            "GET", f"/logs/{urllib.parse.quote(request_id, safe='')}", logs.LogDetail, query={"lang": lang}
        )

    def list_channels(self) -> tuple[list[channels.ChannelView], str]:
        return self._call("GET", "/channels", list[channels.ChannelView]), self.target.server

    def set_channel(self, name: str, enable: bool, reason: str) -> tuple[channels.ChannelView, str]:
        path = f"/channels/{urllib.parse.quote(name, safe='')}/{'enable' if enable else 'disable'}"
        body = None if enable else channels.ChannelAction(reason=reason)
        return self._call("POST", path, channels.ChannelView, body), f"on {self.target.server}"

    def test_channels(self, name: str | None) -> list[channels.ChannelTest]:
        names = [name] if name is not None else [c.name for c in self.list_channels()[0] if c.models]
        with ThreadPoolExecutor(max_workers=8) as pool:  # one probe each, side by side like the server does
            return list(pool.map(self._test_one, names))

    def _test_one(self, name: str) -> channels.ChannelTest:
        return self._call("POST", f"/channels/{urllib.parse.quote(name, safe='')}/test", channels.ChannelTest)

    def list_tasks(self, q: tasks.TaskQuery) -> tasks.TaskPage:
        return self._call("GET", "/tasks", tasks.TaskPage, query=msgspec.to_builtins(q))

    def show_task(self, task_id: str) -> tasks.TaskDetail:
        return self._call("GET", f"/tasks/{urllib.parse.quote(task_id, safe='')}", tasks.TaskDetail)

    def redeliver_task(self, task_id: str) -> tasks.Redelivered:
        return self._call("POST", f"/tasks/{urllib.parse.quote(task_id, safe='')}/redeliver", tasks.Redelivered)

    def webhook_secret(self, key_id: int, spec: callbacks.WebhookSecretIn) -> callbacks.WebhookSecret:
        return self._call("POST", f"/keys/{key_id}/webhook-secret", callbacks.WebhookSecret, spec)

    def create_admin(self, spec: admins.AdminCreate) -> admins.AdminCreated:
        return self._call("POST", "/admins", admins.AdminCreated, spec)

    def list_admins(self) -> list[admins.AdminView]:
        return self._call("GET", "/admins", list[admins.AdminView])

    def update_admin(self, admin_id: int, spec: admins.AdminUpdate) -> admins.AdminView:
        return self._call("PATCH", f"/admins/{admin_id}", admins.AdminView, spec)

    def delete_admin(self, admin_id: int) -> admins.AdminView:
        return self._call("DELETE", f"/admins/{admin_id}", admins.AdminView)

    def audit(self, cursor: str | None, limit: int) -> audit.AuditPage:
        return self._call("GET", "/audit", audit.AuditPage, query={"cursor": cursor, "limit": limit})


Backend = Local | RemoteApi


def backend(settings_loader: Callable[[], Settings], actor_name: str | None = None) -> Backend:
    """The remote API when --server was given, else this machine's database."""
    target = remote()
    if target is not None:
        return RemoteApi(target)
    return Local(settings_loader(), actor_name)


def run(action: Callable[..., T], *args: Any) -> T:
    """Run a service call; a refusal is printed and exits 1 (no traceback)."""
    try:
        return action(*args)
    except ManageError as exc:
        typer.secho(exc.message, fg="red", err=True)
        raise typer.Exit(1) from None
