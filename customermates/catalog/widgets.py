"""The five widget tools: dashboard charts whose points are computed on every read (docs/widgets.md)."""

from __future__ import annotations

import logging
from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

from customermates.call import Call
from customermates.crm import column_admin
from customermates.crm import filters as fl
from customermates.crm import queries as q
from customermates.crm import widget_data as wd
from customermates.crm import widget_rows as rows
from customermates.crm import widget_rules as rules
from customermates.crm.columns import Column, load_column
from customermates.crm.inputs import EntityType
from customermates.errors import Issue, ToolError, forbidden, invalid, not_found
from customermates.ids import new_id
from customermates.record_diff import diff
from customermates.registry import Tool
from customermates.rest.route import LIST_QUERY, Route
from customermates.shapes import Id, Input, Page, PageSize, SearchTerm, Timestamp, total_pages
from customermates.validation import require_some

AGGREGATIONS = ("count", "dealValue", "dealQuantity")
GROUPINGS = ("none", "customColumn", "contact", "organization", "deal", "service")
DISPLAY_TYPES = (
    "verticalBarChart",
    "horizontalBarChart",
    "verticalBarChartWithLabels",
    "horizontalBarChartWithLabels",
    "doughnutChart",
    "radarChart",
)
DEFAULT_COLORS = ["primary1", "primary2"]
log = logging.getLogger("customermates.widgets")


Aggregation = Annotated[
    Literal[AGGREGATIONS],  # type: ignore[valid-type]
    Meta(description="Count records or sum deals."),
]
Grouping = Annotated[
    Literal[GROUPINGS],  # type: ignore[valid-type]
    Meta(description="Per single-select option, per record, or one total."),
]
FOR_CLIENTS = "For the client."
DisplayType = Annotated[Literal[DISPLAY_TYPES], Meta(description=FOR_CLIENTS)]  # type: ignore[valid-type]
TONES = ("default", "primary", "secondary", "success", "warning", "danger")
ChartColor = Annotated[
    str,
    Meta(
        pattern=f"^({'|'.join(TONES)})[1-3]$",
        extra={"format_hint": f'Use a tone ({", ".join(TONES)}) and a shade 1-3, e.g. "primary1".'},
    ),
]
Colors = Annotated[list[ChartColor], Meta(max_length=18, description=FOR_CLIENTS)]
Flip = Annotated[bool, Meta(description=FOR_CLIENTS)]
WidgetName = Annotated[str, Meta(min_length=1, max_length=100)]
ColumnId = Annotated[Id | None, Meta(description="From entityType's single-select columns.")]


# Filter items as published: the rule type's own words for its fields (every operator's value form,
# from the operator table) without the bounds and date forms; the validator still checks each rule
# against the full rule type (types and bounds included), whose errors list the valid fields and
# operators. Deal rules say "as entityFilters" instead of repeating them.
_ENTITY_RULE = {
    "properties": {
        "field": {"description": q.FIELD_DESCRIPTION},
        "operator": {"enum": list(fl.OPERATORS)},
        "value": {"description": q.VALUE_FORMS},
    }
}
_DEAL_RULE = {
    "properties": {
        "field": {"description": "As entityFilters."},
        "operator": {},
        "value": {"description": "As entityFilters."},
    }
}
EntityFilters = Annotated[
    list[Annotated[q.FilterRule, Meta(extra_json_schema=_ENTITY_RULE)]],
    Meta(
        max_length=20,
        description="Rules on entityType records (AND), as record filters take them, e.g. "
        '[{"field":"createdAt","operator":"gte","value":"2026-01-01"}].',
    ),
]
DealFilters = Annotated[
    list[Annotated[q.FilterRule, Meta(extra_json_schema=_DEAL_RULE)]],
    Meta(
        max_length=20,
        description="As entityFilters, on deals (AND), narrowing deal sums (not on deal widgets), e.g. "
        '[{"field":"totalValue","operator":"gte","value":500}].',
    ),
]


# ---- output ----------------------------------------------------------------------------------------


class DisplayOptions(msgspec.Struct):
    displayType: str
    reverseXAxis: bool
    reverseYAxis: bool
    barColors: list[str]


class Point(msgspec.Struct):
    key: str
    label: str
    value: int | float
    optionColor: str | UnsetType = UNSET


class Widget(msgspec.Struct):
    id: str
    name: str
    entityType: str
    entityFilters: list[q.FilterRule]
    dealFilters: list[q.FilterRule]
    groupByType: str
    groupByCustomColumnId: str | None
    aggregationType: str
    displayOptions: DisplayOptions
    ownerId: str
    data: list[Point]
    dataError: str | None
    computedAt: Timestamp
    createdAt: Timestamp
    updatedAt: Timestamp


class WidgetResult(msgspec.Struct):
    item: Widget
    message: str


def _config(row: rows.Row) -> dict[str, Any]:
    """The stored configuration in DTO shape: audit snapshots and `changes` (no computed data)."""
    return {
        "id": row.id,
        "name": row.name,
        "entityType": row.entity_type,
        "entityFilters": row.entity_filters,
        "dealFilters": row.deal_filters,
        "groupByType": row.group_by_type,
        "groupByCustomColumnId": row.group_by_column_id,
        "aggregationType": row.aggregation_type,
        "displayOptions": row.display_options,
        "ownerId": row.owner_id,
        "createdAt": row.created_at,
        "updatedAt": row.updated_at,
    }


def _rules(stored: list[dict[str, Any]]) -> list[q.FilterRule]:
    return msgspec.convert(stored, list[q.FilterRule])


def _data(call: Call, row: rows.Row) -> tuple[list[Point], str | None]:
    """Points for the caller; a failure is this widget's `dataError`, never the call's."""
    try:
        column = (
            load_column(call.conn, call.company_id, row.group_by_column_id)
            if row.group_by_column_id
            else None
        )
        options = column.options if column else ()
        spec = wd.Spec(
            row.entity_type, row.aggregation_type, row.group_by_type, row.group_by_column_id, options,
            _rules(row.entity_filters), _rules(row.deal_filters),
        )  # fmt: skip
        points = wd.compute(call.conn, call.principal, spec, call.now)
    except wd.Unavailable as missing:
        return [], str(missing)
    except ToolError as error:  # a stored rule this reader may not use (e.g. a type it cannot read)
        return [], f"the widget's filters cannot run for you: {error.message} " + " ".join(
            f"{i.path}: {i.message}" for i in error.issues
        )
    except Exception:  # noqa: BLE001 - one broken widget must not fail the others
        log.exception("widget %s: data could not be computed", row.id)
        return [], "data could not be computed; the server log has the details"
    return [Point(p.key, p.label, p.value, UNSET if p.color is None else p.color) for p in points], None


def widget(call: Call, row: rows.Row) -> Widget:
    data, error = _data(call, row)
    opts = row.display_options
    return Widget(
        row.id, row.name, row.entity_type, _rules(row.entity_filters), _rules(row.deal_filters),
        row.group_by_type, row.group_by_column_id, row.aggregation_type,
        DisplayOptions(opts["displayType"], opts["reverseXAxis"], opts["reverseYAxis"], opts["barColors"]),
        row.owner_id, data, error, call.now, row.created_at, row.updated_at,
    )  # fmt: skip


# ---- list_widgets ----------------------------------------------------------------------------------


class ListWidgetsInput(Input):
    searchTerm: Annotated[SearchTerm, Meta(description="Words the name must contain.")] = ""
    page: Page = 1
    pageSize: PageSize = 10


class WidgetSummary(msgspec.Struct):
    id: str
    name: str
    ownerId: str
    entityType: str
    aggregationType: str
    displayType: str


class WidgetPage(msgspec.Struct):
    items: list[WidgetSummary]
    total: int
    page: int
    pageSize: int
    totalPages: int


def list_widgets(call: Call, args: ListWidgetsInput) -> WidgetPage:
    found, total = rows.page(
        call.conn, call.company_id, call.principal.user_id, args.searchTerm, args.pageSize,
        (args.page - 1) * args.pageSize,
    )  # fmt: skip
    items = [
        WidgetSummary(
            r.id, r.name, r.owner_id, r.entity_type, r.aggregation_type, r.display_options["displayType"]
        )
        for r in found
    ]
    return WidgetPage(items, total, args.page, args.pageSize, total_pages(total, args.pageSize))


# ---- get_widgets -----------------------------------------------------------------------------------


class GetWidgetsInput(Input):
    ids: Annotated[
        list[Id],
        Meta(min_length=1, max_length=100, description="Widget ids from list_widgets or a colleague."),
    ]


class WidgetList(msgspec.Struct):
    items: list[Widget]
    notFound: list[str]


def _not_found(ids: list[tuple[str, str]]) -> ToolError:
    return not_found([(path, "widget", ident) for path, ident in ids], "list_widgets")


def _repeats(ids: list[str]) -> None:
    first: dict[str, int] = {}
    issues = []
    for i, ident in enumerate(ids):
        if ident in first:
            issues.append(Issue(f"$.ids[{i}]", f"{ident} is listed twice (also $.ids[{first[ident]}])",
                                "List each id once."))  # fmt: skip
        first.setdefault(ident, i)
    if issues:
        raise invalid(issues, writes=False)


def get_widgets(call: Call, args: GetWidgetsInput) -> WidgetList:
    _repeats(args.ids)
    unique = args.ids
    found = rows.load(call.conn, call.company_id, unique)
    missing = [i for i in unique if i not in found]
    if not found:
        raise _not_found([(f"$.ids[{args.ids.index(i)}]", i) for i in missing])
    return WidgetList([widget(call, found[i]) for i in unique if i in found], missing)


# ---- create_widget / update_widget -------------------------------------------------------------------


class CreateWidgetInput(Input, kw_only=True):
    name: WidgetName
    entityType: Annotated[EntityType, Meta(description="Fixed once created.")]
    aggregationType: Aggregation
    groupByType: Grouping
    groupByCustomColumnId: ColumnId = None
    displayType: DisplayType
    entityFilters: EntityFilters = []
    dealFilters: DealFilters = []
    reverseXAxis: Flip = False
    reverseYAxis: Flip = False
    barColors: Colors = msgspec.field(default_factory=lambda: list(DEFAULT_COLORS))


def _creatable(args: CreateWidgetInput) -> list[list[str]]:
    return rules.permission_groups(args.entityType, args.aggregationType)


def create_widget(call: Call, args: CreateWidgetInput) -> WidgetResult:
    config = rules.Config(
        args.entityType, args.aggregationType, args.groupByType, args.groupByCustomColumnId,
        args.entityFilters, args.dealFilters,
    )  # fmt: skip
    rules.check(call.conn, call.principal, config)
    row = rows.Row(
        new_id(), call.principal.user_id, args.name, args.entityType,
        rules.filter_dicts(args.entityFilters), rules.filter_dicts(args.dealFilters),
        args.groupByType, args.groupByCustomColumnId, args.aggregationType,
        {"displayType": args.displayType, "reverseXAxis": args.reverseXAxis, "reverseYAxis": args.reverseYAxis,
         "barColors": list(args.barColors)},
        call.now, call.now,
    )  # fmt: skip
    rows.insert(call.conn, call.company_id, row)
    call.event("widget", row.id, "widget.created", snapshot=_config(row))
    return WidgetResult(widget(call, row), f'Created widget "{row.name}".')


class UpdateWidgetInput(Input):
    __unknown_hints__ = {
        "entityType": "entityType cannot change; create a new widget with the entityType you need."
    }

    id: Annotated[Id, Meta(description="From list_widgets.")]
    name: WidgetName | UnsetType = UNSET
    aggregationType: Aggregation | UnsetType = UNSET
    groupByType: Grouping | UnsetType = UNSET
    groupByCustomColumnId: ColumnId | UnsetType = UNSET
    displayType: DisplayType | UnsetType = UNSET
    entityFilters: EntityFilters | UnsetType = UNSET
    dealFilters: DealFilters | UnsetType = UNSET
    reverseXAxis: Flip | UnsetType = UNSET
    reverseYAxis: Flip | UnsetType = UNSET
    barColors: Colors | UnsetType = UNSET


def _owned(call: Call, widget_id: str, path: str = "$.id") -> rows.Row:
    """The caller's widget (any of the company's for a system role); another user's is `forbidden`."""
    row = rows.load(call.conn, call.company_id, [widget_id]).get(widget_id)
    if row is None:
        raise _not_found([(path, widget_id)])
    if row.owner_id != call.principal.user_id and not call.principal.is_system:
        owner = rows.owner_name(call.conn, row.owner_id)
        raise ToolError(
            "forbidden",
            f"Widget {widget_id} belongs to {owner}; only its owner or an admin may change or delete it."
            " Create your own widget instead (create_widget).",
        )
    return row


def _given(args: UpdateWidgetInput) -> dict[str, Any]:
    return {
        f: getattr(args, f) for f in args.__struct_fields__ if f != "id" and getattr(args, f) is not UNSET
    }


def update_widget(call: Call, args: UpdateWidgetInput) -> WidgetResult:
    require_some(args)
    before = _owned(call, args.id)
    given = _given(args)
    column = given.get("groupByCustomColumnId", before.group_by_column_id)
    if (
        "groupByType" in given
        and "groupByCustomColumnId" not in given
        and given["groupByType"] != "customColumn"
    ):
        column = None  # the stored column id is obsolete with the new grouping
    entity_filters = given.get("entityFilters", _rules(before.entity_filters))
    deal_filters = given.get("dealFilters", _rules(before.deal_filters))
    config = rules.Config(
        before.entity_type, given.get("aggregationType", before.aggregation_type),
        given.get("groupByType", before.group_by_type), column, entity_filters, deal_filters,
        frozenset(given), creating=False,
    )  # fmt: skip
    for group in rules.permission_groups(config.entity, config.aggregation):
        if not any(call.principal.can(p) for p in group):
            raise forbidden(group, call.principal.role_name)
    rules.check(call.conn, call.principal, config)
    display = dict(before.display_options)
    for key in ("displayType", "reverseXAxis", "reverseYAxis", "barColors"):
        if key in given:
            display[key] = list(given[key]) if key == "barColors" else given[key]
    after = rows.Row(
        before.id, before.owner_id, given.get("name", before.name), before.entity_type,
        rules.filter_dicts(entity_filters), rules.filter_dicts(deal_filters), config.group_by, column,
        config.aggregation, display, before.created_at, call.now,
    )  # fmt: skip
    changes = diff(_config(before), _config(after))
    if not changes:
        return WidgetResult(widget(call, before), "Nothing changed; the widget already had these settings.")
    rows.update(call.conn, call.company_id, after)
    call.event("widget", after.id, "widget.updated", changes)
    return WidgetResult(widget(call, after), f'Updated widget "{after.name}".')


# ---- delete_widget ---------------------------------------------------------------------------------


class DeleteWidgetInput(Input):
    id: Annotated[Id, Meta(description="From list_widgets.")]


class Deleted(msgspec.Struct):
    id: str
    name: str
    message: str


def delete_widget(call: Call, args: DeleteWidgetInput) -> Deleted:
    row = _owned(call, args.id)
    call.event("widget", row.id, "widget.deleted", snapshot=_config(row))
    rows.delete(call.conn, call.company_id, row.id)
    return Deleted(row.id, row.name, f'Deleted widget "{row.name}".')


# ---- a deleted custom column ------------------------------------------------------------------------


def forget_column(call: Call, column: Column) -> list[str]:
    """Deleting a custom column deletes the widgets grouped by it and drops its rules from other filters."""
    gone, changed = rows.forget_column(call.conn, call.company_id, column.id, call.now)
    for row in gone:
        call.event("widget", row.id, "widget.deleted", snapshot=_config(row))
    for before, after in changed:
        call.event("widget", after.id, "widget.updated", diff(_config(before), _config(after)))
    return [row.id for row in gone]


if forget_column not in column_admin.ON_DELETE:
    column_admin.ON_DELETE.append(forget_column)

TAG, ONE = "Widgets", "/widgets/{id}"
TOOLS = [
    Tool(
        "list_widgets",
        "List widgets",
        "List your own dashboard widgets, newest first; get_widgets reads the configuration and chart data.",
        ListWidgetsInput,
        WidgetPage,
        list_widgets,
        "widgets",
        read_only=True,
        idempotent=True,
        rest=(Route("GET", "/widgets", "widgets_list", TAG, body=False, query=LIST_QUERY),),
    ),
    Tool(
        "get_widgets",
        "Get widgets",
        "Read widgets by id (yours or a colleague's): configuration plus the chart's data points, computed now "
        "over the records you can read.",
        GetWidgetsInput,
        WidgetList,
        get_widgets,
        "widgets",
        read_only=True,
        idempotent=True,
        rest=(Route("GET", ONE, "widgets_get", TAG, body=False, path_field="ids", output="single"),),
    ),
    Tool(
        "create_widget",
        "Create widget",
        "Add a dashboard chart over one entityType. count: by none or "
        "customColumn. dealValue: also by the entityType; not tasks. dealQuantity: services only.",
        CreateWidgetInput,
        WidgetResult,
        create_widget,
        "widgets",
        _creatable,
        rest=(Route("POST", "/widgets", "widgets_create", TAG, status=201, location=ONE),),
    ),
    Tool(
        "update_widget",
        "Update widget",
        "Change settings of one of your widgets; omitted fields stay, filter lists given replace the stored "
        "ones, entityType is fixed. The combination rules of create_widget apply to the result.",
        UpdateWidgetInput,
        WidgetResult,
        update_widget,
        "widgets",
        idempotent=True,
        rest=(Route("PUT", ONE, "widgets_update", TAG, path_field="id"),),
    ),
    Tool(
        "delete_widget",
        "Delete widget",
        "IRREVERSIBLE. Delete one of your widgets (confirm first).",
        DeleteWidgetInput,
        Deleted,
        delete_widget,
        "widgets",
        destructive=True,
        rest=(Route("DELETE", ONE, "widgets_delete", TAG, body=False, path_field="id"),),
    ),
]
