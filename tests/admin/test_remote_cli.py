"""`onegate --server URL --token T …`: the CLI manages a running server through its API, without its database."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.admin.conftest import Console


def _cli(c: Console, token: str, *args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ONEGATE_DATA_DIR": str(data_dir)}
    env.pop("ONEGATE_ADMIN_TOKEN", None)
    command = [sys.executable, "-m", "onegate", "--server", c.gw.root, "--token", token, *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)


def test_remote_cli_manages_keys_teams_and_reads_logs(console: Console, tmp_path: Path):
    c = console
    elsewhere = tmp_path / "no-database-here"
    created = _cli(c, c.tokens["operator"], "keys", "create", "--name", "remote-bob", "--team", "team-a",
                   "--budget", "2", data_dir=elsewhere)  # fmt: skip
    assert created.returncode == 0, created.stderr
    secret = created.stdout.strip()
    assert secret.startswith("sk-og-") and c.gw.root + "/api/v1" in created.stderr
    assert c.gw.client(api_key=secret).models.list().data  # the new key works at once

    listed = _cli(c, c.tokens["operator"], "keys", "list", data_dir=elsewhere)
    assert listed.returncode == 0, listed.stderr
    bob = next(line for line in listed.stdout.splitlines() if "remote-bob" in line)
    assert "team-a" in bob and "2.00/monthly" in bob and secret not in listed.stdout

    assert _cli(c, c.tokens["operator"], "keys", "disable", "remote-bob", data_dir=elsewhere).returncode == 0
    assert c.ok("GET", f"/keys/{bob.split()[0]}")["key"]["status"] == "disabled"

    topup = _cli(c, c.tokens["operator"], "teams", "topup", "team-a", "5", "--note", "remote", data_dir=elsewhere)
    assert topup.returncode == 0 and "balance now 15.00" in topup.stdout, topup.stderr
    shown = _cli(c, c.tokens["operator"], "teams", "show", "team-a", data_dir=elsewhere)
    assert "balance  15.00" in shown.stdout and "remote" in shown.stdout

    audit = c.ok("GET", "/audit")["items"]
    assert any(e["action"] == "teams.topup" and e["actor"] == "operator" for e in audit)
    assert not (elsewhere / "onegate.db").exists()  # it never opened a database


def test_remote_cli_is_refused_what_the_role_may_not_do(console: Console, tmp_path: Path):
    c = console
    refused = _cli(c, c.tokens["viewer"], "keys", "create", "--name", "nope", data_dir=tmp_path)
    assert refused.returncode == 1 and "viewer" in refused.stderr
    wrong = _cli(c, "og-admin-wrong", "keys", "list", data_dir=tmp_path)
    assert wrong.returncode == 1 and "401" in wrong.stderr
    team_admin = _cli(c, c.tokens["team_admin"], "keys", "list", data_dir=tmp_path)
    assert "key-a" in team_admin.stdout and "key-b" not in team_admin.stdout


def test_an_admin_created_with_the_cli_signs_in_and_its_secret_is_stored_hashed(console: Console):
    c = console
    env = {**os.environ, "ONEGATE_DATA_DIR": str(c.gw.data_dir)}
    if c.gw.config_path is not None:
        env["ONEGATE_CONFIG"] = str(c.gw.config_path)
    command = [sys.executable, "-m", "onegate", "admins", "create", "carol", "--role", "team_admin", "--team", "team-b"]
    made = subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    assert token.startswith("og-admin-") and "only time" in made.stderr
    c.tokens["carol"] = token
    assert c.ok("GET", "/session", "carol")["team_id"] == c.ids["team_b"]
    assert [k["name"] for k in c.ok("GET", "/keys", "carol")["items"]] == ["key-b"]
    assert token.encode() not in (c.gw.data_dir / "onegate.db").read_bytes()
    trail = c.ok("GET", "/audit")["items"]
    assert trail[0]["action"] == "admins.create" and trail[0]["role"] == "owner" and "@" in trail[0]["actor"]
