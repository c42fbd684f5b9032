"""Widget rows: reading, writing, and forgetting a deleted custom column (docs/widgets.md)."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any

_COLUMNS = (
    "id, owner_id, name, entity_type, entity_filters, deal_filters, group_by_type, group_by_column_id,"
    " aggregation_type, display_options, created_at, updated_at"
)


@dataclass
class Row:
    """One stored widget, JSON columns decoded."""

    id: str
    owner_id: str
    name: str
    entity_type: str
    entity_filters: list[dict[str, Any]]
    deal_filters: list[dict[str, Any]]
    group_by_type: str
    group_by_column_id: str | None
    aggregation_type: str
    display_options: dict[str, Any]
    created_at: str
    updated_at: str


def _row(raw: sqlite3.Row | tuple) -> Row:
    values = list(raw)
    for i in (4, 5, 9):
        values[i] = json.loads(values[i])
    return Row(*values)


def load(conn: sqlite3.Connection, company_id: str, ids: list[str]) -> dict[str, Row]:
    """The company's widgets among `ids` (any owner): one query."""
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM widget WHERE company_id = ? AND id IN (SELECT value FROM json_each(?))",
        (company_id, json.dumps(ids)),
    ).fetchall()
    return {r[0]: _row(r) for r in rows}


def owner_name(conn: sqlite3.Connection, user_id: str) -> str:
    row = conn.execute(
        "SELECT first_name, last_name, email FROM app_user WHERE id = ?", (user_id,)
    ).fetchone()
    return f"{f'{row[0]} {row[1]}'.strip()} <{row[2]}> ({user_id})" if row else user_id


def _values(row: Row) -> tuple:
    return (
        row.name,
        row.name.casefold(),
        json.dumps(row.entity_filters),
        json.dumps(row.deal_filters),
        row.group_by_type,
        row.group_by_column_id,
        row.aggregation_type,
        json.dumps(row.display_options),
        row.updated_at,
    )


def insert(conn: sqlite3.Connection, company_id: str, row: Row) -> None:
    conn.execute(
        "INSERT INTO widget (name, name_key, entity_filters, deal_filters, group_by_type, group_by_column_id,"
        " aggregation_type, display_options, updated_at, id, company_id, owner_id, entity_type, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (*_values(row), row.id, company_id, row.owner_id, row.entity_type, row.created_at),
    )


def update(conn: sqlite3.Connection, company_id: str, row: Row) -> None:
    conn.execute(
        "UPDATE widget SET name = ?, name_key = ?, entity_filters = ?, deal_filters = ?, group_by_type = ?,"
        " group_by_column_id = ?, aggregation_type = ?, display_options = ?, updated_at = ?"
        " WHERE company_id = ? AND id = ?",
        (*_values(row), company_id, row.id),
    )


def delete(conn: sqlite3.Connection, company_id: str, widget_id: str) -> None:
    conn.execute("DELETE FROM widget WHERE company_id = ? AND id = ?", (company_id, widget_id))


def page(
    conn: sqlite3.Connection, company_id: str, owner_id: str, term: str, size: int, offset: int
) -> tuple[list[Row], int]:
    """The owner's widgets, newest first, whose name holds every word of `term` (case-insensitive)."""
    where, params = ["company_id = ?", "owner_id = ?"], [company_id, owner_id]
    for token in dict.fromkeys(term.casefold().split()):
        where.append("instr(name_key, ?) > 0")
        params.append(token)
    clause = " AND ".join(where)
    total = conn.execute(f"SELECT count(*) FROM widget WHERE {clause}", params).fetchone()[0]
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM widget WHERE {clause} ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?",
        [*params, size, offset],
    ).fetchall()
    return [_row(r) for r in rows], total


def forget_column(
    conn: sqlite3.Connection, company_id: str, column_id: str, now: str
) -> tuple[list[Row], list[tuple[Row, Row]]]:
    """A custom column is being deleted: (widgets grouped by it, now deleted; (before, after) of filter edits).

    Rules whose field is the column leave every other widget's filters. The caller records events.
    """
    column_id = column_id.lower()
    grouped = conn.execute(
        f"SELECT {_COLUMNS} FROM widget WHERE company_id = ? AND group_by_column_id = ?",
        (company_id, column_id),
    ).fetchall()
    conn.execute(
        "DELETE FROM widget WHERE company_id = ? AND group_by_column_id = ?", (company_id, column_id)
    )
    mentioning = conn.execute(
        f"SELECT {_COLUMNS} FROM widget WHERE company_id = ?"
        " AND (instr(lower(entity_filters), ?) > 0 OR instr(lower(deal_filters), ?) > 0)",
        (company_id, column_id, column_id),
    ).fetchall()
    changed = []
    for raw in mentioning:
        before, after = _row(raw), _row(raw)
        after.entity_filters = [r for r in before.entity_filters if str(r.get("field")).lower() != column_id]
        after.deal_filters = [r for r in before.deal_filters if str(r.get("field")).lower() != column_id]
        if (after.entity_filters, after.deal_filters) != (before.entity_filters, before.deal_filters):
            after.updated_at = now
            update(conn, company_id, after)
            changed.append((before, after))
    return [_row(r) for r in grouped], changed
