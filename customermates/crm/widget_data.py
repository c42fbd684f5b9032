"""A widget's chart points, computed on read by SQL aggregation (docs/widgets.md, "Computed data").

    E  the widget's records the reader can read that match entityFilters   (the query engine's plan)
    D  the deals the reader can read that match dealFilters                 (deal aggregations only)
    group of a record: none -> the total · customColumn -> its option · per-record -> the record

One aggregate statement per widget (plus the query engine's look-up of relation ids in filters),
whatever the number of records: GROUP BY over the link indexes, the 100 largest records and the
rest summed with window functions. Python only shapes the at most ~100 rows that come back.
Deal value by organization, unfiltered, for a reader who reads every organization and deal, comes
from the stored per-organization totals instead (`organization_totals`): the same points.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import TYPE_CHECKING, Any

from customermates.crm import organization_totals
from customermates.crm import queries as q
from customermates.crm.columns import Option
from customermates.crm.model import PLURAL, SCALE, from_units

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
    everything: bool = False  # no narrowing but the company: links from the company's records suffice


def _records(conn: sqlite3.Connection, principal: Principal, entity: str, rules, now: str) -> Sql:
    """E as a sub-select of id and the amounts the measures read."""
    plan = q.plan_query(conn, principal, q.Query(entity, filters=list(rules)), now=now, stored=True)
    everything = not rules and principal.reads_all(PLURAL[entity])
    return Sql(
        f"SELECT e.id{_OWN_COLUMNS.get(entity, '')} FROM {plan.source} WHERE {plan.where}",
        plan.params,
        everything,
    )


def _deals(conn: sqlite3.Connection, principal: Principal, rules, now: str) -> Sql:
    """The condition on `dl` (a deal row) that keeps D."""
    if not rules and principal.reads_all("deals"):
        return Sql("dl.company_id = ?", [principal.company_id], True)
    plan = q.plan_query(conn, principal, q.Query("deal", filters=list(rules)), now=now, stored=True)
    return Sql(f"dl.id IN (SELECT e.id FROM {plan.source} WHERE {plan.where})", plan.params)


@dataclass(frozen=True)
class Link:
    """Records of a type and their deals: `table`, the record's column, the deal's column."""

    table: str
    own: str
    deal: str


_DEAL_LINKS = {
    "contact": Link("link_contact_deal", "left_id", "right_id"),
    "organization": Link("link_organization_deal", "left_id", "right_id"),
    "service": Link("link_deal_service", "right_id", "left_id"),
}
_OPTION_JOIN = "LEFT JOIN custom_value cv ON cv.record_id = x.id AND cv.column_id = ?"

# ---- statements --------------------------------------------------------------------------------------
# Each builder returns (sql, params). CROSS JOIN fixes the join order: without statistics SQLite may
# otherwise walk every deal of the company once per record.


@dataclass(frozen=True)
class Sets:
    spec: Spec
    records: Sql
    deals: Sql | None
    company_id: str

    @property
    def link(self) -> Link:
        return _DEAL_LINKS[self.spec.entity]

    def in_records(self, column: str) -> tuple[str, list[Any]]:
        """` AND <column> IN E`, or nothing when E is every record of the company."""
        if self.records.everything:
            return "", []
        return f" AND {column} IN (SELECT id FROM ({self.records.text}))", list(self.records.params)

    def deal_links(self) -> tuple[Link, str, str, list[Any]]:
        """D over E's links: the link, D's condition on `dl`, ` AND lk.<own> IN E` or "", their params."""
        assert self.deals is not None
        link = self.link
        inside, params = self.in_records(f"lk.{link.own}")
        return link, self.deals.text, inside, [*self.deals.params, *params]

    def service_links(self, head: str, tail: str = "") -> tuple[str, list[Any]]:
        """`head` over E's services joined to their deal links in D (deal rows read only when D narrows)."""
        assert self.deals is not None
        sql = f"{head} CROSS JOIN link_deal_service lk ON lk.right_id = x.id"
        if self.deals.everything:  # a link's deal is in the service's company: every one is in D
            return sql + tail, []
        return (
            f"{sql} CROSS JOIN deal dl ON dl.id = lk.left_id WHERE {self.deals.text}{tail}",
            self.deals.params,
        )


def _measure(spec: Spec) -> Measure:
    if spec.aggregation == "count":
        return COUNT
    if spec.entity == "deal":
        return OWN_VALUE
    if spec.entity == "service":
        return SERVICE_VALUE if spec.aggregation == "dealValue" else SERVICE_QUANTITY
    return DEAL_VALUE


def _total_sql(sets: Sets, m: Measure) -> tuple[str, list[Any]]:
    spec, records = sets.spec, sets.records
    if m in (COUNT, OWN_VALUE):
        return f"SELECT {', '.join(m.parts)} FROM ({records.text}) x", records.params
    if spec.entity == "service":
        sql, params = sets.service_links(f"SELECT {', '.join(m.parts)} FROM ({records.text}) x")
        return sql, [*records.params, *params]
    # Each deal once, however many records of E it is linked to.
    link, deals, inside, params = sets.deal_links()
    sql = (
        f"SELECT {', '.join(m.parts)} FROM deal dl WHERE {deals} AND EXISTS"
        f" (SELECT 1 FROM {link.table} lk WHERE lk.{link.deal} = dl.id{inside})"
    )
    return sql, params


def _option_sql(sets: Sets, m: Measure) -> tuple[str, list[Any]]:
    spec, records = sets.spec, sets.records
    head = f"FROM ({records.text}) x {_OPTION_JOIN}"
    params = [*records.params, spec.column_id]
    if m in (COUNT, OWN_VALUE):
        return f"SELECT cv.value, {', '.join(m.parts)} {head} GROUP BY cv.value", params
    if spec.entity == "service":
        sql, more = sets.service_links(f"SELECT cv.value, {', '.join(m.parts)} {head}", " GROUP BY cv.value")
        return sql, [*params, *more]
    assert sets.deals is not None
    link = sets.link
    sql = (
        f"SELECT g.key, {', '.join(m.parts)} FROM (SELECT DISTINCT cv.value AS key, lk.{link.deal} AS deal {head}"
        f" CROSS JOIN {link.table} lk ON lk.{link.own} = x.id) g CROSS JOIN deal dl ON dl.id = g.deal"
        f" WHERE {sets.deals.text} GROUP BY g.key"
    )
    return sql, [*params, *sets.deals.params]


def _record_sql(sets: Sets, m: Measure) -> tuple[str, list[Any]]:
    """One row per record of E: `key`, the parts `m0…`, and `rank` to order by."""
    spec, records = sets.spec, sets.records
    columns = f"{m.order} AS rank, " + ", ".join(f"{p} AS m{i}" for i, p in enumerate(m.parts))
    if m is OWN_VALUE:
        return (
            f"SELECT x.id AS key, x.total_value AS rank, x.total_value AS m0 FROM ({records.text}) x",
            records.params,
        )
    if spec.entity == "service":
        sql, params = sets.service_links(
            f"SELECT x.id AS key, {columns} FROM ({records.text}) x", " GROUP BY x.id"
        )
        return sql, [*records.params, *params]
    # Deals lead, in id order through their company index; each probes its links.
    link, deals, inside, params = sets.deal_links()
    sql = (
        f"SELECT lk.{link.own} AS key, {columns} FROM deal dl CROSS JOIN {link.table} lk ON lk.{link.deal} = dl.id"
        f" WHERE {deals}{inside} GROUP BY lk.{link.own}"
    )
    return sql, params


# ---- points ------------------------------------------------------------------------------------------


def _total(conn: sqlite3.Connection, sets: Sets, m: Measure) -> list[Point]:
    row = conn.execute(*_total_sql(sets, m)).fetchone()
    return [Point(TOTAL, "Total", m.value([v or 0 for v in row]))]


def _by_option(conn: sqlite3.Connection, sets: Sets, m: Measure) -> list[Point]:
    sums = {row[0]: list(row[1:]) for row in conn.execute(*_option_sql(sets, m))}
    options = sets.spec.options
    known = {o.value for o in options}
    empty = [0] * len(m.parts)
    for key in [k for k in sums if k not in known]:  # no value, or an option the column no longer has
        empty = [a + (b or 0) for a, b in zip(empty, sums.pop(key), strict=True)]
    points = [Point(o.value, o.label, m.value([v or 0 for v in sums.get(o.value, [0] * len(m.parts))]), o.color)
              for o in options]  # fmt: skip
    if any(empty):
        points.append(Point(EMPTY, "No Group", m.value(empty)))
    return points


# From SQLite 3.35 a CTE can be computed once and read twice; before, the window sums do it.
_MATERIALIZED = sqlite3.sqlite_version_info >= (3, 35)


def _top_sql(inner: str, width: int) -> str:
    """The 100 largest groups as (key, 0, m…), and one row (NULL, count, Σm…) over every group."""
    names = ", ".join(f"m{i}" for i in range(width))
    sums = ", ".join(f"sum(m{i})" for i in range(width))
    if _MATERIALIZED:
        return (
            f"WITH g AS MATERIALIZED ({inner}) SELECT * FROM (SELECT key, 0, {names} FROM g WHERE rank <> 0"
            f" ORDER BY rank DESC, key LIMIT {TOP}) UNION ALL SELECT NULL, count(*), {sums} FROM g WHERE rank <> 0"
        )
    windows = ", ".join(f"sum(m{i}) OVER ()" for i in range(width))
    return (
        f"SELECT key, count(*) OVER (), {names}, {windows} FROM ({inner}) WHERE rank <> 0"
        f" ORDER BY rank DESC, key LIMIT {TOP}"
    )


Ranked = tuple[list[tuple], int, Sequence[int]]  # top rows (key, 0, m…), group count, Σ of each part


def _ranked(conn: sqlite3.Connection, sets: Sets, m: Measure) -> Ranked:
    """The 100 largest groups, how many groups are not 0, and the parts summed over all of them."""
    stored = _stored(conn, sets, m)
    if stored is not None:
        return stored
    inner, params = _record_sql(sets, m)
    width = len(m.parts)
    rows = conn.execute(_top_sql(inner, width), params).fetchall()
    if _MATERIALIZED:
        top = [r for r in rows if r[0] is not None]
        count, totals = next((r[1], r[2:]) for r in rows if r[0] is None)
        return top, count, totals
    top = [(r[0], 0, *r[2 : 2 + width]) for r in rows]
    return (top, rows[0][1], rows[0][2 + width :]) if rows else ([], 0, ())


def _stored(conn: sqlite3.Connection, sets: Sets, m: Measure) -> Ranked | None:
    """Deal value by organization from the stored per-organization totals, when they are the answer:
    no filters and a reader who reads every organization and deal (else None: compute from links)."""
    deals = sets.deals
    if not (m is DEAL_VALUE and sets.spec.entity == "organization" and sets.records.everything):
        return None
    if deals is None or not deals.everything:
        return None
    top = organization_totals.top(conn, sets.company_id, TOP)
    if top is None:
        return None
    count, total = organization_totals.summary(conn, sets.company_id)
    return [(key, 0, value) for key, value in top], count, (total,)


def _by_record(conn: sqlite3.Connection, sets: Sets, m: Measure) -> list[Point]:
    """The 100 largest records, then `Other` summing the rest."""
    top, count, totals = _ranked(conn, sets, m)
    labels = _labels(conn, sets.spec.entity, [r[0] for r in top])
    points = [Point(r[0], labels.get(r[0], ""), m.value(r[2:])) for r in top]
    if count > TOP:
        rest = [(t or 0) - sum(r[2 + i] for r in top) for i, t in enumerate(totals)]
        points.append(Point(OTHER, "Other", m.value(rest)))
    return points


def _labels(conn: sqlite3.Connection, entity: str, ids: list[str]) -> dict[str, str]:
    """Names of the at most 100 records shown (one look-up by id)."""
    if not ids:
        return {}
    rows = conn.execute(
        f"SELECT e.id, {q.NAME_SQL[entity]} FROM json_each(?) j CROSS JOIN {entity} e ON e.id = j.value",
        (json.dumps(ids),),
    )
    return dict(rows.fetchall())


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
    sets, measure = Sets(spec, records, deals, principal.company_id), _measure(spec)
    if spec.group_by == "none":
        return _total(conn, sets, measure)
    if spec.group_by == "customColumn":
        return _ordered(_by_option(conn, sets, measure))
    return _ordered(_by_record(conn, sets, measure))
