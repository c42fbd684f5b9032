"""Generic entity tools that read or change records by id."""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

import msgspec
from msgspec import UNSET, Meta, UnsetType

from customermates.call import Call
from customermates.catalog.entity_routes import DELETE_ROUTES, GET_ROUTES
from customermates.crm import drafts, link_and_delete, notes, writes
from customermates.crm.inputs import (
    ALL_OR_NOTHING,
    BATCH,
    ID_SOURCES,
    MAX_NOTES,
    CustomFieldValueInput,
    EntityType,
    Mutation,
    Notes,
)
from customermates.crm.loading import RECORD_TYPES, load_records
from customermates.crm.model import ENTITY_TYPES, PLURAL
from customermates.errors import invalid, not_found
from customermates.permissions import read_groups
from customermates.registry import Tool, per_entity
from customermates.shapes import Id, Input

SOURCE = "From filter_entity or search_all_entities."
RecordId = Annotated[Id, Meta(description=SOURCE)]
Ids = Annotated[list[Id], Meta(min_length=1, max_length=BATCH, description="Unique ids, " + SOURCE.lower())]
SHORT_READ = 5  # up to this many ids, get_entities runs on the event loop (no thread hop)
RELATION_NAMES = ("organizations", "contacts", "deals", "services", "tasks", "users")


# ---- get_entities ---------------------------------------------------------------------------------


class GetEntitiesItem(Input):
    entity: EntityType
    id: RecordId
    include: Annotated[
        Literal["masterData", "withNotes"], Meta(description="withNotes adds the record's `notes`.")
    ] = "masterData"


class GetEntitiesInput(Input):
    items: Annotated[
        list[GetEntitiesItem],
        Meta(min_length=1, max_length=BATCH, description="The records to fetch; types may be mixed."),
    ]


def _found_type(entity: str) -> type:
    return msgspec.defstruct(
        f"Found{entity.title()}",
        [("id", str), ("record", RECORD_TYPES[entity]), ("notes", str | None | UnsetType, UNSET)],
        tag_field="entity",
        tag=entity,
        omit_defaults=True,
        module=__name__,
    )


# Tagged by `entity`, so the schema says which record shape each item carries.
FoundRecord = Union[tuple(_found_type(e) for e in ENTITY_TYPES)]  # type: ignore[valid-type]  # noqa: UP007  # built at import


class MissingRecord(msgspec.Struct):
    entity: str
    id: str


class GetEntitiesResult(msgspec.Struct):
    items: list[FoundRecord]  # type: ignore[valid-type]  # a Union built at import, one member per entity
    notFound: list[MissingRecord]
    message: str


def _read_groups(args: GetEntitiesInput) -> list[list[str]]:
    return read_groups(PLURAL[item.entity] for item in args.items)


def _fetch(call: Call, items: list[GetEntitiesItem]) -> dict[tuple[str, str], dict]:
    """Visible records by (type, id): one load_records per type; notes when any item of it asks."""
    found = {}
    for entity in dict.fromkeys(i.entity for i in items):
        wanted = [i for i in items if i.entity == entity]
        with_notes = any(i.include == "withNotes" for i in wanted)
        for record in load_records(call.conn, call.principal, entity, [i.id for i in wanted], with_notes):
            found[(entity, record["id"])] = record
    return found


def get_entities(call: Call, args: GetEntitiesInput) -> GetEntitiesResult:
    items = args.items
    issues = drafts.repeats([f"{i.entity}:{i.id}" for i in items], lambda n: f"$.items[{n}].id")
    if issues:
        raise invalid(issues, "items", writes=False)
    found = _fetch(call, items)
    out = []
    for item in items:
        record = found.get((item.entity, item.id))
        if record is not None:
            text = record.pop("notes", None)
            entry = {"entity": item.entity, "id": item.id, "record": record}
            out.append(entry | {"notes": text} if item.include == "withNotes" else entry)
    missing = [(n, i) for n, i in enumerate(items) if (i.entity, i.id) not in found]
    if not out:
        raise not_found([(f"$.items[{n}].id", i.entity, i.id) for n, i in missing], drafts.LISTER)
    message = f"Fetched {len(out)} record{'s' * (len(out) != 1)}."
    if missing:
        message += f" {len(missing)} not found (listed in notFound)."
    missing_refs = [{"entity": i.entity, "id": i.id} for _, i in missing]
    # Built as plain rows (the loader's shape), checked against the declared type on the way out.
    return msgspec.convert({"items": out, "notFound": missing_refs, "message": message}, GetEntitiesResult)


# ---- notes ----------------------------------------------------------------------------------------


class NotesUpdateItem(Input):
    id: RecordId
    notes: Annotated[Notes, Meta(extra={"null_hint": 'Send "" to clear the notes; null is refused.'})]


class NotesAppendItem(Input):
    id: RecordId
    notes: Annotated[
        str,
        Meta(
            min_length=1,
            max_length=MAX_NOTES,
            extra={"multiline": True},
            description="Markdown, added after a blank line.",
        ),
    ]


def _items(item: type, text: str) -> Any:
    return Annotated[
        list[item],  # type: ignore[valid-type]  # `item` is a type given at run time
        Meta(min_length=1, max_length=BATCH, description=text),
    ]


class UpdateEntityNotesInput(Input):
    entity: EntityType
    items: _items(NotesUpdateItem, ALL_OR_NOTHING)  # type: ignore[valid-type]  # made by `_items`, beyond mypy


class AppendEntityNotesInput(Input):
    entity: EntityType
    items: _items(NotesAppendItem, ALL_OR_NOTHING)  # type: ignore[valid-type]  # made by `_items`, beyond mypy


def update_entity_notes(call: Call, args: UpdateEntityNotesInput) -> Mutation:
    return notes.set_notes(call, args.entity, args.items)


def append_entity_notes(call: Call, args: AppendEntityNotesInput) -> Mutation:
    return notes.append_notes(call, args.entity, args.items)


# ---- delete ---------------------------------------------------------------------------------------


class DeleteEntitiesInput(Input):
    entity: EntityType
    ids: Ids


def delete_entities(call: Call, args: DeleteEntitiesInput) -> link_and_delete.DeleteResult:
    return link_and_delete.delete(call, args.entity, args.ids)


# ---- custom fields --------------------------------------------------------------------------------


class CustomFieldsUpdateItem(Input):
    id: RecordId
    customFieldValues: Annotated[
        list[CustomFieldValueInput],
        Meta(
            min_length=1,
            max_length=50,
            description="The columns to set; the others stay.",
        ),
    ]


class UpdateEntityCustomFieldsInput(Input):
    entity: EntityType
    items: _items(CustomFieldsUpdateItem, ALL_OR_NOTHING)  # type: ignore[valid-type]  # made by `_items`, beyond mypy


def update_entity_custom_fields(call: Call, args: UpdateEntityCustomFieldsInput) -> Mutation:
    items = [
        drafts.Draft(f"$.items[{i}]", it.id, custom=it.customFieldValues) for i, it in enumerate(args.items)
    ]
    return writes.update_drafts(call, args.entity, items, "items")


# ---- link / unlink --------------------------------------------------------------------------------


class LinkEntitiesInput(Input):
    entity: EntityType
    sourceId: Annotated[Id, Meta(description=SOURCE)]
    relation: Annotated[  # type: ignore[valid-type]  # a Literal over a tuple: mypy cannot read its values
        Literal[RELATION_NAMES],
        Meta(description="users, or any other record type; services link only to deals, tasks and users."),
    ]
    ids: Annotated[
        list[Id],
        Meta(
            min_length=1,
            max_length=BATCH,
            description=f"Unique ids of the other records, from filter_entity or search_all_entities (users:"
            f" {ID_SOURCES['user']}).",
        ),
    ]


def link_entities(call: Call, args: LinkEntitiesInput) -> link_and_delete.LinkResult:
    return link_and_delete.link(call, args.entity, args.sourceId, args.relation, args.ids)


def unlink_entities(call: Call, args: LinkEntitiesInput) -> link_and_delete.LinkResult:
    return link_and_delete.unlink(call, args.entity, args.sourceId, args.relation, args.ids)


TOOLS = [
    Tool(
        "get_entities",
        "Get entities",
        "Fetch full records by id: fields, relation arrays, custom values, dates, deal totals. Ask withNotes"
        " only when notes are needed. Unknown ids are listed in notFound.",
        GetEntitiesInput,
        GetEntitiesResult,
        get_entities,
        "core",
        _read_groups,
        read_only=True,
        idempotent=True,
        rest=GET_ROUTES,
        short=lambda args: len(args.items) <= SHORT_READ,
    ),
    Tool(
        "update_entity_notes",
        "Update entity notes",
        "Replace the notes of records of one type with Markdown. To add text without losing the existing"
        " notes use append_entity_notes.",
        UpdateEntityNotesInput,
        Mutation,
        update_entity_notes,
        "core",
        per_entity("update"),
        idempotent=True,
    ),
    Tool(
        "append_entity_notes",
        "Append entity notes",
        "Add Markdown to the end of records' notes: the safe way to log meeting notes without losing text."
        " Not idempotent: a repeated call appends again.",
        AppendEntityNotesInput,
        Mutation,
        append_entity_notes,
        "core",
        per_entity("update"),
    ),
    Tool(
        "delete_entities",
        "Delete entities",
        "IRREVERSIBLE. Delete records of one type for good, with their notes, custom values and links (the"
        " linked records stay). Get the user's explicit confirmation first, naming what will be deleted."
        " All or nothing: one unknown id deletes nothing. To remove only a link use unlink_entities.",
        DeleteEntitiesInput,
        link_and_delete.DeleteResult,
        delete_entities,
        "core",
        per_entity("delete"),
        destructive=True,
        rest=DELETE_ROUTES,
    ),
    Tool(
        "update_entity_custom_fields",
        "Update entity custom fields",
        "Set or clear custom column values on records of one type, touching only the listed columns.",
        UpdateEntityCustomFieldsInput,
        Mutation,
        update_entity_custom_fields,
        "core",
        per_entity("update"),
        idempotent=True,
    ),
    Tool(
        "link_entities",
        "Link entities",
        "Add links from one record to others, keeping the existing ones: the preferred way to add"
        " relationships (update_* arrays replace all links). Links are symmetric; already-linked ids are"
        " no-ops; a new deal–service link gets quantity 1. All or nothing.",
        LinkEntitiesInput,
        link_and_delete.LinkResult,
        link_entities,
        "core",
        per_entity("update"),
        idempotent=True,
    ),
    Tool(
        "unlink_entities",
        "Unlink entities",
        "Remove particular links from one record; the linked records are never deleted (to delete records"
        " use delete_entities). Ids not linked are reported in unchangedIds, not as errors.",
        LinkEntitiesInput,
        link_and_delete.LinkResult,
        unlink_entities,
        "core",
        per_entity("update"),
        idempotent=True,
    ),
]
