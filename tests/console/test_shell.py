"""The console's frame in a real browser: sign-in, the navigation each role sees, languages, sign-out."""

from __future__ import annotations

from typing import Any

from tests.admin.conftest import BOOTSTRAP, Console
from tests.console.conftest import PHONE, Tab

STAFF_ONLY = {"dashboard", "keys", "teams", "alerts", "audit", "tasks"}


def nav_pages(tab: Tab) -> set[str]:
    return set(tab.page.locator("nav [data-page]").evaluate_all("links => links.map(a => a.dataset.page)"))


def test_a_visitor_lands_on_sign_in_and_a_wrong_token_is_refused(tab: Tab) -> None:
    page = tab.open("/console/keys")
    page.get_by_test_id("signin").wait_for()
    assert "/console/signin?next=%2Fconsole%2Fkeys" in page.url
    page.locator("input[name=token]").fill("og-admin-not-a-real-token")
    page.locator("[data-testid=signin] button[type=submit]").click()
    page.get_by_role("alert").wait_for()
    assert "not accepted" in page.get_by_role("alert").inner_text()
    assert page.context.cookies() == []


def test_the_owner_signs_in_sees_every_page_and_signs_out(tab: Tab, console: Console) -> None:
    tab.open("/console/keys")
    page = tab.page
    page.locator("input[name=token]").fill(BOOTSTRAP)
    page.locator("[data-testid=signin] button[type=submit]").click()
    page.locator("nav [data-page=keys].active").wait_for()  # back where the visitor was going
    assert page.url.endswith("/console/keys")
    assert nav_pages(tab) == STAFF_ONLY | {"logs", "channels", "prices", "admins"}
    cookie = {c["name"]: c for c in page.context.cookies()}["onegate_session"]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    page.get_by_test_id("sign-out").click()
    page.get_by_test_id("signin").wait_for()
    assert "onegate_session" not in {c["name"] for c in page.context.cookies()}
    page.goto(tab.root + "/console/keys")  # the session is gone on the server too
    page.get_by_test_id("signin").wait_for()


def test_each_role_sees_only_its_pages(new_tab: Any, console: Console) -> None:
    expected = {
        "viewer": STAFF_ONLY | {"logs", "channels", "prices"},
        "team_admin": STAFF_ONLY | {"logs", "prices"},
        "key": {"mykey", "logs", "prices"},
    }
    for role, pages in expected.items():
        tab = new_tab()
        tab.sign_in(console.tokens[role])
        assert nav_pages(tab) == pages, role
        tab.open("/console/admins")  # a page not for this role: refused in the page (the API refuses too)
        tab.page.get_by_text("Your role may not do this.").wait_for()


def test_the_language_follows_the_browser_then_the_switch_and_is_remembered(new_tab: Any, console: Console) -> None:
    zh = new_tab(locale="zh-CN")
    zh.sign_in(BOOTSTRAP)
    assert zh.page.locator("nav [data-page=keys]").inner_text().strip().endswith("密钥")
    assert zh.page.evaluate("document.documentElement.lang") == "zh-CN"
    zh.set_lang("en")
    zh.page.locator("nav [data-page=keys]", has_text="Keys").wait_for()
    zh.page.reload()
    zh.page.locator("nav [data-page=logs]", has_text="Logs").wait_for()  # remembered over the browser's choice
    en = new_tab(locale="en-US")
    en.sign_in(BOOTSTRAP)
    assert en.page.get_by_test_id("sign-out").inner_text() == "Sign out"
    en.set_lang("zh")
    en.page.get_by_test_id("sign-out").filter(has_text="退出登录").wait_for()


def test_a_key_holder_is_shown_by_the_key_name_and_masked_key_never_the_key(tab: Tab, console: Console) -> None:
    key = console.tokens["key"]
    tab.sign_in(key)
    who = tab.page.get_by_test_id("who").inner_text()
    assert who.startswith(f"key-a (sk-…{key[-4:]}) · "), who
    assert f"key:{console.ids['key_a']}" not in who
    assert key not in tab.page.content() and key[-12:] not in tab.page.content()  # the key never comes back
    tab.page.reload()  # the session read again (GET /session), not only the sign-in answer
    assert tab.page.get_by_test_id("who").inner_text() == who


def test_staff_are_shown_by_their_name(tab: Tab, console: Console) -> None:
    tab.sign_in(console.tokens["operator"])
    who = tab.page.get_by_test_id("who").inner_text()
    assert who.startswith("operator · "), who  # an admin's name, as before


def test_a_session_ended_on_the_server_sends_the_page_back_to_sign_in(tab: Tab, console: Console) -> None:
    tab.sign_in(console.tokens["operator"])
    tab.open("/console/keys")
    tab.page.get_by_test_id("keys-table").wait_for()
    console.ok("PATCH", f"/admins/{console.ids['admin_operator']}", json={"status": "disabled"})
    tab.page.locator("nav [data-page=logs]").click()  # the next API call answers 401
    tab.page.get_by_test_id("signin").wait_for()


def test_on_a_phone_the_navigation_is_behind_the_menu_button(tab: Tab, console: Console) -> None:
    tab.sign_in(BOOTSTRAP)
    tab.page.set_viewport_size(PHONE)
    nav = tab.page.get_by_test_id("nav")
    assert not nav.is_visible()
    tab.page.locator(".menu-toggle").click()
    nav.locator("[data-page=logs]").click()
    tab.page.get_by_test_id("page-logs").locator("table, .empty").first.wait_for()
    assert not nav.is_visible()  # closed again once a page is chosen
    width = tab.page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], width  # nothing wider than the phone
