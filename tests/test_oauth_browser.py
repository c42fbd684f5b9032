"""The consent page in a real browser: headless Chromium (Debian's package) shows it, a click approves it.

Chromium is driven over its DevTools pipe (`--remote-debugging-pipe`: NUL-separated JSON on fds 3/4),
so the test needs no browser-automation package. Without Chromium, and where apt cannot install it,
the test is skipped with the reason.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import shlex
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from tests.conftest import free_port
from tests.oauth_support import authorize_url, oauth_error, pkce, query_of, register

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--remote-debugging-pipe",
]


def _apt(*args: str) -> bool:
    try:
        done = subprocess.run(
            ["apt-get", "-o", "DPkg::Lock::Timeout=120", *args], capture_output=True, timeout=600
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


@pytest.fixture(scope="module")
def chromium() -> str:
    found = shutil.which("chromium")
    if found is None and shutil.which("apt-get") and os.geteuid() == 0:
        if not _apt("install", "-y", "chromium"):
            _apt("update") and _apt("install", "-y", "chromium")
        found = shutil.which("chromium")
    if found is None:
        pytest.skip("Chromium is not installed and `apt-get install -y chromium` could not install it")
    return found


class DevTools:
    """A minimal DevTools-protocol client over the pipe Chromium opens on its fds 3 (in) and 4 (out)."""

    def __init__(self, binary: str, profile: Path) -> None:
        to_browser_r, self._out = os.pipe()
        self._in, from_browser_w = os.pipe()
        command = shlex.join([binary, *FLAGS, f"--user-data-dir={profile}", "about:blank"])
        self.process = subprocess.Popen(
            ["bash", "-c", f"exec {command} 3<&{to_browser_r} 4>&{from_browser_w}"],
            pass_fds=(to_browser_r, from_browser_w),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._buffer = b""
        self._next = 0
        self.events: list[dict] = []

    def _message(self, deadline: float) -> dict:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._in], [], [], left)[0]:
                raise TimeoutError("Chromium did not answer in time")
            chunk = os.read(self._in, 1 << 16)
            if not chunk:
                raise RuntimeError("Chromium closed its DevTools pipe")
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(raw)

    def call(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        self._next += 1
        message = {"id": self._next, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._out, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + 20
        while True:
            reply = self._message(deadline)
            if reply.get("id") == self._next:
                assert "error" not in reply, reply
                return reply["result"]
            self.events.append(reply)

    def wait_for(self, event: str, timeout: float = 20) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            for i, seen in enumerate(self.events):
                if seen.get("method") == event:
                    return self.events.pop(i)
            self.events.append(self._message(deadline))

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.call("Browser.close")
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(5)
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(5)
        os.close(self._in)
        os.close(self._out)


def _location(browser: DevTools, session: str) -> str:
    expression = "location.href + ' | ' + document.body.innerText.slice(0, 300)"
    reply = browser.call("Runtime.evaluate", {"expression": expression, "returnByValue": True}, session)
    return reply["result"].get("value", "?")


@contextlib.contextmanager
def callback_listener() -> Iterator[tuple[str, list[str]]]:
    """The client's redirect target on loopback: records each path it is sent to."""
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the name http.server calls
            seen.append(self.path)
            self.send_response(200)
            self.send_header("content-type", "text/plain")
            self.end_headers()
            self.wfile.write(b"signed in")

        def log_message(self, *args):
            pass

    # Threaded: Chromium may hold an idle pre-connected socket, which would block a one-at-a-time server.
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/callback", seen
    finally:
        server.shutdown()
        server.server_close()


def test_chromium_shows_the_consent_page_and_allow_redirects_with_a_code(chromium, server, tenant, tmp_path):
    with callback_listener() as (redirect, seen), httpx.Client(base_url=server.url) as http:
        client = register(http, client_name="Claude (browser test)", redirect_uris=[redirect])
        verifier, challenge = pkce()
        url = authorize_url(server.url, client["client_id"], challenge, redirect_uri=redirect)
        browser = DevTools(chromium, tmp_path / "profile")
        try:
            target = browser.call("Target.createTarget", {"url": "about:blank"})["targetId"]
            session = browser.call("Target.attachToTarget", {"targetId": target, "flatten": True})[
                "sessionId"
            ]
            browser.call("Page.enable", session=session)
            browser.call("Page.navigate", {"url": url}, session=session)
            browser.wait_for("Page.loadEventFired")
            text = browser.call(
                "Runtime.evaluate", {"expression": "document.body.innerText", "returnByValue": True}, session
            )["result"]["value"]
            assert "Claude (browser test)" in text
            assert "read and change" in text and "Read-only" in text
            assert f"127.0.0.1:{redirect.split(':')[2].split('/')[0]}" in text
            fill_and_allow = (
                f"document.querySelector('input[name=api_key]').value = {json.dumps(tenant.key)};"
                "document.querySelector('button[value=allow]').click();"
            )
            browser.call("Runtime.evaluate", {"expression": fill_and_allow}, session)
            deadline = time.monotonic() + 20
            while not any(p.startswith("/callback?") for p in seen) and time.monotonic() < deadline:
                time.sleep(0.05)
            where = "" if any(p.startswith("/callback?") for p in seen) else _location(browser, session)
        finally:
            browser.close()
        arrived = [p for p in seen if p.startswith("/callback?")]  # not a favicon request
        assert len(arrived) == 1, f"the browser never reached the client's redirect URI; it shows {where}"
        query = query_of(arrived[0])
        assert query["state"] == "st4te" and query["code"]
        form = {
            "grant_type": "authorization_code",
            "code": query["code"],
            "redirect_uri": redirect,
            "client_id": client["client_id"],
            "code_verifier": verifier,
        }
        issued = http.post("/oauth/token", data=form)
        assert issued.status_code == 200, issued.text
        oauth_error(http.post("/oauth/token", data=form), 400, "invalid_grant")  # one use only
