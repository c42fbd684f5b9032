"""Tool input items as `Draft`s, and every check made before a write (docs/tools.md check order).

    input_issues      repeats, emails, amounts rounding to 0, custom columns   -> invalid_input
    load_targets      the records to change, within the caller's scope          -> not_found
    check_references  the ids to link, within the caller's scope                -> not_found

Each check covers the whole batch with one query per type, and reports every problem with its path.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import msgspec
from msgspec import UNSET

from customermates.call import Call
from customermates.crm import custom_values, link_rows
from customermates.crm.inputs import OWN_FIELDS, relation_field
from customermates.crm.model import RELATIONS, Relation, scope_sql, to_units, visible_ids, visible_user_ids
from customermates.errors import ID_SOURCES, Issue, not_found

LISTER = ID_SOURCES

# JSON field -> column, per entity; name_key (and a contact's last_key) are derived from them.
FIELD_COLUMNS = {
    "contact": {"firstName": "first_name", "lastName": "last_name", "emails": "emails", "notes": "notes"},
    "organization": {"name": "name", "notes": "notes"},
    "deal": {"name": "name", "notes": "notes"},
    "service": {"name": "name", "amount": "amount", "notes": "notes"},
    "task": {"name": "name", "notes": "notes"},
}


@dataclass
class Draft:
    """One input item, normalized: stored-form field values, relation arrays, custom values."""

    path: str  # "$.contacts[3]"
    id: str
    values: dict[str, Any] = field(default_factory=dict)  # JSON field -> stored form (units, None notes)
    links: dict[Relation, list[tuple[str, int]]] = field(default_factory=dict)  # (id, quantity units)
    custom: list | None = None  # None: not given


def blank_to_none(notes: str) -> str | None:
    return notes if notes.strip() else None


_NORMALIZE = {"notes": blank_to_none, "amount": to_units}


# Per entity: (field, its normalizer or None) and (relation, its input field), read once per item.
_VALUE_FIELDS = {
    e: tuple((name, _NORMALIZE.get(name)) for name in [f[0] for f in OWN_FIELDS[e]] + ["notes"])
    for e in OWN_FIELDS
}
_LINK_FIELDS = {e: tuple((rel, relation_field(rel)) for rel in RELATIONS[e]) for e in RELATIONS}


def draft(entity: str, item: msgspec.Struct, path: str, record_id: str, created: bool = False) -> Draft:
    """`created`: an item of a create, where an empty relation array links nothing and is left out."""
    values = {}
    for name, normalize in _VALUE_FIELDS[entity]:
        value = getattr(item, name)
        if value is not UNSET:
            values[name] = value if normalize is None else normalize(value)
    links = {}
    for rel, name in _LINK_FIELDS[entity]:
        given = getattr(item, name)
        if given is UNSET or (created and not given):
            continue
        if name == "services":
            links[rel] = [(s.serviceId, to_units(s.quantity)) for s in given]
        else:
            links[rel] = [(i, link_rows.ONE) for i in given]
    custom = getattr(item, "customFieldValues", UNSET)
    return Draft(path, record_id, values, links, None if custom is UNSET else custom)


# ---- checks -----------------------------------------------------------------------------------------


def repeats(values: list[str], path_of) -> list[Issue]:
    seen: dict[str, int] = {}
    issues = []
    for i, value in enumerate(values):
        if value in seen:
            issues.append(
                Issue(path_of(i), f"repeats {path_of(seen[value])}", "List each value once; drop the repeat.")
            )
        else:
            seen[value] = i
    return issues


def input_issues(call: Call, entity: str, drafts: list[Draft], update: bool) -> list[Issue]:
    """Rules the types cannot express: repeats, emails, amounts that round to 0, custom columns."""
    issues = []
    if update:
        issues += repeats([d.id for d in drafts], lambda i: f"{drafts[i].path}.id")
    for d in drafts:
        for rel, linked in d.links.items():
            if len(linked) > 1:  # one value cannot repeat
                issues += repeats([g[0] for g in linked], lambda i, d=d, rel=rel: link_path(d, rel, i))
        if len(d.values.get("emails", ())) > 1:
            issues += repeats(
                [e.casefold() for e in d.values["emails"]], lambda i, p=d.path: f"{p}.emails[{i}]"
            )
        if d.values.get("amount", 1) <= 0:
            issues.append(
                Issue(f"{d.path}.amount", "rounds to 0 at 4 decimals", "Send an amount of at least 0.0001.")
            )
        if update and not d.values and not d.links and d.custom is None:
            issues.append(
                Issue(d.path, "no field to change was given", "Send at least one field besides `id`.")
            )
    given = [(f"{d.path}.customFieldValues", d.custom) for d in drafts if d.custom]
    if given:
        issues += custom_values.check(call.conn, call.company_id, entity, given)
    return issues


def visible(call: Call, other: str, ids: list[str]) -> set[str]:
    if other == "user":
        return visible_user_ids(call.conn, call.principal, ids)
    return visible_ids(call.conn, call.principal, other, ids)


def link_path(d: Draft, rel: Relation, i: int) -> str:
    name = relation_field(rel)
    return f"{d.path}.{name}[{i}]" + (".serviceId" if name == "services" else "")


def check_references(call: Call, drafts: list[Draft], current: dict[Relation, dict]) -> dict[str, set[str]]:
    """Visible ids per type among those given and those linked now; every unseen given id is not_found."""
    wanted: dict[str, set[str]] = {}
    for d in drafts:
        for rel, given in d.links.items():
            wanted.setdefault(rel.other, set()).update(g[0] for g in given)
    for rel, by_owner in current.items():
        for others in by_owner.values():
            wanted.setdefault(rel.other, set()).update(others)
    seen = {other: visible(call, other, sorted(ids)) for other, ids in wanted.items()}
    missing = [
        (link_path(d, rel, i), rel.other, g[0])
        for d in drafts
        for rel, given in d.links.items()
        for i, g in enumerate(given)
        if g[0] not in seen[rel.other]
    ]
    if missing:
        raise not_found(missing, LISTER)
    return seen


def load_targets(call: Call, entity: str, ids: list[str], paths: list[str]) -> dict[str, dict[str, Any]]:
    """Stored field values of the records to change, by id; any id outside the scope is not_found."""
    columns = FIELD_COLUMNS[entity]
    select = ", ".join(f"e.{c}" for c in columns.values())
    where, params = scope_sql(call.principal, entity, "e")
    rows = call.conn.execute(
        f"SELECT e.id, {'e.type' if entity == 'task' else 'NULL'}, {select}"
        f" FROM json_each(?) j CROSS JOIN {entity} e ON e.id = j.value WHERE {where}",
        [json.dumps(list(dict.fromkeys(ids))), *params],
    )
    found = {}
    for row in rows:
        values = dict(zip(columns, row[2:], strict=True))
        if "emails" in values:
            values["emails"] = json.loads(values["emails"])
        found[row[0]] = {"type": row[1], "values": values}
    missing = [(p, entity, i) for p, i in zip(paths, ids, strict=True) if i not in found]
    if missing:
        raise not_found(missing, LISTER)
    return found


def system_task_issues(entity: str, drafts: list[Draft], targets: dict) -> list[Issue]:
    if entity != "task":
        return []
    return [
        Issue(
            f"{d.path}.name",
            f"task {d.id} is a system task ({targets[d.id]['type']}); its name cannot change",
            "Leave `name` out for this task.",
        )
        for d in drafts
        if targets[d.id]["type"] != "custom"
        and d.values.get("name", targets[d.id]["values"]["name"]) != targets[d.id]["values"]["name"]
    ]
