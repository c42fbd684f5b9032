"""Each organization's stored deal value: Σ totalValue of its linked deals (docs/widgets.md, "Stored totals").

Every write call ends in `Changeset.finish`, which knows each record whose links or own fields it
changed. An organization's deal value can only move when one of its deals is among them: the
deal's total changed, or its links did (a deal link changed or deleted touches both its ends, so an
organization that lost the link is among them too). `refresh` recomputes the touched organizations
and those linked to the touched deals, from their links, in one statement, inside the call's
transaction: a failed call writes nothing. A call that touches no deal changes no value.

The value is NULL when the sum might pass a 64-bit integer; readers then compute from the links.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable

# Σ total_value in one pass without a 64-bit overflow (an overflowing sum() is an error, which would
# fail the write): the high and low 32 bits of each deal total (≥ 0) are summed apart and joined only
# when the result fits; otherwise the value is NULL and readers compute from the links.
_LINKED = (
    "FROM link_organization_deal l CROSS JOIN deal d ON d.id = l.right_id WHERE l.left_id = organization.id"
)
_HIGH, _LOW = "sum(d.total_value >> 32)", "sum(d.total_value & 4294967295)"
VALUE_SQL = (
    f"(SELECT CASE WHEN count(*) = 0 THEN 0"
    f" WHEN min(d.total_value) >= 0 AND {_HIGH} < 2147483000 AND {_LOW} < 1099511627776"
    f" THEN {_HIGH} * 4294967296 + {_LOW} END {_LINKED})"
)


def refresh(conn: sqlite3.Connection, keys: Iterable[tuple[str, str]]) -> None:
    """Recompute the organizations among `keys` ((type, id) pairs) and those linked to its deals."""
    orgs, deals = [], []
    for entity, record_id in keys:
        if entity == "organization":
            orgs.append(record_id)
        elif entity == "deal":
            deals.append(record_id)
    if not deals:  # a value moves only with a deal: its total, or its links (then the deal is touched too)
        return
    conn.execute(
        f"UPDATE organization SET deal_value = {VALUE_SQL} WHERE id IN (SELECT value FROM json_each(?)"
        " UNION SELECT l.left_id FROM json_each(?) j CROSS JOIN link_organization_deal l ON l.right_id = j.value)",
        (json.dumps(orgs), json.dumps(deals)),
    )


def refresh_company(conn: sqlite3.Connection, company_id: str) -> None:
    """Recompute every organization of a company (data loaded around the write path, e.g. benchmarks)."""
    conn.execute(f"UPDATE organization SET deal_value = {VALUE_SQL} WHERE company_id = ?", (company_id,))


def top(conn: sqlite3.Connection, company_id: str, limit: int) -> list[tuple[str, int]] | None:
    """The `limit` largest non-zero values as (organization id, units), by value then id; None when any
    organization's value is not stored (too large), so the caller computes from the links instead."""
    if conn.execute(
        "SELECT 1 FROM organization WHERE company_id = ? AND deal_value IS NULL LIMIT 1", (company_id,)
    ).fetchone():
        return None
    return conn.execute(
        "SELECT id, deal_value FROM organization WHERE company_id = ? AND deal_value <> 0"
        " ORDER BY deal_value DESC, id LIMIT ?",
        (company_id, limit),
    ).fetchall()


def summary(conn: sqlite3.Connection, company_id: str) -> tuple[int, int]:
    """(organizations with a non-zero value, Σ of their values)."""
    count, total = conn.execute(
        "SELECT count(*), sum(deal_value) FROM organization WHERE company_id = ? AND deal_value <> 0",
        (company_id,),
    ).fetchone()
    return count, total or 0
