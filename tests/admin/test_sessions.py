"""Signing in to the console: a token or key becomes an HttpOnly, SameSite=Strict cookie with an expiry,
state-changing cookie requests need the CSRF token, failed sign-ins are slowed and logged, sign-out ends it."""

from __future__ import annotations

import logging
import time

import requests

from tests.admin.conftest import BOOTSTRAP, Console


def _sign_in(
    c: Console, token: str, headers: dict[str, str] | None = None
) -> tuple[requests.Session, requests.Response]:
    browser = requests.Session()
    response = browser.post(
        c.gw.root + "/admin/api/v1/session", json={"token": token}, headers=headers or {}, timeout=30
    )
    return browser, response


def test_sign_in_sets_a_strict_http_only_cookie_and_returns_the_csrf_token(console: Console):
    browser, response = _sign_in(console, console.tokens["team_admin"])
    assert response.status_code == 200, response.text
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie and "Max-Age=" in cookie
    assert "Secure" not in cookie  # plain http here; behind https (x-forwarded-proto) it is Secure
    info = response.json()
    assert info["role"] == "team_admin" and info["team_id"] == console.ids["team_a"]
    assert info["csrf_token"] and info["expires_at"] > time.time() + 3600
    # the session works for reads without any header, and across instances (it is in the database)
    assert browser.get(console.gw.root + "/admin/api/v1/keys", timeout=30).status_code == 200
    again = browser.get(console.gw.root + "/admin/api/v1/session", timeout=30).json()
    assert again["csrf_token"] == info["csrf_token"]
    # an untrusted X-Forwarded-Proto does not make it Secure (nor anything else): only a trusted proxy's does
    _, forwarded = _sign_in(console, console.tokens["viewer"], {"x-forwarded-proto": "https"})
    assert "Secure" not in forwarded.headers["set-cookie"]


def test_a_key_holder_session_names_the_key_masked_and_never_holds_the_key(console: Console):
    key = console.tokens["key"]
    browser, response = _sign_in(console, key)
    shown = f"key-a (sk-…{key[-4:]})"
    assert response.json()["shown_name"] == shown and response.json()["name"] == f"key:{console.ids['key_a']}"
    again = browser.get(console.gw.root + "/admin/api/v1/session", timeout=30)
    assert again.json()["shown_name"] == shown
    assert key[-8:] not in response.text + again.text  # the key is never sent back, not even most of it
    _, admin = _sign_in(console, console.tokens["viewer"])
    assert admin.json()["shown_name"] == admin.json()["name"] == "viewer"


def test_the_cookie_is_secure_when_the_server_is_reached_over_https(start_gateway, monkeypatch):
    monkeypatch.setenv("ONEGATE_ADMIN_TOKEN", BOOTSTRAP)
    gw = start_gateway({"server": {"public_url": "https://gw.example.com"}})
    response = requests.post(gw.root + "/admin/api/v1/session", json={"token": BOOTSTRAP}, timeout=30)
    assert response.status_code == 200 and "; Secure" in response.headers["set-cookie"]


def test_cookie_writes_need_the_csrf_token_bearer_writes_do_not(console: Console):
    browser, response = _sign_in(console, console.tokens["team_admin"])
    csrf = response.json()["csrf_token"]
    url = console.gw.root + "/admin/api/v1/keys"
    refused = browser.post(url, json={"name": "no-csrf"}, timeout=30)
    assert refused.status_code == 403 and "X-CSRF-Token" in refused.json()["error"]["message"]
    wrong = browser.post(url, json={"name": "bad-csrf"}, headers={"x-csrf-token": "0" * 32}, timeout=30)
    assert wrong.status_code == 403
    made = browser.post(url, json={"name": "with-csrf"}, headers={"x-csrf-token": csrf}, timeout=30)
    assert made.status_code == 201, made.text
    assert console.call("POST", "/keys", "team_admin", json={"name": "by-bearer"}).status_code == 201
    names = [k["name"] for k in console.ok("GET", "/keys?limit=200")["items"]]
    assert "with-csrf" in names and "by-bearer" in names and "no-csrf" not in names and "bad-csrf" not in names


def test_a_key_holder_signs_in_with_their_key_and_signs_out(console: Console):
    browser, response = _sign_in(console, console.tokens["key_a"])
    info = response.json()
    assert info["role"] == "key" and info["key_id"] == console.ids["key_a"]
    root = console.gw.root + "/admin/api/v1"
    assert browser.get(root + "/my/key", timeout=30).json()["balance"]["key_id"] == console.ids["key_a"]
    out = browser.delete(root + "/session", headers={"x-csrf-token": info["csrf_token"]}, timeout=30)
    assert out.status_code == 200 and "Max-Age=0" in out.headers["set-cookie"]
    browser.cookies.clear()
    stale = requests.get(root + "/my/key", cookies={"onegate_session": response.cookies["onegate_session"]}, timeout=30)
    assert stale.status_code == 401  # deleted on the server, not just forgotten by the browser


def test_a_disabled_key_or_admin_loses_its_session_at_once(console: Console):
    browser, _ = _sign_in(console, console.tokens["viewer"])
    root = console.gw.root + "/admin/api/v1"
    assert browser.get(root + "/keys", timeout=30).status_code == 200
    console.ok("PATCH", f"/admins/{console.ids['admin_viewer']}", json={"status": "disabled"})
    assert browser.get(root + "/keys", timeout=30).status_code == 401
    assert console.call("GET", "/keys", "viewer").status_code == 401


def test_failed_sign_ins_are_slowed_and_logged(console: Console, caplog):
    caplog.set_level(logging.WARNING, logger="onegate.admin")
    timings = []
    for _ in range(6):
        started = time.monotonic()
        _, response = _sign_in(console, "sk-og-not-a-real-key")
        timings.append(time.monotonic() - started)
        assert response.status_code == 401 and "set-cookie" not in response.headers
    assert timings[-1] >= 0.2 > timings[0]  # free failures first, then a growing delay
    assert sum("sign-in failed" in r.getMessage() for r in caplog.records) == 6
    _, ok = _sign_in(console, BOOTSTRAP)
    assert ok.status_code == 200 and ok.json()["role"] == "owner"
