"""The unit of work a tool handler receives: who calls, the open connection, the time, recorded events."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field

from customermates.audit import AuditEvent
from customermates.auth import Principal
from customermates.ids import new_id


@dataclass
class Call:
    """One tool call in progress, inside its transaction in the database thread."""

    principal: Principal
    conn: sqlite3.Connection
    tool_name: str
    now: str
    origin: str | None = None
    events: list[AuditEvent] = field(default_factory=list)
    undo_of: str | None = None  # while an undo takes back one event, the events it records name it
    dry_run: bool = False  # set by a handler asked for a dry run: the call is rolled back (rehearsal.py)

    @property
    def company_id(self) -> str:
        return self.principal.company_id

    def event(
        self, entity_type: str, entity_id: str, event: str, changes=None, snapshot=None, event_id: str = ""
    ) -> AuditEvent:
        """Record an event; `event_id` one made ahead (`ids.new_ids`), in event order, else a new one."""
        recorded = AuditEvent(
            entity_type, entity_id, event, changes, snapshot, event_id or new_id(), undo_of=self.undo_of
        )
        self.events.append(recorded)
        return recorded
