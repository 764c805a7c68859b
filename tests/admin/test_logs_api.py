"""The logs a console page reads: filtered pages by cursor, the totals row for the same filter, a streamed
CSV with the cap stated, one request's detail with its attempts and evidence."""

from __future__ import annotations

import csv
import io
import time

from onegate.store.ledger import Settlement, write_settlements
from tests.admin.conftest import Console


def _rows(c: Console, count: int) -> list[dict]:
    """Rows as the log writer stores them (rollups included), spread over the last two days."""
    now = time.time()
    rows = []
    for i in range(count):
        failed = i % 7 == 0
        rows.append({
            "request_id": f"req_bulk{i:05d}", "created_at": now - 2 * 86400 + i * 97.0,
            "key_id": c.ids["key_a"] if i % 2 else c.ids["key_b"], "key_mask": "sk-…x",
            "team_id": c.ids["team_a"] if i % 2 else c.ids["team_b"], "client_name": "cursor" if i % 3 else "curl",
            "client_version": "1", "user_agent": "ua", "method": "POST", "path": "/api/v1/chat/completions",
            "dialect": "openai_chat", "model_requested": "gpt-4.1-mini", "channel": "fake",
            "status": 502 if failed else 200, "error_code": "upstream_bad_response" if failed else None,
            "stream": False, "latency_ms": 100.0, "ttfb_ms": 50.0, "input_tokens": 10, "cached_tokens": 0,
            "cache_write_tokens": 0, "output_tokens": 5, "reasoning_tokens": 0, "cost_micros": 7,
            "usage_estimated": False,
        })  # fmt: skip
    with c.gw.gateway.engine.begin() as conn:
        write_settlements(conn, [Settlement(r) for r in rows])
    return rows


def test_cursor_pages_and_totals_follow_the_same_filter(console: Console):
    c = console
    rows = _rows(c, 120)
    mine = [r for r in rows if r["team_id"] == c.ids["team_a"] and r["status"] >= 400]
    query = f"team_id={c.ids['team_a']}&failed=true&limit=4"
    seen, cursor = [], None
    while True:
        page = c.ok("GET", "/logs?" + query + (f"&cursor={cursor}" if cursor else ""))
        seen += [item["request_id"] for item in page["items"]]
        assert len(page["items"]) <= 4
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [r["request_id"] for r in sorted(mine, key=lambda r: r["created_at"], reverse=True)]
    totals = c.ok("GET", "/logs/totals?" + query)
    assert totals == {
        "requests": len(mine), "failed": len(mine), "input_tokens": 10 * len(mine), "cached_tokens": 0,
        "output_tokens": 5 * len(mine), "cost_micros": 7 * len(mine),
    }  # fmt: skip
    # the team admin of team A gets the same answer without naming the team, and nothing of team B
    assert c.ok("GET", "/logs/totals?failed=true", "team_admin") == totals
    by_client = c.ok("GET", "/logs?client=curl&limit=200", "team_admin")["items"]
    assert by_client and all(i["client_name"] == "curl" and i["team_id"] == c.ids["team_a"] for i in by_client)
    assert c.call("GET", "/logs?cursor=not-a-cursor").status_code == 400


def test_csv_export_streams_the_filter_with_the_cap_stated(console: Console):
    c = console
    rows = _rows(c, 60)
    response = c.call("GET", "/logs/export.csv?error_code=upstream_bad_response", stream=True)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert int(response.headers["x-onegate-export-cap"]) >= 10_000
    assert "attachment" in response.headers["content-disposition"]
    table = list(csv.DictReader(io.StringIO(response.content.decode())))
    expected = {r["request_id"] for r in rows if r["error_code"]}
    assert {row["request_id"] for row in table} == expected
    assert all(row["status"] == "502" for row in table)
    key_holder = list(csv.DictReader(io.StringIO(c.call("GET", "/logs/export.csv", "key").text)))
    assert key_holder and all(row["key_id"] == str(c.ids["key_a"]) for row in key_holder)


def test_detail_has_the_attempt_timeline_and_the_evidence_for_support(console: Console):
    c = console
    response = c.gw.client(api_key=c.tokens["key_a"]).chat.completions.with_raw_response.create(
        model="gpt-4.1-mini", messages=[{"role": "user", "content": "hi"}]
    )
    request_id = response.headers["x-request-id"]
    c.gw.log(request_id)
    detail = c.ok("GET", f"/logs/{request_id}", "key")
    assert detail["item"]["request_id"] == request_id and detail["item"]["client_name"] == "openai-python"
    assert detail["attempts"] and detail["attempts"][0]["channel"] == "fake"
    assert detail["evidence"]["facts"]["request_id"] == request_id
    assert request_id in detail["evidence_markdown"] and c.tokens["key_a"] not in str(detail)
    assert c.ok("GET", f"/evidence/{request_id}", "team_admin")["facts"]["key_mask"] == detail["item"]["key_mask"]
    zh = c.ok("GET", f"/logs/{request_id}?lang=zh", "key")["evidence_markdown"]
    assert zh != detail["evidence_markdown"]
    # the log writer added the request to the rollups in the same batch: the chart has it
    chart = c.ok("GET", "/stats?group_by=model", "key")
    assert chart["points"] and chart["points"][-1]["group"] == "gpt-4.1-mini" and chart["totals"]["requests"] == 1


def test_stats_read_the_rollups_grouped_for_a_dashboard(console: Console):
    c = console
    _rows(c, 90)
    stats = c.ok("GET", f"/stats?since={time.time() - 3 * 86400}&group_by=team&bucket=day")
    assert stats["bucket"] == "day" and stats["totals"]["requests"] == 90
    names = {g["group"] for g in stats["groups"]}
    assert names == {"team-a", "team-b"}
    assert sum(p["requests"] for p in stats["points"]) == 90
    mine = c.ok("GET", f"/stats?since={time.time() - 3 * 86400}&group_by=key", "key")
    assert {g["group"].split()[0] for g in mine["groups"]} == {"key-a"}
