"""The one query engine behind filter_entity, count_entity, search_all_entities, REST search and widgets.

    Query(entity, searchTerm, filters, sortDescriptor, page, pageSize)
      -> check     every problem at its path (`$.filters[1].value`), before any SQL   -> invalid_input
      -> resolve   relation ids inside the caller's read scope (one query per type)     -> not_found
      -> plan      FROM [fts match CROSS JOIN] entity WHERE scope AND rules ORDER BY sort, id
      -> run       one page of {id, name} and the exact total, in the caller's snapshot

The SQL leads with the company and, for searches, with the FTS match, so each query is served by an
index (docs/query-language.md); `tools/bench_queries.py` prints the plans.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal

import msgspec
from msgspec import Meta

from customermates.crm import filters as fl
from customermates.crm.columns import Column, load_columns
from customermates.crm.custom_filters import LEAD_MAX, column_field, narrows, values_sql
from customermates.crm.inputs import EntityRef, EntityType
from customermates.crm.model import (
    ENTITY_TYPES,
    PLURAL,
    scope_sql,
    search_span,
    visible_ids,
    visible_user_ids,
)
from customermates.crm.search import (
    MAX_TOKENS,
    Span,
    Terms,
    match_sql,
    named_only,
    number,
    reaching,
    read_terms,
    tier_sql,
)
from customermates.errors import Issue, invalid, not_found
from customermates.nearest import closest
from customermates.shapes import total_pages
from customermates.store.database import run_deferred

if TYPE_CHECKING:
    import sqlite3

    from customermates.auth import Principal

# ---- input shapes (EntityType and EntityRef are shared with the record tools) ------------------

__all__ = ["EntityRef", "EntityType", "FilterRule", "Query", "SortDescriptor", "count_query", "run_query"]

_OPS = ", ".join(fl.OPERATORS)
FILTERS_DESCRIPTION = (
    "Rules combined with AND (`in` gives OR over one field's values); each field's operators: "
    'get_entity_configuration. Example: [{"field":"createdAt","operator":"gte","value":"2026-01-01"},'
    '{"field":"userIds","operator":"in","value":["<user id>"]}]; a custom column: '
    '[{"field":"<column id>","operator":"in","value":["<option value>"]}].'
)


# Bounds the schema publishes: a field name or column id; one filter value as long as
# the longest stored custom value, within the widest currency range. `value` stays `Any` for the
# validator so that a wrong value is one issue among all of the query's (`_Check.read` enforces these).
FIELD_NAME_MAX = 100
VALUE_TEXT_MAX = 10_000
VALUE_NUMBER_MAX = 10**15
_SCALAR = [
    {"type": "string", "maxLength": VALUE_TEXT_MAX},
    {"type": "number", "minimum": -VALUE_NUMBER_MAX, "maximum": VALUE_NUMBER_MAX},
]
VALUE_SCHEMA = {
    "anyOf": [
        *_SCALAR,
        {"type": "array", "maxItems": fl.MAX_VALUES, "items": {"anyOf": _SCALAR}},
        {"type": "null"},
    ]
}


_FORMS = {fl.MANY: "an array", fl.PAIR: "[from, to]", fl.DAYS: "days", fl.NONE: "none"}
# "One value; an array for in/notIn/…": each operator's value shape, from the operator table, so a
# new operator is described wherever rules are published (filter tools, widget filter lists).
VALUE_FORMS = (
    "One value; "
    + ", ".join(
        f"{form} for {'/'.join(op for op, shape in fl.OPERATORS.items() if shape == kind)}"
        for kind, form in _FORMS.items()
    )
    + "."
)
FIELD_DESCRIPTION = "A filterable field or a custom column id."


class FilterRule(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    # One filter rule (no docstring: it would become a schema description repeating `filters`).

    field: Annotated[str, Meta(max_length=FIELD_NAME_MAX, description=FIELD_DESCRIPTION)]
    operator: Annotated[str, Meta(extra_json_schema={"enum": list(fl.OPERATORS)})]
    value: Annotated[
        Any,
        Meta(
            description=VALUE_FORMS + ' Dates: "2026-01-05" (whole UTC day) or "2026-01-05T14:30:00Z".',
            extra_json_schema=VALUE_SCHEMA,
        ),
    ] = None


Filters = Annotated[list[FilterRule], Meta(max_length=20, description=FILTERS_DESCRIPTION)]


class SortDescriptor(msgspec.Struct, forbid_unknown_fields=True):
    field: Annotated[
        str,
        Meta(
            max_length=FIELD_NAME_MAX,
            description="A sortable field (get_entity_configuration) or a custom column id.",
        ),
    ]
    direction: Literal["asc", "desc"] = "asc"


@dataclass(frozen=True)
class Query:
    entity: str
    search_term: str = ""
    filters: Sequence[FilterRule] = ()
    sort: SortDescriptor | None = None
    page: int = 1
    page_size: int = 10


@dataclass(frozen=True)
class Paths:
    """Where the query's parts sit in the caller's arguments, for issue paths (widgets differ)."""

    filters: str = "$.filters"
    sort: str = "$.sortDescriptor"
    term: str = "$.searchTerm"


TOOL_PATHS = Paths()

# ---- sort ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SortField:
    name: str
    label: str
    column: str
    custom: bool = False  # a custom column id: sorted through custom_value (see `Plan.custom_sort`)


def custom_sorts(columns: Sequence[Column]) -> tuple[SortField, ...]:
    return tuple(SortField(c.id, c.label, "", custom=True) for c in columns)


_STAMP_SORTS = (
    SortField("createdAt", "Created at", "created_at"),
    SortField("updatedAt", "Updated at", "updated_at"),
)
_NAME_SORT = SortField("name", "Name", "name_key")
SORTABLE: dict[str, tuple[SortField, ...]] = {
    "contact": (_NAME_SORT, SortField("lastName", "Last name", "last_key"), *_STAMP_SORTS),
    "organization": (_NAME_SORT, *_STAMP_SORTS),
    "deal": (
        _NAME_SORT,
        SortField("totalValue", "Total value", "total_value"),
        SortField("totalQuantity", "Total quantity", "total_quantity"),
        *_STAMP_SORTS,
    ),
    "service": (_NAME_SORT, SortField("amount", "Amount", "amount"), *_STAMP_SORTS),
    "task": (_NAME_SORT, *_STAMP_SORTS),
}
DEFAULT_SORT = {e: SortDescriptor("name", "asc") for e in ENTITY_TYPES} | {
    "task": SortDescriptor("updatedAt", "desc")
}
RELEVANCE = SortDescriptor("relevance", "desc")
NAME_SQL = {e: "e.name" for e in ENTITY_TYPES} | {"contact": "trim(e.first_name || ' ' || e.last_name)"}

# ---- checking ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """A rule that passed checking: its field, canonical operator and read value."""

    index: int
    field: fl.Field
    op: str
    value: Any


@dataclass(frozen=True)
class Checked:
    rules: list[Rule]
    terms: Terms
    sort: SortDescriptor  # as applied
    order: SortField | None  # None: relevance
    reach: tuple[str, ...] = ()  # search tokens matching names of linked records (`search.reaching`)
    span: Span | None = None  # the caller's company's search rowids (`model.search_span`)


_ALIASES = {k.casefold(): v for k, v in fl.ALIASES.items()}
NO_OPTION = -1  # no option has this rank


class _Check:
    """Collects every issue of one query; each method reads one part and returns None when it failed."""

    def __init__(
        self,
        principal: Principal,
        entity: str,
        paths: Paths,
        columns: Sequence[Column] = (),
        stored: bool = False,
    ):
        self.entity = entity
        self.stored = stored
        self.paths = paths
        self.fields = {f.name: f for f in fl.offered_fields(principal, entity)}
        self.fields.update((c.id, column_field(c)) for c in columns)
        self.sortable = SORTABLE[entity] + custom_sorts(columns)
        self.labels = {c.label.casefold(): c.id for c in columns}
        self.issues: list[Issue] = []

    def add(self, path: str, message: str, hint: str) -> None:
        self.issues.append(Issue(path, message, hint))

    def rule(self, index: int, rule: FilterRule) -> Rule | None:
        at = f"{self.paths.filters}[{index}]"
        field = self.field(rule.field, f"{at}.field")
        op = self.operator(rule.operator, field, f"{at}.operator")
        if field is None or op is None:
            return None
        before = len(self.issues)
        value = _SHAPES[fl.OPERATORS[op]](self, field, op, rule.value, f"{at}.value")
        return Rule(index, field, fl.canonical(op), value) if len(self.issues) == before else None

    def field(self, name: str, path: str) -> fl.Field | None:
        found = self.fields.get(name)
        if found is not None:
            return found
        entity = self.entity
        if name in fl.SEARCHED_ONLY[entity]:
            self.add(
                path,
                f'"{name}" cannot be filtered on {entity}: names are searched, not filtered',
                f'Use searchTerm instead, e.g. {{"entity": "{entity}", "searchTerm": "Ada Lovelace"}}'
                " (every word must match, in any order).",
            )
            return None
        alias = fl.FIELD_ALIASES.get(name) or self.labels.get(name.casefold())
        guess = [alias] if alias in self.fields else closest(name, list(self.fields))
        listing = "; ".join(f.describe() for f in self.fields.values())
        mean = f'Did you mean "{guess[0]}"? ' if guess else ""
        self.add(
            path,
            f'unknown filter field "{name}" for {entity}. Filterable fields: {listing}',
            f"{mean}Field names and custom column ids come from get_entity_configuration.",
        )
        return None

    def operator(self, op: str, field: fl.Field | None, path: str) -> str | None:
        allowed = field.operators if field is not None else tuple(fl.OPERATORS)
        if op in allowed:
            return op
        where = f" on {field.name}: {', '.join(field.operators)}" if field is not None else f": {_OPS}"
        if op in fl.OPERATORS and field is not None:  # allowed elsewhere, not on this field
            self.add(
                path,
                f'operator "{op}" is not allowed on {field.name}',
                f"Use one of the operators allowed{where}.",
            )
            return None
        guess = _ALIASES.get(op.casefold()) or next(iter(closest(op, list(fl.OPERATORS))), None)
        mean = f'Did you mean "{guess}"? ' if guess in allowed else ""
        self.add(path, f'unknown operator "{op}"', f"{mean}Use one of the operators allowed{where}.")
        return None

    def read(self, field: fl.Field, raw: Any, path: str) -> Any:
        if isinstance(raw, str) and len(raw) > VALUE_TEXT_MAX:
            self.add(path, f"is {len(raw)} characters long; the limit is {VALUE_TEXT_MAX}", "Shorten it.")
            return None
        try:
            return field.kind.read(field, raw)
        except fl.Bad as bad:
            if self.stored and field.custom is not None and field.custom.type == "singleSelect":
                return NO_OPTION  # a stored filter naming a dropped option matches nothing
            self.add(path, bad.message, bad.hint)
            return None

    def no_value(self, field: fl.Field, op: str, raw: Any, path: str) -> None:
        if raw is not None:
            self.add(
                path,
                f'"{op}" takes no value',
                f'Remove "value": {{"field": "{field.name}", "operator": "{op}"}}.',
            )

    def one_value(self, field: fl.Field, op: str, raw: Any, path: str) -> Any:
        if raw is None:
            self.add(
                path,
                f'"{op}" on {field.name} needs a value',
                f'Add one value, e.g. "value": {field.example()}.',
            )
        elif isinstance(raw, list):
            self.add(
                path, f'"{op}" takes a single value, not an array', f'Send e.g. "value": {field.example()}.'
            )
        else:
            return self.read(field, raw, path)
        return None

    def many_values(self, field: fl.Field, op: str, raw: Any, path: str) -> list[Any] | None:
        if not isinstance(raw, list):
            self.add(
                path,
                f'"{op}" takes an array of values, even for one value',
                f'Send e.g. "value": [{field.example()}].',
            )
        elif not raw:
            self.add(path, f'"{op}" needs at least one value', f'Send e.g. "value": [{field.example()}].')
        elif len(raw) > fl.MAX_VALUES:
            self.add(
                path,
                f"holds {len(raw)} values; the limit is {fl.MAX_VALUES}",
                "Use at most 100 values per rule; split the question into several queries.",
            )
        else:
            return [self.read(field, item, f"{path}[{i}]") for i, item in enumerate(raw)]
        return None

    def two_values(self, field: fl.Field, op: str, raw: Any, path: str) -> list[Any] | None:
        example = field.kind.pair or f"[{field.example()}, {field.example()}]"
        if not isinstance(raw, list) or len(raw) != 2:
            got = f"{len(raw)} value(s)" if isinstance(raw, list) else "a single value"
            self.add(
                path,
                f'"between" needs exactly two values [from, to]; got {got}',
                f'Send e.g. "value": {example}.',
            )
            return None
        low, high = (self.read(field, item, f"{path}[{i}]") for i, item in enumerate(raw))
        if low is not None and high is not None and low.start > high.end:
            self.add(
                path,
                f"from ({raw[0]}) is after to ({raw[1]})",
                f'Put the earlier value first: "value": {json.dumps([raw[1], raw[0]])}.',
            )
        return [low, high]

    def days(self, field: fl.Field, op: str, raw: Any, path: str) -> int | None:
        try:
            return fl.read_days(raw)
        except fl.Bad as bad:
            self.add(path, bad.message, bad.hint)
            return None

    def sort(self, given: SortDescriptor | None, terms: Terms) -> tuple[SortDescriptor, SortField | None]:
        if given is None:
            default = DEFAULT_SORT[self.entity]
            return (RELEVANCE, None) if terms.tokens else (default, self._sort_field(default.field))
        if given.field == "relevance" and terms.tokens:
            return RELEVANCE, None
        found = self._sort_field(given.field)
        if found is None:
            names = [s.name for s in self.sortable]
            label = self.labels.get(given.field.casefold())
            guess = [label] if label else closest(given.field, names)
            mean = f'Did you mean "{guess[0]}"? ' if guess else ""
            listing = "; ".join(
                f"{s.name} ({s.label})" if s.custom else f"{s.label} – {s.name}" for s in self.sortable
            )
            self.add(
                f"{self.paths.sort}.field",
                f'cannot sort {self.entity} by "{given.field}". Sortable fields: {listing}',
                f'{mean}Send e.g. {{"field": "{names[0]}", "direction": "asc"}}.',
            )
        return given, found

    def _sort_field(self, name: str) -> SortField | None:
        return next((s for s in self.sortable if s.name == name), None)

    def terms(self, term: str) -> Terms:
        terms = read_terms(term)
        if len(terms.tokens) > MAX_TOKENS:
            self.add(
                self.paths.term,
                f"has {len(terms.tokens)} words; a search takes at most {MAX_TOKENS}",
                "Use a shorter term with the most distinctive words; every word must match.",
            )
        return terms


_SHAPES: dict[str, Callable[..., Any]] = {
    fl.NONE: _Check.no_value,
    fl.ONE: _Check.one_value,
    fl.MANY: _Check.many_values,
    fl.PAIR: _Check.two_values,
    fl.DAYS: _Check.days,
}


def check(
    principal: Principal,
    query: Query,
    paths: Paths = TOOL_PATHS,
    columns: Sequence[Column] = (),
    stored: bool = False,
) -> Checked:
    """Read the whole query, reporting every problem at once (`invalid_input`); no SQL runs here.

    `columns` are the entity's custom columns (their ids are fields); the caller loads them.
    """
    checker = _Check(principal, query.entity, paths, columns, stored)
    rules = [r for i, rule in enumerate(query.filters) if (r := checker.rule(i, rule)) is not None]
    terms = checker.terms(query.search_term)
    applied, order = checker.sort(query.sort, terms)
    if checker.issues:
        raise invalid(checker.issues, "the query", writes=False)
    return Checked(rules, terms, applied, order)


# ---- relation ids --------------------------------------------------------------------------------


def resolve(
    conn: sqlite3.Connection, principal: Principal, rules: list[Rule], paths: Paths, stored: bool
) -> list[Rule]:
    """Relation ids must be records the caller can see; `"me"` is the caller.

    A query fails with `not_found` naming each missing id at its path. A stored query (a widget)
    instead drops them, so a deleted record simply matches nothing (docs/widgets.md).
    """
    wanted: dict[str, set[str]] = {}
    for rule in rules:
        if rule.field.relation is not None and rule.value:
            wanted.setdefault(rule.field.relation.other, set()).update(v for v in rule.value if v != "me")
    seen = {other: _visible(conn, principal, other, sorted(ids)) for other, ids in wanted.items()}
    missing = [
        (f"{paths.filters}[{rule.index}].value[{i}]", rule.field.relation.other, ident)
        for rule in rules
        if rule.field.relation is not None and rule.value
        for i, ident in enumerate(rule.value)
        if ident != "me" and ident not in seen[rule.field.relation.other]
    ]
    if missing and not stored:
        kinds = {kind for _, kind, _ in missing}
        lister = "list_users" if kinds == {"user"} else "filter_entity / search_all_entities"
        raise not_found(missing, lister)
    return [_with_ids(rule, principal, seen) for rule in rules]


def _visible(conn: sqlite3.Connection, principal: Principal, other: str, ids: list[str]) -> set[str]:
    if other == "user":
        return visible_user_ids(conn, principal, ids)
    return visible_ids(conn, principal, other, ids)


def _with_ids(rule: Rule, principal: Principal, seen: dict[str, set[str]]) -> Rule:
    if rule.field.relation is None or not rule.value:
        return rule
    found = seen.get(rule.field.relation.other, set())
    ids = [principal.user_id if v == "me" else v for v in rule.value if v == "me" or v in found]
    return Rule(rule.index, rule.field, rule.op, list(dict.fromkeys(ids)))


# ---- SQL -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """The SQL of one query, split so that the page and the count share every condition."""

    entity: str
    source: str
    where: str
    order: str
    params: list[Any]  # source, then where
    order_params: list[Any]
    sort: SortDescriptor
    page: int
    page_size: int
    led: bool = False  # a narrow id set leads: every match is sorted anyway, so the page picks `seq`s
    windowed: bool = False  # a led page also counts its matches (the lead holds many non-matches)
    custom_sort: str | None = None  # a custom column id sorted through its index (`fetch_custom`)
    count: tuple[str, list[Any]] | None = None  # a cheaper exact count (custom-value rules, no rule at all)
    ranked: Ranked | None = None  # a search whose every match is the caller's: ranked by `fetch_ranked`

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size

    def page_sql(self) -> tuple[str, list[Any]]:
        # A windowed page counts its matches as it sorts them: that saves a second pass over a lead
        # holding many candidates that do not match; over an index-ordered page it would read every
        # row, and over a lead of only matches a second pass costs less than the window
        # (docs/query-language.md, "Totals").
        # A led page picks `seq`s, not names: every match is read and sorted, so it reads only what
        # an index covers (contact_id_scope) and `names_sql` names the page's rows afterwards.
        picked = f"e.id, {NAME_SQL[self.entity]}"
        if self.led:
            picked = "e.seq, e.id, count(*) OVER ()" if self.windowed else "e.seq, e.id"
        sql = f"SELECT {picked} FROM {self.source} WHERE {self.where} ORDER BY {self.order} LIMIT ? OFFSET ?"
        return sql, [*self.params, *self.order_params, self.page_size, self.offset]

    def names_sql(self, seqs: list[int]) -> tuple[str, list[Any]]:
        """The display names of a led page's records, by `seq`."""
        marks = ", ".join("?" * len(seqs))
        return f"SELECT e.seq, {NAME_SQL[self.entity]} FROM {self.entity} e WHERE e.seq IN ({marks})", seqs

    def count_sql(self) -> tuple[str, list[Any]]:
        if self.count is not None:
            return self.count
        return f"SELECT count(*) FROM {self.source} WHERE {self.where}", list(self.params)

    def custom_page_sql(self) -> tuple[str, list[Any]]:
        """The page of records holding a value, walked in the custom column's index order."""
        sql = (
            f"SELECT e.id, {NAME_SQL[self.entity]} FROM custom_value s CROSS JOIN {self.entity} e"
            f" ON e.id = s.record_id WHERE s.column_id = ? AND {self.where} ORDER BY {self.order} LIMIT ? OFFSET ?"
        )
        return sql, [self.custom_sort, *self.params, self.page_size, self.offset]


@dataclass(frozen=True)
class Ranked:
    """A search read by a company-wide reader with no rule: every seq of `match` is one of the
    company's records (`search.match_sql` with a span), so the matches are counted without a join
    and, when no token reaches linked names, read once and ranked by `fetch_ranked` (through linked
    names the matches are many and rarely in the names: the led page sorts them as before)."""

    match: str
    params: list[Any]
    terms: Terms
    company_id: str
    # The only records that can hold every token in their name (tiers 0-2), when a token needs a
    # name holding '@' to rank there: a query of seqs, few, read in full instead of the name range.
    named: tuple[str, list[Any]] | None = None


def _ranked(principal: Principal, entity: str, checked: Checked) -> Ranked | None:
    if not checked.terms.tokens or checked.rules or checked.span is None:
        return None
    if not principal.reads_all(PLURAL[entity]):
        return None
    match, params = match_sql(entity, checked.terms, checked.reach, checked.span)
    named = named_only(entity, checked.terms, checked.span)
    return Ranked(match, params, checked.terms, principal.company_id, named)


def _order(checked: Checked, led: bool) -> tuple[str, list[Any]]:
    """One sort field, then the id in the same direction, so equal values keep one fixed order.

    A custom column sorts by its value row `s`: records without one come last in both directions.
    """
    if checked.order is None:
        tier, params = tier_sql(checked.terms)
        return f"{tier}, e.name_key, e.id", params
    way = "DESC" if checked.sort.direction == "desc" else "ASC"
    if checked.order.custom:
        keys = f"s.sort_key {way}, s.end_key {way}"
        return (f"(s.sort_key IS NULL), {keys}, e.id {way}" if led else f"{keys}, s.record_id {way}"), []
    return f"e.{checked.order.column} {way}, e.id {way}", []


def custom_sizes(
    conn: sqlite3.Connection, principal: Principal, checked: Checked, now: datetime
) -> dict[int, int]:
    """How many value rows each narrowing custom rule matches: a count over its index range."""
    ctx = fl.Scope(principal, now)
    sizes = {}
    for rule in checked.rules:
        if rule.field.custom is not None and narrows(rule.op):
            sql, params = values_sql(rule.field, rule.op, rule.value, ctx)
            sizes[rule.index] = conn.execute(f"SELECT count(*) FROM {sql}", params).fetchone()[0]
    return sizes


def _custom_lead(checked: Checked, sizes: dict[int, int], ctx: fl.Scope) -> tuple[Rule, str, list[Any]]:
    """The narrowing custom rule with the fewest matches, as `(SELECT record_id AS id …)`.

    `sizes` is not empty: callers check first.
    """
    index = min(sizes, key=sizes.__getitem__)
    rule = next(r for r in checked.rules if r.index == index)
    sql, params = values_sql(rule.field, rule.op, rule.value, ctx)
    return rule, f"(SELECT v.record_id AS id FROM {sql})", params


def _custom_count(
    principal: Principal, entity: str, checked: Checked, sizes: dict[int, int], ctx: fl.Scope
) -> tuple[str, list[Any]] | None:
    """An exact count from the value index alone, when only custom rules filter a company-wide reader.

    Value rows exist only for the company's live records of the column's type, so the records are
    never read: the narrowest rule's index range, the other rules probed by (record, column).
    """
    if not sizes or checked.terms.tokens or not principal.reads_all(PLURAL[entity]):
        return None
    if any(r.field.custom is None for r in checked.rules):
        return None
    lead_rule, lead, params = _custom_lead(checked, sizes, ctx)
    if len(checked.rules) == 1:
        return "SELECT ?", [sizes[lead_rule.index]]
    where = []
    for rule in checked.rules:
        if rule is not lead_rule:
            sql, rule_params = rule.field.kind.sql(rule.field, rule.op, rule.value, ctx)
            where.append(f"({sql})")
            params = [*params, *rule_params]
    return f"SELECT count(*) FROM {lead} e WHERE {' AND '.join(where)}", params


def _live_count(principal: Principal, entity: str, checked: Checked) -> tuple[str, list[Any]] | None:
    """No filter and no search for a company-wide reader: the total is the company's live count,
    one row kept by triggers (schemas/0009_record_counts.sql), instead of a walk over a million index
    entries."""
    if checked.rules or checked.terms.tokens or not principal.reads_all(PLURAL[entity]):
        return None
    return LIVE_COUNT, [principal.company_id, entity]


LIVE_COUNT = "SELECT coalesce((SELECT live FROM record_count WHERE company_id = ? AND entity_type = ?), 0)"


def _lead(
    principal: Principal, entity: str, checked: Checked, ctx: fl.Scope, sizes: dict[int, int] | None = None
) -> tuple[str, list[Any], Rule | None, bool]:
    """The FROM clause: the narrowest candidate set leads when there is one.

    In order: the search match, a rule with an index of its own (a relation `in`, an email), the
    records assigned to a `readOwn` caller. CROSS JOIN pins the join order, so SQLite walks those few
    candidates and looks each record up, instead of walking the company's whole index and probing
    the set for every record (it would, lacking statistics). Assigned records with createdAt rules
    come as one range of the links kept by creation time (`fl.assigned_source`).
    The last element: the lead yields nearly only matches, so the page query should not count them
    too (a window over every match costs more than a second pass over so few; `Plan.windowed`).
    """
    if checked.terms.tokens:
        # No span: the page filters the company anyway, and a rowid range slows FTS5's prefix lists.
        company = number(checked.span) if checked.span else None
        match, params = match_sql(entity, checked.terms, checked.reach, company=company)
        return f"({match}) m CROSS JOIN {entity} e ON e.seq = m.seq", params, None, False
    few = {i: n for i, n in (sizes or {}).items() if n <= LEAD_MAX}
    if few:
        rule, lead, params = _custom_lead(checked, few, ctx)
        return f"{lead} d CROSS JOIN {entity} e ON e.id = d.id", params, rule, False
    created = [(r.field, r.op, r.value) for r in checked.rules if r.field.name == "createdAt"]
    for rule in checked.rules:
        indexed = rule.field.kind.source(rule.field, rule.op, rule.value, ctx)
        if indexed is not None:
            assigned = created and rule.field.relation is not None and rule.field.relation.other == "user"
            if assigned:
                indexed = fl.assigned_source(entity, rule.value, created, ctx)
            join = f"({indexed.sql}) d CROSS JOIN {entity} e ON e.{indexed.column} = d.{indexed.column}"
            return join, indexed.params, rule if indexed.exact else None, bool(assigned)
    if not principal.reads_all(PLURAL[entity]):
        if created:
            own = fl.assigned_source(entity, [principal.user_id], created, ctx)
            return f"({own.sql}) d CROSS JOIN {entity} e ON e.id = d.id", own.params, None, True
        own_sql = f"(SELECT left_id AS id FROM link_{entity}_user WHERE right_id = ?) d"
        return f"{own_sql} CROSS JOIN {entity} e ON e.id = d.id", [principal.user_id], None, False
    return f"{entity} e", [], None, False


def build(
    principal: Principal, query: Query, checked: Checked, now: datetime, sizes: dict[int, int] | None = None
) -> Plan:
    """`sizes`: matches per narrowing custom rule (`custom_sizes`), so the narrowest can lead or count."""
    ctx = fl.Scope(principal, now)
    source, params, covered, exact = _lead(principal, query.entity, checked, ctx, sizes)
    led = source != f"{query.entity} e"
    custom = checked.order.name if checked.order is not None and checked.order.custom else None
    if custom and led:  # few candidates: join their values and sort them
        source += " LEFT JOIN custom_value s ON s.record_id = e.id AND s.column_id = ?"
        params = [*params, custom]
    scope, scope_params = scope_sql(principal, query.entity, "e")
    where, params = [scope], [*params, *scope_params]
    for rule in checked.rules:
        if rule is not covered:
            sql, rule_params = rule.field.kind.sql(rule.field, rule.op, rule.value, ctx)
            where.append(f"({sql})")
            params += rule_params
    order, order_params = _order(checked, led)
    ranked = _ranked(principal, query.entity, checked)
    searched = (f"SELECT count(*) FROM ({ranked.match})", ranked.params) if ranked else None
    return Plan(
        query.entity, source, " AND ".join(where), order, params, order_params, checked.sort,
        query.page, query.page_size, led=led, windowed=led and not exact, custom_sort=None if led else custom,
        count=_custom_count(principal, query.entity, checked, sizes or {}, ctx)
        or _live_count(principal, query.entity, checked) or searched,
        ranked=ranked if checked.order is None and not checked.reach else None,
    )  # fmt: skip


def _moment(now: datetime | str | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    if isinstance(now, str):
        return datetime.fromisoformat(now.replace("Z", "+00:00"))
    return now


def plan_query(
    conn: sqlite3.Connection,
    principal: Principal,
    query: Query,
    *,
    now: datetime | str | None = None,
    stored: bool = False,
    paths: Paths = TOOL_PATHS,
) -> Plan:
    """Check, resolve and build; raises `invalid_input` or `not_found` before any record is read."""
    run_deferred(conn)  # a call of a write group reads the search rows its group's earlier calls left
    checked = check(principal, query, paths, load_columns(conn, principal.company_id, query.entity), stored)
    rules = resolve(conn, principal, checked.rules, paths, stored)
    span = search_span(conn, principal.company_id) if checked.terms.tokens else None
    reach = reaching(conn, query.entity, checked.terms, span) if span else ()
    checked = Checked(rules, checked.terms, checked.sort, checked.order, reach, span)
    moment = _moment(now)
    return build(principal, query, checked, moment, custom_sizes(conn, principal, checked, moment))


# ---- running -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Result:
    items: list[EntityRef]
    total: int
    page: int
    page_size: int
    sort: SortDescriptor

    @property
    def ids(self) -> list[str]:
        return [item.id for item in self.items]

    @property
    def total_pages(self) -> int:
        return total_pages(self.total, self.page_size)


def fetch_custom(conn: sqlite3.Connection, plan: Plan) -> list[tuple]:
    """A page sorted by a custom column: records with a value from the column's index, then the rest.

    Both parts walk an index in order and stop at the page, so no sort runs over all records.
    """
    name, column = NAME_SQL[plan.entity], plan.custom_sort
    rows = conn.execute(*plan.custom_page_sql()).fetchall()
    if len(rows) == plan.page_size:
        return rows
    if rows:
        valued = plan.offset + len(rows)
    else:
        count = f"SELECT count(*) FROM custom_value s CROSS JOIN {plan.entity} e ON e.id = s.record_id"
        valued = conn.execute(
            f"{count} WHERE s.column_id = ? AND {plan.where}", [column, *plan.params]
        ).fetchone()[0]
    way = "DESC" if plan.sort.direction == "desc" else "ASC"
    without = (
        f"SELECT e.id, {name} FROM {plan.entity} e WHERE {plan.where} AND NOT EXISTS"
        f" (SELECT 1 FROM custom_value s WHERE s.record_id = e.id AND s.column_id = ?) ORDER BY e.id {way} LIMIT ? OFFSET ?"
    )
    more = [*plan.params, column, plan.page_size - len(rows), max(0, plan.offset - valued)]
    return rows + conn.execute(without, more).fetchall()


WALK_GAIN = 10  # a walked index entry costs about a tenth of a match looked up (1M: 0.2 vs 1-5 µs)
WALK_SPAN = 8  # a walk reads at most this many times the entries the sampled share needs ...
WALK_MAX = 40_000  # ... and never more than this
SAMPLE = 64


def fetch_ranked(conn: sqlite3.Connection, plan: Plan, ranked: Ranked) -> Result:
    """A page by relevance (tier, name_key, id) and the total, from one read of the matches.

    Tiers 0 and 1 (the name equals or starts with the phrase) are one range of the company's name
    index, read against the match set. When they do not fill the page, a spread sample tells the
    share of matches holding every word in their name: if walking the name index in order to the
    page's tier-2 matches reads fewer entries than WALK_GAIN times the matches, it is walked
    (`_walk`); otherwise, or when the walk proves nothing, every match is looked up and sorted.
    When only a few known records can rank by name (`Ranked.named`), tiers 0-2 are those, read in
    full, and the walk looks for tier 3.
    """
    # One JSON array of the seqs, built by SQLite: the set every later statement probes.
    read = f"SELECT count(*), json_group_array(seq) FROM ({ranked.match})"
    total, seqs = conn.execute(read, ranked.params).fetchone()
    need = plan.offset + plan.page_size
    if plan.offset >= total:  # a page past the last match: nothing to rank
        return Result([], total, plan.page, plan.page_size, plan.sort)
    if ranked.named is not None:
        rows = _named_few(conn, plan.entity, ranked, ranked.named, seqs)[:need]
    else:
        rows = _named_first(conn, plan.entity, ranked, seqs, need)
    if len(rows) < min(need, total):
        walked = _walk(
            conn,
            plan.entity,
            ranked,
            seqs,
            total,
            need,
            rows,
            _entries(conn, plan, ranked, seqs, total, need, rows),
        )
        rows = walked if walked is not None else _joined(conn, plan.entity, ranked, seqs, need)
    page = rows[plan.offset : need]
    names = dict(conn.execute(*plan.names_sql([seq for seq, _ in page]))) if page else {}
    items = [EntityRef(ident, names[seq]) for seq, ident in page]
    return Result(items, total, plan.page, plan.page_size, plan.sort)


def _entries(
    conn: sqlite3.Connection, plan: Plan, ranked: Ranked, seqs: str, total: int, need: int, first: list[tuple]
) -> float:
    """The name-index entries a walk is expected to read to the page's next tier."""
    size = conn.execute(LIVE_COUNT, [ranked.company_id, plan.entity]).fetchone()[0]
    if ranked.named is not None:  # every match outside `first` is tier 3
        return (need - len(first)) * size / max(1, total - len(first))
    share = _named_share(conn, plan.entity, ranked, seqs, total)
    return (need - len(first)) * size / (total * share) if share else math.inf


_MEMBER = "seq IN (SELECT value FROM json_each(?))"


def _index(entity: str) -> str:
    return f"{entity} INDEXED BY {entity}_company_name WHERE company_id = ?"


def _joined(conn: sqlite3.Connection, entity: str, ranked: Ranked, seqs: str, need: int) -> list[tuple]:
    tier, params = tier_sql(ranked.terms)
    sql = (
        f"SELECT e.seq, e.id FROM json_each(?) m CROSS JOIN {entity} e ON e.seq = m.value"
        f" ORDER BY {tier}, e.name_key, e.id LIMIT ?"
    )
    return conn.execute(sql, [seqs, *params, need]).fetchall()


def _named_first(conn: sqlite3.Connection, entity: str, ranked: Ranked, seqs: str, need: int) -> list[tuple]:
    """Tiers 0 and 1 in order: the matches among the names starting with the phrase (one range)."""
    sql = (
        f"SELECT seq, id FROM {_index(entity)} AND name_key >= ? AND name_key < ? || CAST(x'ff' AS TEXT)"
        f" AND {_MEMBER} ORDER BY name_key, id LIMIT ?"
    )
    phrase = ranked.terms.phrase
    return conn.execute(sql, [ranked.company_id, phrase, phrase, seqs, need]).fetchall()


def _named_few(
    conn: sqlite3.Connection, entity: str, ranked: Ranked, named: tuple[str, list[Any]], seqs: str
) -> list[tuple]:
    """Tiers 0-2 in order, when only the records of `named` can rank by name: its matches, sorted."""
    tier, params = tier_sql(ranked.terms)
    sql = (
        f"SELECT seq, id FROM (SELECT e.seq, e.id, {tier} AS tier, e.name_key FROM ({named[0]}) n"
        f" CROSS JOIN {entity} e ON e.seq = n.seq WHERE +n.{_MEMBER}) WHERE tier < 3 ORDER BY tier, name_key, id"
    )
    return conn.execute(sql, [*params, *named[1], seqs]).fetchall()


def _named_share(conn: sqlite3.Connection, entity: str, ranked: Ranked, seqs: str, total: int) -> float:
    """The share of matches holding every word in their name (tiers 0-2), from a spread sample."""
    tier, params = tier_sql(ranked.terms)
    sample = f"SELECT value FROM json_each(?) WHERE key % ? = 0 LIMIT {SAMPLE}"
    sql = f"SELECT count(*), sum({tier} < 3) FROM ({sample}) m CROSS JOIN {entity} e ON e.seq = m.value"
    size, named = conn.execute(sql, [*params, seqs, max(1, total // SAMPLE)]).fetchone()
    return (named or 0) / max(1, size)


def _walk(
    conn: sqlite3.Connection,
    entity: str,
    ranked: Ranked,
    seqs: str,
    total: int,
    need: int,
    first: list[tuple],
    entries: float,
) -> list[tuple] | None:
    """The first `need` matches by relevance, after every match of a lower tier (`first`: tiers 0-1,
    or 0-2 with `Ranked.named`), from the name index walked in order; None when the walk would cost
    more than the lookups or proves nothing.

    It stops as soon as it holds enough matches of the next tier (any further one sorts after them), having
    read at most WALK_SPAN times the `entries` expected for them (within WALK_MAX); it proves the
    page too when it met every match.
    """
    if entries > WALK_GAIN * total:
        return None
    span = min(WALK_MAX, int(WALK_SPAN * entries) + WALK_SPAN * need)
    rest = need - len(first)
    tier, params = tier_sql(ranked.terms, "name_key")
    walk = conn.execute(
        f"SELECT seq, id, name_key, {tier} FROM (SELECT seq, id, name_key FROM {_index(entity)}"
        f" ORDER BY name_key, id LIMIT ?) WHERE {_MEMBER}",
        [*params, ranked.company_id, span, seqs],
    )
    seek = 2 if ranked.named is None else 3
    tiers: dict[int, list[tuple]] = {t: [] for t in range(seek, 4)}
    met, last = 0, None
    with closing(walk):
        for seq, ident, key, t in walk:
            if last is not None and (key, ident) < last:
                return None  # not in index order: no proof
            met, last = met + 1, (key, ident)
            if t >= seek:
                tiers[t].append((seq, ident))
                if len(tiers[seek]) == rest:
                    return first + tiers[seek]
    if met == total:  # the walk met every match
        return first + [row for t in sorted(tiers) for row in tiers[t]][:rest]
    return None


def fetch(conn: sqlite3.Connection, plan: Plan) -> Result:
    """One page and the exact total; the count is skipped when the page itself proves the total."""
    if plan.ranked is not None:
        return fetch_ranked(conn, plan, plan.ranked)
    rows = fetch_custom(conn, plan) if plan.custom_sort else conn.execute(*plan.page_sql()).fetchall()
    if plan.led:
        names = {r[0]: r[1] for r in conn.execute(*plan.names_sql([row[0] for row in rows]))} if rows else {}
        items = [EntityRef(row[1], names[row[0]]) for row in rows]
    else:
        items = [EntityRef(row[0], row[1]) for row in rows]
    if rows and plan.windowed:
        total = rows[0][2]
    elif 0 < len(items) < plan.page_size or (not items and plan.page == 1):
        total = plan.offset + len(items)
    else:
        total = conn.execute(*plan.count_sql()).fetchone()[0]
    return Result(items, total, plan.page, plan.page_size, plan.sort)


def run_query(
    conn: sqlite3.Connection,
    principal: Principal,
    query: Query,
    *,
    now: datetime | str | None = None,
    stored: bool = False,
    paths: Paths = TOOL_PATHS,
) -> Result:
    """A page of `{id, name}` refs and the total, as filter_entity returns them."""
    return fetch(conn, plan_query(conn, principal, query, now=now, stored=stored, paths=paths))


def count_query(
    conn: sqlite3.Connection,
    principal: Principal,
    query: Query,
    *,
    now: datetime | str | None = None,
    stored: bool = False,
    paths: Paths = TOOL_PATHS,
) -> int:
    """The exact number of matching records (the sort and the page are ignored)."""
    plan = plan_query(conn, principal, query, now=now, stored=stored, paths=paths)
    return conn.execute(*plan.count_sql()).fetchone()[0]
