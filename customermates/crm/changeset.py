"""What one write call did to which records, turned into `updatedAt`, audit events and search rows.

    changes = Changeset(call)
    changes.created(entity, ids) / changes.deleting(entity, ids) / changes.touch([(entity, id), ...])
    changes.links(plan)         # records reached only through changed links (the other ends)
    changes.snapshot()      # company-wide DTOs of the touched records, before any write
    ... write rows and links ...
    changes.finish()        # DTOs after; diff; updatedAt; one event per record; search index

Comparing whole DTOs before and after is what makes docs/webhooks.md hold without special cases:
a record gets `.updated` exactly when its shape changed (own fields, links from either side, deal
totals), with `changes` computed by `changes.diff`, and a no-op leaves no trace.

A record reached only through links (an organization gaining a contact) can change only in the
elements of its relation arrays that point at the other ends of those links, or at records whose own
fields this call changes. Only those elements are compared, one query per relation for all such
records, so linking 100 contacts to 100 organizations does not load 100 whole organizations twice.
Its `.updated` event is the same: `diff` of the whole arrays equals `diff` of these elements.
"""

from __future__ import annotations

import json
from collections import defaultdict
from functools import partial
from typing import Any

from customermates.call import Call
from customermates.crm import link_rows, organization_totals
from customermates.crm.link_rows import LinkChanges
from customermates.crm.loading import display_name_of, load_company_records
from customermates.crm.model import RELATIONS, refresh_search
from customermates.ids import new_ids
from customermates.record_diff import diff
from customermates.store.database import at_group_end
from customermates.webhooks.outbox import subscribers

Key = tuple[str, str]  # (entity type, id)

# DTO keys whose change alters a record's own search row (model.SEARCH_COLUMNS). Links are not
# among them: linked names are matched at read time (crm/search.py), so a link writes no search row.
SEARCH_KEYS = {
    "contact": {"firstName", "lastName", "emails"},
    "organization": {"name"},
    "deal": {"name"},
    "service": {"name"},
    "task": {"name"},
}


def by_entity(keys) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = defaultdict(list)
    for entity, record_id in keys:
        grouped[entity].append(record_id)
    return grouped


class Changeset:
    """The records one call creates, deletes or touches, in first-touch order (the event order)."""

    def __init__(self, call: Call):
        self.call = call
        self.order: dict[Key, str] = {}  # key -> "created" | "deleted" | "touched", first touch first
        self.whole: set[Key] = set()  # touched records whose own fields may change: whole DTOs
        self.watch: dict[tuple[str, str], set[str]] = defaultdict(set)  # (type, relation) -> other ids
        self.made: dict[Key, dict[str, Any]] = {}
        self.before: dict[Key, dict[str, Any]] = {}
        self.after: dict[Key, dict[str, Any]] = {}
        self.changed: dict[Key, dict[str, Any]] = {}

    def created(self, entity: str, ids: list[str], made: dict[str, dict[str, Any]] | None = None) -> None:
        """New records; `made`: their DTOs built from what the writer wrote, relation arrays empty
        (all their links are in the plan given to `links`, so `finish` fills them in one query each)."""
        self.order.update(((entity, i), "created") for i in ids)
        self.made.update(((entity, i), dto) for i, dto in (made or {}).items())

    def deleting(self, entity: str, ids: list[str]) -> None:
        self.order.update(((entity, i), "deleted") for i in ids)

    def touch(self, keys) -> None:
        """Records whose own fields (or totals) may change: compared as whole DTOs."""
        for key in keys:
            self.order.setdefault(key, "touched")
            self.whole.add(key)

    def linked(self, sides) -> None:
        """Records at an end of a changed link: (type, id, relation name, other id), in touch order."""
        for entity, record_id, rel_name, other in sides:
            self.order.setdefault((entity, record_id), "touched")
            self.watch[(entity, rel_name)].add(other)

    def reached(self, keys) -> None:
        """Records whose arrays lose elements of records this call deletes (compared through those)."""
        for key in keys:
            self.order.setdefault(key, "touched")

    def links(self, plan: LinkChanges) -> None:
        """The ends of a plan's links; deals whose totals it changes are compared whole."""
        self.linked(plan.sides)
        self.touch(("deal", d) for d in plan.deals_with_new_terms())

    def _by_links(self) -> dict[str, list[str]]:
        """Touched records compared through their watched relation elements only, by type."""
        return by_entity(k for k, kind in self.order.items() if kind == "touched" and k not in self.whole)

    def _load(self, keys) -> dict[Key, dict[str, Any]]:
        out = {}
        for entity, ids in by_entity(keys).items():
            for record_id, dto in load_company_records(
                self.call.conn, self.call.company_id, entity, ids
            ).items():
                out[(entity, record_id)] = dto
        return out

    def _load_elements(self, before: bool = False) -> dict[Key, dict[str, Any]]:
        """{relation name: watched elements} of the records compared through their links.

        `before`: as they are before the call writes. Records this call creates have no links yet, so
        elements pointing only at them need no query (an organization gaining 100 new contacts)."""
        out: dict[Key, dict[str, Any]] = {}
        # Elements of records whose own fields this call changes may change too, wherever they appear.
        changing = by_entity(k for k, kind in self.order.items() if kind == "deleted" or k in self.whole)
        new = {k for k, kind in self.order.items() if kind == "created"} if before else set()
        for entity, ids in self._by_links().items():
            parts: dict[str, dict[str, Any]] = {i: {} for i in ids}
            for rel in RELATIONS[entity]:
                watched = self.watch.get((entity, rel.name), set()) | set(changing.get(rel.other, ()))
                if not watched:
                    continue
                for record_id in ids:
                    parts[record_id][rel.name] = []
                if all((rel.other, other) in new for other in watched):
                    continue
                for owner, element in link_rows.elements(
                    self.call.conn, self.call.company_id, rel, ids, watched
                ):
                    parts[owner][rel.name].append(element)
            out.update(((entity, i), part) for i, part in parts.items())
        return out

    def _fill_made(self) -> None:
        """The relation arrays of the records `created` with their DTOs: their planned links."""
        for entity, ids in by_entity(self.made).items():
            for rel in RELATIONS[entity]:
                if not self.watch.get((entity, rel.name)):
                    continue  # none of them has links of this kind
                for owner, element in link_rows.elements(
                    self.call.conn, self.call.company_id, rel, ids, None
                ):
                    self.made[(entity, owner)][rel.name].append(element)
        self.after.update(self.made)

    def snapshot(self) -> None:
        """Load the DTOs of every touched or deleted record as they are now (call before writing)."""
        self.before = self._load(
            [k for k, kind in self.order.items() if kind == "deleted" or k in self.whole]
        )
        self.before.update(self._load_elements(before=True))

    def names(self, entity: str) -> dict[str, str]:
        """Display names of the wholly loaded records of one type, by id (for messages)."""
        loaded = self.before | self.after
        return {
            k[1]: display_name_of(entity, dto)
            for k, dto in loaded.items()
            if k[0] == entity and "createdAt" in dto
        }

    def finish(self) -> None:
        """Compare, stamp `updatedAt`, record one event per changed record, refresh search rows."""
        organization_totals.refresh(self.call.conn, self.order)  # deal values by organization
        self.after = self._load(
            [
                k
                for k, kind in self.order.items()
                if (kind == "created" and k not in self.made) or k in self.whole
            ]
        )
        self.after.update(self._load_elements())
        self._fill_made()
        stamped: list[Key] = []
        # One id per record, made together and taken in event order (a record unchanged leaves its
        # id unused): events keep their order, which their webhook deliveries follow.
        event_ids = new_ids(len(self.order))
        for (key, kind), event_id in zip(self.order.items(), event_ids, strict=True):
            entity, record_id = key
            if kind == "created":
                self.call.event(entity, record_id, f"{entity}.created", None, self.after[key], event_id)
            elif kind == "deleted":
                self.call.event(entity, record_id, f"{entity}.deleted", None, self.before[key], event_id)
            elif key in self.before and key in self.after:
                change = diff(self.before[key], self.after[key])
                if change:
                    self.changed[key] = change
                    stamped.append(key)
                    self.after[key]["updatedAt"] = self.call.now
                    self.call.event(
                        entity, record_id, f"{entity}.updated", change, None, event_id
                    ).record = self.after[key]
        self._whole_records([k for k in stamped if k not in self.whole])
        for entity, ids in by_entity(stamped).items():
            self.call.conn.execute(
                f"UPDATE {entity} SET updated_at = ? WHERE id IN (SELECT value FROM json_each(?))",
                (self.call.now, json.dumps(ids)),
            )
        self._refresh_search()

    def _whole_records(self, keys: list[Key]) -> None:
        """The whole records after the call of updated link ends, where a webhook will carry them."""
        hooks = subscribers(self.call.conn, self.call.company_id) if keys else {}
        wanted = [k for k in keys if f"{k[0]}.updated" in hooks]
        if not wanted:
            return
        whole = self._load(wanted)
        for event in self.call.events:
            key = (event.entity_type, event.entity_id)
            if key in whole and event.event.endswith(".updated") and event.record is self.after.get(key):
                whole[key]["updatedAt"] = self.call.now
                event.record = whole[key]

    def _refresh_search(self) -> None:
        """Search rows of the records created and of those whose searched fields changed: written
        now, or, in a group of write calls, once for the whole group (`at_group_end`)."""
        created = {k for k, kind in self.order.items() if kind == "created"}
        stale = {k for k, change in self.changed.items() if SEARCH_KEYS[k[0]] & change.keys()}
        rows: dict[str, list[tuple[str, bool]]] = defaultdict(list)
        for entity, record_id in created:
            rows[entity].append((record_id, True))
        for entity, record_id in stale - created:
            rows[entity].append((record_id, False))
        for entity, pairs in rows.items():
            at_group_end(self.call.conn, ("search rows", entity), _SEARCH_WRITERS[entity], pairs)


def _write_search(entity: str, conn, pairs: list[tuple[str, bool]]) -> None:
    """Search rows of `entity` records from (id, created) pairs, maybe of several calls in order.

    A record created by any of those calls has no rows yet, even if a later call changed it: its
    rows are written once, from what the tables hold now; a record deleted since writes none."""
    created = {record_id for record_id, new in pairs if new}
    refresh_search(conn, entity, list(created), new=True)
    refresh_search(conn, entity, list({r for r, new in pairs if not new} - created))


_SEARCH_WRITERS = {entity: partial(_write_search, entity) for entity in SEARCH_KEYS}
