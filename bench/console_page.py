"""How heavy and how quick the console is to open: a real `onegate serve` on a free port, Debian's Chromium
through Playwright with the owner's session; N times, the keys and logs pages opened with an empty browser
cache (cold) and then again (warm) until their table is shown.

    .venv/bin/python bench/console_page.py [--runs 5]

Prints the requests and bytes of one cold load (what a phone on a slow link pays; vendored files are
cached for a year after it) and the median and worst time to a shown table.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from playwright.sync_api import sync_playwright

TOKEN = "bench-console-owner-token-0001"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_up(root: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(root + "/healthz", timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("onegate did not start")


def sign_in(root: str) -> str:
    """The owner's session cookie, from the API the sign-in page calls."""
    request = urllib.request.Request(
        root + "/admin/api/v1/session", data=b'{"token": "%s"}' % TOKEN.encode(), method="POST",
        headers={"content-type": "application/json"},
    )  # fmt: skip
    with urllib.request.urlopen(request, timeout=10) as response:
        cookie = response.headers["set-cookie"]
    return cookie.split(";", 1)[0].split("=", 1)[1]


def body_size(response: Any) -> int:
    return len(response.body()) if response.status == 200 else 0  # a 304 sends no body


def open_page(page: Any, root: str, name: str) -> float:
    """Milliseconds from navigation to the page's table (or its empty notice) on screen."""
    started = time.perf_counter()
    page.goto(root + f"/console/{name}")
    page.get_by_test_id(f"page-{name}").locator("table, .empty").first.wait_for()
    return (time.perf_counter() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    port = free_port()
    root = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as data:
        env = os.environ | {"ONEGATE_ADMIN_TOKEN": TOKEN}
        onegate = Path(sys.executable).with_name("onegate")
        command = [str(onegate), "serve", "--host", "127.0.0.1", "--port", str(port), "--data-dir", data]
        server = subprocess.Popen(command, env=env)
        try:
            wait_up(root)
            cookie = sign_in(root)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
                for name in ("keys", "logs"):
                    cold, warm, loads = [], [], []
                    for _ in range(args.runs):
                        context = browser.new_context()  # an empty cache every run
                        context.add_cookies([{"name": "onegate_session", "value": cookie, "url": root}])
                        page = context.new_page()
                        sizes: list[int] = []

                        def count(response: Any, sizes: list[int] = sizes) -> None:
                            sizes.append(body_size(response))

                        page.on("response", count)
                        cold.append(open_page(page, root, name))
                        page.remove_listener("response", count)
                        loads.append((len(sizes), sum(sizes)))
                        warm.append(open_page(page, root, name))  # again: vendor cached, our files a 304
                        context.close()
                    requests, size = loads[0]
                    print(
                        f"/console/{name}: cold {requests} requests, {size / 1024:.0f} KiB uncompressed; "
                        f"to a shown table cold: median {statistics.median(cold):.0f} ms (worst {max(cold):.0f}), "
                        f"warm: median {statistics.median(warm):.0f} ms ({args.runs} runs)"
                    )
                browser.close()
        finally:
            server.terminate()
            server.wait(10)


if __name__ == "__main__":
    main()
