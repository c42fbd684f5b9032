"""A widget's chart points, computed on read by SQL aggregation (docs/widgets.md, "Computed data").

    E  the widget's records the reader can read that match entityFilters   (the query engine's plan)
    D  the deals the reader can read that match dealFilters                 (deal aggregations only)
    group of a record: none -> the total · customColumn -> its option · per-record -> the record

One aggregate statement per widget (plus the query engine's look-up of relation ids in filters),
whatever the number of records: GROUP BY over the link indexes, the 100 largest records and the
rest summed with window functions. Python only shapes the at most ~100 rows that come back.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import TYPE_CHECKING, Any

from customermates.crm import queries as q
from customermates.crm.model import PLURAL, SCALE, from_units
from customermates.crm.widget_rules import Option

if TYPE_CHECKING:
    from customermates.auth import Principal

TOTAL, EMPTY, OTHER = "__total__", "__empty__", "__other__"
TOP = 100


class Unavailable(Exception):
    """`data` cannot be computed for this reader; the message becomes `dataError`."""


@dataclass(frozen=True)
class Spec:
    entity: str
    aggregation: str
    group_by: str
    column_id: str | None
    options: Sequence[Option]
    entity_filters: Sequence[q.FilterRule]
    deal_filters: Sequence[q.FilterRule]


@dataclass(frozen=True)
class Point:
    key: str
    label: str
    value: int | float
    color: str | None = None


# ---- measures: SQL aggregates and how their sums become one JSON number ------------------------------


@dataclass(frozen=True)
class Measure:
    """`parts` are SQL sums over the row set; `value` turns their totals into the point's number.

    Service amounts times link quantities are in 1/10^8 units and may pass 2^63 per link, so the
    amount is split into whole units and the rest: both partial products stay in range, and Python
    joins them exactly and rounds once, half to even.
    """

    parts: tuple[str, ...]
    order: str  # one SQL number per group for ordering (exactness not needed)
    value: Callable[[Sequence[int]], int | float]


def _fine(parts: Sequence[int]) -> int | float:
    hi, lo = parts
    exact = Decimal(hi * SCALE + lo) / SCALE
    return from_units(int(exact.quantize(Decimal(1), rounding=ROUND_HALF_EVEN)))


COUNT = Measure(("count(*)",), "count(*)", lambda p: p[0])
DEAL_VALUE = Measure(("sum(dl.total_value)",), "sum(dl.total_value)", lambda p: from_units(p[0]))
OWN_VALUE = Measure(("sum(x.total_value)",), "sum(x.total_value)", lambda p: from_units(p[0]))
SERVICE_VALUE = Measure(
    ("sum((x.amount / 10000) * lk.quantity)", "sum((x.amount % 10000) * lk.quantity)"),
    "sum(x.amount * 1.0 * lk.quantity)",
    _fine,
)
SERVICE_QUANTITY = Measure(("sum(lk.quantity)",), "sum(lk.quantity)", lambda p: from_units(p[0]))

# ---- the record sets ---------------------------------------------------------------------------------

_OWN_COLUMNS = {"deal": ", e.total_value", "service": ", e.amount"}


@dataclass(frozen=True)
class Sql:
    text: str
    params: list[Any]


def _records(conn: sqlite3.Connection, principal: Principal, entity: str, rules, now: str) -> Sql:
    """E (or D) as a sub-select `x` of id, label, sort key and the amounts the measures read."""
    plan = q.plan_query(conn, principal, q.Query(entity, filters=list(rules)), now=now, stored=True)
    columns = f"e.id, {q.NAME_SQL[entity]} AS label, e.name_key AS sort_key{_OWN_COLUMNS.get(entity, '')}"
    return Sql(f"SELECT {columns} FROM {plan.source} WHERE {plan.where}", plan.params)


def _deals(conn: sqlite3.Connection, principal: Principal, rules, now: str) -> Sql:
    """The condition on `dl` (a deal row) that keeps D."""
    if not rules and principal.reads_all("deals"):
        return Sql("dl.company_id = ?", [principal.company_id])
    plan = q.plan_query(conn, principal, q.Query("deal", filters=list(rules)), now=now, stored=True)
    return Sql(f"dl.id IN (SELECT e.id FROM {plan.source} WHERE {plan.where})", plan.params)


# Links from the widget's records to their deals: (table, record column, deal column).
_DEAL_LINKS = {
    "contact": ("link_contact_deal", "left_id", "right_id"),
    "organization": ("link_organization_deal", "left_id", "right_id"),
    "service": ("link_deal_service", "right_id", "left_id"),
}
_OPTION_JOIN = "LEFT JOIN custom_value cv ON cv.record_id = x.id AND cv.column_id = ?"


# ---- statements per aggregation ----------------------------------------------------------------------


@dataclass(frozen=True)
class Statement:
    """`FROM … WHERE …` over the groups' rows, with `key` naming a row's group."""

    source: str
    params: list[Any]
    measure: Measure
    distinct_deals: bool = False  # per group, each deal once (contact/organization deal values)


def _statement(spec: Spec, records: Sql, deals: Sql | None) -> Statement:
    grouped = spec.group_by == "customColumn"
    join, join_params = (_OPTION_JOIN, [spec.column_id]) if grouped else ("", [])
    base = f"({records.text}) x {join}"
    params = [*records.params, *join_params]
    if spec.aggregation == "count":
        return Statement(base, params, COUNT)
    if spec.entity == "deal":
        return Statement(base, params, OWN_VALUE)
    assert deals is not None
    table, own, deal = _DEAL_LINKS[spec.entity]
    # CROSS JOIN fixes the order, records -> their links -> deals: without statistics SQLite may
    # otherwise walk every deal of the company for every record.
    source = (
        f"{base} CROSS JOIN {table} lk ON lk.{own} = x.id CROSS JOIN deal dl ON dl.id = lk.{deal}"
        f" WHERE {deals.text}"
    )
    if spec.entity == "service":
        measure = SERVICE_VALUE if spec.aggregation == "dealValue" else SERVICE_QUANTITY
        return Statement(source, [*params, *deals.params], measure)
    return Statement(
        source, [*params, *deals.params], DEAL_VALUE, distinct_deals=spec.group_by != spec.entity
    )


def _total(conn: sqlite3.Connection, st: Statement) -> list[Point]:
    if st.distinct_deals:
        # A deal linked to several records of E counts once.
        sql = f"SELECT sum(total_value) FROM deal WHERE id IN (SELECT dl.id FROM {st.source})"
    else:
        sql = f"SELECT {', '.join(st.measure.parts)} FROM {st.source}"
    row = conn.execute(sql, st.params).fetchone()
    return [Point(TOTAL, "Total", st.measure.value([v or 0 for v in row]))]


def _by_option(conn: sqlite3.Connection, st: Statement, options: Sequence[Option]) -> list[Point]:
    if st.distinct_deals:
        sql = (
            "SELECT g.key, sum(d.total_value) FROM (SELECT DISTINCT cv.value AS key, dl.id AS deal"
            f" FROM {st.source}) g JOIN deal d ON d.id = g.deal GROUP BY g.key"
        )
    else:
        sql = f"SELECT cv.value, {', '.join(st.measure.parts)} FROM {st.source} GROUP BY cv.value"
    sums = {row[0]: list(row[1:]) for row in conn.execute(sql, st.params)}
    known = {o.value for o in options}
    empty = [0] * len(st.measure.parts)
    for key in [k for k in sums if k not in known]:  # no value, or an option the column no longer has
        empty = [a + (b or 0) for a, b in zip(empty, sums.pop(key), strict=True)]
    points = [Point(o.value, o.label, st.measure.value([v or 0 for v in sums.get(o.value, [0])]), o.color)
              for o in options]  # fmt: skip
    if any(empty):
        points.append(Point(EMPTY, "No Group", st.measure.value(empty)))
    return points


def _by_record(conn: sqlite3.Connection, st: Statement) -> list[Point]:
    parts = st.measure.parts
    names = [f"m{i}" for i in range(len(parts))]
    inner = (
        f"SELECT x.id AS key, x.label AS label, x.sort_key AS sort_key, {st.measure.order} AS rank, "
        + ", ".join(f"{p} AS {n}" for p, n in zip(parts, names, strict=True))
        + f" FROM {st.source} GROUP BY x.id"
    )
    windows = ", ".join(f"sum({n}) OVER ()" for n in names)
    sql = (
        f"SELECT key, label, {', '.join(names)}, count(*) OVER (), {windows} FROM ({inner}) WHERE rank <> 0"
        f" ORDER BY rank DESC, sort_key, key LIMIT {TOP}"
    )
    rows = conn.execute(sql, st.params).fetchall()
    width = len(parts)
    points = [Point(r[0], r[1], st.measure.value(r[2 : 2 + width])) for r in rows]
    if rows and rows[0][2 + width] > TOP:
        totals = rows[0][3 + width :]
        rest = [t - sum(r[2 + i] for r in rows) for i, t in enumerate(totals)]
        points.append(Point(OTHER, "Other", st.measure.value(rest)))
    return points


def _ordered(points: list[Point]) -> list[Point]:
    """Value descending, ties by label (case-insensitive) then key; Other last."""
    other = [p for p in points if p.key == OTHER]
    rest = sorted((p for p in points if p.key != OTHER), key=lambda p: (-p.value, p.label.casefold(), p.key))
    return rest + other


def compute(conn: sqlite3.Connection, principal: Principal, spec: Spec, now: str) -> list[Point]:
    """The points for this reader; raises `Unavailable` when the reader's role cannot see the data."""
    resource = PLURAL[spec.entity]
    if not principal.reads(resource):
        raise Unavailable(f"data needs {resource}.readOwn or {resource}.readAll")
    sums_deals = spec.aggregation in ("dealValue", "dealQuantity")
    if sums_deals and not principal.reads("deals"):
        raise Unavailable("data needs deals.readOwn or deals.readAll")
    records = _records(conn, principal, spec.entity, spec.entity_filters, now)
    deals = _deals(conn, principal, spec.deal_filters, now) if sums_deals and spec.entity != "deal" else None
    st = _statement(spec, records, deals)
    if spec.group_by == "none":
        return _total(conn, st)
    if spec.group_by == "customColumn":
        return _ordered(_by_option(conn, st, spec.options))
    return _ordered(_by_record(conn, st))
