"""The writer keeps each API key's principal under its company's accounts token (migration 0015): every
change to the key, its user, the user's role or the role's permissions, made by any connection or
process, is seen by the very next write call; a stamp of `last_used_at` keeps the principal."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from customermates.store import connect
from customermates.store import migrations as mig
from tests.conftest import add_member, call_tool, cli, make_tenant, running_server

UNAUTHORIZED = 401


@pytest.fixture
def world(db_path: Path) -> Iterator[dict]:
    owner = make_tenant(db_path)
    other = make_tenant(db_path, "Other", "owner@other.example")
    member_key = add_member(db_path, owner, "mia@acme.example", "member")
    with running_server(db_path) as srv:
        clients = {
            name: httpx.Client(base_url=srv.url, headers={"x-api-key": key}, timeout=30)
            for name, key in (("owner", owner.key), ("member", member_key), ("other", other.key))
        }
        yield {"db": db_path, "tenant": owner, **clients}
        for client in clients.values():
            client.close()


def create(client: httpx.Client, name: str) -> httpx.Response:
    return client.post("/api/v1/contacts", json={"firstName": name})


def sql(db: Path, statement: str, *params) -> None:
    """Plain SQL on a connection of its own, as a script or another process would write."""
    conn = connect(db)
    conn.execute(statement, params)
    conn.close()


def token(db: Path, company_id: str) -> int:
    conn = connect(db)
    found = conn.execute("SELECT accounts_token FROM company WHERE id = ?", (company_id,)).fetchone()[0]
    conn.close()
    return found


def test_a_key_revoked_by_plain_sql_is_refused_by_the_next_write(world):
    for i in range(3):  # the writer has verified (and kept) the key
        assert create(world["member"], f"Before {i}").status_code == 201
    sql(world["db"], "UPDATE api_key SET revoked_at = '2020-01-01T00:00:00.000Z' WHERE name = 'test'")
    assert create(world["member"], "After").status_code == UNAUTHORIZED
    assert create(world["owner"], "Owner").status_code == 201  # the owner's key is untouched


def test_a_permission_removed_by_sql_and_a_key_made_read_only_are_seen_by_the_next_write(world):
    assert create(world["member"], "Before").status_code == 201
    sql(
        world["db"],
        "DELETE FROM role_permission WHERE resource = 'contacts' AND action = 'create'"
        " AND role_id = (SELECT role_id FROM app_user WHERE email = 'mia@acme.example')",
    )
    refused = create(world["member"], "After")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    assert create(world["owner"], "Owner").status_code == 201
    sql(world["db"], "UPDATE api_key SET read_only = 1 WHERE user_id = ?", world["tenant"].user_id)
    assert create(world["owner"], "Read only").status_code == 403


def test_a_role_changed_by_sql_and_a_user_deactivated_by_the_cli_are_seen_by_the_next_write(world):
    assert create(world["member"], "Before").status_code == 201
    sql(
        world["db"],
        "UPDATE app_user SET role_id = (SELECT id FROM role WHERE role.company_id = app_user.company_id"
        " AND name = 'Viewer') WHERE email = 'mia@acme.example'",
    )
    result = call_tool(world["member"], "create_contacts", {"contacts": [{"firstName": "Viewer"}]})
    assert result["isError"] is True and '"forbidden"' in result["content"][0]["text"]
    assert create(world["owner"], "Owner").status_code == 201
    done = cli("users", "set-status", "--email", "mia@acme.example", "--status", "inactive", db=world["db"])
    assert done.returncode == 0, done.stderr
    assert create(world["member"], "Inactive").status_code == UNAUTHORIZED


def test_a_kept_key_expires_on_time(world):
    soon = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(time.time() + 2))
    sql(world["db"], "UPDATE api_key SET expires_at = ? WHERE name = 'test'", soon)
    assert create(world["member"], "Before").status_code == 201
    time.sleep(2.2)
    assert create(world["member"], "After").status_code == UNAUTHORIZED


def test_only_changes_that_matter_move_the_token_and_only_the_companys_own(world):
    db, company = world["db"], world["tenant"].company_id
    other = connect(db).execute("SELECT company_id FROM app_user WHERE email = 'owner@other.example'")
    other_company = other.fetchone()[0]
    before, before_other = token(db, company), token(db, other_company)
    sql(db, "UPDATE api_key SET last_used_at = '2030-01-01T00:00:00.000Z' WHERE company_id = ?", company)
    sql(db, "UPDATE app_user SET country = 'de', avatar_url = 'x' WHERE company_id = ?", company)
    assert token(db, company) == before  # a stamp of use, a profile edit: the principal is the same
    sql(db, "UPDATE role SET name = 'Helper' WHERE company_id = ? AND name = 'Member'", company)
    assert token(db, company) != before
    assert token(db, other_company) == before_other


def test_the_migration_upgrades_a_file_with_keys(tmp_path, monkeypatch):
    path = tmp_path / "old.db"
    older = [m for m in mig.available() if m.version < 15]
    monkeypatch.setattr(mig, "available", lambda: older)
    tenant = make_tenant(path)  # a database at 0014
    monkeypatch.undo()
    conn = connect(path)
    assert mig.migrate(conn)[:1] == [15]  # and any later migration
    first = conn.execute("SELECT accounts_token FROM company").fetchone()[0]
    conn.execute("UPDATE api_key SET revoked_at = '2020-01-01T00:00:00.000Z'")
    assert conn.execute("SELECT accounts_token FROM company").fetchone()[0] != first
    conn.close()
    with running_server(path) as srv:
        client = httpx.Client(base_url=srv.url, headers={"x-api-key": tenant.key}, timeout=30)
        assert create(client, "X").status_code == UNAUTHORIZED
        client.close()
