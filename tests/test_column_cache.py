"""Custom columns kept between calls (crm/columns.py): every change is seen by the very next write.

The server runs in this process, so the columns it keeps are shared with the helpers here; a change made
by another process (a script on the same file, as the CLI would) is seen through the token alone.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from customermates.crm.columns import load_columns
from customermates.store import connect
from customermates.store import migrations as mig
from tests.conftest import call_tool, error_of, make_tenant, ok, running_server

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Iterator[dict]:
    db = tmp_path_factory.mktemp("column-cache") / "crm.db"
    first = make_tenant(db)
    second = make_tenant(db, "Other", "owner@other.example")
    with running_server(db) as srv:
        clients = {
            name: httpx.Client(base_url=srv.url, headers={"x-api-key": tenant.key}, timeout=30)
            for name, tenant in (("first", first), ("second", second))
        }
        yield {"db": db, "tenants": (first, second), **clients}
        for client in clients.values():
            client.close()


def label(prefix: str) -> str:
    return f"{prefix} {uuid.uuid4().hex[:6]}"


def create(client: httpx.Client, *values: list[dict]) -> list[dict]:
    items = [{"firstName": f"P{i}", "customFieldValues": v} for i, v in enumerate(values)]
    return ok(client, "create_contacts", {"contacts": items})["items"]


def failure(client: httpx.Client, *values: list[dict]) -> dict:
    items = [{"firstName": f"P{i}", "customFieldValues": v} for i, v in enumerate(values)]
    return error_of(call_tool(client, "create_contacts", {"contacts": items}))


def cfv(column_id: str, value) -> dict:
    return {"columnId": column_id, "value": value}


def shown(client: httpx.Client, item: dict, column_id: str):
    """The record's stored value of the column, read back."""
    got = ok(client, "get_entities", {"items": [{"entity": "contact", "id": item["id"]}]})["items"][0][
        "record"
    ]
    return next((v["value"] for v in got["customFieldValues"] if v["columnId"] == column_id), None)


def in_another_process(db: Path, key: str, tool: str, args: dict) -> dict:
    """Run one tool in a fresh Python process on the same file (as the CLI does); its result."""
    script = (
        "import json, sys\n"
        "import msgspec\n"
        "from customermates.auth import authenticate\n"
        "from customermates.catalog import REGISTRY\n"
        "from customermates.store import connect\n"
        "conn = connect(sys.argv[1])\n"
        "out = REGISTRY.run(conn, sys.argv[3], json.loads(sys.argv[4]), authenticate(conn, sys.argv[2]))\n"
        "print(msgspec.json.encode(out).decode())\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", script, str(db), key, tool, json.dumps(args)],
        capture_output=True, text=True, env=env, timeout=60, check=True,
    )  # fmt: skip
    return json.loads(done.stdout)


def test_a_column_added_by_a_tool_is_taken_by_the_next_write(world):
    http = world["first"]
    create(http, [])  # the contact columns as they were, now kept
    col = ok(http, "create_plain_custom_column", {"entityType": "contact", "label": label("Office")})["item"]
    (item,) = create(http, [cfv(col["id"], "Berlin")])
    assert shown(http, item, col["id"]) == "Berlin"


def test_a_renamed_column_and_a_removed_option_are_seen_by_the_next_write(world):
    http = world["first"]
    args = {
        "entityType": "contact",
        "label": label("Stage"),
        "options": [{"label": "Lead"}, {"label": "Won"}],
    }
    col = ok(http, "create_single_select_custom_column", args)["item"]
    lead, won = (o["value"] for o in col["options"]["options"])
    (item,) = create(http, [cfv(col["id"], "Won")])
    assert shown(http, item, col["id"]) == won
    renamed = label("Phase")
    ok(http, "update_single_select_custom_column", {"id": col["id"], "label": renamed, "options": [{"label": "Lead", "value": lead}]})  # fmt: skip
    error = failure(http, [cfv(col["id"], "Won")])
    [issue] = error["issues"]
    assert issue["path"] == "$.contacts[0].customFieldValues[0].value"
    assert "Won" in issue["message"]
    # An unknown column's message lists the columns by their labels now.
    error = failure(http, [cfv(str(uuid.uuid4()), "x")])
    assert renamed in error["issues"][0]["message"] and args["label"] not in error["issues"][0]["message"]


def test_changes_made_by_another_process_are_seen_by_the_next_write(world):
    http, key = world["first"], world["tenants"][0].key
    args = {
        "entityType": "contact",
        "label": label("Tier"),
        "options": [{"label": "Gold"}, {"label": "Silver"}],
    }
    col = ok(http, "create_single_select_custom_column", args)["item"]
    gold = col["options"]["options"][0]["value"]
    (item,) = create(http, [])
    assert shown(http, item, col["id"]) is None  # no default yet
    in_another_process(world["db"], key, "update_single_select_custom_column", {"id": col["id"], "options": [{"label": "Gold", "value": gold, "isDefault": True}]})  # fmt: skip
    (item,) = create(http, [])
    assert shown(http, item, col["id"]) == gold  # the default set elsewhere fills the new record
    assert (
        failure(http, [cfv(col["id"], "Silver")])["issues"][0]["path"]
        == "$.contacts[0].customFieldValues[0].value"
    )
    added = in_another_process(world["db"], key, "create_plain_custom_column", {"entityType": "contact", "label": label("Desk")})  # fmt: skip
    (item,) = create(http, [cfv(added["item"]["id"], "3rd floor")])
    assert shown(http, item, added["item"]["id"]) == "3rd floor"
    in_another_process(world["db"], key, "delete_custom_column", {"id": added["item"]["id"]})
    error = failure(http, [cfv(added["item"]["id"], "4th floor")])
    assert error["issues"][0]["path"] == "$.contacts[0].customFieldValues[0].columnId"


def test_a_tenants_columns_never_reach_another(world):
    first, second = world["first"], world["second"]
    create(first, [])
    create(second, [])  # both companies' columns kept
    args = {
        "entityType": "contact",
        "label": label("Region"),
        "options": [{"label": "North", "isDefault": True}],
    }
    theirs = ok(second, "create_single_select_custom_column", args)["item"]
    (mine,) = create(first, [])
    assert shown(first, mine, theirs["id"]) is None
    error = failure(first, [cfv(theirs["id"], "North")])
    assert error["issues"][0]["path"] == "$.contacts[0].customFieldValues[0].columnId"
    assert args["label"] not in error["issues"][0]["message"]
    (yours,) = create(second, [])
    assert shown(second, yours, theirs["id"]) == theirs["options"]["options"][0]["value"]


def _plain(conn, company: str, name: str) -> str:
    """A contact column written by plain SQL (no tool), as any other writer of the file may."""
    column_id = str(uuid.uuid4())
    conn.execute(
        "INSERT INTO custom_column (id, company_id, entity_type, type, label, label_key, created_at, updated_at)"
        " VALUES (?, ?, 'contact', 'plain', ?, ?, '2026-01-01', '2026-01-01')",
        (column_id, company, name, name.lower()),
    )
    return column_id


def test_a_rolled_back_change_is_not_kept(world):
    conn, company = connect(world["db"]), world["tenants"][0].company_id
    before = [c.id for c in load_columns(conn, company, "contact")]
    conn.execute("BEGIN IMMEDIATE")
    added = _plain(conn, company, label("Gone"))
    assert [c.id for c in load_columns(conn, company, "contact")] == sorted_ids(conn, company)
    assert added in sorted_ids(conn, company)
    conn.execute("ROLLBACK")
    assert [c.id for c in load_columns(conn, company, "contact")] == before
    conn.close()


def sorted_ids(conn, company: str) -> list[str]:
    """The contact columns in load order, straight from the table."""
    rows = conn.execute(
        "SELECT id FROM custom_column WHERE company_id = ? AND entity_type = 'contact' ORDER BY label_key, id",
        (company,),
    )
    return [r[0] for r in rows]


def test_the_migration_upgrades_a_file_with_columns(tmp_path, monkeypatch):
    path = tmp_path / "old.db"
    older = [m for m in mig.available() if m.version < 11]
    monkeypatch.setattr(mig, "available", lambda: older)
    tenant = make_tenant(path)  # a database of the release before the token
    conn = connect(path)
    assert mig.migrate(conn) == []
    column_id = _plain(conn, tenant.company_id, "Office")
    conn.close()
    monkeypatch.undo()

    conn, other = connect(path), connect(path)
    assert 11 in mig.migrate(conn)
    assert [c.label for c in load_columns(conn, tenant.company_id, "contact")] == ["Office"]
    other.execute("UPDATE custom_column SET label = 'Desk', label_key = 'desk' WHERE id = ?", (column_id,))
    assert [c.label for c in load_columns(conn, tenant.company_id, "contact")] == ["Desk"]
    _plain(other, tenant.company_id, "Floor")
    assert [c.label for c in load_columns(conn, tenant.company_id, "contact")] == ["Desk", "Floor"]
    other.execute("DELETE FROM custom_column WHERE id = ?", (column_id,))
    assert [c.label for c in load_columns(conn, tenant.company_id, "contact")] == ["Floor"]
    conn.close()
    other.close()


def test_options_changed_on_their_own_are_seen(world):
    """Option rows written without touching their column (plain SQL in another connection)."""
    conn, other, company = connect(world["db"]), connect(world["db"]), world["tenants"][0].company_id
    col = ok(world["first"], "create_single_select_custom_column", {"entityType": "contact", "label": label("Size"), "options": [{"label": "S"}]})["item"]  # fmt: skip

    def options() -> list[str]:
        [column] = [c for c in load_columns(conn, company, "contact") if c.id == col["id"]]
        return [o.label for o in column.options]

    assert options() == ["S"]
    other.execute(
        "INSERT INTO custom_option (id, column_id, label, label_key, position, rank) VALUES (?, ?, 'M', 'm', 1, 1)",
        (str(uuid.uuid4()), col["id"]),
    )
    assert options() == ["S", "M"]
    other.execute(
        "UPDATE custom_option SET label = 'L', label_key = 'l' WHERE label = 'M' AND column_id = ?",
        (col["id"],),
    )
    assert options() == ["S", "L"]
    other.execute("DELETE FROM custom_option WHERE label = 'S' AND column_id = ?", (col["id"],))
    assert options() == ["L"]
    conn.close()
    other.close()
