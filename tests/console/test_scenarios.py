"""The issue's console scenarios in a real browser: the owner creates a key, copies it, uses it with the
`openai` SDK, finds the request in Logs and copies the evidence; a team admin and a key holder see only
their own data (in the page and in the API their session calls); no page shows a full key except the
one-time creation dialog."""

from __future__ import annotations

from typing import Any

import openai

from tests.admin.conftest import BOOTSTRAP, Console
from tests.console.conftest import Tab


def chat(console: Console, key: str) -> str:
    """One real request with the openai SDK; its request id."""
    with openai.OpenAI(base_url=console.gw.base_url, api_key=key, max_retries=0) as client:
        raw = client.chat.completions.with_raw_response.create(
            model="gpt-4.1-mini", messages=[{"role": "user", "content": "hello from the console test"}]
        )
    assert raw.http_response.status_code == 200
    request_id = raw.headers["x-request-id"]
    console.gw.log(request_id)  # written by the log writer
    return request_id


def status_in_page(tab: Tab, path: str) -> int:
    """What the management API answers this tab's session (its cookie) for a GET."""
    return int(tab.page.evaluate("p => fetch('/admin/api/v1' + p).then(r => r.status)", path))


def clipboard(tab: Tab) -> str:
    return str(tab.page.evaluate("navigator.clipboard.readText()"))


def create_key_in_page(tab: Tab, name: str, team: str, budget: str) -> tuple[str, list[str]]:
    """Create a key through the dialog; (the secret as shown, the guide's field values shown for Cherry Studio)."""
    page = tab.page
    page.get_by_test_id("new-key").click()
    form = page.get_by_test_id("create-key")
    form.locator("input[name=name]").fill(name)
    form.locator("select[name=team_id]").select_option(label=team)
    form.locator("input[name=budget]").fill(budget)
    form.locator("button[type=submit]").click()
    dialog = page.get_by_test_id("key-secret")
    secret = dialog.get_by_test_id("secret").inner_text().strip()
    dialog.locator("[data-client=cherry-studio]").click()
    guide = dialog.get_by_test_id("guide-cherry-studio")
    return secret, guide.locator("dd code").all_inner_texts()


def test_the_owner_creates_a_key_uses_it_and_hands_the_evidence_to_support(tab: Tab, console: Console) -> None:
    team = console.ok("POST", "/teams", json={"name": "design"})
    console.ok("POST", f"/teams/{team['id']}/balance", json={"kind": "topup", "amount": "20", "note": "PO 1"})
    tab.sign_in(BOOTSTRAP)
    tab.open("/console/keys")
    secret, cherry = create_key_in_page(tab, "laptop", "design", "3")
    assert secret.startswith("sk-og-") and len(secret) > 30
    # the guide is filled in: this server's base URL for Cherry Studio, the key itself in the key field
    assert console.gw.root + "/api/v1" in cherry and secret in cherry, cherry
    tab.page.get_by_test_id("copy-secret").click()
    assert clipboard(tab) == secret
    tab.page.keyboard.press("Escape")
    tab.page.get_by_test_id("key-secret").wait_for(state="detached")
    assert tab.full_keys() == []  # gone with the dialog

    listed = console.ok("GET", "/keys", params={"q": "laptop"})["items"]
    assert [k["team_id"] for k in listed] == [team["id"]] and listed[0]["budget"] == "3.00"
    row = tab.page.get_by_test_id("keys-table").locator("tr", has_text="laptop")
    assert listed[0]["mask"] in row.inner_text()

    request_id = chat(console, secret)  # the copied key works with the real SDK
    tab.open("/console/logs")
    log_row = tab.page.get_by_test_id("logs-table").locator("tr", has_text=listed[0]["mask"])
    log_row.wait_for()
    assert "gpt-4.1-mini" in log_row.inner_text() and "200" in log_row.inner_text()
    log_row.click()
    drawer = tab.page.get_by_test_id("log-drawer")
    drawer.get_by_test_id("waterfall").wait_for()
    assert request_id in drawer.inner_text()
    drawer.get_by_test_id("copy-evidence").click()
    evidence = clipboard(tab)
    for fact in (request_id, listed[0]["mask"], "gpt-4.1-mini", "200"):
        assert fact in evidence, (fact, evidence)
    assert secret not in evidence and tab.full_keys() == []
    # the drawer is in the URL: the link opens the same request for someone else
    assert f"open={request_id}" in tab.page.url
    totals = tab.page.get_by_test_id("log-totals").inner_text()
    assert "Requests" in totals
    csv_href = tab.page.get_by_test_id("export-csv").get_attribute("href")
    assert csv_href == "/admin/api/v1/logs/export.csv"


def test_filters_live_in_the_url_and_the_export_uses_them(tab: Tab, console: Console) -> None:
    for role in ("key_a", "key_b"):
        chat(console, console.tokens[role])
    tab.sign_in(BOOTSTRAP)
    tab.open(f"/console/logs?key_id={console.ids['key_b']}")
    table = tab.page.get_by_test_id("logs-table")
    table.locator("tbody tr").first.wait_for()
    masks = {m["id"]: m["mask"] for m in console.ok("GET", "/keys")["items"]}
    assert table.locator("tbody tr").count() == 1 and masks[console.ids["key_b"]] in table.inner_text()
    assert tab.page.get_by_test_id("export-csv").get_attribute("href") == (
        f"/admin/api/v1/logs/export.csv?key_id={console.ids['key_b']}"
    )
    filters = tab.page.locator("form.filters")
    filters.locator("input[name=key_id]").fill("")
    filters.locator("select[name=failed]").select_option("true")
    filters.locator("button[type=submit]").click()
    tab.page.wait_for_url("**/console/logs?failed=true")
    tab.page.get_by_text("Nothing here yet.").wait_for()  # no failed requests
    tab.page.go_back()
    tab.page.wait_for_url(f"**/console/logs?key_id={console.ids['key_b']}")
    table.locator("tbody tr").first.wait_for()


def test_a_team_admin_and_a_key_holder_see_only_their_own(new_tab: Any, console: Console) -> None:
    own = chat(console, console.tokens["key_a"])
    other = chat(console, console.tokens["key_b"])
    masks = {k["id"]: k["mask"] for k in console.ok("GET", "/keys")["items"]}
    mask_a, mask_b = masks[console.ids["key_a"]], masks[console.ids["key_b"]]

    admin = new_tab()
    admin.sign_in(console.tokens["team_admin"])
    admin.open("/console/keys")
    keys_table = admin.page.get_by_test_id("keys-table")
    keys_table.locator("tbody tr").first.wait_for()
    assert mask_a in keys_table.inner_text() and mask_b not in keys_table.inner_text()
    admin.open("/console/logs")
    logs_table = admin.page.get_by_test_id("logs-table")
    logs_table.locator("tbody tr").first.wait_for()
    assert mask_a in logs_table.inner_text() and mask_b not in logs_table.inner_text()
    admin.open(f"/console/logs?open={other}")  # a shared link to another team's request
    admin.page.get_by_test_id("log-drawer").get_by_role("alert").wait_for()
    assert status_in_page(admin, f"/logs/{other}") == 404
    assert status_in_page(admin, f"/keys/{console.ids['key_b']}") == 404
    assert status_in_page(admin, f"/logs/{own}") == 200

    holder = new_tab()
    holder.sign_in(console.tokens["key_a"])
    holder.page.get_by_test_id("page-mykey").wait_for()  # a key holder lands on their key
    holder.page.get_by_test_id("remaining").wait_for()
    assert holder.page.get_by_test_id("my-mask").inner_text() == mask_a
    holder.page.get_by_test_id("setup-guides").wait_for()
    assert holder.full_keys() == []  # the guides keep the placeholder
    holder.open("/console/logs")
    holder.page.get_by_test_id("logs-table").locator("tbody tr").first.wait_for()
    text = holder.page.get_by_test_id("logs-table").inner_text()
    assert mask_a in text and mask_b not in text
    assert status_in_page(holder, f"/logs/{other}") == 404
    assert status_in_page(holder, f"/keys/{console.ids['key_b']}") == 404
    assert status_in_page(holder, "/my/key") == 200


def test_a_page_never_shows_a_full_key(tab: Tab, console: Console) -> None:
    chat(console, console.tokens["key_a"])
    tab.sign_in(BOOTSTRAP)
    for path in ("/console/keys", f"/console/keys?open={console.ids['key_a']}", "/console/logs", "/console/dashboard"):
        tab.open(path)
        tab.page.wait_for_load_state("networkidle")
        assert tab.full_keys() == [], path
        assert console.tokens["key_a"] not in tab.page.content()
