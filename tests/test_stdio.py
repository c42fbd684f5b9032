"""`customermates stdio`: the official mcp client over a real subprocess, and the raw line protocol."""

from __future__ import annotations

import json
import os
import queue
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from customermates.mcp.dispatch import SUPPORTED_VERSIONS
from tests.conftest import ROOT, add_member, cli

pytestmark = pytest.mark.anyio

INIT = {
    "jsonrpc": "2.0",
    "id": 0,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "t", "version": "1"},
    },
}


def stdio_params(db_path: Path, key: str, *extra: str) -> StdioServerParameters:
    env = {"PYTHONPATH": str(ROOT), "CUSTOMERMATES_API_KEY": key}
    return StdioServerParameters(
        command=sys.executable, args=["-m", "customermates", "stdio", "--db", str(db_path), *extra], env=env
    )


def call(ident: int, name: str, arguments: dict | None = None) -> dict:
    params = {"name": name, "arguments": arguments or {}}
    return {"jsonrpc": "2.0", "id": ident, "method": "tools/call", "params": params}


class Process:
    """A `customermates stdio` subprocess spoken to line by line, with timeouts instead of hangs."""

    def __init__(self, db_path: Path, key: str | None, *extra: str):
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        env.pop("CUSTOMERMATES_API_KEY", None)
        if key is not None:
            env["CUSTOMERMATES_API_KEY"] = key
        command = [sys.executable, "-m", "customermates", "stdio", "--db", str(db_path), *extra]
        self.proc = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
        )
        self.lines: queue.Queue[bytes] = queue.Queue()
        threading.Thread(target=self._collect, daemon=True).start()

    def _collect(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(line)

    def send(self, *messages: dict | list | str) -> None:
        for message in messages:
            text = message if isinstance(message, str) else json.dumps(message)
            self.proc.stdin.write(text.encode() + b"\n")
        self.proc.stdin.flush()

    def receive(self) -> dict:
        return json.loads(self.lines.get(timeout=15))

    def finish(self) -> tuple[int, list[bytes], str]:
        """Close stdin, wait for the exit; returns the status, the unread stdout lines, stderr."""
        if not self.proc.stdin.closed:
            self.proc.stdin.close()
        code = self.proc.wait(15)
        err = self.proc.stderr.read().decode()
        self.proc.stderr.close()
        self.proc.stdout.close()
        rest = []
        while not self.lines.empty():
            rest.append(self.lines.get())
        return code, rest, err


@pytest.fixture
def process(db_path, tenant):
    proc = Process(db_path, tenant.key)
    yield proc
    if proc.proc.poll() is None:
        proc.proc.kill()
        proc.proc.wait()


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_official_client_over_stdio(db_path, tenant, mode):
    async with Client(stdio_params(db_path, tenant.key), mode=mode) as client:
        # `auto` ends on the newest revision this build serves; legacy always on the handshake.
        assert client.protocol_version == (SUPPORTED_VERSIONS[0] if mode == "auto" else "2025-11-25")
        assert client.instructions
        names = [t.name for t in (await client.list_tools()).tools]
        assert "get_current_user" in names and "update_company" in names
        me = await client.call_tool("get_current_user", {})
        assert me.is_error is False
        assert me.structured_content["email"] == tenant.email
        assert me.structured_content["company"]["id"] == tenant.company_id
        bad = await client.call_tool("list_users", {"pageSize": 101})
        assert bad.is_error is True
        assert bad.structured_content is None
        error = json.loads(bad.content[0].text)["error"]
        assert error["code"] == "invalid_input" and error["issues"][0]["path"] == "$.pageSize"


async def test_toolsets_and_read_only_narrow_the_list(db_path, tenant):
    params = stdio_params(db_path, tenant.key, "--toolsets", "account", "--read-only")
    async with Client(params, mode="legacy") as client:
        names = [t.name for t in (await client.list_tools()).tools]
        assert names == ["get_current_user", "list_users", "get_company", "list_roles"]
        refused = await client.call_tool("update_company", {"name": "Nope"})
        assert refused.is_error is True
        assert json.loads(refused.content[0].text)["error"]["code"] == "forbidden"


def test_malformed_lines_get_json_rpc_errors_and_stdout_stays_json(process):
    process.send(
        INIT,
        "this is not json",
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"hello": "world"},
        {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 99}},
        {"jsonrpc": "2.0", "id": 7, "method": "no/such/method"},
        {"jsonrpc": "2.0", "id": 8, "method": "ping"},
    )
    code, lines, err = process.finish()
    assert code == 0, err
    replies = [json.loads(line) for line in lines]
    assert all(line.endswith(b"\n") and line.count(b"\n") == 1 for line in lines)
    assert [r.get("id") for r in replies] == [0, None, None, 7, 8]
    assert replies[0]["result"]["serverInfo"]["name"] == "customermates"
    assert replies[1]["error"]["code"] == -32700
    assert replies[2]["error"]["code"] == -32600
    assert replies[3]["error"]["code"] == -32601
    assert replies[4]["result"] == {}


def test_missing_key_refuses_to_start(db_path, tenant):
    code, lines, err = Process(db_path, None).finish()
    assert code == 1 and lines == []
    assert len(err.strip().splitlines()) == 1 and "CUSTOMERMATES_API_KEY" in err


def test_invalid_key_refuses_to_start(db_path, tenant):
    code, lines, err = Process(db_path, "x" * 64).finish()
    assert code == 1 and lines == []
    assert len(err.strip().splitlines()) == 1 and "keys create" in err


def test_unknown_toolset_is_a_usage_error(db_path, tenant):
    code, lines, err = Process(db_path, tenant.key, "--toolsets", "core,nope").finish()
    assert code == 2 and lines == []
    assert "nope" in err and "custom_columns" in err


def test_revoked_key_ends_the_session(process, db_path, tenant):
    process.send(INIT, call(1, "get_current_user"))
    assert process.receive()["id"] == 0
    assert process.receive()["result"]["isError"] is False
    assert cli("keys", "revoke", "--email", tenant.email, "--name", "default", db=db_path).returncode == 0
    process.send(call(2, "get_current_user"))
    refused = process.receive()
    assert refused["id"] == 2 and refused["error"]["code"] == -32600
    assert refused["error"]["message"].startswith("unauthorized: ")
    assert process.proc.wait(15) == 1


def test_deactivated_user_ends_the_session(db_path, tenant):
    key = add_member(db_path, tenant, "mia@acme.example", "Member")
    proc = Process(db_path, key)
    proc.send(call(1, "get_current_user"))
    assert proc.receive()["result"]["structuredContent"]["email"] == "mia@acme.example"
    status = cli("users", "set-status", "--email", "mia@acme.example", "--status", "inactive", db=db_path)
    assert status.returncode == 0, status.stderr
    proc.send(call(2, "get_current_user"))
    assert proc.receive()["error"]["message"].startswith("unauthorized: ")
    code, lines, _ = proc.finish()
    assert code == 1 and lines == []


def test_writes_are_audited_with_source_mcp_and_last_use_is_recorded(process, db_path, tenant):
    process.send(call(1, "update_company", {"city": "Berlin"}))
    assert process.receive()["result"]["isError"] is False
    assert process.finish()[0] == 0
    conn = sqlite3.connect(db_path)
    try:
        row = conn.execute(
            "SELECT source, operation FROM audit_log WHERE operation = 'update_company'"
        ).fetchone()
        used = conn.execute("SELECT last_used_at FROM api_key WHERE name = 'default'").fetchone()[0]
    finally:
        conn.close()
    assert row == ("mcp", "update_company")
    assert used is not None


def test_a_batch_gets_one_array_line(process):
    process.send(
        [
            {"jsonrpc": "2.0", "id": 1, "method": "ping"},
            {"jsonrpc": "2.0", "method": "notifications/initialized"},
            5,
        ],
        [],
    )
    batch, empty = process.receive(), process.receive()
    assert batch[0] == {"jsonrpc": "2.0", "id": 1, "result": {}}
    assert [a["error"]["code"] for a in batch[1:]] == [-32600]
    assert empty["id"] is None and empty["error"]["code"] == -32600
