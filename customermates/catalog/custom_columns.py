"""The 22 custom-column tools: create and update per column type, list, delete (toolset custom_columns)."""

from __future__ import annotations

from typing import Annotated, Any, Literal, NamedTuple

import msgspec
from msgspec import UNSET, Meta, UnsetType

from customermates.call import Call
from customermates.crm import column_admin
from customermates.crm.columns import CustomColumn
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

DISPLAY = (("displayFormat", DisplayFormat),)
CHIPS = (("color", Color), ("allowMultiple", AllowMultiple))


class Kind(NamedTuple):
    """One column type: its stored type, its two tools (names written out) and its input fields."""

    type: str
    create: str
    update: str
    text: str  # what the create tool adds, before WRITE
    required: tuple = ()  # create-only fields
    shared: tuple = ()  # fields create and update share


# Keyed by type suffix, which names the REST path, operation ids and input types.
KINDS = {
    "plain": Kind("plain", "create_plain_custom_column", "update_plain_custom_column",
                  "Add a text column (up to 10,000 characters)."),
    "date": Kind("date", "create_date_custom_column", "update_date_custom_column",
                 'Add a date column, values like "2026-01-05".', shared=DISPLAY),
    "datetime": Kind("dateTime", "create_datetime_custom_column", "update_datetime_custom_column",
                     'Add a datetime column, values like "2026-01-05T09:00:00Z".', shared=DISPLAY),
    "date_range": Kind("dateRange", "create_date_range_custom_column", "update_date_range_custom_column",
                       'Add a date range column, values like "2026-01-05,2026-01-09".', shared=DISPLAY),
    "datetime_range": Kind(
        "dateTimeRange", "create_datetime_range_custom_column", "update_datetime_range_custom_column",
        'Add a datetime range column, values like "2026-01-05T09:00:00Z,2026-01-05T17:00:00Z".', shared=DISPLAY,
    ),
    "currency": Kind("currency", "create_currency_custom_column", "update_currency_custom_column",
                     'Add a money column, values like "19.99" or 19.99.', (("currency", CurrencyIn),)),
    "single_select": Kind(
        "singleSelect", "create_single_select_custom_column", "update_single_select_custom_column",
        "Add a column whose value is one option (its value or label); a default fills every record.",
        (("options", Options),),
    ),
    "link": Kind("link", "create_link_custom_column", "update_link_custom_column",
                 'Add a link column, values like "https://example.com" (or mailto:, tel:).', shared=CHIPS),
    "email": Kind("email", "create_email_custom_column", "update_email_custom_column",
                  'Add an email column, values like "ada@example.com".', shared=CHIPS),
    "phone": Kind("phone", "create_phone_custom_column", "update_phone_custom_column",
                  'Add a phone column, values like "+4930123456".', shared=CHIPS),
}  # fmt: skip
# Titles say the suffix in words; this compound keeps its hyphen.
_WORDS = {"single_select": "single-select"}


# A msgspec.defstruct field: (name, type) or (name, type, default).
Field = tuple[str, Any] | tuple[str, Any, Any]


def _name(suffix: str) -> str:
    return "".join(part.title() for part in suffix.split("_"))


def _create_input(suffix: str) -> type:
    kind = KINDS[suffix]
    fields: list[Field] = [("entityType", EntityTypeIn), ("label", Label), *kind.required]
    fields += [(name, t | UnsetType, UNSET) for name, t in kind.shared]
    return msgspec.defstruct(f"Create{_name(suffix)}ColumnInput", fields, bases=(Input,), module=__name__)


def _update_input(suffix: str) -> type:
    kind = KINDS[suffix]
    shared = [(n, OptionsUpdate if n == "options" else t) for n, t in kind.required + kind.shared]
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
    entityType: Annotated[EntityType, Meta(description="Only this type's columns.")] | UnsetType = UNSET


class DeleteInput(Input):
    id: ColumnId


# ---- declarations ---------------------------------------------------------------------------------

WRITE = "Values: customFieldValues."
UPDATE = "Edit a column of this type; omitted fields keep."


BASE, TAG = "/custom-columns", "Custom columns"


def _title(verb: str, suffix: str) -> str:
    return f"{verb} {_WORDS.get(suffix, suffix.replace('_', ' '))} custom column"


def _create(suffix: str) -> Tool:
    kind = KINDS[suffix]
    # No Location: a column is read through the list route.
    route = Route(
        "POST", f"{BASE}/{suffix.replace('_', '-')}", f"custom_columns_create_{suffix}", TAG, status=201
    )

    def handler(call: Call, args: Any) -> dict[str, Any]:
        return column_admin.create(call, kind.type, args)

    output = SelectCreated if kind.type == "singleSelect" else ColumnResult
    return Tool(kind.create, _title("Create", suffix), f"{kind.text} {WRITE}", _create_input(suffix), output,
                handler, "custom_columns", per_entity("create", attr="entityType"), rest=(route,))  # fmt: skip


def _update(suffix: str) -> Tool:
    kind = KINDS[suffix]
    path = f"{BASE}/{suffix.replace('_', '-')}/{{id}}"
    route = Route("PUT", path, f"custom_columns_update_{suffix}", TAG, path_field="id")

    def handler(call: Call, args: Any) -> dict[str, Any]:
        require_some(args)
        return column_admin.update(call, kind.type, args)

    output = SelectUpdated if kind.type == "singleSelect" else ColumnResult
    return Tool(
        kind.update,
        _title("Update", suffix),
        UPDATE,
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
    *(_create(suffix) for suffix in KINDS),
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
    *(_update(suffix) for suffix in KINDS),
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
