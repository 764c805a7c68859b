"""The console's operating pages in a real browser: dashboard, teams, channels, prices, alerts, audit, admins.

Each page renders for the roles that see it and is refused for the others; a team is created and topped up
through the UI (the balance changes in the page and in the API); a team admin sees only their team;
a channel disabled and enabled in the UI is so in `GET /channels`; a price override set and cleared;
an admin created (token shown once, it signs in), disabled, deleted; Chinese labels after switching.
Screenshots of every page in both languages at laptop and phone width land in tests/console/artifacts/.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests

from tests.admin.conftest import BOOTSTRAP, Console
from tests.console.conftest import LAPTOP, PHONE, Tab

READERS = {"owner", "operator", "viewer"}
STAFF = READERS | {"team_admin"}
# page → roles that see it (the API refuses the others; the page says so)
PAGES = {
    "dashboard": STAFF,
    "teams": STAFF,
    "channels": READERS,
    "prices": STAFF | {"key"},
    "alerts": STAFF,
    "audit": STAFF,
    "admins": {"owner"},
}


def _traffic(c: Console, key: str = "key_a", n: int = 3) -> None:
    """A few real requests with the openai SDK, then wait until the rollups count them."""
    client = c.gw.client(api_key=c.tokens[key])
    before = c.ok("GET", "/stats")["totals"]["requests"]
    for _ in range(n):
        client.chat.completions.create(model="gpt-4.1-mini", messages=[{"role": "user", "content": "hi"}])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if c.ok("GET", "/stats")["totals"]["requests"] >= before + n:
            return
        time.sleep(0.1)
    raise AssertionError("the rollups never counted the requests")


def _total(c: Console, role: str) -> str:
    """The request count the dashboard must show for a role (24 h), as the API reports it."""
    return str(c.ok("GET", "/stats", role)["totals"]["requests"])


def _page_loaded(tab: Tab, name: str) -> None:
    tab.page.get_by_test_id(f"page-{name}").wait_for()
    tab.page.wait_for_load_state("networkidle")
    errors = tab.page.locator(".error[role=alert]")
    assert errors.count() == 0, errors.all_inner_texts()


def _session(c: Console, token: str) -> requests.Response:
    headers = {"authorization": f"Bearer {token}"}
    return requests.get(c.gw.root + "/admin/api/v1/session", headers=headers, timeout=10)


@pytest.mark.parametrize("role", ["owner", "viewer", "team_admin", "key"])
def test_each_page_renders_for_the_roles_that_see_it_and_is_refused_to_the_others(
    new_tab: Any, console: Console, role: str
) -> None:
    tab = new_tab()
    tab.sign_in(console.tokens[role])
    for name, roles in PAGES.items():
        tab.open(f"/console/{name}")
        if role in roles:
            _page_loaded(tab, name)
        else:
            tab.page.get_by_text("Your role may not do this.").wait_for()
            assert tab.page.get_by_test_id(f"page-{name}").count() == 0
        assert tab.full_keys() == []


def test_owner_creates_a_team_and_tops_it_up_in_the_page(tab: Tab, console: Console) -> None:
    tab.sign_in(BOOTSTRAP)
    page = tab.open("/console/teams")
    form = page.get_by_test_id("create-team")
    form.locator("input[name=name]").fill("team-ui")
    form.locator("input[name=rpm]").fill("120")
    form.locator("button[type=submit]").click()
    page.get_by_test_id("teams-table").get_by_role("link", name="team-ui").click()
    page.get_by_test_id("page-team").wait_for()
    assert page.get_by_test_id("team-balance").inner_text().startswith("0.00")

    money = page.get_by_test_id("team-money")
    money.locator("select[name=kind]").select_option("topup")
    money.locator("input[name=amount]").fill("12.5")
    money.locator("input[name=note]").fill("first top-up from the console")
    money.locator("button[type=submit]").click()
    page.get_by_test_id("team-balance").filter(has_text="12.50").wait_for()
    page.get_by_test_id("team-history").get_by_text("first top-up from the console").wait_for()
    page.get_by_test_id("team-audit").get_by_text("teams.topup").wait_for()

    team = next(t for t in console.ok("GET", "/teams") if t["name"] == "team-ui")
    assert team["balance_micros"] == 12_500_000 and team["rpm"] == 120
    entry = console.ok("GET", "/audit", params={"team_id": team["id"]})["items"][0]
    assert entry["action"] == "teams.topup" and entry["actor"] == "bootstrap"


def test_a_team_admin_sees_only_their_team_in_teams_and_dashboard(tab: Tab, console: Console) -> None:
    _traffic(console, "key_a")
    _traffic(console, "key_b", 2)
    tab.sign_in(console.tokens["team_admin"])
    page = tab.open("/console/teams")
    table = page.get_by_test_id("teams-table")
    table.get_by_text("team-a").wait_for()
    assert "team-b" not in table.inner_text()
    assert page.get_by_test_id("create-team").count() == 0  # a team admin does not create teams
    tab.open(f"/console/teams/{console.ids['team_b']}")
    page.get_by_text("Not found (or not yours to see).").wait_for()
    tab.open(f"/console/teams/{console.ids['team_a']}")
    page.get_by_test_id("team-by-key").get_by_text("key-a").wait_for()
    assert page.get_by_test_id("team-money").count() == 0  # no top-up grant

    tab.open("/console/dashboard")
    _page_loaded(tab, "dashboard")
    mine, everyone = _total(console, "team_admin"), _total(console, "owner")
    assert int(mine) < int(everyone)
    page.get_by_test_id("total-requests").filter(has_text=mine).wait_for()  # team a's, not team b's too
    cards = page.get_by_test_id("balances").locator("[data-team]")
    assert cards.evaluate_all("cards => cards.map(c => c.dataset.team)") == ["team-a"]
    page.get_by_test_id("top-keys").get_by_text("key-a").wait_for()
    assert "key-b" not in page.get_by_test_id("top-keys").inner_text()
    assert page.get_by_test_id("top-teams").count() == 0
    assert page.get_by_test_id("dashboard-chart").locator("canvas").count() == 1


def test_owner_dashboard_shows_totals_top_spenders_and_every_range(tab: Tab, console: Console) -> None:
    _traffic(console, "key_a", 2)
    tab.sign_in(BOOTSTRAP)
    page = tab.open("/console/dashboard")
    _page_loaded(tab, "dashboard")
    total = _total(console, "owner")
    page.get_by_test_id("total-requests").filter(has_text=total).wait_for()
    page.get_by_test_id("top-keys").get_by_text("key-a").wait_for()
    page.get_by_test_id("top-teams").get_by_text("team-a").wait_for()
    for range_ in ("7d", "30d", "90d", "24h"):
        page.locator(f"[data-range='{range_}']").click()
        page.wait_for_url(f"**range={range_}**")
        page.get_by_test_id("total-requests").filter(has_text=total).wait_for()
    page.get_by_test_id("group-by").select_option("key")
    page.locator("[data-metric=error_rate]").click()
    page.wait_for_url("**metric=error_rate**")
    assert page.get_by_test_id("dashboard-chart").locator("canvas").count() == 1
    page.set_viewport_size(PHONE)  # the chart follows the window
    page.wait_for_function("document.querySelector('[data-testid=dashboard-chart] canvas').clientWidth < 390")


def _channel(c: Console, name: str = "fake") -> dict[str, Any]:
    return next(ch for ch in c.ok("GET", "/channels") if ch["name"] == name)


def test_channel_disable_and_enable_in_the_page_reach_the_api(tab: Tab, console: Console) -> None:
    _traffic(console)
    tab.sign_in(console.tokens["operator"])
    page = tab.open("/console/channels")
    row = page.get_by_test_id("channels-table").locator("tbody tr", has_text="fake")
    row.locator("[data-state=healthy]").wait_for()
    row.locator("[data-action=disable]").click()
    form = page.get_by_test_id("disable-form")
    form.locator("input[name=reason]").fill("rotating the vendor key")
    form.locator("button[type=submit]").click()
    row.locator("[data-state=disabled]").wait_for()
    assert "by hand: rotating the vendor key" in row.inner_text()
    assert _channel(console)["marks"]["disabled"] == "by hand: rotating the vendor key"
    row.locator("[data-action=enable]").click()
    row.locator("[data-state=healthy]").wait_for()
    assert _channel(console)["state"] == "healthy"

    row.locator("[data-action=test]").click()
    page.get_by_text("fake: ok, 200").wait_for()
    row.locator("[data-action=history]").click()
    drawer = page.get_by_test_id("channel-health")
    drawer.get_by_test_id("channel-health-chart").locator("canvas").wait_for()
    drawer.get_by_text("Requests: 3").wait_for()


def test_a_viewer_sees_channels_without_the_buttons_that_change_them(tab: Tab, console: Console) -> None:
    tab.sign_in(console.tokens["viewer"])
    page = tab.open("/console/channels")
    page.get_by_test_id("channels-table").locator("tbody tr", has_text="fake").wait_for()
    assert page.locator("[data-action=disable], [data-action=enable], [data-action=test]").count() == 0


def test_a_price_override_is_set_and_cleared_in_the_page(tab: Tab, console: Console) -> None:
    tab.sign_in(BOOTSTRAP)
    page = tab.open("/console/prices")
    row = page.get_by_test_id("prices-table").locator("tbody tr", has_text="gpt-4.1-mini")
    row.locator("[data-source=config]").wait_for()
    row.locator("[data-action=set]").click()
    dialog = page.get_by_test_id("price-dialog")
    dialog.locator("input[name=input]").fill("2.5")
    dialog.locator("input[name=output]").fill("10")
    dialog.locator("button[type=submit]").click()
    row.locator("[data-source='run time']").wait_for()
    price = next(p for p in console.ok("GET", "/prices") if p["model"] == "gpt-4.1-mini")
    assert price["source"] == "run time" and price["price"]["input"] == 2.5 and price["price"]["output"] == 10
    page.once("dialog", lambda d: d.accept())
    row.locator("[data-action=clear]").click()
    row.locator("[data-source=config]").wait_for()
    assert next(p for p in console.ok("GET", "/prices") if p["model"] == "gpt-4.1-mini")["source"] == "config"


def test_owner_creates_an_admin_whose_token_is_shown_once_then_disables_and_deletes_it(
    tab: Tab, console: Console
) -> None:
    tab.sign_in(BOOTSTRAP)
    page = tab.open("/console/admins")
    form = page.get_by_test_id("create-admin")
    form.locator("input[name=name]").fill("dana")
    form.locator("select[name=role]").select_option("team_admin")
    form.locator("select[name=team_id]").select_option(label="team-b")
    form.locator("button[type=submit]").click()
    token = page.get_by_test_id("admin-token").inner_text().strip()
    assert token.startswith("og-admin-")
    page.get_by_test_id("copy-admin-token").click()
    assert page.evaluate("navigator.clipboard.readText()") == token
    page.get_by_test_id("admin-created").get_by_role("button", name="Close").click()
    assert token not in page.content()  # shown once: gone with the dialog

    signed = _session(console, token)
    assert signed.status_code == 200 and signed.json()["team_id"] == console.ids["team_b"]
    row = page.get_by_test_id("admins-table").locator("tbody tr", has_text="dana")
    row.locator("[data-action=toggle]").click()
    row.locator("[data-status=disabled]").wait_for()
    assert _session(console, token).status_code == 401
    page.once("dialog", lambda d: d.accept())
    row.locator("[data-action=delete]").click()
    row.wait_for(state="detached")
    assert "dana" not in {a["name"] for a in console.ok("GET", "/admins")}


def test_audit_pages_with_a_cursor_filters_by_team_and_opens_an_entry(tab: Tab, console: Console) -> None:
    team_a = console.ids["team_a"]
    for n in range(3):
        console.ok("POST", f"/teams/{team_a}/balance", json={"kind": "topup", "amount": "1", "note": f"n{n}"})
    newest = console.ok("GET", "/audit", params={"limit": 4})["items"]
    tab.sign_in(BOOTSTRAP)
    page = tab.open("/console/audit?limit=2")
    ids = page.get_by_test_id("audit-table").locator("td[data-label=Id]")
    ids.first.wait_for()
    assert ids.all_inner_texts() == [str(e["id"]) for e in newest[:2]]
    page.get_by_test_id("next-page").click()
    page.wait_for_url("**cursor=**")
    page.get_by_test_id("audit-table").locator("td[data-label=Id]", has_text=str(newest[2]["id"])).wait_for()
    assert ids.all_inner_texts() == [str(e["id"]) for e in newest[2:4]]

    tab.open("/console/audit")
    page.get_by_test_id("audit-table").locator("tbody tr").first.click()
    entry = page.get_by_test_id("audit-entry")
    entry.get_by_text("teams.topup").first.wait_for()
    assert '"note": "n2"' in entry.inner_text()
    page.keyboard.press("Escape")

    tab.open(f"/console/audit?team_id={console.ids['team_b']}")
    page.get_by_test_id("audit-table").locator("tbody tr").first.wait_for()
    teams = page.get_by_test_id("audit-table").locator("td[data-label='Team id']").all_inner_texts()
    assert teams and set(teams) == {str(console.ids["team_b"])}


def test_chinese_labels_after_switching_and_screenshots_of_every_page(new_tab: Any, console: Console) -> None:
    _traffic(console)
    tab = new_tab()
    tab.sign_in(BOOTSTRAP)
    titles = {"dashboard": "概览", "teams": "团队", "channels": "渠道", "prices": "价格", "alerts": "告警",
              "audit": "审计", "admins": "管理员"}  # fmt: skip
    for lang in ("en", "zh"):
        tab.set_lang(lang)
        for name, zh in titles.items():
            tab.page.set_viewport_size(LAPTOP)
            tab.open(f"/console/{name}")
            _page_loaded(tab, name)
            heading = tab.page.get_by_test_id(f"page-{name}").locator("h1").first.inner_text()
            assert (zh in heading) == (lang == "zh"), (name, lang, heading)
            tab.shot(name, LAPTOP)
            tab.shot(name, PHONE)
        tab.page.set_viewport_size(LAPTOP)
        tab.open(f"/console/teams/{console.ids['team_a']}")
        tab.page.get_by_test_id("team-balance").wait_for()
        tab.shot("team-detail", LAPTOP)
        tab.shot("team-detail", PHONE)
        tab.page.set_viewport_size(LAPTOP)
        tab.open("/console/channels?channel=fake")
        tab.page.get_by_test_id("channel-health-chart").locator("canvas").wait_for()
        tab.shot("channel-health", LAPTOP)
    assert tab.page.get_by_test_id("channel-health").locator("h2").inner_text() == "fake 的历史"
