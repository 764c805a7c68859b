"""The Keys page's actions in a real browser, each checked through the API and with a real request:
search by last four, disable/enable, edit, rotate (the new secret shown once and working), delete; a
viewer gets no buttons that would only fail."""

from __future__ import annotations

import openai
import pytest

from tests.admin.conftest import BOOTSTRAP, Console
from tests.console.conftest import Tab
from tests.console.test_scenarios import chat


def works(console: Console, key: str) -> bool:
    try:
        chat(console, key)
    except openai.AuthenticationError:
        return False
    return True


def open_key(tab: Tab, console: Console, role: str = "key_a") -> None:
    tab.open(f"/console/keys?open={console.ids[role]}")
    tab.page.get_by_test_id("key-spent").wait_for()


@pytest.fixture
def owner_tab(tab: Tab) -> Tab:
    tab.sign_in(BOOTSTRAP)
    tab.page.on("dialog", lambda dialog: dialog.accept())  # the confirm() before rotate and delete
    return tab


def test_search_by_name_or_last_four(owner_tab: Tab, console: Console) -> None:
    mask_b = console.ok("GET", f"/keys/{console.ids['key_b']}")["key"]["mask"]
    owner_tab.open(f"/console/keys?q={mask_b[-4:]}")
    table = owner_tab.page.get_by_test_id("keys-table")
    table.locator("tbody tr").first.wait_for()
    assert table.locator("tbody tr").count() == 1 and mask_b in table.inner_text()
    form = owner_tab.page.locator("form.filters")
    form.locator("input[name=q]").fill("key-a")
    form.locator("button[type=submit]").click()
    owner_tab.page.wait_for_url("**/console/keys?q=key-a")
    table.locator("tbody tr", has_text="key-a").wait_for()
    assert "key-b" not in table.inner_text()


def test_disable_and_enable_take_effect_at_once(owner_tab: Tab, console: Console) -> None:
    open_key(owner_tab, console)
    owner_tab.page.get_by_test_id("disable").click()
    owner_tab.page.get_by_test_id("enable").wait_for()
    assert console.ok("GET", f"/keys/{console.ids['key_a']}")["key"]["status"] == "disabled"
    assert not works(console, console.tokens["key_a"])
    owner_tab.page.get_by_test_id("enable").click()
    owner_tab.page.get_by_test_id("disable").wait_for()
    assert works(console, console.tokens["key_a"])


def edit_key(tab: Tab, console: Console, **fields: str) -> dict[str, object]:
    """Fill the drawer's edit form (input or select by name), save, and read the key back from the API."""
    tab.page.get_by_test_id("edit").click()
    form = tab.page.get_by_test_id("key-drawer").get_by_test_id("key-form")
    for name, value in fields.items():
        if name == "budget_period":
            form.locator(f"select[name={name}]").select_option(value)
        else:
            form.locator(f"input[name={name}]").fill(value)
    form.locator("button[type=submit]").click()
    form.wait_for(state="detached")
    return dict(console.ok("GET", f"/keys/{console.ids['key_a']}")["key"])


def test_edit_sets_and_clears_models_budget_and_limits(owner_tab: Tab, console: Console) -> None:
    open_key(owner_tab, console)
    key = edit_key(owner_tab, console, models="gpt-4.1-mini", budget="7.5", budget_period="daily", rpm="30")
    assert (key["models"], key["budget"], key["budget_period"], key["rpm"]) == (["gpt-4.1-mini"], "7.50", "daily", 30)
    key = edit_key(owner_tab, console, models="", budget="", rpm="")
    assert (key["models"], key["budget"], key["rpm"]) == (None, None, None)


def test_bad_input_is_explained_in_the_form(owner_tab: Tab, console: Console) -> None:
    open_key(owner_tab, console)
    owner_tab.page.get_by_test_id("edit").click()
    form = owner_tab.page.get_by_test_id("key-drawer").get_by_test_id("key-form")
    form.locator("input[name=budget]").fill("lots")
    form.locator("button[type=submit]").click()
    assert "not valid" in form.get_by_role("alert").inner_text()
    assert console.ok("GET", f"/keys/{console.ids['key_a']}")["key"]["budget"] == "5.00"


def test_rotate_shows_the_new_key_once_and_it_works(owner_tab: Tab, console: Console) -> None:
    open_key(owner_tab, console)
    owner_tab.page.get_by_test_id("rotate").click()
    dialog = owner_tab.page.get_by_test_id("key-secret")
    secret = dialog.get_by_test_id("secret").inner_text().strip()
    dialog.get_by_test_id("setup-guides").wait_for()
    assert secret != console.tokens["key_a"] and works(console, secret)
    assert works(console, console.tokens["key_a"])  # the old key's grace period
    old = console.ok("GET", f"/keys/{console.ids['key_a']}")["key"]
    assert old["expires_at"] is not None
    owner_tab.page.keyboard.press("Escape")
    dialog.wait_for(state="detached")
    assert owner_tab.full_keys() == []


def test_delete_removes_the_key(owner_tab: Tab, console: Console) -> None:
    open_key(owner_tab, console, "key_b")
    owner_tab.page.get_by_test_id("delete").click()
    owner_tab.page.get_by_test_id("key-drawer").wait_for(state="detached")
    assert console.call("GET", f"/keys/{console.ids['key_b']}").status_code == 404
    assert not works(console, console.tokens["key_b"])
    owner_tab.page.get_by_test_id("keys-table").locator("tr", has_text="key-a").wait_for()
    assert "key-b" not in owner_tab.page.get_by_test_id("keys-table").inner_text()


def test_a_viewer_reads_keys_without_write_buttons(tab: Tab, console: Console) -> None:
    tab.sign_in(console.tokens["viewer"])
    open_key(tab, console)
    assert tab.page.get_by_test_id("new-key").count() == 0
    assert tab.page.get_by_test_id("disable").count() == 0 and tab.page.get_by_test_id("rotate").count() == 0
