"""Filter kinds of the custom column types: rules over `custom_value` (docs/custom-columns.md).

    column -> Field(name=column id, kind=KINDS[type], custom=column)
    rule   -> EXISTS (SELECT 1 FROM custom_value v WHERE v.record_id = e.id AND v.column_id = ? AND <on key>)

A filter value is read as a stored value of that column would be (phone separators removed, dates
reduced, money in units, an option label to its rank), then compared with `sort_key` / `end_key`,
which the index (column_id, sort_key, end_key, record_id) serves (docs/custom-columns.md).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from customermates.crm import filters as fl
from customermates.crm.columns import Column
from customermates.crm.custom_values import day_text, phone_digits, read_moment, second_text


def read_text(field: fl.Field, raw: Any) -> str:
    text = fl.read_text(field, raw)
    if field.custom.type != "phone":
        return text
    digits = phone_digits(text)
    if not digits:  # only separators: it would match every number
        raise fl.Bad(f"{fl._show(raw)} holds no digits", f"Send digits, e.g. {field.kind.example}.")
    return digits


def _moment(raw: Any) -> tuple[datetime, bool]:
    try:
        return read_moment(raw)
    except (ValueError, OverflowError, AttributeError, TypeError):
        shown = f'"{raw}"' if isinstance(raw, str) else fl.json_type(raw)
        raise fl.Bad(f"{shown} is not a date or datetime", fl.MOMENT_FORMS) from None


def read_day(field: fl.Field, raw: Any) -> fl.Bounds:
    """By calendar date: a datetime is reduced to its UTC date."""
    moment, _ = _moment(raw)
    day = moment.date()
    return fl.Bounds(day_text(day), day_text(day + timedelta(days=1)), day_text(day), day_text(day))


def read_second(field: fl.Field, raw: Any) -> fl.Bounds:
    """A date is its whole UTC day; a datetime is its second (stored values have no fractions)."""
    moment, whole_day = _moment(raw)
    step = timedelta(days=1) if whole_day else timedelta(seconds=1)
    last = second_text(moment + step - timedelta(seconds=1))
    return fl.Bounds(second_text(moment), second_text(moment + step), second_text(moment), last)


def read_option(field: fl.Field, raw: Any) -> int:
    option = field.custom.option_named(raw) if isinstance(raw, str) else None
    if option is not None:
        return option.rank
    options = ", ".join(f"{o.label} ({o.value})" for o in field.custom.options)
    raise fl.Bad(
        f"{fl._show(raw)} is not an option of {field.label}", f"Use an option value or label: {options}."
    )


def _window(field: fl.Field, days: int, now: datetime) -> fl.Bounds:
    today = now.astimezone(UTC).date()
    first, after = today - timedelta(days=days), today + timedelta(days=1)
    if field.custom.type in ("date", "dateRange"):
        return fl.Bounds(day_text(first), day_text(after), None, None)
    start = datetime.combine(first, datetime.min.time(), UTC)
    end = datetime.combine(after, datetime.min.time(), UTC)
    return fl.Bounds(second_text(start), second_text(end), None, None)


_RANGE = {
    "contains": lambda v: ("v.sort_key < ? AND v.end_key >= ?", [v.after, v.first]),
    "gt": lambda v: ("v.sort_key >= ?", [v.after]),
    "gte": lambda v: ("v.sort_key >= ?", [v.first]),
    "lt": lambda v: ("v.end_key < ?", [v.first]),
    "lte": lambda v: ("v.end_key < ?", [v.after]),
    "between": lambda v: ("v.sort_key >= ? AND v.end_key < ?", [v[0].first, v[1].after]),
    "inLastDays": lambda v: ("v.end_key >= ? AND v.sort_key < ?", [v.first, v.after]),
}


def _condition(field: fl.Field, op: str, value: Any, scope: fl.Scope) -> fl.Sql:
    """The test on one value row `v` (positive form; notIn is negated by the caller)."""
    kind = field.custom.type
    if op == "inLastDays":
        value = _window(field, value, scope.now)
    if kind in ("dateRange", "dateTimeRange"):
        return _RANGE[op](value)
    if kind == "singleSelect":
        values = value if isinstance(value, list) else [value]
        return f"v.sort_key IN ({','.join('?' * len(values))})", list(values)
    if kind in ("plain", "link", "email", "phone"):
        if op == "contains":
            return "instr(v.sort_key, ?) > 0", [value]
        if field.custom.multiple:
            return "(v.sort_key = ? OR instr(',' || v.sort_key || ',', ',' || ? || ',') > 0)", [value, value]
        return "v.sort_key = ?", [value]
    return fl._COMPARE["equals" if op == "inLastDays" else op]("v.sort_key", value)


_VALUE = "SELECT 1 FROM custom_value v WHERE v.record_id = e.id AND v.column_id = ?"
# A rule matching at most this many values leads the query (its records are looked up and sorted);
# a wider one is probed per record while the sort index is walked, which stops at the page.
LEAD_MAX = 2_000


def narrows(op: str) -> bool:
    """Whether the rule's matches are exactly value rows (so the index can list or count them)."""
    return op not in ("notIn", "isNull")


def values_sql(field: fl.Field, op: str, value: Any, scope: fl.Scope) -> fl.Sql:
    """`FROM custom_value v WHERE …` of the value rows a narrowing rule matches (an index range)."""
    condition, params = ("1", []) if op == "isNotNull" else _condition(field, op, value, scope)
    return f"custom_value v WHERE v.column_id = ? AND {condition}", [field.name, *params]


def custom_sql(field: fl.Field, op: str, value: Any, scope: fl.Scope) -> fl.Sql:
    if op in ("isNull", "isNotNull"):
        exists = f"EXISTS ({_VALUE})"
        return (exists if op == "isNotNull" else f"NOT {exists}"), [field.name]
    condition, params = _condition(field, op, value, scope)
    exists = f"EXISTS ({_VALUE} AND {condition})"
    return (f"NOT {exists}" if op == "notIn" else exists), [field.name, *params]


_ORDERED = ("equals", "gt", "gte", "lt", "lte", "between", "inLastDays", "isNull", "isNotNull")
_TEXT = fl.Kind("customText", ("equals", "contains", "isNull", "isNotNull"), read_text, custom_sql, '"text"')
KINDS: dict[str, fl.Kind] = {
    "plain": _TEXT,
    "link": fl.Kind("customLink", _TEXT.operators, read_text, custom_sql, '"https://example.com"'),
    "email": fl.Kind("customEmail", _TEXT.operators, read_text, custom_sql, '"ada@example.com"'),
    "phone": fl.Kind("customPhone", _TEXT.operators, read_text, custom_sql, '"+4930123456"'),
    "currency": fl.Kind(
        "customCurrency",
        ("equals", "gt", "gte", "lt", "lte", "between", "isNull", "isNotNull"),
        fl.read_number,
        custom_sql,
        '"1500"',
        '["1000", "5000"]',
    ),
    "date": fl.Kind(
        "customDate", _ORDERED, read_day, custom_sql, '"2026-01-05"', '["2026-01-01", "2026-01-31"]'
    ),
    "dateTime": fl.Kind(
        "customDateTime",
        _ORDERED,
        read_second,
        custom_sql,
        '"2026-01-05T09:00:00Z"',
        '["2026-01-01", "2026-01-31"]',
    ),
    "dateRange": fl.Kind(
        "customDateRange",
        ("contains", "gt", "gte", "lt", "lte", "between", "inLastDays", "isNull", "isNotNull"),
        read_day,
        custom_sql,
        '"2026-01-05"',
        '["2026-01-01", "2026-01-31"]',
    ),
    "singleSelect": fl.Kind(
        "customSelect",
        ("equals", "in", "notIn", "isNull", "isNotNull"),
        read_option,
        custom_sql,
        '"<option value>"',
    ),
}
KINDS["dateTimeRange"] = fl.Kind(
    "customDateTimeRange", KINDS["dateRange"].operators, read_second, custom_sql, '"2026-01-05T09:00:00Z"',
    '["2026-01-01", "2026-01-31"]',
)  # fmt: skip


def column_field(column: Column) -> fl.Field:
    return fl.Field(column.id, column.label, KINDS[column.type], custom=column)


def custom_examples(columns: list[Column]) -> list[list[dict[str, Any]]]:
    """One filter example for the first column, in its own type's terms (get_entity_configuration)."""
    if not columns:
        return []
    first = columns[0]
    if first.options:
        return [[{"field": first.id, "operator": "in", "value": [first.options[0].label]}]]
    return [[{"field": first.id, "operator": "isNotNull"}]]
