"""Dry runs: a write call runs in full inside its transaction, reports what it would record, rolls back.

Asked per call (`undo_changes` with `dryRun`) or per connection (`?dryrun=1`, `stdio --dry-run`); the
result is the call's own plus `dryRun: true`, the would-be `changes` and a message starting with
DRY_RUN. See docs/undo.md.
"""

from __future__ import annotations

from typing import Any

import msgspec

from customermates.call import Call
from customermates.crm.history import record_names

DRY_RUN = "Dry run: nothing was written."
INSTRUCTIONS = (
    " This connection is a rehearsal (dry run): every write is checked and run, then rolled back;"
    " results say what would change. Reads see the real data."
)


def rehearsed(call: Call, output: Any) -> dict[str, Any]:
    """The call's result as a dry run; reads the would-be names while the writes are still visible."""
    result = msgspec.to_builtins(output)
    said = result.get("message")
    result["message"] = f"{DRY_RUN} The real call would report: {said}" if said else DRY_RUN
    result["dryRun"] = True
    result["changes"] = predicted(call)
    return result


def predicted(call: Call) -> list[dict[str, Any]]:
    """The events the call recorded, in order, shaped like list_changes items."""
    keys = [(e.entity_type, e.entity_id) for e in call.events]
    snapshots = {(e.entity_type, e.entity_id): e.snapshot for e in call.events if e.snapshot is not None}
    names = record_names(call.conn, call.company_id, keys, snapshots)
    out = []
    for e in call.events:
        name = names.get((e.entity_type, e.entity_id))
        if name is None and isinstance(e.snapshot, dict):
            name = e.snapshot.get("name")
        out.append(
            {
                "event": e.event,
                "entity": e.entity_type,
                "entityId": e.entity_id,
                "entityName": name,
                "changes": e.changes,
                "undoOf": e.undo_of,
            }
        )
    return out
