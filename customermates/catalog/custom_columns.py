"""The 22 custom-column tools: create and update per column type, list, delete (toolset custom_columns)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

from customermates.call import Call
from customermates.crm import column_admin
from customermates.crm.columns import TYPES, ColumnType, CustomColumn
from customermates.crm.inputs import EntityType
from customermates.registry import Tool, per_entity
from customermates.rest.route import Route
from customermates.shapes import Currency, Id, Input
from customermates.validation import require_some

# ---- input pieces ---------------------------------------------------------------------------------

FORMATS = ("numericalLong", "numericalShort", "descriptiveShort", "descriptiveLong", "relative")
COLORS = ("default", "secondary", "destructive", "success", "warning", "info")
# Enum values are in the schema; prose does not repeat them (lean catalogue rule).
EntityTypeIn = Annotated[EntityType, Meta(description="Whose column.")]
Label = Annotated[str, Meta(min_length=1, max_length=100, description="Unique per type.")]
DisplayFormat = Annotated[
    Literal[FORMATS],  # type: ignore[valid-type]  # a Literal over a tuple: mypy cannot read its values
    Meta(description="UI hint; values stay ISO."),
]
CurrencyIn = Annotated[Currency, Meta(description="No conversion.")]
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

# The input type of each type-specific setting (which types take which: crm/columns.TYPES).
SETTING_INPUTS = {
    "displayFormat": DisplayFormat,
    "currency": CurrencyIn,
    "color": Color,
    "allowMultiple": AllowMultiple,
    "options": Options,
}
# Titles say the suffix in words; this compound keeps its hyphen.
_WORDS = {"single_select": "single-select"}


# A msgspec.defstruct field: (name, type) or (name, type, default).
Field = tuple[str, Any] | tuple[str, Any, Any]


def _name(suffix: str) -> str:
    return "".join(part.title() for part in suffix.split("_"))


def _create_input(kind: ColumnType) -> type:
    fields: list[Field] = [("entityType", EntityTypeIn), ("label", Label)]
    fields += [(name, SETTING_INPUTS[name]) for name in kind.required]
    fields += [(n, SETTING_INPUTS[n] | UnsetType, UNSET) for n in kind.settings if n not in kind.required]
    return msgspec.defstruct(
        f"Create{_name(kind.suffix)}ColumnInput", fields, bases=(Input,), module=__name__
    )


def _update_input(kind: ColumnType) -> type:
    inputs = {**SETTING_INPUTS, "options": OptionsUpdate}
    fields: list[Field] = [("id", ColumnId), ("label", Label | UnsetType, UNSET)]
    fields += [(name, inputs[name] | UnsetType, UNSET) for name in kind.settings]
    hints = {
        "type": "type cannot change: create a new column.",
        "entityType": "entityType cannot change: create a new column.",
    }
    return msgspec.defstruct(
        f"Update{_name(kind.suffix)}ColumnInput",
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
    entityType: Annotated[EntityType, Meta(description="Only this type's columns.")] | UnsetType = UNSET


class DeleteInput(Input):
    id: ColumnId


# ---- declarations ---------------------------------------------------------------------------------

WRITE = "Values: customFieldValues."
UPDATE = "Edit a column of this type; omitted fields keep."


BASE, TAG = "/custom-columns", "Custom columns"


def _title(verb: str, suffix: str) -> str:
    return f"{verb} {_WORDS.get(suffix, suffix.replace('_', ' '))} custom column"


def _create(kind: ColumnType) -> Tool:
    # No Location: a column is read through the list route.
    route = Route("POST", f"{BASE}/{kind.slug}", f"custom_columns_create_{kind.suffix}", TAG, status=201)

    def handler(call: Call, args: Any) -> dict[str, Any]:
        return column_admin.create(call, kind.name, args)

    output = SelectCreated if kind.name == "singleSelect" else ColumnResult
    return Tool(kind.create_tool, _title("Create", kind.suffix), f"{kind.text} {WRITE}", _create_input(kind),
                output, handler, "custom_columns", per_entity("create", attr="entityType"), rest=(route,))  # fmt: skip


def _update(kind: ColumnType) -> Tool:
    path = f"{BASE}/{kind.slug}/{{id}}"
    route = Route("PUT", path, f"custom_columns_update_{kind.suffix}", TAG, path_field="id")

    def handler(call: Call, args: Any) -> dict[str, Any]:
        require_some(args)
        return column_admin.update(call, kind.name, args)

    output = SelectUpdated if kind.name == "singleSelect" else ColumnResult
    return Tool(
        kind.update_tool,
        _title("Update", kind.suffix),
        UPDATE,
        _update_input(kind),
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
    *(_create(kind) for kind in TYPES.values()),
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
        short=lambda args: args.entityType is not UNSET,  # one type: at most MAX_COLUMNS rows
    ),
    *(_update(kind) for kind in TYPES.values()),
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
]
