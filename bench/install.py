"""Install what the benchmark needs, once: ``wrk`` (Debian) and LiteLLM's proxy (own venv, PyPI)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

# LiteLLM: use the price list bundled in the package (no download), no telemetry, quiet logs.
LITELLM_ENV = {
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    "LITELLM_TELEMETRY": "False",  # older releases
    "LITELLM_TELEMETRY_DISABLED": "true",  # newer releases: the env veto over any stored consent
    "LITELLM_LOG": "ERROR",
    "LITELLM_MODE": "PRODUCTION",  # do not load a .env file from the working directory
    "DISABLE_ADMIN_UI": "True",
    "USE_PRISMA_MIGRATE": "False",
}


def _say(msg: str) -> None:
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def ensure_wrk() -> str:
    path = shutil.which("wrk")
    if path:
        return path
    _say("installing wrk from Debian (apt-get)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    if subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], env=env).returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], env=env, check=True)
        subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], env=env, check=True)
    path = shutil.which("wrk")
    if not path:
        raise SystemExit("bench: wrk is not installed and could not be installed (apt-get install wrk)")
    return path


def wrk_version() -> str:
    out = subprocess.run(["wrk", "--version"], capture_output=True, text=True)
    return (out.stdout or out.stderr).split("Copyright")[0].strip()


def _litellm_ok(venv: Path) -> bool:
    py = venv / "bin" / "python"
    if not (py.exists() and (venv / "bin" / "litellm").exists()):
        return False
    probe = subprocess.run(
        [str(py), "-c", "import litellm.proxy.proxy_server"], capture_output=True, env={**os.environ, **LITELLM_ENV}
    )
    return probe.returncode == 0


def ensure_litellm(venv: Path) -> Path:
    """``venv``/bin/litellm, installing ``litellm[proxy]`` into ``venv`` first if needed."""
    if not _litellm_ok(venv):
        _say(f"installing litellm[proxy] into {venv} (takes a few minutes the first time)")
        base = shutil.which("python3") or sys.executable
        if not (venv / "bin" / "python").exists():
            subprocess.run([base, "-m", "venv", str(venv)], check=True)
        pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
        subprocess.run([*pip, "--upgrade", "pip"], check=True)
        subprocess.run([*pip, "litellm[proxy]"], check=True)
        if not _litellm_ok(venv):
            raise SystemExit(f"bench: litellm[proxy] installed into {venv} but its proxy does not import")
    return venv / "bin" / "litellm"


def litellm_version(venv: Path) -> str:
    out = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import importlib.metadata as m; print(m.version('litellm'))"],
        capture_output=True,
        text=True,
    )
    return out.stdout.strip() or "?"
