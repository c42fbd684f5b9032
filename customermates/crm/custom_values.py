"""Custom field values of records: reading one value per type, checking inputs, loading and writing.

    parse(column, raw)            -> Stored(value, key, end) | None (clears) ; raises BadValue
    check(conn, company, entity, [(path, [CustomFieldValueInput])])   -> [Issue]  (nothing written)
    write(call, entity, drafts, created)    per-column merge; single-select defaults on create
    load(conn, entity, ids)       -> {record id: [CustomFieldValue out, ...]} ordered by column label

`key` is the comparable form stored in `custom_value.sort_key` (docs/custom-columns.md): case-folded
text, money in 1/10,000 units, a date or UTC datetime as fixed-width text, a range's start, an option's
rank; `end` is a range's end.
"""

from __future__ import annotations

import json
import re
import sqlite3
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

import msgspec

from customermates.crm.columns import TYPES, Column, Option, load_columns
from customermates.errors import Issue
from customermates.store.rows import insert_rows

if TYPE_CHECKING:
    from customermates.call import Call

MAX_TEXT = 10_000
MAX_ITEMS = 20
MAX_MONEY = Decimal(10) ** 15
_INT64 = 2**63 - 1


class BadValue(Exception):
    def __init__(self, message: str, hint: str):
        super().__init__(message)
        self.message = message
        self.hint = hint


@dataclass(frozen=True)
class Stored:
    value: str
    key: Any
    end: str | None = None


# ---- dates ----------------------------------------------------------------------------------------

_MOMENT = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})(?:[Tt](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|z|[+-]\d{2}:\d{2})?)?$"
)


def read_moment(text: str) -> tuple[datetime, bool]:
    """(UTC moment, is a bare date); raises ValueError. A datetime without a zone is UTC."""
    match = _MOMENT.match(text.strip())
    if match is None:
        raise ValueError(text)
    y, mo, d, hh, mi, ss, _frac, zone = match.groups()
    day = datetime(int(y), int(mo), int(d), tzinfo=UTC)
    if hh is None:
        return day, True
    moment = day.replace(hour=int(hh), minute=int(mi), second=int(ss or 0))
    if zone and zone not in ("Z", "z"):
        size = timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))
        moment -= size if zone[0] == "+" else -size
    return moment, False


def day_text(moment: datetime | date) -> str:
    return f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}"


def second_text(moment: datetime) -> str:
    return f"{day_text(moment)}T{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}Z"


def _date(text: str) -> str:
    return day_text(read_moment(text)[0])


def _datetime(text: str) -> str:
    return second_text(read_moment(text)[0])


def _range(text: str, one) -> tuple[str, str]:
    parts = text.split(",")
    if len(parts) != 2:
        raise ValueError(text)
    start, end = one(parts[0].strip()), one(parts[1].strip())
    if start > end:
        raise OverflowError(text)  # start after end
    return start, end


# ---- one value per type ---------------------------------------------------------------------------

_PHONE_NOISE = re.compile(r"[\s\-.()]")
_PHONE = re.compile(r"^\+\d{7,15}$")
_EMAIL = re.compile(r"^[^@\s,]+@[^@\s.,]+(\.[^@\s.,]+)+$")
_LINK = re.compile(r"^(?:(?:https?)://[^\s/]+\S*|(?:mailto|tel):\S+)$", re.IGNORECASE)
_MONEY = re.compile(r"^-?\d+(\.\d+)?$")


def _clears(raw: Any) -> bool:
    return raw is None or (isinstance(raw, str) and not raw.strip())


def _form(column: Column, raw: Any, what: str) -> BadValue:
    shown = json.dumps(raw, ensure_ascii=False) if isinstance(raw, str) else str(raw)
    if len(shown) > 80:
        shown = shown[:77] + '..."'
    example = TYPES[column.type].example
    return BadValue(
        f'{shown} is not {what} (column "{column.label}", {column.id})',
        f'Send e.g. {example}; null or "" clears the column.',
    )


def _money(column: Column, raw: Any) -> Stored:
    text = repr(raw) if isinstance(raw, float) else str(raw).strip()
    if isinstance(raw, bool) or not _MONEY.match(text):
        raise _form(column, raw, "a plain decimal (no symbol, grouping or exponent)")
    try:
        number = Decimal(text).quantize(Decimal("0.0001"), rounding=ROUND_HALF_EVEN)
    except InvalidOperation:
        raise _form(column, raw, "a plain decimal") from None
    if abs(number) > MAX_MONEY:
        raise BadValue(
            f'{text} is beyond ±10^15 (column "{column.label}", {column.id})', "Send a smaller amount."
        )
    shown = format(number.normalize(), "f")
    units = int(number * 10_000)
    return Stored("0" if shown in ("-0", "0") else shown, units if abs(units) <= _INT64 else float(units))


def _select(column: Column, raw: Any) -> Stored:
    text = str(raw).strip()
    option = column.option_named(text)
    if option is not None:
        return Stored(option.value, option.rank)
    options = ", ".join(f"{o.label} ({o.value})" for o in column.options)
    raise BadValue(
        f'{json.dumps(text, ensure_ascii=False)} is not an option of column "{column.label}" ({column.id})',
        f'Send an option value or its label; options: {options}. null or "" clears the column.',
    )


def phone_digits(text: str) -> str:
    """A phone number without its separators (any whitespace, - . ( )): stored values and filters alike."""
    return _PHONE_NOISE.sub("", text)


def _item(column: Column, text: str) -> str:
    """One link, email or phone item in its stored form."""
    if column.type == "phone":
        digits = phone_digits(text)
        if not _PHONE.match(digits):
            raise _form(column, text, "a phone number: + and 7-15 digits")
        return digits
    if column.type == "email":
        if len(text) > 254 or not _EMAIL.match(text):
            raise _form(column, text, "an email address")
        return text
    if len(text) > 2048 or not _LINK.match(text):
        raise _form(column, text, "a link (http, https, mailto or tel)")
    return text


def _multi(column: Column, text: str) -> Stored:
    if not column.multiple:
        if column.type != "link" and "," in text:
            raise BadValue(
                f'column "{column.label}" ({column.id}) takes one {column.type}, got a list',
                f"Send one value, or enable allowMultiple with {TYPES[column.type].update_tool}.",
            )
        stored = _item(column, text)
        return Stored(stored, stored.casefold())
    items = [i.strip() for i in text.split(",") if i.strip()]
    if len(items) > MAX_ITEMS:
        raise BadValue(
            f'holds {len(items)} items; column "{column.label}" takes at most {MAX_ITEMS}',
            "Send at most 20 comma-separated items.",
        )
    kept: dict[str, str] = {}
    for item in items:
        stored = _item(column, item)
        kept.setdefault(stored.casefold(), stored)
    joined = ",".join(kept.values())
    return Stored(joined, joined.casefold())


_DATES = {
    "date": ("a date", _date),
    "dateTime": ("a datetime", _datetime),
    "dateRange": ('a date range "start,end"', _date),
    "dateTimeRange": ('a datetime range "start,end"', _datetime),
}


def _dates(column: Column, text: str) -> Stored:
    what, one = _DATES[column.type]
    try:
        if column.type in ("date", "dateTime"):
            value = one(text)
            return Stored(value, value)
        start, end = _range(text, one)
    except OverflowError:
        raise BadValue(
            f'{json.dumps(text)}: the start is after the end (column "{column.label}", {column.id})',
            "Put the earlier value first.",
        ) from None
    except ValueError:
        raise _form(column, text, what) from None
    return Stored(f"{start},{end}", start, end)


def parse(column: Column, raw: Any) -> Stored | None:
    """The stored form of one input value, or None when it clears the column."""
    if _clears(raw):
        return None
    if column.type == "currency":
        return _money(column, raw)
    if not isinstance(raw, str):
        raise _form(column, raw, "text (numbers are accepted for currency columns only)")
    text = raw.strip()
    if column.type == "plain":
        if len(text) > MAX_TEXT:
            raise BadValue(f"is {len(text)} characters long; the limit is {MAX_TEXT}", "Shorten it.")
        return Stored(text, text.casefold())
    if column.type == "singleSelect":
        return _select(column, text)
    if column.type in _DATES:
        return _dates(column, text)
    return _multi(column, text)


# ---- checking inputs ------------------------------------------------------------------------------


def _unknown(conn, company_id: str, entity: str, column_id: str, columns: list[Column], path: str) -> Issue:
    listing = "; ".join(c.describe() for c in columns) or "none yet"
    other = conn.execute(
        "SELECT entity_type FROM custom_column WHERE id = ? AND company_id = ?", (column_id, company_id)
    ).fetchone()
    where = f"belongs to {other[0]}, not {entity}" if other else f"is not a custom column of {entity}"
    hint = (
        "Use a column id from get_entity_configuration / list_custom_columns."
        if columns
        else f"A {entity} has no custom columns yet; create one first (e.g. create_plain_custom_column)."
    )
    return Issue(path, f"{column_id} {where}. Columns of {entity}: {listing}", hint)


def check(
    conn: sqlite3.Connection, company_id: str, entity: str, given: list[tuple[str, list]]
) -> list[Issue]:
    """Issues for `(path, [CustomFieldValueInput, ...])` pairs: unknown columns, bad values, repeats."""
    columns = load_columns(conn, company_id, entity)
    by_id = {c.id: c for c in columns}
    issues = []
    for path, values in given:
        seen: dict[str, int] = {}
        for i, item in enumerate(values):
            at = f"{path}[{i}]"
            column = by_id.get(item.columnId)
            if column is None:
                issues.append(_unknown(conn, company_id, entity, item.columnId, columns, f"{at}.columnId"))
                continue
            if item.columnId in seen:
                issues.append(
                    Issue(
                        f"{at}.columnId",
                        f"repeats {path}[{seen[item.columnId]}].columnId",
                        "Give each column once per record.",
                    )
                )
                continue
            seen[item.columnId] = i
            try:
                parse(column, item.value)
            except BadValue as bad:
                issues.append(Issue(f"{at}.value", bad.message, bad.hint))
    return issues


# ---- writing --------------------------------------------------------------------------------------


def write(call: Call, entity: str, drafts: list, created: bool) -> dict[str, list[dict[str, Any]]]:
    """Store the drafts' values (listed columns change, others keep); defaults for new records.

    For new records, returns their `customFieldValues` as a read would show them (`load`), by id.
    """
    columns = {c.id: c for c in load_columns(call.conn, call.company_id, entity)}
    if not columns:
        return {}
    defaults: dict[str, Option] = {}
    if created:
        defaults = {c.id: c.default for c in columns.values() if c.type == "singleSelect" and c.default}
    # (record_id, column_id, company_id, value, sort_key, end_key)
    upserts: list[tuple[str, str, str, str, Any, str | None]] = []
    clears: list[tuple[str, str]] = []
    for d in drafts:
        given = {item.columnId: item.value for item in (d.custom or [])}
        for column_id, option in defaults.items():
            if column_id not in given:
                upserts.append((d.id, column_id, call.company_id, option.value, option.rank, None))
        for column_id, raw in given.items():
            stored = parse(columns[column_id], raw)
            if stored is None:
                clears.append((d.id, column_id))
            else:
                upserts.append((d.id, column_id, call.company_id, stored.value, stored.key, stored.end))
    if clears and not created:
        call.conn.executemany("DELETE FROM custom_value WHERE record_id = ? AND column_id = ?", clears)
    if upserts:
        insert_rows(
            call.conn,
            "INSERT INTO custom_value (record_id, column_id, company_id, value, sort_key, end_key)",
            upserts,
            " ON CONFLICT (record_id, column_id) DO UPDATE SET"
            " value = excluded.value, sort_key = excluded.sort_key, end_key = excluded.end_key"
            " WHERE value IS NOT excluded.value",
        )
    return _shown(list(columns.values()), upserts) if created else {}


def _shown(columns: list[Column], upserts: list[tuple]) -> dict[str, list[dict[str, Any]]]:
    """Output-shaped values of new records from the rows just written, in `load`'s order."""
    stored: dict[str, dict[str, str]] = {}
    for record_id, column_id, _, value, _, _ in upserts:
        stored.setdefault(record_id, {})[column_id] = value
    labels = {c.id: {o.value: o.label for o in c.options} for c in columns}
    out: dict[str, list[dict[str, Any]]] = {}
    for record_id, values in stored.items():
        out[record_id] = [
            _element(
                column.id,
                column.label,
                column.type,
                values[column.id],
                labels[column.id].get(values[column.id]),
            )
            for column in columns  # ordered by label, then id, like `load`
            if column.id in values
        ]
    return out


def _element(column_id: str, label: str, kind: str, value: str, option: str | None) -> dict[str, Any]:
    """One `customFieldValues` element as every read shows it (`optionLabel` for a single-select's)."""
    element = {"columnId": column_id, "label": label, "type": kind, "value": value}
    if option is not None:
        element["optionLabel"] = option
    return element


# ---- reading --------------------------------------------------------------------------------------


_LOAD = (
    "SELECT v.record_id, c.id, c.label, c.type, v.value, o.label FROM {}"
    " CROSS JOIN custom_column c ON c.id = v.column_id"
    " LEFT JOIN custom_option o ON c.type = 'singleSelect' AND o.id = v.value"
    " {}ORDER BY v.record_id, c.label_key, c.id"
)
# Several records: their ids as one JSON array; one record (get_entities' usual call): `= ?` on the
# key, without a json_each table.
_LOAD_MANY = _LOAD.format("json_each(?) j CROSS JOIN custom_value v ON v.record_id = j.value", "")
_LOAD_ONE = _LOAD.format("custom_value v", "WHERE v.record_id = ? ")


def load(conn: sqlite3.Connection, entity: str, ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """Output-shaped values per record id, each record's ordered by column label then column id."""
    out: dict[str, list[dict[str, Any]]] = {}
    if len(ids) == 1:
        rows = conn.execute(_LOAD_ONE, (ids[0],))
    else:
        rows = conn.execute(_LOAD_MANY, (msgspec.json.encode(ids).decode(),))
    for record_id, column_id, label, kind, value, option in rows:
        out.setdefault(record_id, []).append(_element(column_id, label, kind, value, option))
    return out
