"""Creating, changing and deleting custom columns, with the value maintenance each change implies.

    create(call, type, args)  -> {item, message[, backfilled]}          default option backfilled
    update(call, type, args)  -> {item, message[, remapped, cleared, backfilled]}
    delete(call, id)          -> {item, deletedValues, deletedWidgetIds, message}

Everything runs in the call's one transaction; value maintenance is set-based (one statement each)
and leaves `updatedAt` and record events alone (docs/custom-columns.md). Widgets register in
`ON_DELETE` the function that removes the widgets grouped by a deleted column.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import msgspec
from msgspec import UNSET

from customermates.call import Call
from customermates.crm.columns import MAX_COLUMNS, TYPES, Column, column_out, load_column, load_columns
from customermates.crm.model import ENTITY_TYPES, PLURAL
from customermates.errors import Issue, ToolError, forbidden, invalid
from customermates.ids import new_id
from customermates.record_diff import diff

CREATE_DEFAULTS = {"color": "default", "allowMultiple": False}

# Called by delete() inside its transaction; each returns the ids of the widgets it deleted.
ON_DELETE: list[Callable[[Call, Column], list[str]]] = []


def _require(call: Call, column: Column, action: str) -> None:
    needed = f"{PLURAL[column.entity_type]}.{action}"
    if not call.principal.can(needed):
        raise forbidden([needed], call.principal.role_name)


def _missing(column_id: str) -> ToolError:
    return ToolError(
        "not_found",
        f"Not found: custom column {column_id}. Ids come from list_custom_columns.",
        [
            Issue(
                "$.id",
                f"no custom column with id {column_id} exists in your company",
                "Use ids returned by list_custom_columns.",
            )
        ],
    )


def _label_taken(call: Call, entity: str, label: str, own: str | None = None) -> None:
    row = call.conn.execute(
        "SELECT id, label FROM custom_column WHERE company_id = ? AND entity_type = ? AND label_key = ?",
        (call.company_id, entity, label.casefold()),
    ).fetchone()
    if row is not None and row[0] != own:
        raise ToolError(
            "conflict",
            f'The {entity} column "{row[1]}" ({row[0]}) already uses this label.',
            [
                Issue(
                    "$.label",
                    f'"{label}" is taken by column "{row[1]}" ({row[0]})',
                    "Update that column with its update tool, or pick another label.",
                )
            ],
        )


# ---- single-select options ------------------------------------------------------------------------


def _options(call: Call, given: list, current: Column | None) -> tuple[list[dict[str, Any]], list[Issue]]:
    """Options as rows (value kept or new), with every problem of the list."""
    issues: list[Issue] = []
    old = {o.value: o for o in current.options} if current else {}
    old_by_label = {o.label.casefold(): o.value for o in old.values()}
    labels: dict[str, int] = {}
    values: dict[str, int] = {}
    defaults = [i for i, o in enumerate(given) if o.isDefault]
    rows = []
    for i, option in enumerate(given):
        key = option.label.casefold()
        if key in labels:
            issues.append(
                Issue(
                    f"$.options[{i}].label",
                    f"repeats $.options[{labels[key]}].label",
                    "Give each option a different label.",
                )
            )
        labels.setdefault(key, i)
        value = getattr(option, "value", UNSET)
        if value is not UNSET and value not in old:
            known = ", ".join(f"{o.label} ({o.value})" for o in old.values()) or "none"
            issues.append(
                Issue(
                    f"$.options[{i}].value",
                    f"{value} is not an option of this column",
                    f"Leave `value` out for a new option; existing options: {known}.",
                )
            )
        if value is UNSET:
            value = old_by_label.get(key) or new_id()
        if value in values:
            issues.append(
                Issue(
                    f"$.options[{i}].value",
                    f"repeats the option of $.options[{values[value]}]",
                    "Keep each option once.",
                )
            )
        values.setdefault(value, i)
        index = i if option.index is UNSET else option.index
        rows.append({"value": value, "label": option.label, "key": key, "color": option.color or "default",
                     "default": option.isDefault, "index": index})  # fmt: skip
    for i in defaults[1:]:
        issues.append(
            Issue(
                f"$.options[{i}].isDefault",
                f"is a second default (after $.options[{defaults[0]}])",
                "Mark at most one option isDefault: true.",
            )
        )
    rows.sort(key=lambda r: (r["index"], r["key"]))
    for rank, row in enumerate(rows):
        row["rank"] = rank
    return rows, issues


def _write_options(call: Call, column_id: str, rows: list[dict[str, Any]]) -> None:
    call.conn.execute("DELETE FROM custom_option WHERE column_id = ?", (column_id,))
    call.conn.executemany(
        "INSERT INTO custom_option (id, column_id, label, label_key, color, is_default, position, rank)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                r["value"],
                column_id,
                r["label"],
                r["key"],
                r["color"],
                int(r["default"]),
                r["index"],
                r["rank"],
            )
            for r in rows
        ],
    )


def _written(call: Call, column_id: str) -> Column:
    """The column this call just wrote; read back inside the same transaction, so it is there."""
    column = load_column(call.conn, call.company_id, column_id)
    if column is None:
        raise RuntimeError(f"custom column {column_id} vanished inside the transaction that wrote it")
    return column


def _backfill(call: Call, column: Column) -> int:
    """Give the default option to every record of the type that has no value (one statement)."""
    default = column.default
    if default is None:
        return 0
    cur = call.conn.execute(
        f"INSERT INTO custom_value (record_id, column_id, company_id, value, sort_key, end_key)"
        f" SELECT e.id, ?, e.company_id, ?, ?, NULL FROM {column.entity_type} e WHERE e.company_id = ?"
        " AND NOT EXISTS (SELECT 1 FROM custom_value v WHERE v.record_id = e.id AND v.column_id = ?)",
        (column.id, default.value, default.rank, call.company_id, column.id),
    )
    return cur.rowcount


# ---- create ---------------------------------------------------------------------------------------


def _settings(kind: str, args: Any, base: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for name in TYPES[kind].stored_settings:
        value = getattr(args, name, UNSET)
        if value is not UNSET:
            out[name] = value
    return out


def create(call: Call, kind: str, args: Any) -> dict[str, Any]:
    entity = args.entityType
    rows, issues = _options(call, args.options, None) if kind == "singleSelect" else ([], [])
    if issues:
        raise invalid(issues, "the column")
    _label_taken(call, entity, args.label)
    count = call.conn.execute(
        "SELECT count(*) FROM custom_column WHERE company_id = ? AND entity_type = ?",
        (call.company_id, entity),
    ).fetchone()[0]
    if count >= MAX_COLUMNS:
        full = Issue(
            "$.entityType",
            f"{entity} already has {MAX_COLUMNS} custom columns, the limit",
            "Delete an unused column first (delete_custom_column).",
        )
        raise invalid([full], "the column")
    base = {k: v for k, v in CREATE_DEFAULTS.items() if k in TYPES[kind].stored_settings}
    settings = _settings(kind, args, base)
    column_id = new_id()
    call.conn.execute(
        "INSERT INTO custom_column (id, company_id, entity_type, type, label, label_key, options, created_at,"
        " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            column_id,
            call.company_id,
            entity,
            kind,
            args.label,
            args.label.casefold(),
            json.dumps(settings),
            call.now,
            call.now,
        ),
    )
    if rows:
        _write_options(call, column_id, rows)
    column = _written(call, column_id)
    item = column_out(column)
    snapshot = _dto(item)
    backfilled = _backfill(call, column)
    event = call.event("customColumn", column_id, "custom_column.created", snapshot=snapshot)
    message = f'Created {kind} column "{args.label}" on {entity}.'
    out: dict[str, Any] = {"item": item, "message": message}
    if kind == "singleSelect":
        if backfilled and column.default is not None:  # only a default option backfills
            event.changes = {"values": {"backfilled": backfilled}}
            out["message"] = (
                message[:-1] + f'; {_records(backfilled, entity)} got the default "{column.default.label}".'
            )
        out["backfilled"] = backfilled
    return out


def _records(n: int, entity: str) -> str:
    return f"{n} {entity if n == 1 else PLURAL[entity]}"


def _dto(item: Any) -> dict[str, Any]:
    return msgspec.to_builtins(item)


# ---- update ---------------------------------------------------------------------------------------


def _wrong_tool(column: Column, kind: str) -> ToolError:
    real = TYPES[column.type]
    hint = (
        f'Column "{column.label}" is a {column.type} column; use {real.update_tool}'
        f" (REST: PUT /api/v1/custom-columns/{real.slug}/{{id}}). Type and entityType cannot change:"
        " to change them, create a new column and delete this one."
    )
    return ToolError(
        "invalid_input",
        f'Column "{column.label}" ({column.id}) is a {column.type} column, not {kind}; nothing was written.',
        [Issue("$.id", f"is a {column.type} column, not {kind}", hint)],
    )


def update(call: Call, kind: str, args: Any) -> dict[str, Any]:
    column = load_column(call.conn, call.company_id, args.id)
    if column is None:
        raise _missing(args.id)
    _require(call, column, "update")
    if column.type != kind:
        raise _wrong_tool(column, kind)
    before = _dto(column_out(column))
    issues: list[Issue] = []
    rows = None
    options = getattr(args, "options", UNSET)
    if options is not UNSET:
        rows, issues = _options(call, options, column)
    settings = _settings(kind, args, column.settings)
    if column.multiple and settings.get("allowMultiple") is False:
        many = call.conn.execute(
            "SELECT count(*) FROM custom_value WHERE column_id = ? AND instr(value, ',') > 0", (column.id,)
        ).fetchone()[0]
        if many:
            issues.append(
                Issue(
                    "$.allowMultiple",
                    f"{_records(many, column.entity_type)} hold more than one item",
                    "Reduce those values to one item with update_entity_custom_fields first, or keep allowMultiple.",
                )
            )
    if issues:
        raise invalid(issues, "the column")
    label = args.label if args.label is not UNSET else column.label
    if label != column.label:
        _label_taken(call, column.entity_type, label, column.id)
    call.conn.execute(
        "UPDATE custom_column SET label = ?, label_key = ?, options = ? WHERE id = ?",
        (label, label.casefold(), json.dumps(settings), column.id),
    )
    counts = {"remapped": 0, "cleared": 0, "backfilled": 0}
    if rows is not None:
        counts = _replace_options(call, column, rows)
    after_column = _written(call, column.id)
    after = _dto(column_out(after_column))
    changes = diff(before, after)
    if changes:
        call.conn.execute("UPDATE custom_column SET updated_at = ? WHERE id = ?", (call.now, column.id))
        after_column = _written(call, column.id)
    moved = {k: v for k, v in counts.items() if v}
    if changes or moved:
        call.event(
            "customColumn",
            column.id,
            "custom_column.updated",
            changes={**changes, **({"values": moved} if moved else {})},
        )
    verb = (
        f'Updated {column.type} column "{label}"'
        if changes
        else f'Column "{label}" already had these settings'
    )
    detail = ", ".join(f"{v} {k}" for k, v in moved.items())
    out: dict[str, Any] = {
        "item": column_out(after_column),
        "message": f"{verb}{'; values ' + detail if detail else ''}.",
    }
    if kind == "singleSelect":
        out |= counts
    return out


def _replace_options(call: Call, column: Column, rows: list[dict[str, Any]]) -> dict[str, int]:
    """New option list; values of dropped options go to the new default or are cleared; ranks follow."""
    conn = call.conn
    kept = {r["value"] for r in rows}
    dropped = [o.value for o in column.options if o.value not in kept]
    default = next((r for r in rows if r["default"]), None)
    _write_options(call, column.id, rows)
    remapped = cleared = 0
    if dropped:
        packed = json.dumps(dropped)
        if default is not None:
            remapped = conn.execute(
                "UPDATE custom_value SET value = ?, sort_key = ? WHERE column_id = ?"
                " AND value IN (SELECT value FROM json_each(?))",
                (default["value"], default["rank"], column.id, packed),
            ).rowcount
        else:
            cleared = conn.execute(
                "DELETE FROM custom_value WHERE column_id = ? AND value IN (SELECT value FROM json_each(?))",
                (column.id, packed),
            ).rowcount
    old_ranks = {o.value: o.rank for o in column.options}
    if any(old_ranks.get(r["value"], r["rank"]) != r["rank"] for r in rows):
        conn.execute(
            "UPDATE custom_value SET sort_key = (SELECT rank FROM custom_option o WHERE o.id = custom_value.value)"
            " WHERE column_id = ?",
            (column.id,),
        )
    backfilled = 0
    old_default = column.default.value if column.default else None
    if default is not None and default["value"] != old_default:
        backfilled = _backfill(call, _written(call, column.id))
    return {"remapped": remapped, "cleared": cleared, "backfilled": backfilled}


# ---- delete and list ------------------------------------------------------------------------------


def delete(call: Call, column_id: str) -> dict[str, Any]:
    column = load_column(call.conn, call.company_id, column_id)
    if column is None:
        raise _missing(column_id)
    _require(call, column, "delete")
    item = column_out(column)
    widgets = [w for hook in ON_DELETE for w in hook(call, column)]
    values = call.conn.execute("DELETE FROM custom_value WHERE column_id = ?", (column.id,)).rowcount
    call.conn.execute("DELETE FROM custom_column WHERE id = ?", (column.id,))
    call.event(
        "customColumn",
        column.id,
        "custom_column.deleted",
        changes={"values": {"deleted": values}},
        snapshot=_dto(item),
    )
    lost = f"{values} value{'s' * (values != 1)}"
    if widgets:
        lost += f" and {len(widgets)} widget{'s' * (len(widgets) != 1)}"
    return {
        "item": item,
        "deletedValues": values,
        "deletedWidgetIds": widgets,
        "message": f'Deleted column "{column.label}" with {lost}.',
    }


def list_columns(call: Call, entity: str | None) -> dict[str, Any]:
    order = {e: i for i, e in enumerate(ENTITY_TYPES)}
    columns = sorted(load_columns(call.conn, call.company_id, entity), key=lambda c: order[c.entity_type])
    return {"items": [column_out(c) for c in columns], "total": len(columns)}
