"""Filter rules as data: the 14 operators, the field kinds, the filterable fields per entity.

    rule {field, operator, value}
      -> Field (built-in table below; custom columns plug in later as more Fields)
      -> Kind  (which operators, how one value is read, the SQL of each operator)
      -> (sql fragment over the row `e`, params)

Every value is read into a form the SQL compares directly: ids as lowercase text, timestamps and
numbers as `Bounds` (the first stored value that is at or after the value, and the first one past
it), so `gt`/`gte`/`lt`/`lte`/`equals`/`between` are one table for every ordered kind (docs/query-language.md).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from customermates.crm.model import RELATIONS, SCALE, SEARCH_SEQ, Relation
from customermates.errors import ID_HINT
from customermates.errors import BadValue as Bad  # short: raised on most lines below
from customermates.validation import is_uuid, json_type

if TYPE_CHECKING:
    from customermates.auth import Principal

# ---- operators ---------------------------------------------------------------------------------

NONE, ONE, PAIR, MANY, DAYS = "none", "one", "pair", "many", "days"
# Operator -> the shape of its value (docs/query-language.md), in the order the docs list them.
OPERATORS: dict[str, str] = {
    "equals": ONE,
    "contains": ONE,
    "gt": ONE,
    "gte": ONE,
    "lt": ONE,
    "lte": ONE,
    "between": PAIR,
    "in": MANY,
    "notIn": MANY,
    "hasSome": MANY,
    "hasNone": MANY,
    "isNull": NONE,
    "isNotNull": NONE,
    "inLastDays": DAYS,
}
SYNONYMS = {"hasSome": "in", "hasNone": "notIn"}
# Spellings models reach for first (SQL, Mongo, ORMs) -> the operator meant.
ALIASES = {
    "eq": "equals", "=": "equals", "==": "equals", "is": "equals", "equal": "equals",
    "like": "contains", "ilike": "contains", "includes": "contains", "substring": "contains",
    ">": "gt", "after": "gt", ">=": "gte", "ge": "gte", "<": "lt", "before": "lt", "<=": "lte", "le": "lte",
    "range": "between", "has": "hasSome", "any": "in", "oneOf": "in", "nin": "notIn", "none": "hasNone",
    "!=": "notIn", "ne": "notIn", "null": "isNull", "empty": "isNull", "notNull": "isNotNull",
    "exists": "isNotNull", "lastDays": "inLastDays", "withinDays": "inLastDays",
}  # fmt: skip
MAX_VALUES = 100
MAX_DAYS = 36_500


# ---- reading one value ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Bounds:
    """An ordered value as stored-value bounds: matches are `first <= x < after` (docs/query-language.md).

    `start`/`end` are the value's own first and last point, to check that `between` is not reversed.
    """

    first: Any
    after: Any
    start: Any
    end: Any


def read_id(field: Field, raw: Any) -> str:
    if (
        isinstance(raw, str)
        and raw.strip().lower() == "me"
        and field.relation
        and field.relation.other == "user"
    ):
        return "me"
    if not isinstance(raw, str) or not is_uuid(raw):
        shown = raw if isinstance(raw, str) else json_type(raw)
        me = ' or "me" for yourself' if field.relation and field.relation.other == "user" else ""
        raise Bad(f'"{shown}" is not a valid id (a UUID)', f"Send record ids{me}. {ID_HINT}")
    return raw.lower()


_MOMENT = re.compile(  # re.ASCII: `\d` would take any script's digits ("２０２６", "٠")
    r"(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?(Z|z|[+-]\d{2}:?\d{2})?)?",
    re.ASCII,
)
MOMENT_FORMS = (
    "Use a date like 2026-01-05 or a datetime like 2026-01-05T14:30:00Z (a zone offset such as +02:00 works)."
)
_MS = timedelta(milliseconds=1)


def stamp(moment: datetime) -> str:
    """The stored form of a UTC moment: fixed width, so text order is time order."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def read_moment(field: Field, raw: Any) -> Bounds:
    """A date is its whole UTC day; a datetime without a zone is UTC; both compare in milliseconds."""
    match = _MOMENT.fullmatch(raw.strip()) if isinstance(raw, str) else None
    if match is None:
        shown = f'"{raw}"' if isinstance(raw, str) else json_type(raw)
        raise Bad(f"{shown} is not a date or datetime", MOMENT_FORMS)
    try:
        return _moment_bounds(*match.groups())
    except (ValueError, OverflowError):
        raise Bad(f'"{raw}" is not a real date or time', MOMENT_FORMS) from None


def _moment_bounds(y, mo, d, hh, mi, ss, frac, zone) -> Bounds:
    day = datetime(int(y), int(mo), int(d), tzinfo=UTC)
    if hh is None:
        after = day + timedelta(days=1)
        return Bounds(stamp(day), stamp(after), day, after - timedelta(microseconds=1))
    micro = int((frac or "0")[:6].ljust(6, "0"))
    exact = day.replace(hour=int(hh), minute=int(mi), second=int(ss or 0), microsecond=micro)
    exact -= _offset(zone)
    whole_ms = exact.replace(microsecond=micro // 1000 * 1000)
    if whole_ms == exact and len((frac or "").rstrip("0")) <= 3:
        return Bounds(stamp(exact), stamp(exact + _MS), exact, exact)
    # Finer than a millisecond: stored moments fall before or after it, never on it.
    ceiling = stamp(whole_ms + _MS)
    return Bounds(ceiling, ceiling, exact, exact)


def _offset(zone: str | None) -> timedelta:
    if zone is None or zone in ("Z", "z"):
        return timedelta(0)
    digits = zone[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:])
    if hours > 23 or minutes > 59:
        raise ValueError(f"no zone is {zone} away from UTC")
    size = timedelta(hours=hours, minutes=minutes)
    return size if zone[0] == "+" else -size


_DECIMAL = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)")
NUMBER_HINT = "Send a plain decimal such as 1500 or 1500.50 (a JSON number or a string)."
_MAX_NUMBER = Decimal(10) ** 14


def read_number(field: Field, raw: Any) -> Bounds:
    """Exact decimal comparison against values stored in 1/10,000 units."""
    number = _decimal(raw)
    if number is None:
        raise Bad(f"{_show(raw)} is not a number", NUMBER_HINT)
    if abs(number) >= _MAX_NUMBER:
        raise Bad(f"{_show(raw)} is too large", "Send a value below 100,000,000,000,000.")
    scaled = number * SCALE
    first = math.ceil(scaled)
    return Bounds(first, math.floor(scaled) + 1, number, number)


def _decimal(raw: Any) -> Decimal | None:
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return Decimal(raw)
    if isinstance(raw, float):
        return Decimal(repr(raw)) if math.isfinite(raw) else None
    if isinstance(raw, str) and _DECIMAL.fullmatch(raw.strip()):
        try:
            return Decimal(raw.strip())
        except InvalidOperation:
            return None
    return None


def read_text(field: Field, raw: Any) -> str:
    """Case-insensitive text: trimmed and case-folded like the stored keys."""
    if not isinstance(raw, str) or not raw.strip():
        what = "an empty string" if isinstance(raw, str) else json_type(raw)
        raise Bad(f"expected non-empty text, got {what}", f"Send text, e.g. {field.kind.example}.")
    return raw.strip().casefold()


def read_choice(field: Field, raw: Any) -> str:
    if raw not in field.choices:
        allowed = ", ".join(field.choices)
        raise Bad(f"{_show(raw)} is not a {field.name}", f"Use one of: {allowed}.")
    return raw


def read_days(raw: Any) -> int:
    """`inLastDays`: a whole number 1-36,500 given as a JSON number or a digit string (`7`, `"7"`)."""
    days = None
    if isinstance(raw, int | float) and not isinstance(raw, bool) and float(raw).is_integer():
        days = int(raw)
    elif isinstance(raw, str) and raw.strip().isdigit():
        days = int(raw.strip())
    if days is None or not 1 <= days <= MAX_DAYS:
        raise Bad(
            f"{_show(raw)} is not a whole number of days from 1 to 36,500",
            'Send a whole number of days such as 7 or "7" (today counts; 1 = since yesterday 00:00 UTC).',
        )
    return days


def days_window(days: int, now: datetime) -> Bounds:
    """From 00:00 UTC of the day `days` before today to the end of today (docs/query-language.md)."""
    today = datetime.combine(now.astimezone(UTC).date(), datetime.min.time(), UTC)
    first, after = today - timedelta(days=days), today + timedelta(days=1)
    return Bounds(stamp(first), stamp(after), first, after)


def _show(raw: Any) -> str:
    return (
        f'"{raw}"' if isinstance(raw, str) else (json_type(raw) if isinstance(raw, list | dict) else str(raw))
    )


# ---- SQL per operator ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """What the SQL of a rule may depend on besides its value: the caller and the clock."""

    principal: Principal
    now: datetime


Sql = tuple[str, list[Any]]
_COMPARE: dict[str, Callable[[str, Any], Sql]] = {
    "equals": lambda c, v: (f"{c} >= ? AND {c} < ?", [v.first, v.after]),
    "gt": lambda c, v: (f"{c} >= ?", [v.after]),
    "gte": lambda c, v: (f"{c} >= ?", [v.first]),
    "lt": lambda c, v: (f"{c} < ?", [v.first]),
    "lte": lambda c, v: (f"{c} < ?", [v.after]),
    "between": lambda c, v: (f"{c} >= ? AND {c} < ?", [v[0].first, v[1].after]),
}


def ordered_sql(field: Field, op: str, value: Any, scope: Scope, alias: str = "e") -> Sql:
    if op == "inLastDays":
        value, op = days_window(value, scope.now), "equals"
    return _COMPARE[op](f"{alias}.{field.column}", value)


def _marks(values: list) -> str:
    return ",".join("?" * len(values))


def relation_sql(field: Field, op: str, value: Any, scope: Scope) -> Sql:
    rel = field.relation
    assert rel is not None
    if op in ("isNull", "isNotNull"):
        seen, params = _visible_end(rel, scope.principal)
        exists = f"EXISTS (SELECT 1 FROM {rel.table} l WHERE l.{rel.own_col} = e.id{seen})"
        return (exists if op == "isNotNull" else f"NOT {exists}"), params
    if not value:  # every id dropped (a stored filter whose records are gone): `in` matches nothing
        return ("0" if op == "in" else "1"), []
    linked = f"e.id IN (SELECT {rel.own_col} FROM {rel.table} WHERE {rel.other_col} IN ({_marks(value)}))"
    return (linked if op == "in" else f"NOT {linked}"), list(value)


@dataclass(frozen=True)
class Lead:
    """A subquery of candidate records narrow enough to drive the query (see `queries._lead`).

    `column` is what it yields (`id` or `seq`); an `exact` lead is the rule itself, otherwise the
    rule's own condition still checks each candidate.
    """

    sql: str
    params: list[Any]
    column: str
    exact: bool


def relation_source(field: Field, op: str, value: Any, scope: Scope) -> Lead | None:
    """`in` over links: the few linked ids, read from the link index (docs/query-language.md F2)."""
    rel = field.relation
    if op != "in" or not value or rel is None:
        return None
    sql = f"SELECT DISTINCT {rel.own_col} AS id FROM {rel.table} WHERE {rel.other_col} IN ({_marks(value)})"
    return Lead(sql, list(value), "id", True)


def assigned_source(
    entity: str, users: list[str], created: list[tuple[Field, str, Any]], scope: Scope
) -> Lead:
    """Records assigned to `users` and created inside every `created` rule: one range of the user links
    kept by creation time (schemas/0013_user_links_by_created.sql), so only the matches are read."""
    where, params = [f"a.right_id IN ({_marks(users)})"], list(users)
    for field, op, value in created:
        sql, rule_params = ordered_sql(field, op, value, scope, "a")
        where.append(sql)
        params += rule_params
    distinct = "DISTINCT " if len(users) > 1 else ""  # one user: each record once already
    sql = f"SELECT {distinct}a.left_id AS id FROM {entity}_user_created a WHERE {' AND '.join(where)}"
    return Lead(sql, params, "id", True)


def _visible_end(rel: Relation, principal: Principal) -> Sql:
    """Links count only toward records the caller can see, so filters agree with the DTO arrays."""
    if principal.reads_all(rel.resource):
        return "", []
    if rel.other == "user":
        return f" AND l.{rel.other_col} = ?", [principal.user_id]
    owned = f"link_{rel.other}_user"
    return f" AND l.{rel.other_col} IN (SELECT left_id FROM {owned} WHERE right_id = ?)", [principal.user_id]


_EMAILS = "SELECT contact_id FROM contact_email WHERE company_id = ?"
_OWN_EMAILS = "contact_email x WHERE x.contact_id = e.id"
_SUBSTRING = 3  # from this length a substring can be looked up in the trigram index


def emails_sql(field: Field, op: str, value: Any, scope: Scope) -> Sql:
    # `contains` checks each candidate's own addresses (a primary-key lookup): candidates come from
    # the trigram index or another lead, and a short fragment matches too many addresses for a list.
    return {
        "equals": (f"e.id IN ({_EMAILS} AND email_key = ?)", [scope.principal.company_id, value]),
        "contains": (f"EXISTS (SELECT 1 FROM {_OWN_EMAILS} AND instr(x.email_key, ?) > 0)", [value]),
        "isNull": (f"NOT EXISTS (SELECT 1 FROM {_OWN_EMAILS})", []),
        "isNotNull": (f"EXISTS (SELECT 1 FROM {_OWN_EMAILS})", []),
    }[op]


def emails_source(field: Field, op: str, value: Any, scope: Scope) -> Lead | None:
    """An exact address through its index; a fragment through the `emails` column of the contacts'
    trigram index (candidates: the fold there differs from `email_key`'s, so `emails_sql` rechecks)."""
    if op == "equals":
        sql = "SELECT DISTINCT contact_id AS id FROM contact_email WHERE company_id = ? AND email_key = ?"
        return Lead(sql, [scope.principal.company_id, value], "id", True)
    # Only ASCII fragments: the index folds case its own way, the stored keys by str.casefold().
    if op == "contains" and len(value) >= _SUBSTRING and value.isascii():
        sql = f"SELECT {SEARCH_SEQ} AS seq FROM contact_trigram WHERE contact_trigram MATCH ?"
        return Lead(sql, ['{emails}: "' + value.replace('"', '""') + '"'], "seq", False)
    return None


def choice_sql(field: Field, op: str, value: Any, scope: Scope) -> Sql:
    negate = "NOT " if op == "notIn" else ""
    return f"e.{field.column} {negate}IN ({_marks(value)})", list(value)


# ---- kinds and fields ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Kind:
    """A family of fields sharing operators, value reading and SQL (custom column types join later)."""

    name: str
    operators: tuple[str, ...]
    read: Callable[[Field, Any], Any]
    sql: Callable[[Field, str, Any, Scope], Sql]
    example: str  # one value as JSON, for hints
    pair: str = ""  # a `between` value as JSON, for hints
    # Candidate records from an index, when the rule is narrow enough to lead the query.
    source: Callable[[Field, str, Any, Scope], Lead | None] = lambda field, op, value, scope: None


RELATION = Kind(
    "relation",
    ("in", "notIn", "hasSome", "hasNone", "isNull", "isNotNull"),
    read_id,
    relation_sql,
    '"<id>"',
    source=relation_source,
)
EMAILS = Kind(
    "emails",
    ("equals", "contains", "isNull", "isNotNull"),
    read_text,
    emails_sql,
    '"ada@example.com"',
    source=emails_source,
)
TIMESTAMP = Kind(
    "timestamp",
    ("gt", "gte", "lt", "lte", "between", "inLastDays"),
    read_moment,
    ordered_sql,
    '"2026-01-05"',
    '["2026-01-01", "2026-01-31"]',
)
NUMBER = Kind(
    "number",
    ("equals", "gt", "gte", "lt", "lte", "between"),
    read_number,
    ordered_sql,
    '"1500"',
    '["1000", "5000"]',
)
CHOICE = Kind("choice", ("in", "notIn"), read_choice, choice_sql, '"custom"')


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    kind: Kind
    column: str = ""
    relation: Relation | None = None
    choices: tuple[str, ...] = ()
    custom: Any = None  # the custom column (crm.columns.Column) behind a column-id field

    @property
    def operators(self) -> tuple[str, ...]:
        return self.kind.operators

    def describe(self) -> str:
        """`label – field (op, op)`: the one way a field and its operators are written (README decision 10)."""
        kind = f"{self.custom.type}: " if self.custom is not None else ""
        return f"{self.label} – {self.name} ({kind}{', '.join(self.operators)})"

    def example(self) -> str:
        if self.custom is not None and self.custom.options:
            return f'"{self.custom.options[0].label}"'
        if self.relation is not None:
            return '"me"' if self.relation.other == "user" else f'"<{self.relation.other} id>"'
        return f'"{self.choices[0]}"' if self.choices else self.kind.example


_RELATION_ORDER = {  # docs/query-language.md lists relation fields in this order
    "contact": ("organization", "deal", "task", "user"),
    "organization": ("contact", "deal", "task", "user"),
    "deal": ("contact", "organization", "service", "task", "user"),
    "service": ("deal", "task", "user"),
    "task": ("contact", "organization", "deal", "service", "user"),
}
_RELATION_LABEL = {"user": "Assigned users"}
TASK_TYPES = ("custom", "userPendingAuthorization")
_STAMPS = (
    Field("createdAt", "Created at", TIMESTAMP, "created_at"),
    Field("updatedAt", "Updated at", TIMESTAMP, "updated_at"),
)
_OWN_FIELDS: dict[str, tuple[Field, ...]] = {
    "contact": (Field("emails", "Emails", EMAILS), *_STAMPS),
    "organization": _STAMPS,
    "deal": (
        Field("totalValue", "Total value", NUMBER, "total_value"),
        Field("totalQuantity", "Total quantity", NUMBER, "total_quantity"),
        *_STAMPS,
    ),
    "service": (Field("amount", "Amount", NUMBER, "amount"), *_STAMPS),
    "task": (Field("type", "Type", CHOICE, "type", choices=TASK_TYPES), *_STAMPS),
}


def _relation_field(entity: str, other: str) -> Field:
    rel = next(r for r in RELATIONS[entity] if r.other == other)
    label = _RELATION_LABEL.get(other, rel.name.title())
    return Field(rel.field, label, RELATION, relation=rel)


BUILTIN_FIELDS: dict[str, tuple[Field, ...]] = {
    entity: (*(_relation_field(entity, o) for o in others), *_OWN_FIELDS[entity])
    for entity, others in _RELATION_ORDER.items()
}
# Searched, not filtered: a rule on these gets "use searchTerm" (docs/query-language.md).
SEARCHED_ONLY = {
    "contact": ("name", "firstName", "lastName", "fullName", "displayName"),
    "organization": ("name",),
    "deal": ("name",),
    "service": ("name",),
    "task": ("name", "title"),
}
# Names that mean a relation field without being spelled like it.
FIELD_ALIASES = {"assignee": "userIds", "assignees": "userIds", "owner": "userIds", "assignedTo": "userIds",
                 "email": "emails", "created": "createdAt", "updated": "updatedAt", "value": "totalValue",
                 "price": "amount", "taskType": "type"}  # fmt: skip


def offered_fields(principal: Principal, entity: str) -> tuple[Field, ...]:
    """The fields this caller may filter on: relation fields only toward types it may read."""
    return tuple(
        f for f in BUILTIN_FIELDS[entity] if f.relation is None or principal.reads(f.relation.resource)
    )


def canonical(op: str) -> str:
    return SYNONYMS.get(op, op)


def example_rules(fields: tuple[Field, ...]) -> list[list[dict[str, Any]]]:
    """Filter examples for get_entity_configuration, built from the offered fields."""
    by_name = {f.name: f for f in fields}
    rules: list[list[dict[str, Any]]] = [[{"field": "createdAt", "operator": "gte", "value": "2026-01-01"}]]
    if "userIds" in by_name:
        rules.append([{"field": "userIds", "operator": "in", "value": ["me"]}])
    relation = next((f for f in fields if f.relation and f.relation.other != "user"), None)
    if relation is not None:
        rules.append([{"field": relation.name, "operator": "isNull"}])
    own = next((f for f in fields if f.kind in (NUMBER, EMAILS, CHOICE)), None)
    if own is not None:
        op = {NUMBER: "gt", EMAILS: "contains", CHOICE: "in"}[own.kind]
        value: Any = {NUMBER: "10000", EMAILS: "@example.com", CHOICE: [TASK_TYPES[0]]}[own.kind]
        rules.append([{"field": own.name, "operator": op, "value": value}])
    rules.append(
        [
            {"field": "createdAt", "operator": "gte", "value": "2026-01-01"},
            {"field": "createdAt", "operator": "lt", "value": "2026-02-01"},
        ]
    )
    return rules
