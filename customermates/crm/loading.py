"""Record DTOs, built set-wise: one query for the rows, one for all relations.

    load_records(conn, viewer, entity, ids)   -> [dto, ...] in the order of `ids`, unseen ids skipped

`viewer` decides what is visible, both the records and the elements of their relation arrays:
a `Principal` (its read scope), `CompanyWide(company_id)` (everything in one
company: audit snapshots and webhook payloads), or `None` (everything; the ids came from a scoped
query already). The msgspec types at the end document the same shapes for `outputSchema`/OpenAPI.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

import msgspec
from msgspec import UNSET, UnsetType

from customermates.auth import Principal
from customermates.crm import custom_values
from customermates.crm.model import (
    ENTITY_TYPES,
    PLURAL,
    RELATIONS,
    Relation,
    display_name,
    from_units,
    scope_sql,
    user_scope,
)


@dataclass(frozen=True)
class CompanyWide:
    """Sees every record of one company, whoever acts (audit snapshots, webhook payloads)."""

    company_id: str


Viewer = Principal | CompanyWide | None

TABLE = {**{e: e for e in ENTITY_TYPES}, "user": "app_user"}

# (JSON key, SQL expression on the entity row `e`, converter): the scalars of each DTO, in key order.
SCALARS: dict[str, tuple[tuple[str, str, Any], ...]] = {
    "contact": (
        ("firstName", "first_name", None),
        ("lastName", "last_name", None),
        ("emails", "emails", msgspec.json.decode),
    ),
    "organization": (("name", "name", None),),
    "deal": (
        ("name", "name", None),
        ("totalValue", "total_value", from_units),
        ("totalQuantity", "total_quantity", from_units),
    ),
    "service": (("name", "name", None), ("amount", "amount", from_units)),
    "task": (("name", "name", None), ("type", "type", None)),
}

# The element of a relation array pointing at each type: columns of the row `o`.
REF_COLUMNS: dict[str, tuple[tuple[str, str, Any], ...]] = {
    "organization": (("id", "id", None), ("name", "name", None)),
    "contact": (("id", "id", None), ("firstName", "first_name", None), ("lastName", "last_name", None)),
    "deal": (("id", "id", None), ("name", "name", None)),
    "service": (("id", "id", None), ("name", "name", None), ("amount", "amount", from_units)),
    "task": (("id", "id", None), ("name", "name", None), ("type", "type", None)),
    "user": (
        ("id", "id", None),
        ("firstName", "first_name", None),
        ("lastName", "last_name", None),
        ("email", "email", None),
        ("avatarUrl", "avatar_url", None),
    ),
}
QUANTITY = ("quantity", "quantity", from_units)  # deal–service links carry it on both sides


def scope(viewer: Viewer, entity: str, alias: str) -> tuple[str, list[str]] | None:
    """WHERE fragment limiting `alias` to what `viewer` may read; None when it may read nothing.

    A principal's answers are kept on it (it lives as long as its key's memo): a record load asks
    this once per relation kind, every call. Callers copy the parameters, never change them.
    """
    if viewer is None:
        return "1", []
    if isinstance(viewer, CompanyWide):
        return f"{alias}.company_id = ?", [viewer.company_id]
    known = viewer.scopes.get((entity, alias), _UNSEEN)
    if known is _UNSEEN:
        known = viewer.scopes[(entity, alias)] = _scope(viewer, entity, alias)
    return known


_UNSEEN = object()


def _scope(viewer: Principal, entity: str, alias: str) -> tuple[str, list[str]] | None:
    if entity == "user":
        return user_scope(viewer, alias)
    if not viewer.reads(PLURAL[entity]):
        return None
    return scope_sql(viewer, entity, alias)


def _shaper(columns: tuple[tuple[str, str, Any], ...], start: int = 0):
    """Turns a row (from column `start` on) into a dict with the columns' JSON keys."""
    keys = [c[0] for c in columns]
    converters = [(i, c[2]) for i, c in enumerate(columns) if c[2] is not None]
    end = start + len(keys)

    def shape(row: tuple) -> dict[str, Any]:
        values = list(row[start:end])
        for i, convert in converters:
            values[i] = convert(values[i])
        return dict(zip(keys, values, strict=True))

    return shape


def _cursor(conn: sqlite3.Connection) -> sqlite3.Cursor:
    cur = conn.cursor()
    cur.row_factory = None  # plain tuples: this is the hot path of every read
    return cur


def _rows(
    conn, viewer: Viewer, entity: str, packed: str, with_notes: bool, one: bool
) -> dict[str, dict[str, Any]]:
    where = scope(viewer, entity, "e")
    if where is None:
        return {}
    built = _ROW_SQL.get((entity, where[0], one))
    if built is None:
        built = _ROW_SQL[(entity, where[0], one)] = _row_sql(entity, where[0], one)
    sql, shape = built
    n = len(SCALARS[entity]) + 1
    out = {}
    for row in _cursor(conn).execute(sql, [packed, *where[1]]):
        dto = {"id": row[0], **shape(row)}
        for rel in RELATIONS[entity]:
            dto[rel.name] = []
        dto["customFieldValues"] = []
        if with_notes:
            dto["notes"] = row[n]
        dto["createdAt"], dto["updatedAt"] = row[n + 1], row[n + 2]
        out[row[0]] = dto
    return out


# The rows statement (and its shaper) by entity, scope fragment and `one`: built once each.
_ROW_SQL: dict[tuple[str, str, bool], tuple[str, Any]] = {}


def _row_sql(entity: str, where: str, one: bool) -> tuple[str, Any]:
    scalars = SCALARS[entity]
    columns = ", ".join(f"e.{c[1]}" for c in scalars)
    source = (
        f"{entity} e WHERE e.id = ? AND"
        if one
        else f"json_each(?) j CROSS JOIN {entity} e ON e.id = j.value WHERE"
    )
    sql = f"SELECT e.id, {columns}, e.notes, e.created_at, e.updated_at FROM {source} {where}"
    return sql, _shaper(scalars, 1)


def relation_columns(rel: Relation) -> tuple[tuple[str, str, Any], ...]:
    columns = REF_COLUMNS[rel.other]
    return (*columns, QUANTITY) if rel.table == "link_deal_service" else columns


def _relations(
    conn, viewer: Viewer, entity: str, packed: str, one: bool
) -> list[tuple[Relation, str, dict[str, Any]]]:
    """(relation, owner id, element) for every visible link of the owners in `packed`, in array order.

    One statement for all relation kinds (a UNION ALL, one branch per kind, padded to one width):
    a statement costs more than the few rows each branch reads.
    """
    wheres = [scope(viewer, rel.other, "o") for rel in RELATIONS[entity]]
    key = (entity, tuple(None if w is None else w[0] for w in wheres), one)
    built = _RELATION_SQL.get(key)
    if built is None:
        built = _RELATION_SQL[key] = _relation_sql(entity, key[1], one)
    sql, shapes = built
    if not sql:
        return []
    params = [p for w in wheres if w is not None for p in (packed, *w[1])]
    rows = _cursor(conn).execute(sql, params).fetchall()
    # Array order: relation kind, then name key, then id. Sorted here, not by an ORDER BY: SQLite
    # sorts a UNION ALL branch by branch, a sorter each (-18 k instructions of ~70 k for a contact);
    # both columns are NOT NULL text compared as BINARY, which is Python's order of `str`.
    rows.sort(key=_ARRAY_ORDER)
    out = []
    for row in rows:
        rel, shape = shapes[row[0]]
        out.append((rel, row[1], shape(row)))
    return out


_ARRAY_ORDER = itemgetter(0, 2, 3)


# The relations statement (and its row shapers) by entity, scope fragments and `one`: built once each.
_RELATION_SQL: dict[tuple, tuple[str, dict[int, tuple[Relation, Any]]]] = {}


def _relation_sql(
    entity: str, wheres: tuple[str | None, ...], one: bool
) -> tuple[str, dict[int, tuple[Relation, Any]]]:
    rels = RELATIONS[entity]
    width = max(len(relation_columns(rel)) for rel in rels)
    branches, shapes = [], {}
    for n, (rel, where) in enumerate(zip(rels, wheres, strict=True)):
        if where is None:
            continue
        columns = relation_columns(rel)
        select = [("l." if c is QUANTITY else "o.") + c[1] for c in columns]
        select += ["NULL"] * (width - len(columns))
        # CROSS JOIN fixes the plan: ids -> links -> rows. Left free, SQLite may walk the whole
        # company's name index to skip the sort, which costs O(company) instead of O(links).
        links = (
            f"{rel.table} l"
            if one
            else f"json_each(?) j CROSS JOIN {rel.table} l ON l.{rel.own_col} = j.value"
        )
        owner = f"l.{rel.own_col} = ? AND " if one else ""
        branches.append(
            f"SELECT {n}, l.{rel.own_col}, o.name_key, o.id, {', '.join(select)} FROM {links}"
            f" CROSS JOIN {TABLE[rel.other]} o ON o.id = l.{rel.other_col} WHERE {owner}{where}"
        )
        shapes[n] = (rel, _shaper(columns, 4))
    return " UNION ALL ".join(branches), shapes


def _packed(ids: list[str]) -> str:
    """The ids as a JSON array, for `json_each(?)`; one id as itself (the statements' `one` form:
    `= ?` reads the index directly, without a json_each table per statement)."""
    return ids[0] if len(ids) == 1 else msgspec.json.encode(ids).decode()


def load_records(
    conn: sqlite3.Connection, principal: Viewer, entity: str, ids: list[str], with_notes: bool = False
) -> list[dict[str, Any]]:
    """Full DTOs of the visible `ids`, in their order: one query for the rows, one for all relations."""
    if not ids:
        return []
    wanted = list(dict.fromkeys(ids))
    packed = _packed(wanted)
    by_id = _rows(conn, principal, entity, packed, with_notes, len(wanted) == 1)
    if not by_id:
        return []
    found = packed if len(by_id) == len(wanted) else _packed(list(by_id))  # all found: the same ids
    for rel, owner, element in _relations(conn, principal, entity, found, len(by_id) == 1):
        by_id[owner][rel.name].append(element)
    for record_id, values in custom_values.load(conn, entity, list(by_id)).items():
        by_id[record_id]["customFieldValues"] = values
    return [by_id[i] for i in ids if i in by_id]


def load_company_records(
    conn: sqlite3.Connection, company_id: str, entity: str, ids: list[str]
) -> dict[str, dict[str, Any]]:
    """Company-wide DTOs with notes, by id: what audit snapshots and webhook payloads carry."""
    return {r["id"]: r for r in load_records(conn, CompanyWide(company_id), entity, ids, with_notes=True)}


def display_name_of(entity: str, record: dict[str, Any]) -> str:
    """The name a ref shows: first + last name for contacts, `name` otherwise."""
    return display_name(record["firstName"], record["lastName"]) if entity == "contact" else record["name"]


# ---- the same shapes as msgspec types, for outputSchema and OpenAPI --------------------------------


class OrganizationRef(msgspec.Struct):
    id: str
    name: str


class ContactRef(msgspec.Struct):
    id: str
    firstName: str
    lastName: str


class DealRef(msgspec.Struct):
    id: str
    name: str


class ServiceDealRef(msgspec.Struct):
    """A deal in a service's `deals`, with the quantity of the service on that deal."""

    id: str
    name: str
    quantity: float


class DealServiceRef(msgspec.Struct):
    """A service in a deal's `services`: unit price and quantity on this deal."""

    id: str
    name: str
    amount: float
    quantity: float


class TaskServiceRef(msgspec.Struct):
    id: str
    name: str
    amount: float


class TaskRef(msgspec.Struct):
    id: str
    name: str
    type: str


class UserRef(msgspec.Struct):
    id: str
    firstName: str
    lastName: str
    email: str
    avatarUrl: str | None


class CustomFieldValueOut(msgspec.Struct, omit_defaults=True):
    columnId: str
    label: str
    type: str
    value: str
    optionLabel: str | UnsetType = UNSET


_REF_TYPES = {
    "organization": OrganizationRef,
    "contact": ContactRef,
    "deal": DealRef,
    "service": TaskServiceRef,
    "task": TaskRef,
    "user": UserRef,
}
_SPECIAL_REFS = {("service", "deal"): ServiceDealRef, ("deal", "service"): DealServiceRef}
_SCALAR_TYPES = {"emails": list[str], "totalValue": float, "totalQuantity": float, "amount": float}


def _record_type(entity: str) -> type:
    fields: list[tuple[str, Any] | tuple[str, Any, Any]] = [("id", str)]
    fields += [(key, _SCALAR_TYPES.get(key, str)) for key, _, _ in SCALARS[entity]]
    fields += [
        (rel.name, list[_SPECIAL_REFS.get((entity, rel.other), _REF_TYPES[rel.other])])  # type: ignore[misc]  # a type built at import
        for rel in RELATIONS[entity]
    ]
    fields += [
        ("customFieldValues", list[CustomFieldValueOut]),
        ("notes", str | None | UnsetType, UNSET),
        ("createdAt", str),
        ("updatedAt", str),
    ]
    return msgspec.defstruct(
        f"{entity.title()}Record", fields, kw_only=True, omit_defaults=True, module=__name__
    )


RECORD_TYPES: dict[str, type] = {e: _record_type(e) for e in ENTITY_TYPES}
