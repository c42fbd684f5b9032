"""Extension tools beyond the catalog: `search` and `fetch` for connectors, `get_entity_history`.

`search`/`fetch` follow the shapes ChatGPT connectors and deep research expect (their text item is
JSON, which those hosts parse); `get_entity_history` reads the audit log of one record. REST reaches
all three through `POST /api/v1/tools/<name>` (docs/extensions.md).
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any

import msgspec
from msgspec import Meta

from customermates.call import Call
from customermates.crm import queries as q
from customermates.crm.history import Via, Window, event_rows
from customermates.crm.inputs import EntityType
from customermates.crm.loading import display_name_of, load_records
from customermates.crm.model import ENTITY_TYPES, PLURAL, RELATIONS, visible_ids
from customermates.crm.search import read_terms, tier_sql
from customermates.errors import Issue, forbidden, invalid, not_found
from customermates.registry import Tool, reads_entity
from customermates.shapes import Id, Input, Page, PageSize, total_pages
from customermates.validation import UUID_PATTERN

MAX_RESULTS = 20
_UUID = UUID_PATTERN[1:-1]
_RESULT_ID = re.compile(rf"(?:({'|'.join(ENTITY_TYPES)}):)?({_UUID})")
ID_FORMAT = 'Pass an id exactly as search returned it, e.g. "contact:0190f0c1-7a2b-7c3d-8e4f-a1b2c3d4e5f6".'


def record_url(origin: str | None, entity: str, uuid: str) -> str:
    """The record's REST address; over stdio (no origin) a customermates:// URI."""
    if origin is None:
        return f"customermates://{entity}/{uuid}"
    return f"{origin}/api/v1/{PLURAL[entity]}/{uuid}"


# ---- search --------------------------------------------------------------------------------------


class SearchInput(Input):
    query: Annotated[
        str,
        Meta(
            min_length=1,
            max_length=200,
            description="Words to find in names, emails and linked names.",
        ),
    ]


class SearchResult(msgspec.Struct):
    id: str
    title: str
    url: str


class SearchResults(msgspec.Struct):
    results: list[SearchResult]


def _hits(call: Call, entity: str, text: str) -> list[tuple]:
    """Up to MAX_RESULTS matches of one type as (tier, type rank, name key, id, name)."""
    plan = q.plan_query(call.conn, call.principal, q.Query(entity, text, page_size=MAX_RESULTS), now=call.now)
    tier, tier_params = tier_sql(read_terms(text))
    sql = (
        f"SELECT {tier}, e.name_key, e.id, {q.NAME_SQL[entity]} FROM {plan.source} WHERE {plan.where}"
        f" ORDER BY {plan.order} LIMIT ?"
    )
    rows = call.conn.execute(sql, [*tier_params, *plan.params, *plan.order_params, MAX_RESULTS])
    rank = ENTITY_TYPES.index(entity)
    return [(row[0], rank, row[1], row[2], row[3]) for row in rows]


def search(call: Call, args: SearchInput) -> SearchResults:
    if not read_terms(args.query).tokens:
        issue = Issue("$.query", "has no word with a letter or digit", 'Send a name or word, e.g. "Ada".')
        raise invalid([issue], writes=False)
    hits = [
        hit
        for entity in ENTITY_TYPES
        if call.principal.reads(PLURAL[entity])
        for hit in _hits(call, entity, args.query)
    ]
    best = sorted(hits)[:MAX_RESULTS]  # tier, then type order, then title, then id
    return SearchResults(
        [
            SearchResult(
                f"{ENTITY_TYPES[rank]}:{uuid}", name, record_url(call.origin, ENTITY_TYPES[rank], uuid)
            )
            for _tier, rank, _key, uuid, name in best
        ]
    )


# ---- fetch ---------------------------------------------------------------------------------------


class FetchInput(Input):
    id: Annotated[
        str,
        Meta(
            max_length=100,
            description='An id from search, e.g. "contact:<uuid>"; a bare record uuid works too.',
        ),
    ]


class FetchMetadata(msgspec.Struct):
    entity: str
    uuid: str
    createdAt: str
    updatedAt: str


class FetchResult(msgspec.Struct):
    id: str
    title: str
    text: str
    url: str
    metadata: FetchMetadata


def _parse_id(raw: str) -> tuple[str | None, str]:
    found = _RESULT_ID.fullmatch(raw.strip())
    if found is None:
        kind = raw.split(":", 1)[0] if ":" in raw else None
        what = (
            f'"{kind}" is not a record type (one of: {", ".join(ENTITY_TYPES)})'
            if kind is not None and kind not in ENTITY_TYPES
            else f'"{raw[:100]}" is not "<type>:<uuid>" or a uuid'
        )
        raise invalid([Issue("$.id", what, ID_FORMAT)], writes=False)
    return found[1], found[2].lower()


def _locate(call: Call, entity: str | None, uuid: str) -> str:
    """The record's type: the one named (readable by the caller), or looked up among readable types."""
    if entity is not None:
        if not call.principal.reads(PLURAL[entity]):
            raise forbidden(
                [f"{PLURAL[entity]}.readAll", f"{PLURAL[entity]}.readOwn"], call.principal.role_name
            )
        return entity
    for candidate in ENTITY_TYPES:
        if call.principal.reads(PLURAL[candidate]) and visible_ids(
            call.conn, call.principal, candidate, [uuid]
        ):
            return candidate
    raise not_found([("$.id", "record", uuid)], "search")


def _value_text(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(map(str, value)) or "—"
    return "—" if value is None else str(value)


def _names(entity_or_user: str, refs: list[dict[str, Any]]) -> str:
    if entity_or_user in ("contact", "user"):
        names = [f"{r['firstName']} {r['lastName']}".strip() for r in refs]
    else:
        names = [r["name"] for r in refs]
    return ", ".join(names) or "—"


def record_markdown(entity: str, record: dict[str, Any]) -> str:
    """Title line, scalar fields, relations as names, custom fields as `label: value`, then the notes."""
    relations = {r.name: r.other for r in RELATIONS[entity]}
    skipped = {"id", "notes", "customFieldValues", *relations}
    lines = [f"# {display_name_of(entity, record)} ({entity})", ""]
    lines += [f"- {key}: {_value_text(value)}" for key, value in record.items() if key not in skipped]
    lines += [f"- {name}: {_names(other, record[name])}" for name, other in relations.items()]
    lines += [
        f"- {v['label']}: {v.get('optionLabel', v['value'])}" for v in record.get("customFieldValues", [])
    ]
    if record.get("notes"):
        lines += ["", "## Notes", "", record["notes"]]
    return "\n".join(lines)


def fetch(call: Call, args: FetchInput) -> FetchResult:
    named, uuid = _parse_id(args.id)
    entity = _locate(call, named, uuid)
    records = load_records(call.conn, call.principal, entity, [uuid], with_notes=True)
    if not records:
        raise not_found([("$.id", entity, uuid)], "search")
    record = records[0]
    return FetchResult(
        f"{entity}:{uuid}",
        display_name_of(entity, record),
        record_markdown(entity, record),
        record_url(call.origin, entity, uuid),
        FetchMetadata(entity, uuid, record["createdAt"], record["updatedAt"]),
    )


# ---- get_entity_history --------------------------------------------------------------------------


class HistoryInput(Input):
    entity: EntityType
    id: Annotated[Id, Meta(description="The record's id, from filter_entity, search_all_entities or search.")]
    page: Page = 1
    pageSize: PageSize = 10


class HistoryEvent(msgspec.Struct):
    id: str
    event: str
    at: str
    userId: str | None
    operation: str
    via: Via
    changes: dict[str, Any] | None
    undoneBy: str | None


class HistoryPage(msgspec.Struct):
    items: list[HistoryEvent]
    total: int
    page: int
    pageSize: int
    totalPages: int


def get_entity_history(call: Call, args: HistoryInput) -> HistoryPage:
    visible = bool(visible_ids(call.conn, call.principal, args.entity, [args.id]))
    # Unscoped: the check below is the scope. A deleted record's history stays readable to readAll
    # callers; readOwn needs the record itself.
    window = Window(entity=args.entity, entity_id=args.id)
    total, rows = event_rows(call, window, args.page, args.pageSize, scoped=False)
    if not visible and not (total and call.principal.reads_all(PLURAL[args.entity])):
        raise not_found([("$.id", args.entity, args.id)], "filter_entity or search_all_entities")
    items = [
        HistoryEvent(r[0], r[2], r[1], r[8], r[5], Via(r[6], r[7]), json.loads(r[9]) if r[9] else None, r[10])
        for r in rows
    ]
    return HistoryPage(items, total, args.page, args.pageSize, total_pages(total, args.pageSize))


def _history_permission(args: HistoryInput) -> list[list[str]]:
    return [*reads_entity(args), ["auditLog.readAll"]]


TOOLS = [
    Tool(
        "search",
        "Search",
        "Find records of every type you can read by words in their names, emails or linked names; for "
        "connectors that pair it with fetch. Returns up to 20 {id, title, url}, best match first; pass an id "
        "to fetch for the whole record. CRM work with paging or one type: prefer search_all_entities or "
        "filter_entity.",
        SearchInput,
        SearchResults,
        search,
        "core",
        read_only=True,
        idempotent=True,
        text_as_json=True,
    ),
    Tool(
        "fetch",
        "Fetch",
        "Read one record in full as readable text (fields, linked names, custom fields, notes) by an id from "
        "search. Returns {id, title, text, url, metadata}.",
        FetchInput,
        FetchResult,
        fetch,
        "core",
        read_only=True,
        idempotent=True,
        text_as_json=True,
    ),
    Tool(
        "get_entity_history",
        "Get entity history",
        "Who changed what, when, on one record: its audit events newest first, paged (pageSize 1-100, "
        "default 10). Each has the event (e.g. contact.updated), time, user, tool or route, and for updates "
        "the changed fields with previous and current values. A deleted record's history stays readable "
        "with readAll.",
        HistoryInput,
        HistoryPage,
        get_entity_history,
        "core",
        _history_permission,
        read_only=True,
        idempotent=True,
    ),
]
