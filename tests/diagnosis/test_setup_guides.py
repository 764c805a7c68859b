"""Setup guides, tested by parsing what they produce: the TOML, JSON, env lines and code are valid and point at
the right URL; the test commands run against a real onegate where the tool is at hand."""

from __future__ import annotations

import ast
import json
import os
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from onegate.cli.main import app
from onegate.setup.guides import CLIENTS
from onegate.store.keys import list_keys
from tests.conftest import raw_request

ROOT = "https://gw.example.com"
runner = CliRunner()


def guide(client: str, tmp_path: Path, *args: str) -> dict[str, Any]:
    result = runner.invoke(app, ["setup", client, "--json", "--data-dir", str(tmp_path), *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def snippet(data: dict[str, Any], language: str) -> str:
    return next(s["content"] for s in data["snippets"] if s["language"] == language)


def env_lines(text: str) -> dict[str, str]:
    """`export NAME=value` lines, parsed as a shell would."""
    pairs = {}
    for line in text.splitlines():
        words = shlex.split(line)
        assert words[0] == "export" and len(words) == 2, line
        name, _, value = words[1].partition("=")
        pairs[name] = value
    return pairs


@pytest.mark.parametrize("client", CLIENTS)
def test_every_guide_points_at_the_public_url_and_has_a_test_command(client, tmp_path):
    data = guide(client, tmp_path, "--public-url", ROOT)
    expected = f"{ROOT}/api" if client == "claude-code" else f"{ROOT}/api/v1"
    assert data["base_url"] == expected
    assert expected in json.dumps([f["value"] for f in data["fields"]])
    assert data["test_command"] and "\n" not in data["test_command"]
    assert data["model"] == "onegate-selftest" and data["models"] == ["onegate-selftest"]


def test_codex_config_is_valid_toml_with_the_responses_wire_api(tmp_path):
    data = guide("codex", tmp_path, "--public-url", ROOT)
    config = tomllib.loads(snippet(data, "toml"))
    provider = config["model_providers"][config["model_provider"]]
    assert provider["base_url"] == f"{ROOT}/api/v1"
    assert provider["wire_api"] == "responses"
    assert config["model"] == "onegate-selftest"
    assert env_lines(snippet(data, "shell")).keys() == {provider["env_key"]}


def test_claude_code_settings_json_and_env_lines_agree(tmp_path):
    data = guide("claude-code", tmp_path, "--public-url", ROOT)
    settings = json.loads(snippet(data, "json"))["env"]
    assert settings["ANTHROPIC_BASE_URL"] == f"{ROOT}/api"  # Claude Code appends /v1/messages
    assert settings["ANTHROPIC_API_KEY"] == ""
    assert settings["ANTHROPIC_AUTH_TOKEN"] == "<your onegate key>"
    assert env_lines(snippet(data, "shell")) == settings
    assert data["test_command"] == 'claude -p "say hi"'


def test_lobechat_server_env_names_the_proxy_url_and_model_list(tmp_path):
    env = env_lines(snippet(guide("lobechat", tmp_path, "--public-url", ROOT), "shell"))
    assert env["OPENAI_PROXY_URL"] == f"{ROOT}/api/v1"
    assert env["OPENAI_MODEL_LIST"] == "-all,+onegate-selftest"


def test_gui_guides_use_the_field_names_the_client_shows(tmp_path):
    labels = {c: [f["label"] for f in guide(c, tmp_path, "--public-url", ROOT)["fields"]] for c in CLIENTS}
    assert "Override OpenAI Base URL" in labels["cursor"]
    assert "API Host (Settings → Model Provider)" in labels["cherry-studio"]
    assert "API proxy URL (or OPENAI_PROXY_URL)" in labels["lobechat"]
    assert {"API Host (Settings → Model Provider)", "API Path"} <= set(labels["chatbox"])
    zh = [f["label"] for f in guide("cherry-studio", tmp_path, "--lang", "zh")["fields"]]
    assert "API 地址（设置 → 模型服务）" in zh


def test_python_snippet_is_valid_python_with_the_base_url(tmp_path):
    data = guide("openai-python", tmp_path, "--public-url", ROOT)
    tree = ast.parse(snippet(data, "python"))
    strings = {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)}
    assert f"{ROOT}/api/v1" in strings


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_node_snippet_and_test_command_are_valid_javascript(tmp_path):
    data = guide("openai-node", tmp_path, "--public-url", ROOT)
    module = tmp_path / "hello.mjs"
    module.write_text(snippet(data, "javascript"))
    command = shlex.split(data["test_command"])
    assert command[:2] == ["node", "-e"]
    script = tmp_path / "test.cjs"
    script.write_text(command[2])
    for path in (module, script):
        subprocess.run(["node", "--check", str(path)], check=True, capture_output=True, timeout=30)


def _served_guide(gw, client: str, tmp_path: Path) -> dict[str, Any]:
    return guide(client, gw.data_dir, "--public-url", gw.root)


def test_python_test_command_works_against_a_running_onegate(start_gateway, tmp_path):
    gw = start_gateway()
    data = _served_guide(gw, "openai-python", tmp_path)
    env = {**os.environ, **env_lines(snippet(data, "shell")), "OPENAI_API_KEY": gw.key}
    command = shlex.split(data["test_command"])
    assert command[0] == "python"
    result = subprocess.run([sys.executable, *command[1:]], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "Hello from onegate-selftest" in result.stdout


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
@pytest.mark.parametrize("client", ["curl", "cherry-studio", "cursor"])
def test_curl_test_commands_work_against_a_running_onegate(start_gateway, tmp_path, client):
    gw = start_gateway()
    data = _served_guide(gw, client, tmp_path)
    env = {**os.environ, "ONEGATE_API_KEY": gw.key}
    result = subprocess.run(["bash", "-c", data["test_command"]], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "onegate-selftest" in result.stdout


def test_guide_for_a_key_lists_only_its_models_and_shows_its_mask(start_gateway, tmp_path):
    gw = start_gateway()
    narrow = gw.create_key("narrow", models=["onegate-selftest"])
    key_id = next(k.id for k in list_keys(gw.gateway.engine) if k.name == "narrow")
    data = guide("cursor", gw.data_dir, "--key-id", str(key_id), "--public-url", ROOT)
    assert data["models"] == ["onegate-selftest"]
    assert f"sk-…{narrow[-4:]}" in json.dumps(data["fields"], ensure_ascii=False)


def test_unknown_key_id_and_unknown_client_fail_with_a_message(tmp_path):
    result = runner.invoke(app, ["setup", "cursor", "--key-id", "999", "--data-dir", str(tmp_path)])
    assert result.exit_code == 1 and "no key with id 999" in result.output
    result = runner.invoke(app, ["setup", "vim", "--data-dir", str(tmp_path)])
    assert result.exit_code == 2 and "cherry-studio" in result.output


def test_cursor_guide_warns_about_a_local_address(tmp_path):
    local = guide("cursor", tmp_path, "--public-url", "http://192.168.1.20:8080")
    assert any("cannot reach" in note for note in local["notes"])
    public = guide("cursor", tmp_path, "--public-url", ROOT)
    assert not any("cannot reach" in note for note in public["notes"])


def test_text_guide_is_readable_in_chinese(tmp_path):
    result = runner.invoke(app, ["setup", "claude-code", "--lang", "zh", "--data-dir", str(tmp_path)])
    assert result.exit_code == 0
    assert "设置以下环境变量" in result.stdout and "ANTHROPIC_BASE_URL" in result.stdout


# ---- pages and the admin API --------------------------------------------------------------------------------


def test_home_page_states_both_base_urls_and_links_the_guides(start_gateway):
    gw = start_gateway()
    response = raw_request("GET", gw.root + "/", None, {"accept": "text/html", "user-agent": "Mozilla/5.0"})
    assert response.status == 200 and response.headers["content-type"].startswith("text/html")
    page = response.body.decode()
    assert f"{gw.root}/api/v1</code>" in page and f"{gw.root}/api</code>" in page
    assert all(f'href="/setup/{c}?lang=en"' in page for c in CLIENTS)
    assert "Base URL" in raw_request("GET", gw.root + "/?lang=zh").body.decode()


def test_home_with_a_key_is_a_misconfigured_client_not_a_browser(start_gateway):
    gw = start_gateway()
    response = raw_request("GET", gw.root + "/", None, {"authorization": f"Bearer {gw.key}"})
    assert response.status == 404 and response.headers["content-type"] == "application/json"
    assert response.headers["x-onegate-hint"].partition(";")[0] == "path.no_endpoint"
    assert gw.log(response.headers["x-request-id"])["config_hint"] == "path.no_endpoint"


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_setup_pages_are_html_in_both_languages(start_gateway, lang):
    gw = start_gateway()
    response = raw_request("GET", f"{gw.root}/setup/claude-code?lang={lang}")
    assert response.status == 200 and response.headers["content-type"].startswith("text/html")
    page = response.body.decode()
    assert f'lang="{"zh-CN" if lang == "zh" else "en"}"' in page
    assert f"ANTHROPIC_BASE_URL={gw.root}/api" in page
    assert raw_request("GET", f"{gw.root}/setup/notepad").status == 404


def test_admin_api_is_disabled_without_a_token(start_gateway, monkeypatch):
    monkeypatch.delenv("ONEGATE_ADMIN_TOKEN", raising=False)
    gw = start_gateway()
    response = raw_request("GET", gw.root + "/admin/api/setup/codex", None, {"authorization": "Bearer anything"})
    assert response.status == 403
    assert response.json()["error"]["code"] == "admin_disabled"
    assert "ONEGATE_ADMIN_TOKEN" in response.json()["error"]["message"]


def test_admin_setup_api_needs_the_admin_token_and_returns_the_guide(start_gateway, monkeypatch):
    monkeypatch.setenv("ONEGATE_ADMIN_TOKEN", "admin-secret-123-of-24-chars")
    gw = start_gateway()
    url = gw.root + "/admin/api/setup/codex"
    for sent in ({}, {"authorization": "Bearer wrong"}, {"authorization": f"Bearer {gw.key}"}):
        response = raw_request("GET", url, None, sent)
        assert response.status == 401 and response.json()["error"]["code"] == "admin_auth_required"
    response = raw_request("GET", url + "?lang=zh", None, {"authorization": "Bearer admin-secret-123-of-24-chars"})
    assert response.status == 200
    data = response.json()
    assert data["lang"] == "zh"
    assert tomllib.loads(snippet(data, "toml"))["model_providers"]["onegate"]["base_url"] == gw.base_url


def test_admin_setup_api_for_one_key(start_gateway, monkeypatch):
    monkeypatch.setenv("ONEGATE_ADMIN_TOKEN", "admin-secret-123-of-24-chars")
    gw = start_gateway()
    gw.create_key("narrow", models=["onegate-selftest"])
    key_id = next(k.id for k in list_keys(gw.gateway.engine) if k.name == "narrow")
    admin = {"authorization": "Bearer admin-secret-123-of-24-chars"}
    data = raw_request("GET", f"{gw.root}/admin/api/setup/cursor?key_id={key_id}", None, admin).json()
    assert data["models"] == ["onegate-selftest"]
    assert raw_request("GET", f"{gw.root}/admin/api/setup/cursor?key_id=999", None, admin).status == 404
