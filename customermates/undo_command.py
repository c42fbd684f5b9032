"""`customermates undo`: one user's key changes in a time window, taken back through undo_changes.

The events are chosen here; the undo itself is the registry's undo_changes, run in one transaction as
the tool runs (same events, webhooks, search rows and totals), acting as that user from the CLI.
"""

from __future__ import annotations

import json
import re
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from customermates.auth import Principal
from customermates.catalog import REGISTRY
from customermates.catalog.changes import UndoChangesInput
from customermates.crm.filters import read_moment
from customermates.crm.history import UNDOABLE_EVENTS, record_names
from customermates.errors import BadValue, CommandError, Rehearsed, ToolError
from customermates.ids import iso
from customermates.registry import _execute
from customermates.store import accounts as acc

_DURATION = re.compile(r"^(\d+)\s*([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def moment(text: str, flag: str, now: datetime, upper: bool = False) -> str:
    """`2h` (that long ago) or a date/datetime, as a stored timestamp; a date `--until` covers its day."""
    match = _DURATION.match(text.strip())
    if match:
        return iso(now - timedelta(**{_UNITS[match[2]]: int(match[1])}))
    try:
        # read_moment never reads its field argument: a time window belongs to no record field.
        bounds = read_moment(None, text)  # type: ignore[arg-type]
    except BadValue as bad:
        raise CommandError(
            f"{flag} {text!r}: {bad.message}; use a duration like 2h or 30m, or {bad.hint}"
        ) from None
    return bounds.after if upper else bounds.first


@dataclass
class Outcome:
    lines: list[str] = field(default_factory=list)  # one per event: id, event, record name
    summary: str = ""
    conflicts: list[str] = field(default_factory=list)


def undo_window(
    conn: sqlite3.Connection, email: str, key: str | None, since: str, until: str | None, dry_run: bool
) -> Outcome:
    """Select the events and undo them, in the caller's transaction; a conflict raises ToolError."""
    user = acc.require_user(conn, email)
    keys = conn.execute(
        "SELECT id FROM api_key WHERE user_id = ?" + (" AND name = ?" if key else ""),
        (user["id"], key) if key else (user["id"],),
    ).fetchall()
    if not keys:
        what = f"no key named {key!r}" if key else "no keys"
        raise CommandError(f"{email} has {what}; `customermates keys list --email {email}` lists them.")
    rows = conn.execute(
        "SELECT id, event, entity_type, entity_id FROM audit_log WHERE company_id = ? AND actor_user_id = ?"
        " AND api_key_id IN (SELECT value FROM json_each(?)) AND occurred_at >= ? AND occurred_at < ?"
        " AND undone_by IS NULL AND event IN (SELECT value FROM json_each(?))"
        " ORDER BY occurred_at DESC, rowid DESC",
        (
            user["company_id"],
            user["id"],
            json.dumps([k[0] for k in keys]),
            since,
            until or "9999",
            json.dumps(UNDOABLE_EVENTS),
        ),
    ).fetchall()
    out = Outcome()
    if not rows:
        out.summary = "No undoable changes in that window."
        return out
    names = record_names(conn, user["company_id"], [(r[2], r[3]) for r in rows])
    out.lines = [f"{r[0]}\t{r[1]}\t{names.get((r[2], r[3]), '')}" for r in rows]
    principal = Principal(user["id"], user["company_id"], "", "command line", True, frozenset(), source="cli")
    tool = REGISTRY.tools["undo_changes"]
    typed = UndoChangesInput(eventIds=[r[0] for r in rows], dryRun=dry_run)
    try:
        result, _ = _execute(conn, tool, typed, principal, False, None, None)
    except Rehearsed as done:  # re-raised with the lines, so that the transaction still rolls back
        raise Rehearsed({"lines": out.lines, "message": done.result["message"]}) from None
    out.summary = result.message
    return out


def conflicts(error: ToolError) -> list[str]:
    return [f"conflict\t{issue.message}\t{issue.hint}" for issue in error.issues] or [error.message]
