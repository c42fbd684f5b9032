"""Custom column definitions: the ten types, loading a company's columns, and the column DTO.

TYPES[type] -> ColumnType(suffix, tools, text, example, settings)   the one table of column types
load_columns(conn, company_id, entity)            -> [Column, ...] ordered by label, then id
column_out(column)                                  -> the `CustomColumn` output shape
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from typing import Any

import msgspec
from msgspec import UNSET, UnsetType


@dataclass(frozen=True)
class ColumnType:
    """One column type: what the API calls it, its two tools, what they take beyond entityType and label."""

    name: str  # API type: "dateRange"
    suffix: str  # tool suffix: "date_range" (also REST path, operation ids, input type names)
    create_tool: str
    update_tool: str
    text: str  # what the create tool's description says first
    example: str  # one accepted value, for hints
    settings: tuple[str, ...] = ()  # type-specific inputs, in schema order; `options` are stored as rows
    required: tuple[str, ...] = ()  # the settings a create must send

    @property
    def slug(self) -> str:
        """REST path segment: `date-range`."""
        return self.suffix.replace("_", "-")

    @property
    def stored_settings(self) -> tuple[str, ...]:
        """The settings kept in `custom_column.options` (a single-select's options are rows)."""
        return tuple(s for s in self.settings if s != "options")


DISPLAY, CHIPS = ("displayFormat",), ("color", "allowMultiple")
TYPES: dict[str, ColumnType] = {
    t.name: t
    for t in (
        ColumnType("plain", "plain", "create_plain_custom_column", "update_plain_custom_column",
                   "Add a text column (up to 10,000 characters).", '"Berlin office"'),
        ColumnType("date", "date", "create_date_custom_column", "update_date_custom_column",
                   'Add a date column, values like "2026-01-05".', '"2026-01-05"', DISPLAY),
        ColumnType("dateTime", "datetime", "create_datetime_custom_column", "update_datetime_custom_column",
                   'Add a datetime column, values like "2026-01-05T09:00:00Z".', '"2026-01-05T09:00:00Z"', DISPLAY),
        ColumnType("dateRange", "date_range", "create_date_range_custom_column", "update_date_range_custom_column",
                   'Add a date range column, values like "2026-01-05,2026-01-09".', '"2026-01-05,2026-01-09"',
                   DISPLAY),
        ColumnType(
            "dateTimeRange", "datetime_range", "create_datetime_range_custom_column",
            "update_datetime_range_custom_column",
            'Add a datetime range column, values like "2026-01-05T09:00:00Z,2026-01-05T17:00:00Z".',
            '"2026-01-05T09:00:00Z,2026-01-05T17:30:00Z"', DISPLAY,
        ),
        ColumnType("currency", "currency", "create_currency_custom_column", "update_currency_custom_column",
                   'Add a money column, values like "19.99" or 19.99.', '"19.99" (or the number 19.99)',
                   ("currency",), ("currency",)),
        ColumnType(
            "singleSelect", "single_select", "create_single_select_custom_column",
            "update_single_select_custom_column",
            "Add a column whose value is one option (its value or label); a default fills every record.",
            "an option's value or label", ("options",), ("options",),
        ),
        ColumnType("link", "link", "create_link_custom_column", "update_link_custom_column",
                   'Add a link column, values like "https://example.com" (or mailto:, tel:).',
                   '"https://example.com"', CHIPS),
        ColumnType("email", "email", "create_email_custom_column", "update_email_custom_column",
                   'Add an email column, values like "ada@example.com".', '"ada@example.com"', CHIPS),
        ColumnType("phone", "phone", "create_phone_custom_column", "update_phone_custom_column",
                   'Add a phone column, values like "+4930123456".', '"+4930123456"', CHIPS),
    )
}  # fmt: skip
BY_SUFFIX = {t.suffix: t for t in TYPES.values()}
MULTI_TYPES = ("link", "email", "phone")
DATE_TYPES = ("date", "dateTime", "dateRange", "dateTimeRange")
MAX_COLUMNS = 100


@dataclass(frozen=True)
class Option:
    value: str
    label: str
    color: str
    is_default: bool
    index: int
    rank: int


@dataclass(frozen=True)
class Column:
    id: str
    entity_type: str
    type: str
    label: str
    settings: dict[str, Any]  # the options of every type but singleSelect
    created_at: str
    updated_at: str
    options: tuple[Option, ...] = field(default=())  # singleSelect only, in display order

    def describe(self) -> str:
        """`label (id, type)`: how a column is written in every message."""
        return f"{self.label} ({self.id}, {self.type})"

    @property
    def default(self) -> Option | None:
        return next((o for o in self.options if o.is_default), None)

    @property
    def multiple(self) -> bool:
        return bool(self.settings.get("allowMultiple"))

    def option_named(self, text: str) -> Option | None:
        """The option `text` names, by value (an id, any case) or label (case-insensitive): how values
        and filters of a single-select column are read."""
        text = text.strip()
        lowered, folded = text.lower(), text.casefold()
        return next((o for o in self.options if o.value == lowered or o.label.casefold() == folded), None)


_SELECT = (
    "SELECT id, entity_type, type, label, options, created_at, updated_at FROM custom_column"
    " WHERE company_id = ?"
)
_ORDER = " ORDER BY label_key, id"


def _columns(conn: sqlite3.Connection, sql: str, params: list[Any]) -> list[Column]:
    rows = conn.execute(sql, params).fetchall()
    selects = [r[0] for r in rows if r[2] == "singleSelect"]
    options: dict[str, list[Option]] = {}
    if selects:
        for row in conn.execute(
            "SELECT column_id, id, label, color, is_default, position, rank FROM custom_option"
            " WHERE column_id IN (SELECT value FROM json_each(?)) ORDER BY column_id, rank",
            (json.dumps(selects),),
        ):
            options.setdefault(row[0], []).append(
                Option(row[1], row[2], row[3], bool(row[4]), row[5], row[6])
            )
    return [
        Column(r[0], r[1], r[2], r[3], json.loads(r[4]), r[5], r[6], tuple(options.get(r[0], ())))
        for r in rows
    ]


# (company_id, entity or None) -> (company.columns_token, columns), shared by every connection of the
# process. Triggers give a company a fresh random token with every change to its columns or options
# (migration 0011), so a token names one state of its columns in any file: a hit is that state, read
# in the caller's own transaction, whoever made the change (a tool, undo, the CLI in another process).
_KEPT: dict[tuple[str, str | None], tuple[int, tuple[Column, ...]]] = {}
_KEPT_MAX = 4096  # (company, entity) pairs; emptied when full


def load_columns(conn: sqlite3.Connection, company_id: str, entity: str | None = None) -> list[Column]:
    """A company's columns (of one entity type, or all), ordered by label, case-insensitive, then id.

    Parsed once per state of the company's columns (`_KEPT`): a call pays one indexed read of the token.
    """
    row = conn.execute("SELECT columns_token FROM company WHERE id = ?", (company_id,)).fetchone()
    if row is None:
        return []
    key = (company_id, entity)
    kept = _KEPT.get(key)
    if kept is not None and kept[0] == row[0]:
        return list(kept[1])
    if entity is None:
        columns = _columns(conn, _SELECT + _ORDER, [company_id])
    else:
        columns = _columns(conn, _SELECT + " AND entity_type = ?" + _ORDER, [company_id, entity])
    if len(_KEPT) >= _KEPT_MAX:
        _KEPT.clear()
    _KEPT[key] = (row[0], tuple(columns))
    return columns


def load_column(conn: sqlite3.Connection, company_id: str, column_id: str) -> Column | None:
    found = _columns(conn, _SELECT + " AND id = ?", [company_id, column_id])
    return found[0] if found else None


def listing(columns: list[Column]) -> str:
    return "; ".join(c.describe() for c in columns) or "none yet"


# ---- the output shape -----------------------------------------------------------------------------


class OptionOut(msgspec.Struct):
    value: str
    label: str
    color: str
    isDefault: bool
    index: int


class ColumnOptions(msgspec.Struct, omit_defaults=True):
    """Per type: date types {displayFormat?}; currency {currency}; singleSelect {options};
    link/email/phone {color, allowMultiple}; plain {}."""

    displayFormat: str | UnsetType = UNSET
    currency: str | UnsetType = UNSET
    color: str | UnsetType = UNSET
    allowMultiple: bool | UnsetType = UNSET
    options: list[OptionOut] | UnsetType = UNSET


class CustomColumn(msgspec.Struct):
    id: str
    label: str
    entityType: str
    type: str
    options: ColumnOptions
    updateTool: str
    createdAt: str
    updatedAt: str


def column_out(column: Column) -> CustomColumn:
    options = ColumnOptions(**column.settings)
    if column.type == "singleSelect":
        options.options = [
            OptionOut(o.value, o.label, o.color, o.is_default, o.index) for o in column.options
        ]
    return CustomColumn(
        column.id,
        column.label,
        column.entity_type,
        column.type,
        options,
        TYPES[column.type].update_tool,
        column.created_at,
        column.updated_at,
    )
