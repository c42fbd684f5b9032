"""Records for query tests, written straight into the tables (fast, with exact timestamps).

Rows, links, contact emails and search entries are written the way the write path writes them
(same keys, `model.refresh_search`), so the query engine cannot tell the difference.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass

import msgspec
import pytest

from customermates.auth import Principal, authenticate
from customermates.catalog import REGISTRY
from customermates.crm import organization_totals
from customermates.crm.model import RELATIONS, display_name, last_key, name_key, refresh_search, to_units
from customermates.errors import ToolError
from customermates.ids import new_id, now_iso
from customermates.store import accounts as acc
from customermates.store import connect
from customermates.store.migrations import migrate


@dataclass
class Crm:
    """One database with a company whose owner is `admin`; `conn` is in autocommit mode."""

    conn: sqlite3.Connection
    company_id: str
    admin: Principal

    def call(self, tool: str, args: dict, principal: Principal | None = None, now: str | None = None) -> dict:
        """A tool call in process through the registry's own path (validation, permissions, one
        transaction, audit events); a failure raises `ToolError` and writes nothing."""
        output = REGISTRY.run(self.conn, tool, args, principal or self.admin, now)
        return msgspec.to_builtins(output)

    def fail(
        self, tool: str, args: dict, principal: Principal | None = None, now: str | None = None
    ) -> ToolError:
        with pytest.raises(ToolError) as caught:
            self.call(tool, args, principal, now)
        return caught.value

    def names(self, tool_args: dict, principal: Principal | None = None, now: str | None = None) -> list[str]:
        """The item names filter_entity returns for these arguments (entity defaults to contact)."""
        out = self.call("filter_entity", {"entity": "contact", "pageSize": 100, **tool_args}, principal, now)
        return [i["name"] for i in out["items"]]

    def company(self, name: str, email: str) -> Crm:
        seeded = acc.create_company(self.conn, name, email, "Other", "Owner")
        return Crm(self.conn, seeded.company_id, authenticate(self.conn, seeded.key))

    def member(self, email: str, perms: set[str]) -> Principal:
        """A user whose role holds exactly `perms` (e.g. readOwn only), for scope tests."""
        now = now_iso()
        role_id = new_id()
        self.conn.execute(
            "INSERT INTO role VALUES (?, ?, ?, ?, ?, 0, ?, ?)",
            (role_id, self.company_id, email, email, "test role", now, now),
        )
        self.conn.executemany(
            "INSERT INTO role_permission VALUES (?, ?, ?)", [(role_id, *p.split(".")) for p in perms]
        )
        user_id = acc.insert_user(self.conn, self.company_id, email, "Mia", "Member", role_id, now)
        return Principal(user_id, self.company_id, role_id, email, False, frozenset(perms))

    def add(self, entity: str, name: str = "", **fields) -> str:
        """Insert one record; relation lists go by their field name (`organizationIds=[...]`)."""
        ident = new_id()
        now = fields.pop("created_at", None) or now_iso()
        updated = fields.pop("updated_at", None) or now
        links = {r.field: fields.pop(r.field, []) for r in RELATIONS[entity]}
        columns = {"seq": None, "id": ident, "company_id": self.company_id, **_own(entity, name, fields)}
        columns |= {"created_at": now, "updated_at": updated}
        marks = ", ".join("?" * len(columns))
        self.conn.execute(
            f"INSERT INTO {entity} ({', '.join(columns)}) VALUES ({marks})", list(columns.values())
        )
        if entity == "contact":
            self.conn.executemany(
                "INSERT INTO contact_email VALUES (?, ?, ?, ?)",
                [(ident, i, self.company_id, e.casefold()) for i, e in enumerate(fields.get("emails", []))],
            )
        refresh_search(self.conn, entity, [ident])
        for rel in RELATIONS[entity]:
            self.link(entity, ident, rel.other, links[rel.field])
        return ident

    def link(self, entity: str, ident: str, other: str, ids: list[str]) -> None:
        rel = next(r for r in RELATIONS[entity] if r.other == other)
        self.conn.executemany(
            f"INSERT OR IGNORE INTO {rel.table} ({rel.own_col}, {rel.other_col}) VALUES (?, ?)",
            [(ident, o) for o in ids],
        )
        if {entity, other} == {"deal", "organization"}:  # stored deal values by organization
            organization_totals.refresh(self.conn, [(entity, ident), *((other, o) for o in ids)])

    def rename(self, entity: str, ident: str, name: str) -> None:
        self.conn.execute(
            f"UPDATE {entity} SET name = ?, name_key = ? WHERE id = ?", (name, name_key(name), ident)
        )
        refresh_search(self.conn, entity, [ident])


def _own(entity: str, name: str, fields: dict) -> dict:
    if entity == "contact":
        first, last = name.split(" ", 1) if " " in name else (name, "")
        first, last = fields.get("first", first), fields.get("last", last)
        return {
            "first_name": first,
            "last_name": last,
            "emails": json.dumps(fields.get("emails", [])),
            "name_key": name_key(display_name(first, last)),
            "last_key": last_key(first, last),
        }
    own = {"name": name, "name_key": name_key(name)}
    extra = {
        "deal": lambda: {
            "total_value": to_units(fields.get("total_value", 0)),
            "total_quantity": to_units(fields.get("total_quantity", 0)),
        },
        "service": lambda: {"amount": to_units(fields.get("amount", 0))},
        "task": lambda: {"type": fields.get("type", "custom")},
    }
    return own | extra.get(entity, dict)()


def attach_crm(path, key: str) -> Crm:
    """Seed helpers over the database a running test server uses (a separate connection)."""
    conn = connect(path)
    admin = authenticate(conn, key)
    return Crm(conn, admin.company_id, admin)


def open_crm(path) -> Crm:
    conn = connect(path)
    migrate(conn)
    seeded = acc.create_company(conn, "Acme", "owner@acme.example", "Olive", "Owner")
    return Crm(conn, seeded.company_id, authenticate(conn, seeded.key))
