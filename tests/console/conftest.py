"""The console in a real browser: Playwright driving Debian's Chromium (`/usr/bin/chromium`, no
`playwright install`) against a real onegate on an ephemeral port (the management API's cast from
tests/admin/conftest.py: two teams, their admins and keys, the bootstrap owner).

Skipped with the reason when Playwright or Chromium is missing; a failure under ONEGATE_REQUIRE_SERVICES=1.
Every page a test opens must finish without a JavaScript error or a CSP violation in the console.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.admin.conftest import BOOTSTRAP, Console, console  # noqa: F401  (`console` is a fixture used here)
from tests.conftest import unavailable

CHROMIUM = Path(os.environ.get("ONEGATE_CHROMIUM", "/usr/bin/chromium"))
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
LAPTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
# a full key: the prefix and more than the four characters a mask shows
FULL_KEY = re.compile(r"sk-og-[A-Za-z0-9_-]{8,}")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("playwright is not installed (it is in the test extra: scripts/setup)")
    if not CHROMIUM.exists():
        unavailable(f"Chromium is not installed at {CHROMIUM} (apt-get install chromium fonts-noto-cjk)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield launched
        launched.close()


@dataclass
class Tab:
    """One browser tab on the console, and what went wrong in it (JS errors, CSP violations, failed loads)."""

    page: Any
    root: str
    problems: list[str] = field(default_factory=list)

    def open(self, path: str = "/console") -> Any:
        self.page.goto(self.root + path)
        return self.page

    def sign_in(self, token: str, expect_nav: str = "logs") -> None:
        self.open("/console")
        self.page.get_by_test_id("signin").locator("input[name=token]").fill(token)
        self.page.get_by_test_id("signin").locator("button[type=submit]").click()
        self.page.locator(f"nav [data-page={expect_nav}]").wait_for()

    def set_lang(self, code: str) -> None:
        self.page.get_by_test_id("lang-switch").first.select_option(code)

    def shot(self, name: str, width: dict[str, int] = LAPTOP, full_page: bool = True) -> Path:
        """A screenshot in tests/console/artifacts/ (git-ignored), named for the page, language and width;
        `full_page=False` for an open drawer or dialog (it is fixed to the viewport and scrolls inside)."""
        ARTIFACTS.mkdir(exist_ok=True)
        self.page.set_viewport_size(width)
        self.page.wait_for_timeout(150)  # a layout change (the phone's stacked tables) settles
        lang = self.page.evaluate("document.documentElement.lang")
        path = ARTIFACTS / f"{name}-{lang}-{width['width']}.png"
        self.page.screenshot(path=str(path), full_page=full_page)
        print(f"screenshot: {path}")
        return path

    def full_keys(self) -> list[str]:
        """Full keys anywhere in the page's HTML (a mask is `sk-og-…abcd`, which does not match)."""
        return FULL_KEY.findall(self.page.content())


@pytest.fixture
def tab(browser: Any, console: Console) -> Iterator[Tab]:  # noqa: F811
    yield from _tab(browser, console.gw.root)


def _tab(browser: Any, root: str, locale: str = "en-US") -> Iterator[Tab]:
    context = browser.new_context(viewport=LAPTOP, locale=locale)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=root)
    page = context.new_page()
    page.set_default_timeout(10_000)
    tab = Tab(page, root)
    page.on("pageerror", lambda error: tab.problems.append(f"page error: {error}"))
    page.on("console", lambda msg: _console_problem(tab, msg.type, msg.text))
    page.on("response", lambda response: _response_problem(tab, response.status, response.url))
    yield tab
    context.close()
    assert tab.problems == [], tab.problems


def _console_problem(tab: Tab, kind: str, text: str) -> None:
    # an API's 4xx is the page's business (it shows the message); a failed load of our own file is caught below
    if kind == "error" and not text.startswith("Failed to load resource"):
        tab.problems.append(f"console: {text}")


def _response_problem(tab: Tab, status: int, url: str) -> None:
    # a file of the app that is missing or broken; a page module not built yet is shown as "not available"
    path = url.removeprefix(tab.root)
    if status >= 400 and path.startswith("/console") and not re.match(r"/console/static/pages/\w+\.js$", path):
        tab.problems.append(f"{status} for {path}")
    if status >= 500:
        tab.problems.append(f"{status} for {path}")


@pytest.fixture
def new_tab(browser: Any, console: Console) -> Iterator[Any]:  # noqa: F811
    """More tabs (another user, another language): `new_tab(locale="zh-CN")`, each checked like `tab`."""
    yield from tabs(browser, console.gw.root)


def tabs(browser: Any, root: str) -> Iterator[Any]:
    """A tab factory on any running gateway (for fixtures with their own cast); each tab checked at the end."""
    made: list[Iterator[Tab]] = []

    def factory(locale: str = "en-US") -> Tab:
        gen = _tab(browser, root, locale)
        made.append(gen)
        return next(gen)

    yield factory
    for gen in made:
        next(gen, None)
