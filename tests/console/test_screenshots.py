"""Screenshots of the console-core pages in English and Chinese at laptop and phone width, saved to
tests/console/artifacts/ (paths printed; look at them), with the Chinese labels checked in the page: a
Chinese browser gets Chinese, and the CJK font is there so it renders as text, not boxes."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.admin.conftest import BOOTSTRAP, Console
from tests.conftest import unavailable
from tests.console.conftest import LAPTOP, PHONE, Tab
from tests.console.test_scenarios import chat

# what each page says in Chinese (its heading), so a screenshot in zh is known to be in zh
ZH_HEADINGS = {"keys": "API 密钥", "logs": "请求日志", "mykey": "我的密钥"}


def require_cjk_font() -> None:
    fc_list = shutil.which("fc-list")
    found = subprocess.run([fc_list, ":lang=zh", "family"], capture_output=True, text=True).stdout if fc_list else ""
    if not found.strip():
        unavailable("no CJK font (apt-get install fonts-noto-cjk): Chinese would render as empty boxes")


def both_widths(tab: Tab, name: str, full_page: bool = True) -> None:
    for width in (LAPTOP, PHONE):
        tab.shot(name, width, full_page)
    tab.page.set_viewport_size(LAPTOP)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_screenshots_of_each_page(tab: Tab, new_tab, console: Console, lang: str) -> None:  # type: ignore[no-untyped-def]
    require_cjk_font()
    request_id = chat(console, console.tokens["key_a"])
    tab.open("/console")
    tab.set_lang(lang)
    tab.page.get_by_test_id("signin").wait_for()
    both_widths(tab, "signin")
    tab.sign_in(BOOTSTRAP)

    def check_heading(page_name: str) -> None:
        heading = tab.page.locator("h1").first.inner_text()
        assert (heading == ZH_HEADINGS[page_name]) == (lang == "zh"), heading

    tab.open("/console/keys")
    tab.page.get_by_test_id("keys-table").wait_for()
    check_heading("keys")
    both_widths(tab, "keys")
    tab.page.get_by_test_id("new-key").click()
    form = tab.page.get_by_test_id("create-key")
    form.locator("input[name=name]").fill("screenshot")
    form.locator("button[type=submit]").click()
    tab.page.get_by_test_id("setup-guides").wait_for()
    both_widths(tab, "keys-created", full_page=False)
    tab.page.keyboard.press("Escape")
    tab.open(f"/console/keys?open={console.ids['key_a']}")
    tab.page.get_by_test_id("key-spent").wait_for()
    both_widths(tab, "keys-drawer", full_page=False)

    tab.open("/console/logs")
    tab.page.get_by_test_id("logs-table").wait_for()
    check_heading("logs")
    both_widths(tab, "logs")
    tab.open(f"/console/logs?open={request_id}")
    tab.page.get_by_test_id("waterfall").wait_for()
    both_widths(tab, "logs-drawer", full_page=False)

    holder = new_tab(locale="zh-CN" if lang == "zh" else "en-US")  # the browser's language, no switch
    holder.sign_in(console.tokens["key_a"])
    holder.page.get_by_test_id("setup-guides").wait_for()
    assert (holder.page.locator("h1").first.inner_text() == ZH_HEADINGS["mykey"]) == (lang == "zh")
    both_widths(holder, "mykey")
