"""Audit events, written in the same transaction as the change they describe (docs/data-model.md)."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from typing import Any

import msgspec

from customermates.ids import new_id
from customermates.store.rows import insert_rows

_INSERT = (
    "INSERT INTO audit_log (id, company_id, occurred_at, actor_user_id, api_key_id, source, operation,"
    " entity_type, entity_id, event, changes, snapshot, oauth_client_id, undo_of)"
)
_encode = msgspec.json.Encoder().encode


@dataclass
class Actor:
    """Who writes: a user through a key or an OAuth client, or the CLI acting without one."""

    company_id: str
    user_id: str | None
    key_id: str | None
    source: str
    operation: str
    oauth_client_id: str | None = None


@dataclass
class AuditEvent:
    entity_type: str
    entity_id: str
    event: str
    changes: dict[str, Any] | None = None
    snapshot: dict[str, Any] | None = None
    id: str = field(default_factory=new_id)
    undo_of: str | None = None  # the event this one takes back (an undo's events only)
    record: dict[str, Any] | None = None  # an `.updated` record after the call: webhook payload, not stored


def write_events(conn: sqlite3.Connection, actor: Actor, occurred_at: str, events: list[AuditEvent]) -> None:
    """One row per event; all events of one call share the transaction time."""
    insert_rows(
        conn,
        _INSERT,
        [
            (
                e.id,
                actor.company_id,
                occurred_at,
                actor.user_id,
                actor.key_id,
                actor.source,
                actor.operation,
                e.entity_type,
                e.entity_id,
                e.event,
                None if e.changes is None else _encode(e.changes).decode(),
                None if e.snapshot is None else _encode(e.snapshot).decode(),
                actor.oauth_client_id,
                e.undo_of,
            )
            for e in events
        ],
    )
