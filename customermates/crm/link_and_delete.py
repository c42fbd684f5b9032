"""link_entities, unlink_entities and delete_entities: changes to links, and records leaving for good.

They share the write path of `writes`: check everything, plan the link changes so both ends are known,
snapshot, write set-wise, recompute deal totals, and let the Changeset emit the events.
"""

from __future__ import annotations

import json

import msgspec

from customermates.call import Call
from customermates.crm import link_rows
from customermates.crm.changeset import Changeset
from customermates.crm.drafts import LISTER, load_targets, repeats, visible
from customermates.crm.inputs import EntityRef
from customermates.crm.link_rows import LinkChanges
from customermates.crm.loading import TABLE, display_name_of, scope
from customermates.crm.model import PLURAL, RELATIONS, Relation, drop_search
from customermates.errors import Issue, ToolError, invalid, not_found


class LinkResult(msgspec.Struct):
    entity: str
    sourceId: str
    relation: str
    changedIds: list[str]
    unchangedIds: list[str]
    before: int
    after: int
    message: str


class DeleteResult(msgspec.Struct):
    items: list[EntityRef]
    message: str


def _noun(rel: Relation, n: int) -> str:
    return f"{n} {rel.other if n == 1 else rel.name}"


def _relation(entity: str, name: str) -> Relation:
    rel = next((r for r in RELATIONS[entity] if r.name == name), None)
    if rel is None:
        allowed = ", ".join(r.name for r in RELATIONS[entity])
        raise ToolError(
            "invalid_input",
            f"A {entity} has no relation {name!r}; allowed: {allowed}. Nothing was written.",
            [Issue("$.relation", f"{name!r} is not a relation of {entity}", f"Use one of: {allowed}.")],
        )
    return rel


def _check_ids(ids: list[str]) -> None:
    issues = repeats(ids, lambda i: f"$.ids[{i}]")
    if issues:
        raise invalid(issues, "ids")


def _visible_count(call: Call, rel: Relation, own: str) -> int:
    """Links of `own` through `rel` to records the caller can see."""
    where = scope(call.principal, rel.other, "o")
    if where is None:
        return 0
    return call.conn.execute(
        # CROSS JOIN: from the record's links to the rows; left free, SQLite may scan the company.
        f"SELECT count(*) FROM {rel.table} l CROSS JOIN {TABLE[rel.other]} o ON o.id = l.{rel.other_col}"
        f" WHERE l.{rel.own_col} = ? AND {where[0]}",
        [own, *where[1]],
    ).fetchone()[0]


def _run(call: Call, plan: LinkChanges, touch_first: list) -> Changeset:
    changes = Changeset(call)
    changes.touch(touch_first)
    changes.links(plan)
    changes.snapshot()
    plan.apply(call.conn)
    link_rows.recompute_totals(call.conn, plan.deals_with_new_terms(), changes.names("deal"))
    changes.finish()
    return changes


def link(call: Call, entity: str, source_id: str, name: str, ids: list[str]) -> LinkResult:
    """Add links from one record; ids already linked are left as they are."""
    rel = _relation(entity, name)
    _check_ids(ids)
    load_targets(call, entity, [source_id], ["$.sourceId"])
    seen = visible(call, rel.other, ids)
    missing = [(f"$.ids[{i}]", rel.other, x) for i, x in enumerate(ids) if x not in seen]
    if missing:
        raise not_found(missing, LISTER)
    linked = link_rows.current_links(call.conn, rel, [source_id])[source_id]
    before = _visible_count(call, rel, source_id)
    plan = LinkChanges()
    changed = [x for x in ids if x not in linked]
    for other in changed:
        plan.add(rel, source_id, other)
    changes = _run(call, plan, [(entity, source_id)])
    unchanged = [x for x in ids if x in linked]
    after = before + len(changed)
    source = display_name_of(entity, changes.after[(entity, source_id)])
    already = (
        f"; {len(unchanged)} {'was' if len(unchanged) == 1 else 'were'} already linked" if unchanged else ""
    )
    message = f"Linked {_noun(rel, len(changed))} to {entity} {source}{already}; now {after}."
    return LinkResult(entity, source_id, name, changed, unchanged, before, after, message)


def unlink(call: Call, entity: str, source_id: str, name: str, ids: list[str]) -> LinkResult:
    """Remove particular links; ids not linked, unknown or unseen are reported unchanged."""
    rel = _relation(entity, name)
    _check_ids(ids)
    load_targets(call, entity, [source_id], ["$.sourceId"])
    seen = visible(call, rel.other, ids)
    linked = link_rows.current_links(call.conn, rel, [source_id])[source_id]
    before = _visible_count(call, rel, source_id)
    plan = LinkChanges()
    changed = [x for x in ids if x in linked and x in seen]
    for other in changed:
        plan.remove(rel, source_id, other)
    changes = _run(call, plan, [(entity, source_id)])
    unchanged = [x for x in ids if x not in changed]
    after = before - len(changed)
    source = display_name_of(entity, changes.after[(entity, source_id)])
    skipped = f"; {len(unchanged)} {'was' if len(unchanged) == 1 else 'were'} not linked" if unchanged else ""
    message = f"Unlinked {_noun(rel, len(changed))} from {entity} {source}{skipped}; now {after}."
    return LinkResult(entity, source_id, name, changed, unchanged, before, after, message)


def delete(call: Call, entity: str, ids: list[str]) -> DeleteResult:
    """Delete records with their links; the other ends get `.updated`, deals new totals."""
    _check_ids(ids)
    targets = load_targets(call, entity, ids, [f"$.ids[{i}]" for i in range(len(ids))])
    system = [
        Issue(
            f"$.ids[{i}]",
            f"task {x} is a system task ({targets[x]['type']}) and cannot be deleted",
            "Leave it out of `ids`.",
        )
        for i, x in enumerate(ids)
        if entity == "task" and targets[x]["type"] != "custom"
    ]
    if system:
        raise invalid(system, "ids")
    changes = Changeset(call)
    changes.deleting(entity, ids)
    linked = {
        r.other: link_rows.linked_ids(call.conn, r, ids) for r in RELATIONS[entity] if r.other != "user"
    }
    for other, others in linked.items():
        changes.reached((other, o) for o in others)  # their arrays lose the deleted records' elements
    repriced = set(linked["deal"]) if entity == "service" else set()  # a service leaving changes totals
    changes.touch(("deal", d) for d in repriced)
    changes.snapshot()
    drop_search(call.conn, entity, ids)
    call.conn.execute(
        f"DELETE FROM {entity} WHERE id IN (SELECT value FROM json_each(?))", (json.dumps(ids),)
    )
    link_rows.recompute_totals(call.conn, repriced, changes.names("deal"))
    changes.finish()
    refs = [EntityRef(x, display_name_of(entity, changes.before[(entity, x)])) for x in ids]
    count = f"{len(ids)} {entity if len(ids) == 1 else PLURAL[entity]}"
    return DeleteResult(refs, f"Deleted {count}.")
