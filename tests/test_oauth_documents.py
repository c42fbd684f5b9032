"""Client ID Metadata Documents: a client id that is the URL of its metadata, fetched under the URL rules."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from customermates.config import Settings
from customermates.oauth import client_documents
from tests.conftest import free_port, running_server
from tests.oauth_support import REDIRECT, Started, authorize_url, exchange, pkce, query_of, submit_consent


@contextlib.contextmanager
def document_host() -> Iterator[str]:
    """A plain-http loopback host serving good and hostile metadata documents."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the name http.server calls
            if self.path == "/slow.json":
                time.sleep(1.5)
            if self.path == "/redirect.json":
                self.send_response(302)
                self.send_header("location", "/good.json")
                self.end_headers()
                return
            doc = {"client_id": base + self.path, "client_name": "Doc Client", "redirect_uris": [REDIRECT]}
            if self.path == "/big.json":
                doc["padding"] = "x" * 6000
            if self.path == "/wrong-id.json":
                doc["client_id"] = "https://elsewhere.example/client.json"
            body = json.dumps(doc).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            with contextlib.suppress(OSError):
                self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield base
    finally:
        server.shutdown()
        server.server_close()


def clients_stored(db_path) -> int:
    conn = sqlite3.connect(db_path)
    try:
        return conn.execute("SELECT count(*) FROM oauth_client").fetchone()[0]
    finally:
        conn.close()


def refused_page(http: httpx.Client, base: str, client_id: str) -> str:
    reply = http.get(authorize_url(base, client_id, pkce()[1]))
    assert reply.status_code == 400 and "location" not in reply.headers, reply.text
    return reply.text


@pytest.mark.parametrize(
    ("client_id", "why"),
    [
        ("http://127.0.0.1:9/client.json", "must use https"),
        ("https://127.0.0.1:9/client.json", "private or reserved address"),
        ("https://10.1.2.3/client.json", "private or reserved address"),
        ("https://[::1]/client.json", "private or reserved address"),
        ("https://localhost/client.json", "private or reserved address"),
        ("https://[64:ff9b::7f00:1]/client.json", "private or reserved address"),  # NAT64 of 127.0.0.1
        ("https://[2002:7f00:1::]/client.json", "private or reserved address"),  # 6to4 of 127.0.0.1
        ("https://app.example/", "must have a path"),
    ],
)
def test_metadata_url_that_is_not_public_https_is_refused(server, tenant, client_id, why):
    with httpx.Client(base_url=server.url) as http:
        assert why in refused_page(http, server.url, client_id)
    assert clients_stored(server.db_path) == 0


def test_metadata_document_rules_redirect_size_time_identity(db_path, tenant, monkeypatch):
    monkeypatch.setattr(client_documents, "TIMEOUT", 0.5)
    settings = Settings(webhook_allow_insecure=True)  # admits this loopback http host, as for webhooks
    with (
        document_host() as docs,
        running_server(db_path, settings) as server,
        httpx.Client(base_url=server.url) as http,
    ):
        assert "redirects" in refused_page(http, server.url, docs + "/redirect.json")
        assert "over 5120 bytes" in refused_page(http, server.url, docs + "/big.json")
        assert "did not answer within 0.5 seconds" in refused_page(http, server.url, docs + "/slow.json")
        assert "client_id is its own URL" in refused_page(http, server.url, docs + "/wrong-id.json")
        assert clients_stored(db_path) == 0

        client_id = docs + "/good.json"
        verifier, challenge = pkce()
        url = authorize_url(server.url, client_id, challenge)
        page = http.get(url)
        assert page.status_code == 200 and "Doc Client" in page.text
        assert "name given by the client" not in page.text  # the name comes from the client's own URL
        reply = submit_consent(http, url, tenant.key)
        assert reply.status_code == 303
        code = query_of(reply.headers["location"])["code"]
        issued = exchange(http, Started({"client_id": client_id}, verifier, code, "st4te"))
        assert issued.status_code == 200, issued.text
