"""Link rows planned and applied set-wise, and the deal totals that depend on them (docs/data-model.md).

A call first plans every link it will add, remove or re-quantify (`LinkChanges`), so the records on
both ends are known before anything is written; then `apply` writes them, one statement per table
and verb (an insert: `rows.insert_rows`).
"""

from __future__ import annotations

import json
import sqlite3
from collections import defaultdict
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from customermates.crm.loading import QUANTITY, TABLE, relation_columns
from customermates.crm.model import PLURAL, SCALE, Relation
from customermates.errors import Issue, ToolError
from customermates.store.rows import insert_rows

DEAL_SERVICE = "link_deal_service"
ONE = SCALE  # quantity 1 in units
MAX_TOTAL = 9 * 10**14 * SCALE  # docs/data-model.md: no total may pass 9 × 10^14


def oriented(rel: Relation, own: str, other: str) -> tuple[str, str]:
    """(left_id, right_id) of the link between `own` (a record of rel.entity) and `other`."""
    return (own, other) if rel.own_col == "left_id" else (other, own)


class LinkChanges:
    """Links to add, remove and re-quantify, per link table, in (left_id, right_id) form."""

    def __init__(self) -> None:
        self.added: dict[str, dict[tuple[str, str], int]] = defaultdict(dict)
        self.removed: dict[str, set[tuple[str, str]]] = defaultdict(set)
        self.requantified: dict[str, dict[tuple[str, str], int]] = defaultdict(dict)
        # (type, id, relation name, other id) of both ends of every changed link, first touch first
        self.sides: list[tuple[str, str, str, str]] = []

    @property
    def ends(self) -> list[tuple[str, str]]:
        """(type, id) of records whose links change, first touch first."""
        return [(entity, own) for entity, own, _, _ in self.sides]

    def _touch(self, rel: Relation, own: str, other: str) -> None:
        self.sides.append((rel.entity, own, rel.name, other))
        if rel.other != "user":  # users carry no relation arrays
            self.sides.append((rel.other, other, PLURAL[rel.entity], own))

    def add(self, rel: Relation, own: str, other: str, quantity: int = ONE) -> None:
        self.added[rel.table][oriented(rel, own, other)] = quantity
        self._touch(rel, own, other)

    def remove(self, rel: Relation, own: str, other: str) -> None:
        self.removed[rel.table].add(oriented(rel, own, other))
        self._touch(rel, own, other)

    def requantify(self, rel: Relation, own: str, other: str, quantity: int) -> None:
        self.requantified[rel.table][oriented(rel, own, other)] = quantity
        self._touch(rel, own, other)

    def deals_with_new_terms(self) -> set[str]:
        """Deals whose service links change: their totals need recomputing."""
        pairs = (
            set(self.added.get(DEAL_SERVICE, ()))
            | self.removed.get(DEAL_SERVICE, set())
            | set(self.requantified.get(DEAL_SERVICE, ()))
        )
        return {left for left, _ in pairs}

    def apply(self, conn: sqlite3.Connection) -> None:
        for table, pairs in self.removed.items():
            conn.executemany(f"DELETE FROM {table} WHERE left_id = ? AND right_id = ?", pairs)
        for table, rows in self.added.items():  # one statement a table: each link table has a trigger
            if table == DEAL_SERVICE:
                insert_rows(
                    conn,
                    f"INSERT INTO {table} (left_id, right_id, quantity)",
                    [(left, right, q) for (left, right), q in rows.items()],
                )
            else:
                insert_rows(conn, f"INSERT INTO {table} (left_id, right_id)", list(rows))
        for table, rows in self.requantified.items():
            conn.executemany(
                f"UPDATE {table} SET quantity = ? WHERE left_id = ? AND right_id = ?",
                [(q, left, right) for (left, right), q in rows.items()],
            )


def current_links(
    conn: sqlite3.Connection, rel: Relation, owners: list[str]
) -> dict[str, dict[str, int | None]]:
    """Every link of `owners` through `rel`: owner -> {other id: quantity (deal–service) or None}."""
    out: dict[str, dict[str, int | None]] = {o: {} for o in owners}
    if not owners:
        return out
    quantity = "quantity" if rel.table == DEAL_SERVICE else "NULL"
    rows = conn.execute(
        f"SELECT {rel.own_col}, {rel.other_col}, {quantity} FROM {rel.table}"
        f" WHERE {rel.own_col} IN (SELECT value FROM json_each(?))",
        (json.dumps(owners),),
    )
    for own, other, q in rows:
        out[own][other] = q
    return out


def linked_ids(conn: sqlite3.Connection, rel: Relation, owners: list[str] | set[str]) -> list[str]:
    """The distinct other ends of `owners` through `rel`, in first-seen order."""
    if not owners:
        return []
    rows = conn.execute(
        f"SELECT DISTINCT {rel.other_col} FROM {rel.table} WHERE {rel.own_col} IN (SELECT value FROM json_each(?))",
        (json.dumps(list(owners)),),
    )
    return [r[0] for r in rows]


PAIR_SEEKS = 400  # above this many (other end, owner) pairs, `elements` reads each other end's links


def elements(
    conn: sqlite3.Connection, company_id: str, rel: Relation, owners: list[str], others: set[str] | None
) -> list[tuple[str, dict[str, Any]]]:
    """(owner, element) of the `rel` array of each owner, in array order, as `loading` shapes it:
    every element (`others` None: the owners' arrays are short, e.g. new records), or only those
    pointing at `others` (looked up from them: an owner's whole array may be long)."""
    columns = relation_columns(rel)
    select = ", ".join(("l." if c is QUANTITY else "o.") + c[1] for c in columns)
    if others is None:
        start, match, params = rel.own_col, "1", [json.dumps(owners)]
    else:
        # Few pairs: one seek per (other end, owner). Many (100 new contacts, each linked to one of
        # 100 organizations: 10,000 seeks, 4 ms): each other end's links once, owners as a set.
        many = "+" if len(others) * len(owners) > PAIR_SEEKS else ""
        start, match = rel.other_col, f"{many}l.{rel.own_col} IN (SELECT value FROM json_each(?))"
        params = [json.dumps(list(others)), json.dumps(owners)]
    rows = conn.execute(
        f"SELECT l.{rel.own_col}, {select} FROM json_each(?) j"
        f" CROSS JOIN {rel.table} l ON l.{start} = j.value"
        f" CROSS JOIN {TABLE[rel.other]} o ON o.id = l.{rel.other_col}"
        f" WHERE {match} AND o.company_id = ? ORDER BY l.{rel.own_col}, o.name_key, o.id",
        [*params, company_id],
    )
    keys = [c[0] for c in columns]
    converters = [(i, c[2]) for i, c in enumerate(columns) if c[2] is not None]
    out = []
    for owner, *values in rows:
        for i, convert in converters:
            values[i] = convert(values[i])
        out.append((owner, dict(zip(keys, values, strict=True))))
    return out


def _round_units(product_sum: int) -> int:
    """Σ amount×quantity is in units²; one half-to-even rounding back to units per total."""
    return int((Decimal(product_sum) / SCALE).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def recompute_totals(conn: sqlite3.Connection, deal_ids: set[str], names: dict[str, str]) -> None:
    """Rewrite totalValue/totalQuantity of `deal_ids` from their services; refuse totals past the limit."""
    if not deal_ids:
        return
    products: dict[str, int] = dict.fromkeys(deal_ids, 0)
    quantities: dict[str, int] = dict.fromkeys(deal_ids, 0)
    rows = conn.execute(
        "SELECT l.left_id, s.amount, l.quantity FROM json_each(?) j"
        " CROSS JOIN link_deal_service l ON l.left_id = j.value CROSS JOIN service s ON s.id = l.right_id",
        (json.dumps(list(deal_ids)),),
    )
    for deal_id, amount, quantity in rows:
        products[deal_id] += amount * quantity  # Python ints: exact, no overflow
        quantities[deal_id] += quantity
    totals = {d: (_round_units(products[d]), quantities[d]) for d in deal_ids}
    too_big = [d for d, (value, quantity) in totals.items() if value > MAX_TOTAL or quantity > MAX_TOTAL]
    if too_big:
        raise ToolError(
            "invalid_input",
            "A deal total would pass 900,000,000,000,000; nothing was written.",
            [
                Issue(
                    "$",
                    f"deal {names.get(d, '')!r} ({d}) would total more than 9 × 10^14",
                    "Lower the quantities or amounts, or split the deal.",
                )
                for d in too_big
            ],
        )
    conn.executemany(
        "UPDATE deal SET total_value = ?, total_quantity = ? WHERE id = ?",
        [(value, quantity, d) for d, (value, quantity) in totals.items()],
    )
