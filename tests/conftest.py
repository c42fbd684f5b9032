"""Shared fixtures: a real database file, a real uvicorn server on a loopback port, real clients."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import msgspec
import pytest
import uvicorn

from customermates.app import create_app
from customermates.catalog import REGISTRY
from customermates.config import Settings
from customermates.store import accounts as acc
from customermates.store import connect
from customermates.store.database import in_transaction
from customermates.store.migrations import migrate
from tests.crm_seed import Crm, open_crm

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def crm(tmp_path: Path) -> Iterator[Crm]:
    """A database with one company, written in process (`tests/crm_seed.py`), closed after the test."""
    crm = open_crm(tmp_path / "crm.db")
    yield crm
    crm.conn.close()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "crm.db"


def write(db_path: Path, fn, *args):
    """Run one account-store function in its own transaction (what a CLI command does)."""
    conn = connect(db_path)
    try:
        migrate(conn)
        return in_transaction(conn, fn, *args, write=True)
    finally:
        conn.close()


@dataclass
class Tenant:
    company_id: str
    user_id: str
    key: str
    email: str


def make_tenant(db_path: Path, name: str = "Acme", email: str = "owner@acme.example") -> Tenant:
    seeded = write(db_path, acc.create_company, name, email, "Olive", "Owner")
    return Tenant(seeded.company_id, seeded.user_id, seeded.key, email)


def add_member(db_path: Path, tenant: Tenant, email: str, role: str) -> str:
    """A user of `tenant` with `role`; returns that user's new API key."""
    write(db_path, acc.add_user, tenant.company_id, email, "Mia", role.title(), role)
    return write(db_path, acc.create_key, email, "test")


@pytest.fixture
def tenant(db_path: Path) -> Tenant:
    return make_tenant(db_path)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    url: str
    db_path: Path

    @property
    def mcp_url(self) -> str:
        return f"{self.url}/api/v1/mcp"


@contextlib.contextmanager
def running_server(db_path: Path, settings: Settings | None = None) -> Iterator[Server]:
    """uvicorn serving the real app on a loopback port, in a thread of this process."""
    # The socket is bound here and handed over, so no other process can take the port in between
    # (the machine is shared: picking a free port and binding it later raced).
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(create_app(db_path, settings=settings), log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("server did not start")
        time.sleep(0.02)
    try:
        yield Server(f"http://127.0.0.1:{port}", db_path)
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@pytest.fixture
def server(db_path: Path, tenant: Tenant) -> Iterator[Server]:
    with running_server(db_path) as srv:
        yield srv


@dataclass
class Shared:
    server: Server
    tenant: Tenant


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shared]:
    """One server and tenant for a whole module whose tests change nothing another test reads.

    A module opts in by defining `server`, `tenant` (and so `http`) from it; see test_openapi.py.
    """
    db = tmp_path_factory.mktemp("shared") / "crm.db"
    tenant = make_tenant(db)
    with running_server(db) as srv:
        yield Shared(srv, tenant)


@pytest.fixture
def http(server: Server, tenant: Tenant) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, headers={"x-api-key": tenant.key}, timeout=30) as client:
        yield client


def rpc(
    client: httpx.Client, method: str, params: dict | None = None, ident: int = 1, **headers
) -> httpx.Response:
    body = {"jsonrpc": "2.0", "id": ident, "method": method, "params": params or {}}
    return client.post("/api/v1/mcp", json=body, headers=headers)


def call_tool(client: httpx.Client, name: str, arguments: dict | None = None) -> dict:
    """tools/call over plain JSON-RPC; returns the result object (check `isError` yourself)."""
    response = rpc(client, "tools/call", {"name": name, "arguments": arguments or {}})
    assert response.status_code == 200, response.text
    return response.json()["result"]


def ok(client: httpx.Client, name: str, arguments: dict | None = None) -> dict:
    """A successful tool call's structuredContent, decoded against the tool's declared output type, so
    a handler whose output drifts from its outputSchema fails every test that calls it."""
    result = call_tool(client, name, arguments)
    assert result["isError"] is False, result["content"][0]["text"]
    structured = result["structuredContent"]
    msgspec.json.decode(msgspec.json.encode(structured), type=REGISTRY.tools[name].output, strict=True)
    return structured


def error_of(result: dict) -> dict:
    """The Error object of a failed tool result: no structuredContent, one text item of JSON."""
    assert result["isError"] is True and "structuredContent" not in result, result
    [item] = result["content"]
    return json.loads(item["text"])["error"]


def err(client: httpx.Client, name: str, arguments: dict | None = None) -> dict:
    return error_of(call_tool(client, name, arguments))


def cli(
    *args: str, db: Path | None = None, env: dict | None = None, input: str | None = None
) -> subprocess.CompletedProcess:
    """Run `python -m customermates ...` as a user would, against this checkout."""
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    command = [sys.executable, "-m", "customermates", *args]
    if db is not None:
        command += ["--db", str(db)]
    return subprocess.run(command, capture_output=True, text=True, env=full_env, input=input, timeout=60)
