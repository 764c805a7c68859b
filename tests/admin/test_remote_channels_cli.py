"""`onegate --server URL --token T channels …`: list, test, disable and enable a remote server's channels
through its management API (the same service calls as the local CLI), without its database."""

from __future__ import annotations

from pathlib import Path

from tests.admin.conftest import Console
from tests.admin.test_remote_cli import _cli


def test_remote_channels_list_test_disable_enable(console: Console, tmp_path: Path):
    c, op = console, console.tokens["operator"]
    listed = _cli(c, op, "channels", "list", data_dir=tmp_path)
    assert listed.returncode == 0, listed.stderr
    row = next(line for line in listed.stdout.splitlines() if line.startswith("fake"))
    assert row.split()[3] == "healthy" and c.gw.root in listed.stderr

    tested = _cli(c, op, "channels", "test", data_dir=tmp_path)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert next(line for line in tested.stdout.splitlines() if line.startswith("fake")).split()[1:3] == ["ok", "200"]

    off = _cli(c, op, "channels", "disable", "fake", "--reason", "key rotation", data_dir=tmp_path)
    assert off.returncode == 0, off.stderr
    fake = next(ch for ch in c.ok("GET", "/channels") if ch["name"] == "fake")
    assert fake["state"] == "disabled" and fake["marks"]["disabled"] == "by hand: key rotation"
    assert "disabled by hand: key rotation" in _cli(c, op, "channels", "list", data_dir=tmp_path).stdout
    trail = c.ok("GET", "/audit")["items"]
    assert trail[0]["action"] == "channels.disable" and trail[0]["actor"] == "operator"

    on = _cli(c, op, "channels", "enable", "fake", data_dir=tmp_path)
    assert on.returncode == 0, on.stderr
    assert next(ch for ch in c.ok("GET", "/channels") if ch["name"] == "fake")["state"] == "healthy"
    assert not (tmp_path / "onegate.db").exists()  # it never opened a database


def test_remote_channels_refusals(console: Console, tmp_path: Path):
    c = console
    viewer = _cli(c, c.tokens["viewer"], "channels", "disable", "fake", data_dir=tmp_path)
    assert viewer.returncode == 1 and "viewer" in viewer.stderr
    assert next(ch for ch in c.ok("GET", "/channels") if ch["name"] == "fake")["state"] == "healthy"
    unknown = _cli(c, c.tokens["operator"], "channels", "enable", "nope", data_dir=tmp_path)
    assert unknown.returncode == 2 and "nope" in unknown.stderr
    team_admin = _cli(c, c.tokens["team_admin"], "channels", "list", data_dir=tmp_path)
    assert team_admin.returncode == 1 and "fake" not in team_admin.stdout


def test_audit_filtered_to_one_team(console: Console):
    c = console
    a, b = c.ids["team_a"], c.ids["team_b"]
    only_a = c.ok("GET", "/audit", params={"team_id": a})["items"]
    assert only_a and {e["team_id"] for e in only_a} == {a}
    assert any(e["action"] == "teams.topup" for e in only_a)
    assert {e["team_id"] for e in c.ok("GET", "/audit", "team_admin", params={"team_id": a})["items"]} == {a}
    assert c.call("GET", "/audit", "team_admin", params={"team_id": b}).status_code == 404
    assert c.call("GET", "/audit", params={"team_id": 0}).status_code == 400
