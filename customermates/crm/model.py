"""What the five CRM entities are, how they link, who may see them, and their search text.

One table of data that records, writes, queries and the tool declarations all read, so a field or a
relation is named in one place (docs/data-model.md, docs/query-language.md).
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from customermates.auth import Principal

ENTITY_TYPES = ("contact", "organization", "deal", "service", "task")
PLURAL = {e: e + "s" for e in ENTITY_TYPES}  # also the permission resource
SINGULAR = {p: e for e, p in PLURAL.items()}

# The 13 link tables: (left type, right type). `user` is the app_user table.
PAIRS = (
    ("contact", "organization"),
    ("contact", "deal"),
    ("contact", "task"),
    ("organization", "deal"),
    ("organization", "task"),
    ("deal", "service"),
    ("deal", "task"),
    ("service", "task"),
    ("contact", "user"),
    ("organization", "user"),
    ("deal", "user"),
    ("service", "user"),
    ("task", "user"),
)


@dataclass(frozen=True)
class Relation:
    """One relation array of an entity: `contact.organizations` stored in `link_contact_organization`."""

    entity: str  # the owning entity type
    name: str  # relation array name in DTOs and link_entities: "organizations", "users"
    other: str  # the other end's type: an entity type or "user"
    table: str  # link table
    own_col: str  # column holding the owning record's id
    other_col: str  # column holding the other end's id

    @property
    def field(self) -> str:
        """Input and filter field name: `organizationIds`, `userIds` (deal services travel as `services`)."""
        return f"{self.other}Ids"

    @property
    def resource(self) -> str:
        return "users" if self.other == "user" else PLURAL[self.other]


def _relation(entity: str, other: str) -> Relation:
    left, right = (entity, other) if (entity, other) in PAIRS else (other, entity)
    own, far = ("left_id", "right_id") if left == entity else ("right_id", "left_id")
    name = "users" if other == "user" else PLURAL[other]
    return Relation(entity, name, other, f"link_{left}_{right}", own, far)


# Relation arrays per entity, in docs/data-model.md order (DTO key order and listing order).
RELATIONS: dict[str, tuple[Relation, ...]] = {
    entity: tuple(_relation(entity, other) for other in others)
    for entity, others in {
        "contact": ("organization", "deal", "task", "user"),
        "organization": ("contact", "deal", "task", "user"),
        "deal": ("organization", "contact", "service", "task", "user"),
        "service": ("deal", "task", "user"),
        "task": ("contact", "organization", "deal", "service", "user"),
    }.items()
}


def relation(entity: str, name: str) -> Relation:
    """The relation `name` of `entity`; a name the table lacks is a programming error (KeyError)."""
    for rel in RELATIONS[entity]:
        if rel.name == name:
            return rel
    raise KeyError(f"{entity} has no relation {name!r}")


def resource(entity: str) -> str:
    return PLURAL[entity]


# ---- read scope (docs/data-model.md) -------------------------------------------------------------


def scope_sql(principal: Principal, entity: str, alias: str) -> tuple[str, list[str]]:
    """A WHERE fragment limiting `alias` (a row of `entity`) to what the caller may read.

    The company filter is always included. With only `readOwn`, the record must be assigned to the
    caller. With no read right at all nothing matches (tools check the permission before this).
    """
    base = f"{alias}.company_id = ?"
    if principal.reads_all(PLURAL[entity]):
        return base, [principal.company_id]
    if principal.reads(PLURAL[entity]):
        table = f"link_{entity}_user"
        return (
            f"{base} AND {alias}.id IN (SELECT left_id FROM {table} WHERE right_id = ?)",
            [principal.company_id, principal.user_id],
        )
    return "0", []


def user_scope(viewer: Principal, alias: str) -> tuple[str, list[str]] | None:
    """Who may see which users: with users.readAll the company's, with users.readOwn only oneself.

    The one rule for listing users, loading the `users` relation and accepting user ids; None when
    the viewer may see no user at all.
    """
    if viewer.reads_all("users"):
        return f"{alias}.company_id = ?", [viewer.company_id]
    if viewer.reads("users"):
        return f"{alias}.company_id = ? AND {alias}.id = ?", [viewer.company_id, viewer.user_id]
    return None


def visible_ids(conn: sqlite3.Connection, principal: Principal, entity: str, ids: list[str]) -> set[str]:
    """Which of `ids` are records of `entity` the caller may read (one query)."""
    if not ids:
        return set()
    where, params = scope_sql(principal, entity, "e")
    # CROSS JOIN: look the ids up one by one; left free, SQLite may scan the company's index instead.
    rows = conn.execute(
        f"SELECT e.id FROM json_each(?) j CROSS JOIN {entity} e ON e.id = j.value WHERE {where}",
        [json.dumps(ids), *params],
    )
    return {r[0] for r in rows}


def visible_user_ids(conn: sqlite3.Connection, principal: Principal, ids: list[str]) -> set[str]:
    """Which of `ids` are users the caller may reference (`user_scope`)."""
    scope = user_scope(principal, "u")
    if not ids or scope is None:
        return set()
    where, params = scope
    rows = conn.execute(
        f"SELECT u.id FROM app_user u WHERE {where} AND u.id IN (SELECT value FROM json_each(?))",
        [*params, json.dumps(ids)],
    )
    return {r[0] for r in rows}


# ---- money and quantities: integers scaled by 10^4 (docs/data-model.md) ------------------------------

SCALE = 10_000
_STEP = Decimal("0.0001")


def to_units(value: float | int | str | Decimal) -> int:
    """A JSON number (or decimal text) as exact 1/10,000 units, rounded half to even."""
    number = (
        value
        if isinstance(value, Decimal)
        else Decimal(repr(value) if isinstance(value, float) else str(value))
    )
    return int((number.quantize(_STEP, rounding=ROUND_HALF_EVEN) * SCALE).to_integral_value())


def from_units(units: int) -> int | float:
    """Units back to a JSON number: an int when whole, else the shortest float with those 4 places."""
    whole, frac = divmod(units, SCALE)
    return whole if frac == 0 else float(Decimal(units) / SCALE)


# ---- names and search text (docs/query-language.md, docs/data-model.md) ----------------------------


def display_name(first: str, last: str) -> str:
    return f"{first} {last}".strip()


def name_key(text: str) -> str:
    """The case-folded sort key stored next to every name."""
    return text.casefold()


def last_key(first: str, last: str) -> str:
    """The contact's `lastName` sort key: last name, then first name (a tab sorts before any letter)."""
    return f"{last}\t{first}".casefold()


# Each entity's search row (FTS columns -> SQL over the row `e`): the record's OWN searchable fields
# only. Names of linked records are matched at read time through the link tables (crm/search.py,
# docs/query-language.md), so a link change writes no search row. The migration `0010` fills the
# same text for existing records.
SEARCH_COLUMNS = {
    "contact": {
        "emails": "coalesce((SELECT group_concat(value, char(10)) FROM json_each(e.emails)), '')",
        "name": "e.first_name || ' ' || e.last_name",
    },
    "organization": {"name": "e.name"},
    "deal": {"name": "e.name"},
    "service": {"name": "e.name"},
    "task": {"name": "e.name"},
}
SEARCH_TABLES = ("trigram", "words")
# A search row's rowid: the company's number (table search_company, 0012) above the record's `seq`,
# so a company's rows are one rowid range (`search_span`) and `rowid & SEQ_MASK` is the seq again.
KEY_SHIFT = 40
SEQ_MASK = (1 << KEY_SHIFT) - 1
SEARCH_SEQ = f"rowid & {SEQ_MASK}"  # a search row's record `seq`


def search_key_sql(alias: str = "e") -> str:
    """The search rowid of the entity row `alias`."""
    number = f"(SELECT num FROM search_company WHERE company_id = {alias}.company_id)"
    return f"({number} << {KEY_SHIFT} | {alias}.seq)"


def search_span(conn: sqlite3.Connection, company_id: str) -> tuple[int, int]:
    """The first and last search rowid a company's records can have."""
    row = conn.execute("SELECT num FROM search_company WHERE company_id = ?", (company_id,)).fetchone()
    low = (row[0] if row else 0) << KEY_SHIFT
    return low, low | SEQ_MASK


def search_insert_sql(entity: str, kind: str) -> str:
    """`INSERT … SELECT` of the search rows of `entity` rows `e` (append the WHERE clause)."""
    columns = SEARCH_COLUMNS[entity]
    return (
        f"INSERT INTO {entity}_{kind}(rowid, {', '.join(columns)})"
        f" SELECT {search_key_sql()}, {', '.join(columns.values())} FROM {entity} e"
    )


def refresh_search(
    conn: sqlite3.Connection, entity: str, ids: list[str] | set[str], new: bool = False
) -> None:
    """Rewrite the search rows of these records from the tables (call after every change to their text).

    `new`: the records were created in this transaction, so they have no rows to delete yet.
    """
    if not ids:
        return
    packed = json.dumps(list(ids))
    for kind in SEARCH_TABLES:
        table = f"{entity}_{kind}"
        if not new:
            conn.execute(
                f"DELETE FROM {table} WHERE rowid IN"
                f" (SELECT {search_key_sql()} FROM {entity} e WHERE e.id IN (SELECT value FROM json_each(?)))",
                (packed,),
            )
        conn.execute(
            f"{search_insert_sql(entity, kind)} WHERE e.id IN (SELECT value FROM json_each(?))", (packed,)
        )


def drop_search(conn: sqlite3.Connection, entity: str, ids: list[str] | set[str]) -> None:
    """Remove the search rows of records about to be deleted (call before the DELETE)."""
    if not ids:
        return
    packed = json.dumps(list(ids))
    for kind in SEARCH_TABLES:
        conn.execute(
            f"DELETE FROM {entity}_{kind} WHERE rowid IN"
            f" (SELECT {search_key_sql()} FROM {entity} e WHERE e.id IN (SELECT value FROM json_each(?)))",
            (packed,),
        )
