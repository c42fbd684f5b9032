"""Generic entity tools that query: configuration, filter, count, cross-type search.

Each handler is a thin shell around `crm.queries`: the input becomes a `Query`, the engine checks,
resolves and runs it inside the call's read transaction (one snapshot), the result is echoed back.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from msgspec import UNSET, Meta, UnsetType

from customermates.call import Call
from customermates.catalog.entity_routes import CONFIGURATION_ROUTES, SEARCH_ROUTES
from customermates.crm import filters as fl
from customermates.crm import queries as q
from customermates.crm.columns import CustomColumn, column_out, load_columns
from customermates.crm.custom_filters import column_field, custom_examples
from customermates.crm.model import ENTITY_TYPES, PLURAL, RELATIONS
from customermates.crm.search import read_terms
from customermates.errors import Issue, invalid
from customermates.permissions import read_groups
from customermates.registry import Tool, reads_entity
from customermates.shapes import Input, Page, PageSize, SearchTerm, total_pages

Term = Annotated[
    SearchTerm,
    Meta(
        description="Every word must match (any order) a name, an email or a linked name; short words match"
        ' word starts ("Al" finds "Alice").',
    ),
]
Sort = Annotated[
    q.SortDescriptor,
    Meta(description="Default: name asc (tasks: updatedAt desc); with a searchTerm, best matches first."),
]

# ---- get_entity_configuration ------------------------------------------------------------------


class ConfigurationInput(Input):
    entity: q.EntityType


class FilterableField(msgspec.Struct):
    field: str
    label: str
    operators: list[str]


class SortableField(msgspec.Struct):
    field: str
    label: str


class EntityConfiguration(msgspec.Struct):
    entity: str
    customColumns: list[CustomColumn]
    filterableFields: list[FilterableField]
    sortableFields: list[SortableField]
    defaultSort: q.SortDescriptor
    relations: list[str]
    filterExamples: list[list[q.FilterRule]]
    sortExample: q.SortDescriptor


def get_entity_configuration(call: Call, args: ConfigurationInput) -> EntityConfiguration:
    principal, entity = call.principal, args.entity
    fields = fl.offered_fields(principal, entity)
    columns = load_columns(call.conn, principal.company_id, entity)
    offered = [*fields, *(column_field(c) for c in columns)]
    return EntityConfiguration(
        entity=entity,
        customColumns=[column_out(c) for c in columns],
        filterableFields=[FilterableField(f.name, f.label, list(f.operators)) for f in offered],
        sortableFields=[SortableField(s.name, s.label) for s in q.SORTABLE[entity] + q.custom_sorts(columns)],
        defaultSort=q.DEFAULT_SORT[entity],
        relations=[r.name for r in RELATIONS[entity] if principal.reads(r.resource)],
        filterExamples=msgspec.convert(
            fl.example_rules(fields) + custom_examples(columns), list[list[q.FilterRule]]
        ),
        sortExample=q.SortDescriptor("createdAt", "desc"),
    )


# ---- filter_entity / count_entity ----------------------------------------------------------------


class FilterInput(Input):
    __unknown_hints__ = {
        "pagination": 'Use page and pageSize at the top level, e.g. {"page": 2, "pageSize": 25}.',
        "groupedPagination": "There is no grouped paging; use page and pageSize at the top level.",
        "sort": 'Use sortDescriptor, e.g. {"field": "name", "direction": "asc"}.',
    }

    entity: q.EntityType
    searchTerm: Term = ""
    filters: q.Filters = []
    sortDescriptor: Sort | UnsetType = UNSET
    page: Page = 1
    pageSize: PageSize = 10


class FilterResult(msgspec.Struct):
    items: list[q.EntityRef]
    total: int
    page: int
    pageSize: int
    totalPages: int
    entity: str
    searchTerm: str
    filters: list[q.FilterRule]
    sortDescriptor: q.SortDescriptor


def _query(args: FilterInput | CountInput) -> q.Query:
    sort = getattr(args, "sortDescriptor", UNSET)
    return q.Query(
        args.entity,
        args.searchTerm,
        args.filters,
        None if sort is UNSET else sort,
        getattr(args, "page", 1),
        getattr(args, "pageSize", 10),
    )


def filter_entity(call: Call, args: FilterInput) -> FilterResult:
    result = q.run_query(call.conn, call.principal, _query(args), now=call.now)
    return FilterResult(
        result.items,
        result.total,
        result.page,
        result.page_size,
        total_pages(result.total, result.page_size),
        args.entity,
        args.searchTerm,
        args.filters,
        result.sort,
    )


class CountInput(Input):
    __unknown_hints__ = {"sortDescriptor": "count_entity takes no sort; remove sortDescriptor."}

    entity: q.EntityType
    searchTerm: Term = ""
    filters: q.Filters = []


class CountResult(msgspec.Struct):
    entity: str
    total: int
    searchTerm: str
    filters: list[q.FilterRule]


def count_entity(call: Call, args: CountInput) -> CountResult:
    total = q.count_query(call.conn, call.principal, _query(args), now=call.now)
    return CountResult(args.entity, total, args.searchTerm, args.filters)


# ---- search_all_entities -------------------------------------------------------------------------


class SearchAllInput(Input):
    searchTerm: Annotated[
        str,
        Meta(
            min_length=1,
            max_length=200,
            description="Every word must match a name, an email or a linked name.",
        ),
    ]
    entities: (
        Annotated[
            list[q.EntityType],
            Meta(
                min_length=1,
                max_length=5,
                description="Types to search, each once; default: every type you can read.",
            ),
        ]
        | UnsetType
    ) = UNSET
    limitPerEntity: Annotated[int, Meta(ge=1, le=100, description="Matches returned per type.")] = 5


class EntityHits(msgspec.Struct):
    entity: str
    items: list[q.EntityRef]
    total: int


class Skipped(msgspec.Struct):
    entity: str
    reason: str


class SearchAllResult(msgspec.Struct):
    searchTerm: str
    results: list[EntityHits]
    skipped: list[Skipped]


def _readable_types(args: Any) -> list[list[str]]:
    """Only explicitly named types must be readable; without `entities`, unreadable ones are skipped."""
    if args.entities is UNSET:
        return []
    return read_groups(PLURAL[e] for e in args.entities)


def _check_search(args: SearchAllInput) -> None:
    issues = []
    if not read_terms(args.searchTerm).tokens:
        issues.append(
            Issue("$.searchTerm", "has no word with a letter or digit", 'Send a name or word, e.g. "Ada".')
        )
    if args.entities is not UNSET:
        first: dict[str, int] = {}
        for i, entity in enumerate(args.entities):
            if entity in first:
                issues.append(
                    Issue(
                        f"$.entities[{i}]",
                        f'"{entity}" is listed twice (also $.entities[{first[entity]}])',
                        "List each type once.",
                    )
                )
            first.setdefault(entity, i)
    if issues:
        raise invalid(issues, writes=False)


def search_all_entities(call: Call, args: SearchAllInput) -> SearchAllResult:
    _check_search(args)
    wanted = set(ENTITY_TYPES if args.entities is UNSET else args.entities)
    results, skipped = [], []
    for entity in (e for e in ENTITY_TYPES if e in wanted):
        if not call.principal.reads(PLURAL[entity]):
            skipped.append(Skipped(entity, f"your role cannot read {PLURAL[entity]}"))
            continue
        query = q.Query(entity, args.searchTerm, page_size=args.limitPerEntity)
        found = q.run_query(call.conn, call.principal, query, now=call.now)
        results.append(EntityHits(entity, found.items, found.total))
    return SearchAllResult(args.searchTerm, results, skipped)


TOOLS = [
    Tool(
        "get_entity_configuration",
        "Get entity configuration",
        "Describe one record type: custom columns (ids, types), filterable fields and their operators,"
        " sortable fields, relations, example filters. Call it before filtering, sorting or writing custom"
        " fields.",
        ConfigurationInput,
        EntityConfiguration,
        get_entity_configuration,
        "core",
        reads_entity,
        read_only=True,
        idempotent=True,
        rest=CONFIGURATION_ROUTES,
    ),
    Tool(
        "filter_entity",
        "Filter entity",
        "List records of one type by search term, filters and sort, one page at a time; returns {id, name}"
        " only. Use get_entities for full records, count_entity for a total alone, search_all_entities to"
        " look across types.",
        FilterInput,
        FilterResult,
        filter_entity,
        "core",
        reads_entity,
        read_only=True,
        idempotent=True,
        rest=SEARCH_ROUTES,
    ),
    Tool(
        "count_entity",
        "Count entity",
        "Count records of one type matching an optional search term and filters (as in filter_entity);"
        " cheaper than paging through filter_entity.",
        CountInput,
        CountResult,
        count_entity,
        "core",
        reads_entity,
        read_only=True,
        idempotent=True,
    ),
    Tool(
        "search_all_entities",
        "Search all entities",
        'Free-text search across record types: the tool for "what do we have on X". Returns the best'
        " {id, name} matches per type with exact totals; follow up with get_entities or filter_entity.",
        SearchAllInput,
        SearchAllResult,
        search_all_entities,
        "core",
        _readable_types,
        read_only=True,
        idempotent=True,
    ),
]
