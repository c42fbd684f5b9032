"""The 22 custom-column tools: create and update per column type, list, delete (toolset custom_columns)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

from customermates.call import Call
from customermates.crm import column_admin
from customermates.crm.columns import CustomColumn
from customermates.crm.model import ENTITY_TYPES
from customermates.registry import Tool, per_entity
from customermates.rest.route import Route
from customermates.shapes import CURRENCIES, Id, Input
from customermates.validation import require_some

# ---- input pieces ---------------------------------------------------------------------------------

FORMATS = ("numericalLong", "numericalShort", "descriptiveShort", "descriptiveLong", "relative")
COLORS = ("default", "secondary", "destructive", "success", "warning", "info")
# Enum values are in the schema; prose does not repeat them (lean catalogue rule).
EntityTypeIn = Annotated[
    Literal[ENTITY_TYPES],  # type: ignore[valid-type]  # a Literal over a tuple: mypy cannot read its values
    Meta(description="Whose column."),
]
Label = Annotated[str, Meta(min_length=1, max_length=100, description="Unique per type.")]
DisplayFormat = Annotated[
    Literal[FORMATS],  # type: ignore[valid-type]  # a Literal over a tuple: mypy cannot read its values
    Meta(description="UI hint; values stay ISO."),
]
CurrencyIn = Annotated[
    Literal[CURRENCIES],  # type: ignore[valid-type]  # a Literal over a tuple: mypy cannot read its values
    Meta(description="No conversion."),
]
Color = Annotated[
    Literal[COLORS],  # type: ignore[valid-type]  # a Literal over a tuple: mypy cannot read its values
    Meta(description="Chip color."),
]
AllowMultiple = Annotated[bool, Meta(description="Comma-separated values.")]
ColumnId = Annotated[Id, Meta(description="From list_custom_columns.")]


class OptionIn(Input):
    label: Annotated[str, Meta(min_length=1, max_length=100, description="Unique.")]
    color: Color = "default"
    isDefault: Annotated[bool, Meta(description="One at most.")] = False
    index: Annotated[int, Meta(ge=0, description="Display order.")] | UnsetType = UNSET


class OptionUpdate(OptionIn):
    value: Annotated[Id, Meta(description="Option to keep, from list_custom_columns.")] | UnsetType = UNSET


Options = Annotated[list[OptionIn], Meta(min_length=1, max_length=100, description="All or nothing.")]
OptionsUpdate = Annotated[
    list[OptionUpdate],
    Meta(
        min_length=1,
        max_length=100,
        description="REPLACES the list, all or nothing; a dropped option's records get the default or none.",
    ),
]

# Per type suffix: (type, create-only fields, fields create and update share).
FIELDS: dict[str, tuple[str, list[tuple], list[tuple]]] = {
    "plain": ("plain", [], []),
    "date": ("date", [], [("displayFormat", DisplayFormat)]),
    "datetime": ("dateTime", [], [("displayFormat", DisplayFormat)]),
    "date_range": ("dateRange", [], [("displayFormat", DisplayFormat)]),
    "datetime_range": ("dateTimeRange", [], [("displayFormat", DisplayFormat)]),
    "currency": ("currency", [("currency", CurrencyIn)], []),
    "single_select": ("singleSelect", [("options", Options)], []),
    "link": ("link", [], [("color", Color), ("allowMultiple", AllowMultiple)]),
    "email": ("email", [], [("color", Color), ("allowMultiple", AllowMultiple)]),
    "phone": ("phone", [], [("color", Color), ("allowMultiple", AllowMultiple)]),
}


# A msgspec.defstruct field: (name, type) or (name, type, default).
Field = tuple[str, Any] | tuple[str, Any, Any]


def _name(suffix: str) -> str:
    return "".join(part.title() for part in suffix.split("_"))


def _create_input(suffix: str) -> type:
    _, required, optional = FIELDS[suffix]
    fields: list[Field] = [("entityType", EntityTypeIn), ("label", Label), *required]
    fields += [(name, t | UnsetType, UNSET) for name, t in optional]
    return msgspec.defstruct(f"Create{_name(suffix)}ColumnInput", fields, bases=(Input,), module=__name__)


def _update_input(suffix: str) -> type:
    kind, required, optional = FIELDS[suffix]
    shared = [(n, OptionsUpdate if n == "options" else t) for n, t in required + optional]
    fields: list[Field] = [("id", ColumnId), ("label", Label | UnsetType, UNSET)]
    fields += [(name, t | UnsetType, UNSET) for name, t in shared]
    hints = {
        "type": "type cannot change: create a new column.",
        "entityType": "entityType cannot change: create a new column.",
    }
    return msgspec.defstruct(
        f"Update{_name(suffix)}ColumnInput",
        fields,
        bases=(Input,),
        namespace={"__unknown_hints__": hints},
        module=__name__,
    )


# ---- outputs --------------------------------------------------------------------------------------


class ColumnResult(msgspec.Struct):
    item: CustomColumn
    message: str


class SelectCreated(ColumnResult):
    backfilled: int


class SelectUpdated(ColumnResult):
    remapped: int
    cleared: int
    backfilled: int


class ColumnList(msgspec.Struct):
    items: list[CustomColumn]
    total: int


class ColumnDeleted(msgspec.Struct):
    item: CustomColumn
    deletedValues: int
    deletedWidgetIds: list[str]
    message: str


class ListInput(Input):
    entityType: (  # type: ignore[valid-type]  # a Literal over a tuple: mypy cannot read its values
        Annotated[Literal[ENTITY_TYPES], Meta(description="Only this type's columns.")] | UnsetType
    ) = UNSET


class DeleteInput(Input):
    id: ColumnId


# ---- declarations ---------------------------------------------------------------------------------

WRITE = "Values: customFieldValues."
UPDATE = "Edit a column of this type; omitted fields keep."


BASE, TAG = "/custom-columns", "Custom columns"


def _create(name: str, title: str, suffix: str, text: str) -> Tool:
    kind = FIELDS[suffix][0]
    # No Location: a column is read through the list route.
    route = Route(
        "POST", f"{BASE}/{suffix.replace('_', '-')}", f"custom_columns_create_{suffix}", TAG, status=201
    )

    def handler(call: Call, args: Any) -> dict[str, Any]:
        return column_admin.create(call, kind, args)

    output = SelectCreated if kind == "singleSelect" else ColumnResult
    return Tool(name, title, f"{text} {WRITE}", _create_input(suffix), output, handler, "custom_columns",
                per_entity("create", attr="entityType"), rest=(route,))  # fmt: skip


def _update(name: str, title: str, suffix: str, text: str = "") -> Tool:
    kind = FIELDS[suffix][0]
    path = f"{BASE}/{suffix.replace('_', '-')}/{{id}}"
    route = Route("PUT", path, f"custom_columns_update_{suffix}", TAG, path_field="id")

    def handler(call: Call, args: Any) -> dict[str, Any]:
        require_some(args)
        return column_admin.update(call, kind, args)

    output = SelectUpdated if kind == "singleSelect" else ColumnResult
    return Tool(
        name,
        title,
        f"{UPDATE} {text}".strip(),
        _update_input(suffix),
        output,
        handler,
        "custom_columns",
        idempotent=True,
        rest=(route,),
    )


def list_custom_columns(call: Call, args: ListInput) -> dict[str, Any]:
    return column_admin.list_columns(call, None if args.entityType is UNSET else args.entityType)


def delete_custom_column(call: Call, args: DeleteInput) -> dict[str, Any]:
    return column_admin.delete(call, args.id)


TOOLS = [
    _create("create_plain_custom_column", "Create plain custom column", "plain",
            'Add a text column (up to 10,000 characters).'),
    _create("create_date_custom_column", "Create date custom column", "date",
            'Add a date column, values like "2026-01-05".'),
    _create("create_datetime_custom_column", "Create datetime custom column", "datetime",
            'Add a datetime column, values like "2026-01-05T09:00:00Z".'),
    _create("create_date_range_custom_column", "Create date range custom column", "date_range",
            'Add a date range column, values like "2026-01-05,2026-01-09".'),
    _create("create_datetime_range_custom_column", "Create datetime range custom column", "datetime_range",
            'Add a datetime range column, values like "2026-01-05T09:00:00Z,2026-01-05T17:00:00Z".'),
    _create("create_currency_custom_column", "Create currency custom column", "currency",
            'Add a money column, values like "19.99" or 19.99.'),
    _create("create_single_select_custom_column", "Create single-select custom column", "single_select",
            "Add a column whose value is one option (its value or label); a default fills every record."),
    _create("create_link_custom_column", "Create link custom column", "link",
            'Add a link column, values like "https://example.com" (or mailto:, tel:).'),
    _create("create_email_custom_column", "Create email custom column", "email",
            'Add an email column, values like "ada@example.com".'),
    _create("create_phone_custom_column", "Create phone custom column", "phone",
            'Add a phone column, values like "+4930123456".'),
    Tool(
        "list_custom_columns",
        "List custom columns",
        "List custom columns: ids, types, options, updateTool. Values are written by column id, not label.",
        ListInput,
        ColumnList,
        list_custom_columns,
        "custom_columns",
        read_only=True,
        idempotent=True,
        rest=(Route("GET", BASE, "custom_columns_list", TAG, body=False, query=("entityType",)),),
    ),
    _update("update_plain_custom_column", "Update plain custom column", "plain"),
    _update("update_date_custom_column", "Update date custom column", "date"),
    _update("update_datetime_custom_column", "Update datetime custom column", "datetime"),
    _update("update_date_range_custom_column", "Update date range custom column", "date_range"),
    _update("update_datetime_range_custom_column", "Update datetime range custom column", "datetime_range"),
    _update("update_currency_custom_column", "Update currency custom column", "currency"),
    _update("update_single_select_custom_column", "Update single-select custom column", "single_select",
            ),
    _update("update_link_custom_column", "Update link custom column", "link"),
    _update("update_email_custom_column", "Update email custom column", "email"),
    _update("update_phone_custom_column", "Update phone custom column", "phone"),
    Tool(
        "delete_custom_column",
        "Delete custom column",
        "IRREVERSIBLE. Delete a column with all its values and every widget grouped by it."
        " Get the user's explicit confirmation first, naming the column and what is lost.",
        DeleteInput,
        ColumnDeleted,
        delete_custom_column,
        "custom_columns",
        destructive=True,
        rest=(Route("DELETE", f"{BASE}/{{id}}", "custom_columns_delete", TAG, body=False, path_field="id"),),
    ),
]  # fmt: skip
