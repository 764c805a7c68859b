"""Every management route, tried with every role: the role rules are stated here once more (a new route
without a rule fails), and a team admin or key holder never sees another team's or key's data."""

from __future__ import annotations

import warnings

import openai
import pytest

from onegate.admin.api_v1.routes import ENDPOINTS
from tests.admin.conftest import Console

ALL = {"owner", "operator", "viewer", "team_admin", "key"}
STAFF = {"owner", "operator", "viewer", "team_admin"}
READERS = {"owner", "operator", "viewer"}
WRITERS = {"owner", "operator"}
TEAM_WRITERS = {"owner", "operator", "team_admin"}
PUBLIC = None

RULES: dict[tuple[str, str], set[str] | None] = {
    ("GET", "/openapi.json"): PUBLIC,
    ("POST", "/session"): PUBLIC,
    ("GET", "/session"): ALL,
    ("DELETE", "/session"): ALL,
    ("GET", "/my/key"): {"key"},
    ("GET", "/keys"): STAFF,
    ("POST", "/keys"): TEAM_WRITERS,
    ("GET", "/keys/{id}"): ALL,
    ("PATCH", "/keys/{id}"): TEAM_WRITERS,
    ("POST", "/keys/{id}/rotate"): TEAM_WRITERS,
    ("DELETE", "/keys/{id}"): TEAM_WRITERS,
    ("GET", "/keys/{id}/webhook"): ALL,
    ("PUT", "/keys/{id}/webhook"): TEAM_WRITERS,
    ("POST", "/keys/{id}/webhook-secret"): TEAM_WRITERS,
    ("GET", "/tasks"): ALL,
    ("GET", "/tasks/{task}"): ALL,
    ("POST", "/tasks/{task}/redeliver"): {"owner", "operator", "team_admin", "key"},
    ("GET", "/teams"): STAFF,
    ("POST", "/teams"): WRITERS,
    ("GET", "/teams/{id}"): STAFF,
    ("PATCH", "/teams/{id}"): WRITERS,
    ("POST", "/teams/{id}/balance"): TEAM_WRITERS,
    ("GET", "/prices"): ALL,
    ("PUT", "/prices/{model}"): WRITERS,
    ("DELETE", "/prices/{model}"): WRITERS,
    ("GET", "/channels"): READERS,
    ("GET", "/channels/{name}/health"): READERS,
    ("POST", "/channels/{name}/test"): WRITERS,
    ("POST", "/channels/{name}/enable"): WRITERS,
    ("POST", "/channels/{name}/disable"): WRITERS,
    ("GET", "/logs"): ALL,
    ("GET", "/logs/totals"): ALL,
    ("GET", "/logs/export.csv"): ALL,
    ("GET", "/logs/{request_id}"): ALL,
    ("GET", "/evidence/{request_id}"): ALL,
    ("GET", "/stats"): ALL,
    ("GET", "/alerts"): STAFF,
    ("GET", "/audit"): STAFF,
    ("GET", "/admins"): {"owner"},
    ("POST", "/admins"): {"owner"},
    ("PATCH", "/admins/{id}"): {"owner"},
    ("DELETE", "/admins/{id}"): {"owner"},
    ("GET", "/setup"): ALL,
    ("GET", "/setup/{client}"): ALL,
}
ROLES = ("owner", "operator", "viewer", "team_admin", "key")


def test_every_route_has_a_rule_here_and_the_server_enforces_the_same():
    served = {(e.method, e.path): (set(e.roles) if e.roles is not None else None) for e in ENDPOINTS}
    assert set(served) == set(RULES), "a route was added or removed: state who may call it in RULES"
    for route, roles in RULES.items():
        assert served[route] == roles, route


def _foreign_path(c: Console, path: str, traffic: dict[str, str]) -> str:
    """The path filled in with team B's objects (team admin and key holder belong to team A)."""
    return (
        path.replace("{id}", str(c.ids["team_b"] if "/teams/" in path else c.ids["key_b"]))
        .replace("{request_id}", traffic["b"])
        .replace("{task}", traffic["video_b"])
        .replace("{name}", "fake")
        .replace("{model}", "gpt-4.1-mini")
        .replace("{client}", "cursor")
    )


# asking for team B's data outright, and asking for everything (grouped by key, so names would show)
QUERIES = ("?team_id={team_b}&key_id={key_b}&group_by=key", "?group_by=key")


@pytest.fixture
def traffic(console: Console) -> dict[str, str]:
    """One request through each team's key, so logs, stats and evidence have rows of both teams."""
    request_ids = {}
    for name in ("a", "b"):
        response = console.gw.client(api_key=console.tokens[f"key_{name}"]).chat.completions.with_raw_response.create(
            model="gpt-4.1-mini", messages=[{"role": "user", "content": "hi"}]
        )
        request_ids[name] = response.headers["x-request-id"]
        console.gw.log(request_ids[name])
    return request_ids


def video_task(console: Console, key: str) -> str:
    """A video task (the free selftest model) submitted with `key`."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # the SDK's videos methods are deprecated upstream
        client = console.gw.client(api_key=console.tokens[key])
        return client.videos.create(model="onegate-selftest-video", prompt="a fox").id


def test_each_role_gets_its_answer_on_every_route_and_never_sees_team_b(console: Console, traffic: dict[str, str]):
    c = console
    traffic = {**traffic, "video_a": video_task(c, "key_a"), "video_b": video_task(c, "key_b")}
    seen_ok = set()
    for endpoint in ENDPOINTS:
        rule = RULES[(endpoint.method, endpoint.path)]
        path = _foreign_path(c, endpoint.path, traffic)
        for role, query_template in ((r, q) for r in (*ROLES, None) for q in QUERIES):
            if endpoint.method != "GET" and role in ("owner", "operator"):
                continue  # their writes are tested with real bodies elsewhere; a walk must not delete team B
            if endpoint.method != "GET" or (endpoint.method, endpoint.path) == ("POST", "/session"):
                body: dict | None = {"not_a_field": 1}  # never a valid body: allowed roles get 400, not a change
            else:
                body = None
            query = query_template.format(team_b=c.ids["team_b"], key_b=c.ids["key_b"]) if endpoint.query else ""
            if query and endpoint.path not in ("/stats", "/channels/{name}/health"):
                query = query.replace("&group_by=key", "").replace("?group_by=key", "")
            response = c.call(endpoint.method, path + query, role, json=body)
            where = f"{role} {endpoint.method} {path}{query}: {response.status_code} {response.text[:200]}"
            assert response.status_code < 500, where
            if rule is None:
                continue
            if role is None:
                assert response.status_code == 401, where
            elif role not in rule:
                assert response.status_code == 403, where
            if role in ("team_admin", "key") and response.status_code < 300:  # errors echo the ids they were given
                text = response.text
                assert "team-b" not in text and "key-b" not in text and traffic["b"] not in text, where
                assert traffic["video_b"] not in text, where
                assert c.tokens["key_b"][-4:] not in text, where
                seen_ok.add((role, endpoint.path))
    # the leak checks ran on real answers: each of these lists answered the narrow roles
    for path in ("/logs", "/logs/totals", "/logs/export.csv", "/stats", "/setup", "/tasks"):
        assert {("team_admin", path), ("key", path)} <= seen_ok, path
    assert ("team_admin", "/keys") in seen_ok and ("team_admin", "/teams") in seen_ok


def test_team_admin_and_key_holder_cannot_change_team_b(console: Console):
    c = console
    key_b, team_b = c.ids["key_b"], c.ids["team_b"]
    attempts = [
        ("PATCH", f"/keys/{key_b}", {"status": "disabled"}),
        ("POST", f"/keys/{key_b}/rotate", {"grace_seconds": 0}),
        ("DELETE", f"/keys/{key_b}", None),
        ("POST", f"/teams/{team_b}/balance", {"kind": "topup", "amount": "100"}),
        ("POST", "/keys", {"name": "intruder", "team_id": team_b}),
    ]
    for role in ("team_admin", "team_admin_topup", "key", "viewer"):
        for method, path, body in attempts:
            response = c.call(method, path, role, json=body)
            assert response.status_code in (403, 404), (role, method, path, response.status_code, response.text)
    detail = c.ok("GET", f"/keys/{key_b}")
    assert detail["key"]["status"] == "active" and detail["key"]["expires_at"] is None
    assert c.ok("GET", f"/teams/{team_b}")["team"]["balance"] == "10.00"
    assert c.gw.client(api_key=c.tokens["key_b"]).models.list().data  # key B still works


def test_team_admin_manages_their_own_team_keys_and_tops_up_only_when_granted(console: Console):
    c = console
    team_a = c.ids["team_a"]
    created = c.ok("POST", "/keys", "team_admin", json={"name": "colleague"})
    assert created["key"]["team_id"] == team_a  # forced into their team
    assert created["secret"].startswith("sk-og-") and {g["client"] for g in created["setup"]} >= {"cursor", "curl"}
    colleague = c.gw.client(api_key=created["secret"])
    assert colleague.models.list().data
    disabled = c.ok("PATCH", f"/keys/{created['key']['id']}", "team_admin", json={"status": "disabled"})
    assert disabled["status"] == "disabled"
    with pytest.raises(openai.AuthenticationError) as refused:  # every cache let go of it at once
        colleague.models.list()
    assert refused.value.code == "key_disabled"
    denied = c.call("POST", f"/teams/{team_a}/balance", "team_admin", json={"kind": "topup", "amount": "1"})
    assert denied.status_code == 403
    granted = c.ok("POST", f"/teams/{team_a}/balance", "team_admin_topup", json={"kind": "topup", "amount": "1"})
    assert granted["team"]["balance"] == "11.00"
    trail = c.ok("GET", "/audit", "team_admin")["items"]
    assert trail and all(e["team_id"] == team_a for e in trail)
    assert any(e["action"] == "teams.topup" and e["actor"] == "team_admin_topup" for e in trail)


def test_key_holder_sees_their_key_balance_logs_and_filled_in_guides(console: Console, traffic: dict[str, str]):
    c = console
    mine = c.ok("GET", "/my/key", "key")
    assert mine["balance"]["key_id"] == c.ids["key_a"] and mine["balance"]["remaining_micros"] > 0
    assert mine["base_url"] == c.gw.base_url
    logs = c.ok("GET", "/logs", "key")["items"]
    assert [row["request_id"] for row in logs] == [traffic["a"]]
    assert c.call("GET", f"/logs/{traffic['b']}", "key").status_code == 404
    assert c.call("GET", f"/keys/{c.ids['key_b']}", "key").status_code == 404
    assert c.ok("GET", f"/keys/{c.ids['key_a']}", "key")["key"]["id"] == c.ids["key_a"]
    guides = c.ok("GET", "/setup", "key")
    mask = c.ok("GET", f"/keys/{c.ids['key_a']}", "key")["key"]["mask"]
    assert all(g["base_url"].startswith(c.gw.root) for g in guides)
    assert any(mask in str(g) for g in guides)
