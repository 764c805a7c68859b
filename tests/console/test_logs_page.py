"""The Logs page on many rows in a real browser: keyset pages through the URL, the totals for the filter,
slow first byte and total in colour, the attempts waterfall of a request that failed over, and the CSV
export link answering the same rows."""

from __future__ import annotations

import csv
import io
import time

import orjson
import pytest

from onegate.store.ledger import Settlement, write_settlements
from tests.admin.conftest import BOOTSTRAP, Console
from tests.console.conftest import Tab
from tests.records import log_row

ROWS = 120
FAILED_OVER = "req_console_failover"


@pytest.fixture
def stored(console: Console) -> list[dict]:
    """120 rows of key a over the last hour (every 7th failed, every 10th slow), one that failed over."""
    now = time.time()
    rows = []
    for i in range(ROWS):
        rows.append({
            "request_id": f"req_console{i:04d}", "created_at": now - 3600 + i * 20.0, "key_id": console.ids["key_a"],
            "team_id": console.ids["team_a"], "key_mask": "sk-…aaaa", "model_requested": "gpt-4.1-mini",
            "channel": "fake", "status": 502 if i % 7 == 0 else 200,
            "error_code": "upstream_bad_response" if i % 7 == 0 else None, "input_tokens": 10, "output_tokens": 5,
            "cost_micros": 1000, "ttfb_ms": 15000.0 if i % 10 == 0 else 200.0,
            "latency_ms": 40000.0 if i % 10 == 0 else 900.0,
        })  # fmt: skip
    attempts = [
        {"channel": "backup", "status": 503, "error": "upstream 503", "ms": 300.0},
        {"channel": "fake", "status": 200, "error": None, "ms": 600.0},
    ]
    rows.append(
        rows[-1]
        | {"request_id": FAILED_OVER, "created_at": now - 4000, "attempts": orjson.dumps(attempts).decode()}
        | {"status": 200, "error_code": None, "ttfb_ms": 700.0, "latency_ms": 950.0}
    )
    with console.gw.gateway.engine.begin() as conn:
        write_settlements(conn, [Settlement(log_row(**r)) for r in rows])
    return rows


def test_pages_totals_and_slow_colours(tab: Tab, console: Console, stored: list[dict]) -> None:
    from playwright.sync_api import expect  # installed: the `tab` fixture has checked

    tab.sign_in(BOOTSTRAP)
    tab.open(f"/console/logs?key_id={console.ids['key_a']}")
    table = tab.page.get_by_test_id("logs-table")
    table.locator("tbody tr").nth(49).wait_for()
    assert table.locator("tbody tr").count() == 50
    totals = tab.page.get_by_test_id("log-totals").inner_text()
    failed = sum(1 for r in stored if r["status"] >= 400)
    assert f"Requests\n{len(stored)}" in totals and f"Failed\n{failed}" in totals
    assert "0.121" in totals  # 121 rows × 0.001
    # the newest row (i=119) is fast; the 10th (i=110) waited 15 s for its first byte (very slow), 40 s in all (slow)
    slow_row = table.locator("tbody tr").nth(9)
    assert slow_row.locator(".very-slow").count() == 1 and slow_row.locator(".slow").count() == 1
    assert table.locator("tbody tr").nth(0).locator(".slow, .very-slow").count() == 0

    seen: list[str] = []
    for expected in (50, 50, 21):
        rows = table.locator("tbody tr")
        rows.nth(expected - 1).wait_for()
        assert rows.count() == expected
        seen += [rows.nth(i).get_attribute("data-id") or "" for i in range(expected)]
        if expected == 50:
            tab.page.get_by_test_id("next-page").click()
            expect(rows.first).not_to_have_attribute("data-id", seen[-expected])  # the next page is shown
    assert tab.page.get_by_text("No more rows.").is_visible()
    assert sorted(seen) == sorted(r["request_id"] for r in stored)  # every row once, none twice
    tab.page.get_by_text("First page").click()
    table.locator("tbody tr").nth(49).wait_for()
    assert "cursor" not in tab.page.url


def test_a_failed_over_request_shows_both_attempts(tab: Tab, console: Console, stored: list[dict]) -> None:
    tab.sign_in(BOOTSTRAP)
    tab.open(f"/console/logs?open={FAILED_OVER}")
    waterfall = tab.page.get_by_test_id("waterfall")
    waterfall.wait_for()
    steps = waterfall.locator(".wf-row")
    assert steps.count() == 2
    assert "backup" in steps.nth(0).inner_text() and "503" in steps.nth(0).inner_text()
    assert steps.nth(0).locator(".wf-bar.failed").count() == 1 and steps.nth(1).locator(".wf-bar.failed").count() == 0


def test_the_csv_link_exports_the_filtered_rows(tab: Tab, console: Console, stored: list[dict]) -> None:
    tab.sign_in(BOOTSTRAP)
    tab.open(f"/console/logs?key_id={console.ids['key_a']}&failed=true")
    tab.page.get_by_test_id("logs-table").locator("tbody tr").first.wait_for()
    link = tab.page.get_by_test_id("export-csv").get_attribute("href")
    text = tab.page.evaluate("href => fetch(href).then(r => r.text())", link)
    exported = list(csv.DictReader(io.StringIO(text)))
    assert sorted(r["request_id"] for r in exported) == sorted(r["request_id"] for r in stored if r["status"] >= 400)
