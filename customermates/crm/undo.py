"""undo_changes: recorded changes of the five record types taken back, newest first, all or nothing.

    load      the events by id: another company's id is a random id; other types named with the reason
    check     already undone -> conflict; the inverse operations' permissions -> forbidden
    undo      per event, newest first, each through the write pipeline (Changeset: events, updatedAt,
              search rows; LinkChanges and recompute_totals: links and deal totals):
                .updated  fields set back where they still hold what the event left; links inverted
                .created  the record deleted, unless a later event of it stays
                .deleted  the record restored with its id, fields, notes, custom values and the links
                          to records that exist now
    conflicts -> one `conflict` error naming each blocking event; the transaction rolls back

The events an undo records carry `undo_of` (Call.undo_of); each original gets `undone_by`.
Rules for people: docs/undo.md.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import msgspec
from msgspec import UNSET, UnsetType

from customermates.call import Call
from customermates.crm import custom_values, link_rows
from customermates.crm.changeset import Changeset
from customermates.crm.drafts import FIELD_COLUMNS, Draft, repeats
from customermates.crm.history import UNDOABLE_EVENTS, Window, record_names, window_sql
from customermates.crm.inputs import CustomFieldValueInput, EntityRef
from customermates.crm.link_rows import DEAL_SERVICE, LinkChanges
from customermates.crm.loading import TABLE, display_name_of, load_company_records
from customermates.crm.model import (
    ENTITY_TYPES,
    PLURAL,
    RELATIONS,
    drop_search,
    relation,
    to_units,
)
from customermates.crm.writes import _row, _write_emails, _write_values
from customermates.errors import Issue, ToolError, forbidden, invalid, not_found

EVENT_SOURCE = "list_changes"
# The operation that takes back each kind of event, and the permission it needs.
INVERSE = {"created": "delete", "updated": "update", "deleted": "create"}
# DTO keys derived from other data: never set back themselves, they follow what they derive from.
DERIVED = {"totalValue", "totalQuantity", "createdAt", "updatedAt", "id", "type"}
NOT_IN_THIS_VERSION = (
    "only changes to contacts, organizations, deals, services and tasks can be undone in this version"
)


class PredictedChange(msgspec.Struct):
    """An event a dry run would have recorded."""

    event: str
    entity: str
    entityId: str
    entityName: str | None
    changes: dict[str, Any] | None
    undoOf: str | None


class UndoResult(msgspec.Struct, omit_defaults=True):
    items: list[EntityRef]
    undone: list[str]
    message: str
    dryRun: bool | UnsetType = UNSET
    changes: list[PredictedChange] | UnsetType = UNSET


@dataclass
class Event:
    id: str
    at: str
    seq: int
    entity: str
    record_id: str
    kind: str  # created | updated | deleted
    changes: dict[str, Any] | None
    snapshot: dict[str, Any] | None
    path: str


@dataclass
class Run:
    """One undo call in progress: the events named, what was done, and every conflict found."""

    call: Call
    events: list[Event]
    named: set[str]
    conflicts: list[Issue] = field(default_factory=list)
    restored: dict[str, int] = field(default_factory=dict)
    deleted: dict[str, int] = field(default_factory=dict)
    dropped: list[str] = field(default_factory=list)  # custom values of columns deleted since

    def conflict(self, event: Event, message: str, hint: str) -> None:
        self.conflicts.append(Issue(event.path, f"{event.entity}.{event.kind} {event.id}: {message}", hint))


# ---- loading and checks -------------------------------------------------------------------------


def _load(call: Call, ids: list[str]) -> list[Event]:
    issues = repeats(ids, lambda i: f"$.eventIds[{i}]")
    if issues:
        raise invalid(issues, "eventIds")
    packed = json.dumps(ids)
    rows = call.conn.execute(
        "SELECT a.id, a.occurred_at, a.rowid, a.entity_type, a.entity_id, a.event, a.changes, a.snapshot,"
        " a.undone_by FROM json_each(?) j CROSS JOIN audit_log a ON a.id = j.value WHERE a.company_id = ?",
        (packed, call.company_id),
    ).fetchall()
    where, params = window_sql(call, Window())
    seen = {
        r[0]
        for r in call.conn.execute(
            f"SELECT a.id FROM json_each(?) j CROSS JOIN audit_log a ON a.id = j.value WHERE {where}",
            [packed, *params],
        )
    }
    by_id = {r[0]: r for r in rows if r[0] in seen or r[3] not in ENTITY_TYPES}
    missing = [(f"$.eventIds[{i}]", "event", x) for i, x in enumerate(ids) if x not in by_id]
    if missing:
        raise not_found(missing, EVENT_SOURCE)
    other = [
        Issue(f"$.eventIds[{i}]", f"{by_id[x][5]} cannot be undone: {NOT_IN_THIS_VERSION}", "Leave it out.")
        for i, x in enumerate(ids)
        if by_id[x][5] not in UNDOABLE_EVENTS
    ]
    if other:
        raise invalid(other, "eventIds")
    done = [
        Issue(
            f"$.eventIds[{i}]",
            f"{by_id[x][5]} {x} was already undone by event {by_id[x][8]}",
            f"Leave it out; to redo the change, undo {by_id[x][8]} instead.",
        )
        for i, x in enumerate(ids)
        if by_id[x][8] is not None
    ]
    if done:
        raise ToolError(
            "conflict", f"{len(done)} of the events were already undone; nothing was changed.", done
        )
    position = {x: i for i, x in enumerate(ids)}
    events = [
        Event(r[0], r[1], r[2], r[3], r[4], r[5].split(".")[1], _json(r[6]), _json(r[7]), "")
        for r in by_id.values()
    ]
    for e in events:
        e.path = f"$.eventIds[{position[e.id]}]"
    return sorted(events, key=lambda e: (e.at, e.seq), reverse=True)


def _authorize(call: Call, events: list[Event]) -> None:
    needed = dict.fromkeys(f"{PLURAL[e.entity]}.{INVERSE[e.kind]}" for e in events)
    missing = [p for p in needed if not call.principal.can(p)]
    if missing:
        raise forbidden(missing, call.principal.role_name)


# ---- the undo -----------------------------------------------------------------------------------


def undo(call: Call, event_ids: list[str]) -> UndoResult:
    events = _load(call, event_ids)
    _authorize(call, events)
    run = Run(call, events, {e.id for e in events})
    for event in events:
        call.undo_of = event.id
        start = len(call.events)
        {"updated": _undo_update, "created": _undo_create, "deleted": _undo_delete}[event.kind](run, event)
        if len(call.events) == start:
            call.undo_of = None
    call.undo_of = None
    if run.conflicts:
        count = len({i.path for i in run.conflicts})
        raise ToolError(
            "conflict",
            f"{count} of the {len(events)} changes cannot be undone as things stand; nothing was changed."
            " Each issue names the later change in the way.",
            run.conflicts,
        )
    _mark_undone(call, events)
    return _result(run)


def _mark_undone(call: Call, events: list[Event]) -> None:
    """`undone_by` of each original: the first event recorded for it, else one on its record, else any."""
    if not call.events:
        return
    first_for: dict[str, str] = {}
    on_record: dict[str, str] = {}
    for recorded in call.events:
        first_for.setdefault(recorded.undo_of or "", recorded.id)
        on_record.setdefault(recorded.entity_id, recorded.id)
    call.conn.executemany(
        "UPDATE audit_log SET undone_by = ? WHERE id = ?",
        [(first_for.get(e.id) or on_record.get(e.record_id) or call.events[0].id, e.id) for e in events],
    )


def _result(run: Run) -> UndoResult:
    touched = list(dict.fromkeys((e.entity, e.record_id) for e in run.events))
    names = record_names(run.call.conn, run.call.company_id, touched)
    for recorded in run.call.events:  # records deleted by this undo: their snapshot names them
        if recorded.snapshot is not None and (recorded.entity_type, recorded.entity_id) not in names:
            names[(recorded.entity_type, recorded.entity_id)] = display_name_of(
                recorded.entity_type, recorded.snapshot
            )
    refs = [EntityRef(i, names.get((e, i), "")) for e, i in touched]
    n, records = len(run.events), len(touched)
    message = f"Undid {n} change{'s' * (n != 1)} on {records} record{'s' * (records != 1)}"
    extra = [
        f"{verb} {', '.join(_count(c, e) for e, c in counted.items())}"
        for verb, counted in (("restored", run.restored), ("deleted", run.deleted))
        if counted
    ]
    message += f" ({'; '.join(extra)})." if extra else "."
    if not run.call.events:
        message += " Every record already was as before; nothing needed changing."
    if run.dropped:
        message += f" Dropped values of deleted custom columns: {', '.join(run.dropped)}."
    return UndoResult(refs, [e.id for e in run.events], message)


def _count(n: int, entity: str) -> str:
    return f"{n} {entity if n == 1 else PLURAL[entity]}"


# ---- .updated -----------------------------------------------------------------------------------


def _undo_update(run: Run, event: Event) -> None:
    call, entity, record_id = run.call, event.entity, event.record_id
    now = load_company_records(call.conn, call.company_id, entity, [record_id]).get(record_id)
    if now is None:
        _gone(run, event, entity, record_id)
        return
    conflicts = len(run.conflicts)
    values: dict[str, Any] = {}
    custom: list[CustomFieldValueInput] = []
    plan = LinkChanges()
    for key, change in (event.changes or {}).items():
        rel = next((r for r in RELATIONS[entity] if r.name == key), None)
        if rel is not None:
            _invert_links(run, event, rel, change, plan)
        elif key == "customFieldValues":
            custom += _invert_custom(run, event, now, change)
            _still_valid(run, event, entity, custom)
        elif key in FIELD_COLUMNS[entity] and key not in DERIVED:
            if now.get(key) == change["current"]:
                values[key] = to_units(change["previous"]) if key == "amount" else change["previous"]
            elif now.get(key) != change["previous"]:
                _blocked(run, event, key, now.get(key), change["current"])
    if len(run.conflicts) > conflicts or not (values or custom or plan.ends):
        return
    draft = Draft(event.path, record_id, values, {}, custom or None)
    changes = Changeset(call)
    changes.touch([(entity, record_id)])
    changes.links(plan)
    repriced: set[str] = set()
    if "amount" in values:
        repriced = set(link_rows.linked_ids(call.conn, relation("service", "deals"), [record_id]))
        changes.touch(("deal", d) for d in repriced)
    changes.snapshot()
    _write_values(call, entity, [draft], {record_id: {"values": _stored(call, entity, record_id)}})
    if custom:
        custom_values.write(call, entity, [draft], created=False)
    plan.apply(call.conn)
    link_rows.recompute_totals(call.conn, plan.deals_with_new_terms() | repriced, changes.names("deal"))
    changes.finish()


def _invert_links(run: Run, event: Event, rel, change: dict, plan: LinkChanges) -> None:
    """Remove the links the event added, add back those it removed, restore changed quantities."""
    call, own = run.call, event.record_id
    before = {e["id"]: e for e in change["previous"] or []}
    after = {e["id"]: e for e in change["current"] or []}
    linked = link_rows.current_links(call.conn, rel, [own])[own]
    quantities = rel.table == DEAL_SERVICE
    for other in after.keys() - before.keys():
        if other in linked:
            plan.remove(rel, own, other)
    missing = [o for o in before.keys() - after.keys() if o not in linked]
    alive = _existing(call, rel.other, missing)
    for other in [o for o in before if o in missing]:
        quantity = to_units(before[other]["quantity"]) if quantities else link_rows.ONE
        if other in alive:
            plan.add(rel, own, other, quantity)
        elif not _restored_here(run, rel.other, other):
            blocker = _deleting_event(run, rel.other, other)
            run.conflict(
                event,
                f"{rel.other} {other} that it unlinked from {rel.name} was deleted since"
                + (f" (event {blocker})" if blocker else ""),
                f"Undo {blocker} too (add it to eventIds)." if blocker else "Leave this event out.",
            )
    if not quantities:
        return
    for other in before.keys() & after.keys():
        old, new = before[other].get("quantity"), after[other].get("quantity")
        if old == new:
            continue
        held = linked.get(other)
        if held == to_units(new):
            plan.requantify(rel, own, other, to_units(old))
        elif held != to_units(old):
            shown = None if held is None else held / link_rows.ONE
            _blocked(run, event, f"{rel.name}[{other}].quantity", shown, new)


def _invert_custom(run: Run, event: Event, now: dict, change: dict) -> list[CustomFieldValueInput]:
    """Column values set back where they still hold what the event left; deleted columns skipped."""
    before = {v["columnId"]: v["value"] for v in change["previous"] or []}
    after = {v["columnId"]: v["value"] for v in change["current"] or []}
    held = {v["columnId"]: v["value"] for v in now.get("customFieldValues", [])}
    out = []
    for column in dict.fromkeys([*after, *before]):
        if held.get(column) == after.get(column):
            out.append(CustomFieldValueInput(columnId=column, value=before.get(column)))
        elif held.get(column) != before.get(column):
            _blocked(run, event, f"customFieldValues[{column}]", held.get(column), after.get(column))
    return out


def _blocked(run: Run, event: Event, key: str, now: Any, left: Any) -> None:
    field_name = key.split("[")[0]
    blocker = run.call.conn.execute(
        "SELECT id, event FROM audit_log WHERE company_id = ? AND entity_id = ? AND undone_by IS NULL"
        " AND (occurred_at > ? OR (occurred_at = ? AND rowid > ?)) AND json_extract(changes, ?) IS NOT NULL"
        " ORDER BY occurred_at DESC, rowid DESC LIMIT 1",
        (run.call.company_id, event.record_id, event.at, event.at, event.seq, f'$."{field_name}"'),
    ).fetchone()
    shown = json.dumps(now, ensure_ascii=False)
    left_shown = json.dumps(left, ensure_ascii=False)
    where = f"; event {blocker[0]} ({blocker[1]}) changed it since" if blocker else ""
    run.conflict(
        event,
        f"{event.entity} {event.record_id}: `{key}` is now {shown}, the event left {left_shown}{where}",
        f"Undo {blocker[0]} too (add it to eventIds), or set the field by hand."
        if blocker
        else "Set the field by hand.",
    )


def _gone(run: Run, event: Event, entity: str, record_id: str) -> None:
    blocker = _deleting_event(run, entity, record_id)
    run.conflict(
        event,
        f"{entity} {record_id} was deleted since" + (f" (event {blocker})" if blocker else ""),
        f"Undo {blocker} too (add it to eventIds)." if blocker else "Leave this event out.",
    )


def _deleting_event(run: Run, entity: str, record_id: str) -> str | None:
    row = run.call.conn.execute(
        "SELECT id FROM audit_log WHERE company_id = ? AND entity_id = ? AND event = ? AND undone_by IS NULL"
        " ORDER BY occurred_at DESC, rowid DESC LIMIT 1",
        (run.call.company_id, record_id, f"{entity}.deleted"),
    ).fetchone()
    return None if row is None else row[0]


def _restored_here(run: Run, entity: str, record_id: str) -> bool:
    """A delete of this record is undone later in this call: its restore brings the link back."""
    return any(e.kind == "deleted" and e.entity == entity and e.record_id == record_id for e in run.events)


def _existing(call: Call, entity: str, ids: list[str]) -> set[str]:
    if not ids:
        return set()
    rows = call.conn.execute(
        f"SELECT e.id FROM json_each(?) j CROSS JOIN {TABLE[entity]} e ON e.id = j.value WHERE e.company_id = ?",
        (json.dumps(ids), call.company_id),
    )
    return {r[0] for r in rows}


def _stored(call: Call, entity: str, record_id: str) -> dict[str, Any]:
    columns = FIELD_COLUMNS[entity]
    row = call.conn.execute(
        f"SELECT {', '.join(columns.values())} FROM {entity} WHERE id = ?", (record_id,)
    ).fetchone()
    values = dict(zip(columns, row, strict=True))
    if "emails" in values:
        values["emails"] = json.loads(values["emails"])
    return values


# ---- .created -----------------------------------------------------------------------------------


def _undo_create(run: Run, event: Event) -> None:
    call, entity, record_id = run.call, event.entity, event.record_id
    later = call.conn.execute(
        "SELECT id, event FROM audit_log WHERE company_id = ? AND entity_id = ? AND undone_by IS NULL"
        " AND (occurred_at > ? OR (occurred_at = ? AND rowid > ?)) ORDER BY occurred_at, rowid",
        (call.company_id, record_id, event.at, event.at, event.seq),
    ).fetchall()
    staying = [(i, name) for i, name in later if i not in run.named]
    if staying:
        listed = ", ".join(f"{i} ({name})" for i, name in staying[:5])
        run.conflict(
            event,
            f"{entity} {record_id} changed after it was created: {listed}",
            "Undo those events too (add their ids to eventIds), or delete the record with delete_entities.",
        )
        return
    if not _existing(call, entity, [record_id]):
        return  # defensive: a delete is a later event, so a missing record was refused above
    changes = Changeset(call)
    changes.deleting(entity, [record_id])
    linked = {r.other: link_rows.linked_ids(call.conn, r, [record_id]) for r in RELATIONS[entity]}
    for other, others in linked.items():
        if other != "user":
            changes.reached((other, o) for o in others)
    repriced = set(linked.get("deal", [])) if entity == "service" else set()
    changes.touch(("deal", d) for d in repriced)
    changes.snapshot()
    drop_search(call.conn, entity, [record_id])
    call.conn.execute(f"DELETE FROM {entity} WHERE id = ?", (record_id,))
    link_rows.recompute_totals(call.conn, repriced, changes.names("deal"))
    changes.finish()
    run.deleted[entity] = run.deleted.get(entity, 0) + 1


# ---- .deleted -----------------------------------------------------------------------------------


def _undo_delete(run: Run, event: Event) -> None:
    call, entity, record_id = run.call, event.entity, event.record_id
    if _existing(call, entity, [record_id]):
        run.conflict(
            event,
            f"{entity} {record_id} exists again",
            "Leave this event out: the record is back already.",
        )
        return
    snapshot = event.snapshot or {}
    plan = LinkChanges()
    for rel in RELATIONS[entity]:
        elements = snapshot.get(rel.name) or []
        alive = _existing(call, rel.other, [e["id"] for e in elements])
        for element in elements:
            if element["id"] in alive:
                quantity = to_units(element["quantity"]) if "quantity" in element else link_rows.ONE
                plan.add(rel, record_id, element["id"], quantity)
    custom = _restorable_custom(run, entity, snapshot)
    if not _still_valid(run, event, entity, custom):
        return
    changes = Changeset(call)
    changes.created(entity, [record_id])
    changes.links(plan)
    changes.snapshot()
    _insert(call, entity, record_id, snapshot)
    if custom:
        custom_values.write(call, entity, [Draft(event.path, record_id, {}, {}, custom)], created=False)
    plan.apply(call.conn)
    link_rows.recompute_totals(call.conn, plan.deals_with_new_terms(), {record_id: snapshot.get("name", "")})
    changes.finish()
    run.restored[entity] = run.restored.get(entity, 0) + 1


def _still_valid(run: Run, event: Event, entity: str, custom: list[CustomFieldValueInput]) -> bool:
    """Whether the values to put back still fit their columns (an option removed or a setting changed
    since the event makes one a conflict, with the column's own message), checked as a write would be."""
    issues = custom_values.check(run.call.conn, run.call.company_id, entity, [("customFieldValues", custom)])
    for issue in issues:
        run.conflict(event, f"`{issue.path}` {issue.message}", f"{issue.hint} Or set the value by hand.")
    return not issues


def _restorable_custom(run: Run, entity: str, snapshot: dict) -> list[CustomFieldValueInput]:
    values = snapshot.get("customFieldValues") or []
    if not values:
        return []
    columns = {
        r[0]
        for r in run.call.conn.execute(
            "SELECT id FROM custom_column WHERE company_id = ? AND id IN (SELECT value FROM json_each(?))",
            (run.call.company_id, json.dumps([v["columnId"] for v in values])),
        )
    }
    run.dropped += [v.get("label", v["columnId"]) for v in values if v["columnId"] not in columns]
    return [
        CustomFieldValueInput(columnId=v["columnId"], value=v["value"])
        for v in values
        if v["columnId"] in columns
    ]


def _insert(call: Call, entity: str, record_id: str, snapshot: dict) -> None:
    """The record's row as the snapshot shows it, with its original id and createdAt."""
    values: dict[str, Any] = {k: snapshot.get(k) for k in FIELD_COLUMNS[entity]}
    if "amount" in values:
        values["amount"] = to_units(values["amount"])
    if "emails" in values:
        values["emails"] = values["emails"] or []
    if entity == "contact":
        values["lastName"] = values["lastName"] or ""
    row = _row(entity, values)
    if entity == "task":
        row["type"] = snapshot.get("type", "custom")
    columns = list(row)
    call.conn.execute(
        f"INSERT INTO {entity} (id, company_id, {', '.join(columns)}, created_at, updated_at)"
        f" VALUES (?, ?, {', '.join('?' * len(columns))}, ?, ?)",
        (record_id, call.company_id, *row.values(), snapshot.get("createdAt", call.now), call.now),
    )
    if entity == "contact":
        _write_emails(call, [(record_id, values["emails"])], replace=False)


def _json(text: str | None) -> Any:
    return None if text is None else json.loads(text)
