"""The video tasks page in a real browser: a team admin lists only their team's tasks, opens one and sees
its status history, money and callback delivery attempts, and sends the callbacks again; a viewer may read
but not redeliver; screenshots in both languages."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.admin.conftest import Console
from tests.admin.test_tasks_api import media, receiver, submit, wait_ended  # noqa: F401  (fixtures)
from tests.console.conftest import LAPTOP, PHONE, tabs
from tests.fakes.callback_receiver import CallbackReceiver


@pytest.fixture
def media_tab(browser: Any, media: Console) -> Iterator[Any]:  # noqa: F811
    yield from tabs(browser, media.gw.root)


def test_a_team_admin_reads_their_teams_tasks_and_redelivers_a_callback(
    media_tab: Any,
    media: Console,  # noqa: F811
    receiver: CallbackReceiver,  # noqa: F811
) -> None:
    c = media
    made = c.ok("POST", f"/keys/{c.ids['key_a']}/webhook-secret", json={"callback_url": receiver.url})
    receiver.secret = made["secret"]
    mine = submit(c, "key_a")
    theirs = submit(c, "key_b")
    wait_ended(c, mine)
    wait_ended(c, theirs)
    receiver.wait(1)

    tab = media_tab()
    tab.sign_in(c.tokens["team_admin"])
    page = tab.open("/console/tasks")
    table = page.get_by_test_id("tasks-table")
    table.get_by_text(mine).wait_for()
    assert theirs not in table.inner_text()
    table.locator("tbody tr", has_text=mine).click()
    page.wait_for_url(f"**task={mine}**")
    drawer = page.get_by_test_id("task-detail")
    drawer.get_by_test_id("task-billing").filter(has_text="settled").wait_for()
    delivery = drawer.get_by_test_id("task-delivery")
    assert "video.completed" in delivery.inner_text() and "200" in delivery.inner_text()
    drawer.locator("[data-action=redeliver]").click()
    page.get_by_text("1 callback(s) queued again.").wait_for()
    receiver.wait(2)
    tab.open(f"/console/tasks?task={theirs}")  # another team's task: as if it did not exist
    page.get_by_test_id("task-detail").get_by_text("Not found (or not yours to see).").wait_for()

    viewer = media_tab()
    viewer.sign_in(c.tokens["viewer"])
    viewer.open(f"/console/tasks?status=completed&task={theirs}")
    viewer.page.get_by_test_id("tasks-table").get_by_text(mine).wait_for()
    viewer.page.get_by_test_id("task-billing").wait_for()
    assert viewer.page.locator("[data-action=redeliver]").count() == 0
    for lang in ("en", "zh"):
        viewer.set_lang(lang)
        viewer.page.get_by_test_id("task-billing").wait_for()
        viewer.shot("tasks-detail", LAPTOP)
        viewer.page.keyboard.press("Escape")
        viewer.page.get_by_test_id("task-detail").wait_for(state="detached")
        viewer.shot("tasks", LAPTOP)
        viewer.shot("tasks", PHONE)
        viewer.page.set_viewport_size(LAPTOP)
        viewer.open(f"/console/tasks?status=completed&task={theirs}")
    assert viewer.page.get_by_test_id("page-tasks").locator("h1").inner_text() == "视频任务"
