"""Audit events of the five record types as the change feed shows them (list_changes).

    change_page(call, window, page, size)  -> (items, total), newest first
    event_rows(call, window, page, size)   -> (total, rows), newest first (also get_entity_history)
    window_sql(call, window)               -> WHERE over `audit_log a`: company, read scope, filters
    record_names(conn, company, keys)      -> each record's name now, or from its last snapshot

The feed reads `audit_log` newest first through its (company, time) index, then names the page's
records with one query per record type. `Via` is shared with get_entity_history.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any

import msgspec

from customermates.call import Call
from customermates.crm.loading import display_name_of
from customermates.crm.model import ENTITY_TYPES, PLURAL
from customermates.crm.queries import NAME_SQL
from customermates.store.paging import counted_page

UNDOABLE_EVENTS = tuple(f"{e}.{what}" for e in ENTITY_TYPES for what in ("created", "updated", "deleted"))


class Via(msgspec.Struct):
    source: str
    keyName: str | None


class Change(msgspec.Struct):
    """One event of the company's change feed (list_changes)."""

    id: str
    occurredAt: str
    event: str
    entity: str
    entityId: str
    entityName: str | None
    operation: str
    via: Via
    userId: str | None
    changes: dict[str, Any] | None
    undoable: bool
    undoneBy: str | None
    undoOf: str | None


_COLUMNS = (
    "a.id, a.occurred_at, a.event, a.entity_type, a.entity_id, a.operation, a.source, k.name,"
    " a.actor_user_id, a.changes, a.undone_by, a.undo_of"
)
_FROM = "FROM audit_log a LEFT JOIN api_key k ON k.id = a.api_key_id"


@dataclass(frozen=True)
class Window:
    """The feed's filters, already checked: stored-form time bounds, ids, an exact key name."""

    since: str | None = None
    until: str | None = None  # exclusive
    user_id: str | None = None
    key_name: str | None = None
    entity: str | None = None
    entity_id: str | None = None


def _scope(call: Call) -> tuple[str, list[Any]]:
    """The events a caller may list: every record type they read all of, their own records of the others.

    A readOwn caller sees the events of records assigned to them today, and of records they deleted.
    """
    parts, params = [], []
    for entity in ENTITY_TYPES:
        plural = PLURAL[entity]
        if call.principal.reads_all(plural):
            parts.append("a.entity_type = ?")
            params.append(entity)
        elif call.principal.reads(plural):
            parts.append(
                f"(a.entity_type = ? AND (a.entity_id IN (SELECT left_id FROM link_{entity}_user"
                " WHERE right_id = ?) OR a.entity_id IN (SELECT entity_id FROM audit_log"
                " WHERE company_id = ? AND event = ? AND actor_user_id = ?)))"
            )
            params += [
                entity,
                call.principal.user_id,
                call.company_id,
                f"{entity}.deleted",
                call.principal.user_id,
            ]
    return ("(" + " OR ".join(parts) + ")" if parts else "0"), params


def window_sql(call: Call, window: Window, scoped: bool = True) -> tuple[str, list[Any]]:
    """WHERE over `audit_log a`: the company, the caller's scope, the filters.

    `scoped=False` leaves the scope out, for a caller whose right to the window's one record was
    checked already (get_entity_history): a read-own scope reads every event its user deleted.
    """
    where, params = ["a.company_id = ?"], [call.company_id]
    if scoped:
        scope, scope_params = _scope(call)
        where.append(scope)
        params += scope_params
    for clause, value in (
        ("a.occurred_at >= ?", window.since),
        ("a.occurred_at < ?", window.until),
        ("a.actor_user_id = ?", window.user_id),
        ("a.entity_type = ?", window.entity),
        ("a.entity_id = ?", window.entity_id),
    ):
        if value is not None:
            where.append(clause)
            params.append(value)
    if window.key_name is not None:
        where.append("a.api_key_id IN (SELECT id FROM api_key WHERE company_id = ? AND name = ?)")
        params += [call.company_id, window.key_name]
    return " AND ".join(where), params


def event_rows(
    call: Call, window: Window, page: int, size: int, scoped: bool = True
) -> tuple[int, list[sqlite3.Row]]:
    """How many events the window holds for the caller (`window_sql`), and one page of them newest
    first, as `id, occurred_at, event, entity_type, entity_id, operation, source, key name,
    actor_user_id, changes, undone_by, undo_of` (list_changes, get_entity_history)."""
    where, params = window_sql(call, window, scoped)
    return counted_page(
        call.conn, f"SELECT {_COLUMNS} {_FROM}", "FROM audit_log a", [where], params,
        "a.occurred_at DESC, a.rowid DESC", size, (page - 1) * size,
    )  # fmt: skip


def change_page(call: Call, window: Window, page: int, size: int) -> tuple[list[Change], int]:
    """The company's record changes in the window, newest first (list_changes)."""
    total, rows = event_rows(call, window, page, size)
    names = record_names(call.conn, call.company_id, [(r[3], r[4]) for r in rows])
    items = [
        Change(
            r[0], r[1], r[2], r[3], r[4], names.get((r[3], r[4])), r[5], Via(r[6], r[7]), r[8],
            _json(r[9]), r[2] in UNDOABLE_EVENTS and r[10] is None, r[10], r[11],
        )
        for r in rows
    ]  # fmt: skip
    return items, total


def record_names(
    conn: sqlite3.Connection,
    company_id: str,
    keys: list[tuple[str, str]],
    unstored: dict[tuple[str, str], dict[str, Any]] | None = None,
) -> dict[tuple[str, str], str]:
    """The name of each record now, or from its last snapshot when it is gone: one query per type.

    `unstored`: snapshots of events not written yet (a dry run's), newer than any in the log.
    """
    out: dict[tuple[str, str], str] = {}
    for entity in ENTITY_TYPES:
        ids = list(dict.fromkeys(i for e, i in keys if e == entity))
        if not ids:
            continue
        rows = conn.execute(
            f"SELECT e.id, {NAME_SQL[entity]} FROM json_each(?) j CROSS JOIN {entity} e ON e.id = j.value"
            " WHERE e.company_id = ?",
            (json.dumps(ids), company_id),
        )
        out.update(((entity, i), name) for i, name in rows)
    for key, snapshot in (unstored or {}).items():
        if key not in out and key[0] in ENTITY_TYPES:
            out[key] = display_name_of(key[0], snapshot)
    gone = [key[1] for key in keys if key not in out and key[0] in ENTITY_TYPES]
    if gone:
        rows = conn.execute(
            "SELECT a.entity_type, a.entity_id, a.snapshot FROM json_each(?) j CROSS JOIN audit_log a"
            " ON a.company_id = ? AND a.entity_id = j.value WHERE a.snapshot IS NOT NULL"
            " ORDER BY a.occurred_at, a.rowid",
            (json.dumps(list(dict.fromkeys(gone))), company_id),
        )
        for entity, record_id, snapshot in rows:  # the last snapshot wins
            if entity in ENTITY_TYPES:
                out[(entity, record_id)] = display_name_of(entity, json.loads(snapshot))
    return out


def _json(text: str | None) -> Any:
    return None if text is None else json.loads(text)
