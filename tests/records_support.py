"""Helpers shared by the record-tool tests: create records, read them back, look inside the database."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from customermates.crm.model import PLURAL
from customermates.ids import new_id, now_iso
from customermates.store import accounts as acc
from tests.conftest import Tenant, ok, write


def make(http, entity: str, *items: dict) -> list[str]:
    """Create records of one type; returns their ids in input order."""
    result = ok(http, f"create_{PLURAL[entity]}", {PLURAL[entity]: list(items)})
    return [i["id"] for i in result["items"]]


def get(http, entity: str, record_id: str, notes: bool = False) -> dict:
    include = "withNotes" if notes else "masterData"
    result = ok(http, "get_entities", {"items": [{"entity": entity, "id": record_id, "include": include}]})
    item = result["items"][0]
    return {**item["record"], "notes": item["notes"]} if notes else item["record"]


def ids(elements: list[dict]) -> list[str]:
    return [e["id"] for e in elements]


def query(db_path: Path, sql: str, *params) -> list[tuple]:
    conn = sqlite3.connect(db_path)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def audit(db_path: Path, entity_id: str | None = None) -> list[dict]:
    """Audit rows (oldest first), optionally of one record, with changes/snapshot decoded."""
    where = "WHERE entity_id = ?" if entity_id else "WHERE ?1 IS NULL"
    rows = query(
        db_path,
        f"SELECT event, entity_id, operation, changes, snapshot, occurred_at FROM audit_log {where}"
        " ORDER BY occurred_at, rowid",
        entity_id,
    )
    return [
        {
            "event": r[0],
            "entityId": r[1],
            "operation": r[2],
            "changes": json.loads(r[3]) if r[3] else None,
            "snapshot": json.loads(r[4]) if r[4] else None,
            "at": r[5],
        }
        for r in rows
    ]


def dump(db_path: Path) -> str:
    """Every row of the CRM tables, links, search index and audit log: equal dumps = nothing written."""
    conn = sqlite3.connect(db_path)
    try:
        names = [
            r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        ]
        wanted = [
            n
            for n in names
            if n.startswith(("link_", "contact", "organization", "deal", "service", "task", "audit_log"))
        ]
        return "\n".join(f"{n}: {conn.execute(f'SELECT * FROM {n} ORDER BY 1').fetchall()}" for n in wanted)
    finally:
        conn.close()


def add_role_user(db_path: Path, tenant: Tenant, email: str, role: str, permissions: list[str]) -> str:
    """A user holding a new role with exactly `permissions` ("contacts.readOwn", ...); returns a key."""

    def insert_role(conn):
        role_id, now = new_id(), now_iso()
        conn.execute(
            "INSERT INTO role VALUES (?, ?, ?, ?, ?, 0, ?, ?)",
            (role_id, tenant.company_id, role, role.casefold(), "test role", now, now),
        )
        conn.executemany(
            "INSERT INTO role_permission VALUES (?, ?, ?)", [(role_id, *p.split(".")) for p in permissions]
        )

    write(db_path, insert_role)
    write(db_path, acc.add_user, tenant.company_id, email, "Rita", role, role)
    return write(db_path, acc.create_key, email, "test")


def user_id(db_path: Path, email: str) -> str:
    return query(db_path, "SELECT id FROM app_user WHERE email_key = ?", email.casefold())[0][0]
