"""What one write call did to which records, turned into `updatedAt`, audit events and search rows.

    changes = Changeset(call)
    changes.created(entity, ids) / changes.deleting(entity, ids) / changes.touch([(entity, id), ...])
    changes.snapshot()      # company-wide DTOs of the touched records, before any write
    ... write rows and links ...
    changes.finish()        # DTOs after; diff; updatedAt; one event per record; search index

Comparing whole DTOs before and after is what makes docs/webhooks.md hold without special cases:
a record gets `.updated` exactly when its shape changed (own fields, links from either side, deal
totals), with `changes` computed by `changes.diff`, and a no-op leaves no trace.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from customermates.call import Call
from customermates.crm import link_rows, organization_totals
from customermates.crm.loading import display_name_of, load_company_records
from customermates.crm.model import refresh_search, relation
from customermates.record_diff import diff

Key = tuple[str, str]  # (entity type, id)

# DTO keys whose change alters a record's own search text (model.SEARCH_BODY).
SEARCH_KEYS = {
    "contact": {"firstName", "lastName", "emails", "organizations"},
    "organization": {"name", "contacts"},
    "deal": {"name"},
    "service": {"name"},
    "task": {"name"},
}
# A changed name is also searched through the records linked to it: (keys, relation to those records).
EMBEDDED = {"contact": ({"firstName", "lastName"}, "organizations"), "organization": ({"name"}, "contacts")}


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
        self.before: dict[Key, dict[str, Any]] = {}
        self.after: dict[Key, dict[str, Any]] = {}
        self.changed: dict[Key, dict[str, Any]] = {}

    def created(self, entity: str, ids: list[str]) -> None:
        self.order.update(((entity, i), "created") for i in ids)

    def deleting(self, entity: str, ids: list[str]) -> None:
        self.order.update(((entity, i), "deleted") for i in ids)

    def touch(self, keys) -> None:
        for key in keys:
            self.order.setdefault(key, "touched")

    def _load(self, keys) -> dict[Key, dict[str, Any]]:
        out = {}
        for entity, ids in by_entity(keys).items():
            for record_id, dto in load_company_records(
                self.call.conn, self.call.company_id, entity, ids
            ).items():
                out[(entity, record_id)] = dto
        return out

    def snapshot(self) -> None:
        """Load the DTOs of every touched or deleted record as they are now (call before writing)."""
        self.before = self._load([k for k, kind in self.order.items() if kind != "created"])

    def names(self, entity: str) -> dict[str, str]:
        """Display names of the loaded records of one type, by id (for messages)."""
        loaded = self.before | self.after
        return {k[1]: display_name_of(entity, dto) for k, dto in loaded.items() if k[0] == entity}

    def finish(self) -> None:
        """Compare, stamp `updatedAt`, record one event per changed record, refresh search rows."""
        organization_totals.refresh(self.call.conn, self.order)  # deal values by organization
        self.after = self._load([k for k, kind in self.order.items() if kind != "deleted"])
        stamped: list[Key] = []
        for key, kind in self.order.items():
            entity, record_id = key
            if kind == "created":
                self.call.event(entity, record_id, f"{entity}.created", snapshot=self.after[key])
            elif kind == "deleted":
                self.call.event(entity, record_id, f"{entity}.deleted", snapshot=self.before[key])
            elif key in self.before and key in self.after:
                change = diff(self.before[key], self.after[key])
                if change:
                    self.changed[key] = change
                    stamped.append(key)
                    self.after[key]["updatedAt"] = self.call.now
                    self.call.event(
                        entity, record_id, f"{entity}.updated", changes=change
                    ).record = self.after[key]
        for entity, ids in by_entity(stamped).items():
            self.call.conn.execute(
                f"UPDATE {entity} SET updated_at = ? WHERE id IN (SELECT value FROM json_each(?))",
                (self.call.now, json.dumps(ids)),
            )
        self._refresh_search()

    def _refresh_search(self) -> None:
        stale: set[Key] = {k for k, kind in self.order.items() if kind == "created"}
        for key, change in self.changed.items():
            if SEARCH_KEYS[key[0]] & change.keys():
                stale.add(key)
        for entity, (keys, rel_name) in EMBEDDED.items():
            renamed = [k[1] for k, change in self.changed.items() if k[0] == entity and keys & change.keys()]
            rel = relation(entity, rel_name)
            stale.update((rel.other, i) for i in link_rows.linked_ids(self.call.conn, rel, renamed))
        for entity, ids in by_entity(stale).items():
            refresh_search(self.call.conn, entity, ids)
