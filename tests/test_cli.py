"""The `customermates` command line (the README's command line section), run as subprocesses against real database files."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import queue
import re
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROOT, add_member, cli, error_of, free_port, ok, rpc, running_server

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
KEY = re.compile(r"^[0-9A-Za-z]{64}$")
HEADER = "name\tprefix\treadOnly\tcreatedAt\tlastUsedAt\texpiresAt\trevokedAt"
OWNER = ("--first-name", "Olive", "--last-name", "Owner")


def init(db: Path, company: str, email: str) -> subprocess.CompletedProcess:
    return cli("init", "--company", company, "--email", email, *OWNER, db=db)


def value(line: str, name: str) -> str:
    label, _, rest = line.partition(": ")
    assert label == name, line
    return rest


def keys_list(db: Path, email: str) -> dict[str, dict[str, str]]:
    result = cli("keys", "list", "--email", email, db=db)
    assert result.returncode == 0, result.stderr
    header, *rows = result.stdout.splitlines()
    assert header == HEADER
    names = header.split("\t")
    parsed = [dict(zip(names, row.split("\t"), strict=True)) for row in rows]
    return {row["name"]: row for row in parsed}


def table_counts(db: Path) -> dict[str, int]:
    conn = sqlite3.connect(db)
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}
    finally:
        conn.close()


def status(client: httpx.Client, key: str) -> int:
    return rpc(client, "tools/list", **{"x-api-key": key}).status_code


# ---- init ------------------------------------------------------------------------------------------


def test_init_prints_ids_then_the_key_alone_on_the_last_line(db_path):
    result = init(db_path, "Acme", "owner@acme.example")
    assert result.returncode == 0 and result.stderr == ""
    lines = result.stdout.splitlines()
    assert len(lines) == 3
    assert UUID.match(value(lines[0], "company-id")) and UUID.match(value(lines[1], "user-id"))
    assert KEY.match(lines[-1])


def test_init_with_an_existing_email_fails_and_changes_nothing(db_path):
    assert init(db_path, "Acme", "owner@acme.example").returncode == 0
    before = table_counts(db_path)
    again = init(db_path, "Acme Two", "Owner@Acme.example")
    assert again.returncode == 1 and again.stdout == ""
    assert again.stderr.count("\n") == 1 and "Owner@Acme.example" in again.stderr
    assert table_counts(db_path) == before


def test_init_with_another_email_makes_an_isolated_second_tenant(db_path):
    first = init(db_path, "Acme", "owner@acme.example").stdout.splitlines()
    second = init(db_path, "Globex", "boss@globex.example").stdout.splitlines()
    assert value(first[0], "company-id") != value(second[0], "company-id")
    with running_server(db_path) as srv, httpx.Client(base_url=srv.url) as client:
        for lines, company, email in (
            (first, "Acme", "owner@acme.example"),
            (second, "Globex", "boss@globex.example"),
        ):
            client.headers["x-api-key"] = lines[-1]
            assert ok(client, "get_company")["name"] == company
            assert [u["email"] for u in ok(client, "list_users")["items"]] == [email]


# ---- keys ------------------------------------------------------------------------------------------


def create_key(db: Path, email: str, name: str, *flags: str) -> str:
    result = cli("keys", "create", "--email", email, "--name", name, *flags, db=db)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"name: {name}" and KEY.match(lines[-1])
    return lines[-1]


def test_keys_create_and_list_show_the_prefix_never_the_key(db_path, tenant):
    ci = create_key(db_path, tenant.email, "ci")
    ro = create_key(db_path, tenant.email, "ro", "--read-only")
    exp = create_key(db_path, tenant.email, "exp", "--expires-in-days", "30")
    listing = cli("keys", "list", "--email", tenant.email, db=db_path).stdout
    rows = keys_list(db_path, tenant.email)
    assert list(rows) == ["default", "ci", "ro", "exp"]
    for name, key in (("default", tenant.key), ("ci", ci), ("ro", ro), ("exp", exp)):
        assert rows[name]["prefix"] == key[:6] and key[:7] not in listing
    assert [r["readOnly"] for r in rows.values()] == ["false", "false", "true", "false"]
    assert rows["ci"]["expiresAt"] == rows["ci"]["revokedAt"] == rows["ci"]["lastUsedAt"] == ""
    expires = datetime.fromisoformat(rows["exp"]["expiresAt"].replace("Z", "+00:00"))
    assert abs(expires - (datetime.now(UTC) + timedelta(days=30))) < timedelta(minutes=5)


def test_keys_create_refusals(db_path, tenant):
    dup = cli("keys", "create", "--email", tenant.email, "--name", "default", db=db_path)
    assert dup.returncode == 1 and "'default'" in dup.stderr and dup.stdout == ""
    for days in ("0", "3651"):
        bad = cli(
            "keys", "create", "--email", tenant.email, "--name", "x", "--expires-in-days", days, db=db_path
        )
        assert bad.returncode == 1 and "--expires-in-days" in bad.stderr
    unknown = cli("keys", "create", "--email", "nobody@acme.example", "--name", "x", db=db_path)
    assert unknown.returncode == 1 and "nobody@acme.example" in unknown.stderr
    assert list(keys_list(db_path, tenant.email)) == ["default"]


def test_revoked_key_gets_401_on_the_running_servers_next_request(server, tenant, db_path):
    ci = create_key(db_path, tenant.email, "ci")
    with httpx.Client(base_url=server.url, timeout=30) as client:
        assert status(client, ci) == 200
        revoked = cli("keys", "revoke", "--email", tenant.email, "--name", "ci", db=db_path)
        assert revoked.returncode == 0 and revoked.stdout.splitlines() == ["revoked: ci"]
        assert status(client, ci) == 401
        assert status(client, tenant.key) == 200
    assert keys_list(db_path, tenant.email)["ci"]["revokedAt"]
    again = cli("keys", "revoke", "--email", tenant.email, "--name", "ci", db=db_path)
    assert again.returncode == 1 and "keys list" in again.stderr
    create_key(db_path, tenant.email, "ci")  # a revoked key's name may be used again


def test_read_only_key_lists_and_calls_only_read_tools(server, tenant, db_path):
    ro = create_key(db_path, tenant.email, "ro", "--read-only")
    with httpx.Client(base_url=server.url, headers={"x-api-key": ro}, timeout=30) as client:
        tools = rpc(client, "tools/list").json()["result"]["tools"]
        assert tools and all(t["annotations"]["readOnlyHint"] for t in tools)
        result = rpc(client, "tools/call", {"name": "update_company", "arguments": {"name": "X"}}).json()
        assert error_of(result["result"])["code"] == "forbidden"


# ---- users -----------------------------------------------------------------------------------------


def add_user(db: Path, company_id: str, email: str, role: str) -> subprocess.CompletedProcess:
    names = ("--first-name", "Mia", "--last-name", "Member")
    return cli("users", "add", "--company-id", company_id, "--email", email, *names, "--role", role, db=db)


def test_users_add(db_path, tenant):
    bad_role = add_user(db_path, tenant.company_id, "mia@acme.example", "Boss")
    assert bad_role.returncode == 1 and "Admin, Member, Viewer" in bad_role.stderr
    no_company = add_user(db_path, "00000000-0000-0000-0000-000000000000", "mia@acme.example", "Member")
    assert no_company.returncode == 1 and "company" in no_company.stderr
    added = add_user(db_path, tenant.company_id, "mia@acme.example", "member")
    assert added.returncode == 0, added.stderr
    assert UUID.match(value(added.stdout.strip(), "user-id"))
    dup = add_user(db_path, tenant.company_id, "MIA@acme.example", "Member")
    assert dup.returncode == 1 and "MIA@acme.example" in dup.stderr
    assert keys_list(db_path, "mia@acme.example") == {}


def test_set_status_inactive_locks_out_on_the_next_request(server, tenant, db_path):
    key = add_member(db_path, tenant, "mia@acme.example", "Member")
    with httpx.Client(base_url=server.url, timeout=30) as client:
        assert status(client, key) == 200
        off = cli("users", "set-status", "--email", "mia@acme.example", "--status", "inactive", db=db_path)
        assert off.returncode == 0 and off.stdout.strip() == "status: inactive"
        assert status(client, key) == 401
        on = cli("users", "set-status", "--email", "mia@acme.example", "--status", "active", db=db_path)
        assert on.returncode == 0
        assert status(client, key) == 200


def test_set_status_refuses_to_deactivate_the_last_active_admin(server, tenant, db_path):
    add_member(db_path, tenant, "mia@acme.example", "Member")
    last = cli("users", "set-status", "--email", tenant.email, "--status", "inactive", db=db_path)
    assert last.returncode == 1 and "last active admin" in last.stderr
    with httpx.Client(base_url=server.url, timeout=30) as client:
        assert status(client, tenant.key) == 200


@pytest.mark.parametrize(
    "args",
    [
        (),
        ("frobnicate",),
        (
            "init",
            "--company",
            "A",
            "--email",
            "a@a.example",
            "--first-name",
            "A",
            "--last-name",
            "B",
            "--bogus",
        ),
        ("keys", "create", "--email", "a@a.example"),
        ("users", "set-status", "--email", "a@a.example", "--status", "asleep"),
        ("keys", "create", "--email", "a@a.example", "--name", "x", "--expires-in-days", "soon"),
    ],
)
def test_usage_errors_exit_2(tmp_path, args):
    result = cli(*args, env={"CUSTOMERMATES_DB": str(tmp_path / "crm.db")})
    assert result.returncode == 2 and result.stdout == "" and "usage:" in result.stderr
    assert not (tmp_path / "crm.db").exists()


# ---- serve -----------------------------------------------------------------------------------------


class Served:
    """A `customermates serve` subprocess; its stdout is collected line by line as it arrives."""

    def __init__(self, proc: subprocess.Popen, url: str):
        self.proc, self.url = proc, url
        self.lines: queue.Queue[str] = queue.Queue()
        self.reader = threading.Thread(target=self._collect, daemon=True)
        self.reader.start()

    def _collect(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))

    def next_line(self) -> str:
        return self.lines.get(timeout=20)

    def rest(self) -> list[str]:
        """Every line not read yet; call after the process ended."""
        self.reader.join(10)
        return [self.lines.get() for _ in range(self.lines.qsize())]


@contextlib.contextmanager
def serving(db: Path, log: Path) -> Iterator[Served]:
    port = free_port()
    command = [sys.executable, "-m", "customermates", "serve", "--db", str(db), "--port", str(port)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with log.open("ab") as err:
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=err, text=True, env=env)
    served = Served(proc, f"http://127.0.0.1:{port}")
    try:
        wait_healthy(served, log)
        yield served
    finally:
        proc.terminate()
        proc.wait(15)


def wait_healthy(served: Served, log: Path) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        assert served.proc.poll() is None, log.read_text()
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"{served.url}/healthz", timeout=2).status_code == 200:
                return
        time.sleep(0.05)
    raise AssertionError(f"serve did not become healthy: {log.read_text()}")


def read_bootstrap(served: Served) -> tuple[str, str, dict, str]:
    """company-id, mcp-url, the JSON client config (spread over several lines), then the key."""
    company = value(served.next_line(), "company-id")
    url = value(served.next_line(), "mcp-url")
    block = served.next_line()
    while True:
        try:
            config = json.loads(block)
            break
        except json.JSONDecodeError:
            block += "\n" + served.next_line()
    return company, url, config, served.next_line()


def test_serve_bootstraps_once_and_a_restart_keeps_the_data(tmp_path):
    db, log = tmp_path / "new" / "crm.db", tmp_path / "serve.log"
    with serving(db, log) as served:
        company, url, config, key = read_bootstrap(served)
        assert UUID.match(company) and url == f"{served.url}/api/v1/mcp" and KEY.match(key)
        assert config == {"mcpServers": {"customermates": {"url": url, "headers": {"x-api-key": key}}}}
        with httpx.Client(base_url=served.url, headers={"x-api-key": key}, timeout=30) as client:
            me = ok(client, "get_current_user")
            assert (me["email"], me["firstName"], me["lastName"]) == ("owner@localhost", "Owner", "Admin")
            assert me["company"]["id"] == company and ok(client, "get_company")["name"] == "My Company"
            ok(client, "update_company", {"name": "Persisted", "city": "Berlin"})
    assert served.rest() == []
    with serving(db, log) as again, httpx.Client(base_url=again.url, headers={"x-api-key": key}) as client:
        company_now = ok(client, "get_company")
        assert (company_now["name"], company_now["city"]) == ("Persisted", "Berlin")
    assert again.rest() == []
    assert "Traceback" not in log.read_text()


# ---- secrets at rest and backup --------------------------------------------------------------------


def test_keys_are_stored_only_as_their_sha256(server, tenant, db_path):
    ci = create_key(db_path, tenant.email, "ci")
    with httpx.Client(base_url=server.url, headers={"x-api-key": ci}, timeout=30) as client:
        assert status(client, tenant.key) == 200
        ok(client, "update_company", {"city": "Rome"})
    files = [p for p in db_path.parent.iterdir() if p.name.startswith(db_path.name)]
    assert any(p.name.endswith("-wal") for p in files)
    stored = b"".join(p.read_bytes() for p in files)
    for key in (tenant.key, ci):
        assert key.encode() not in stored
        assert hashlib.sha256(key.encode()).hexdigest().encode() in stored


def test_backup_while_the_server_writes(server, tenant, db_path, tmp_path):
    with httpx.Client(base_url=server.url, headers={"x-api-key": tenant.key}, timeout=30) as client:
        ok(client, "update_company", {"name": "Before backup"})
        stop, writes = threading.Event(), []
        writer = threading.Thread(target=keep_writing, args=(server.url, tenant.key, stop, writes))
        writer.start()
        try:
            while len(writes) < 3:
                time.sleep(0.01)
            out = tmp_path / "copies" / "backup.db"
            result = cli("backup", "--out", str(out), db=db_path)
        finally:
            stop.set()
            writer.join(30)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [f"backup: {out}", f"size: {out.stat().st_size}"]
    assert writes and all(code == 200 for code in writes)
    assert sorted(p.name for p in out.parent.iterdir()) == ["backup.db"]
    conn = sqlite3.connect(out)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        conn.close()
    with serving(out, tmp_path / "serve.log") as served, httpx.Client(base_url=served.url) as copy:
        copy.headers["x-api-key"] = tenant.key
        assert ok(copy, "get_company")["name"] == "Before backup"
    assert served.rest() == []


def keep_writing(url: str, key: str, stop: threading.Event, codes: list[int]) -> None:
    with httpx.Client(base_url=url, headers={"x-api-key": key}, timeout=30) as client:
        n = 0
        while not stop.is_set():
            n += 1
            body = {"name": "update_my_profile", "arguments": {"firstName": f"Olive{n}"}}
            codes.append(rpc(client, "tools/call", body).status_code)


def test_backup_of_a_missing_database_fails(tmp_path):
    result = cli("backup", "--out", str(tmp_path / "b.db"), db=tmp_path / "none.db")
    assert result.returncode == 1 and result.stderr.count("\n") == 1
    assert not (tmp_path / "b.db").exists() and not (tmp_path / "none.db").exists()
