"""Generic entity tools that read or change records by id (TOOLS.md §3)."""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

import msgspec
from msgspec import UNSET, Meta, UnsetType

from customermates.call import Call
from customermates.catalog.entity_routes import DELETE_ROUTES, GET_ROUTES
from customermates.crm import drafts, link_and_delete, notes, writes
from customermates.crm.inputs import (
    BATCH,
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

RecordId = Annotated[Id, Meta(description="A record id, from filter_entity or search_all_entities.")]
Ids = Annotated[
    list[RecordId],
    Meta(min_length=1, max_length=BATCH, description="1-100 record ids of `entity`, each once."),
]
RELATION_NAMES = ("organizations", "contacts", "deals", "services", "tasks", "users")


# ---- get_entities ---------------------------------------------------------------------------------


class GetEntitiesItem(Input):
    entity: EntityType
    id: RecordId
    include: Annotated[
        Literal["masterData", "withNotes"],
        Meta(
            description="masterData = the record without notes; withNotes adds `notes` (one of: masterData, withNotes)."
        ),
    ] = "masterData"


class GetEntitiesInput(Input):
    items: Annotated[
        list[GetEntitiesItem],
        Meta(min_length=1, max_length=BATCH, description="1-100 {entity, id} pairs; types may be mixed."),
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
FoundRecord = Union[tuple(_found_type(e) for e in ENTITY_TYPES)]  # noqa: UP007


class MissingRecord(msgspec.Struct):
    entity: str
    id: str


class GetEntitiesResult(msgspec.Struct):
    items: list[FoundRecord]  # type: ignore[valid-type]
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


def get_entities(call: Call, args: GetEntitiesInput) -> dict[str, Any]:
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
    return {"items": out, "notFound": missing_refs, "message": message}


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
            description="Markdown to add after the existing notes (separated by a blank line).",
        ),
    ]


def _items(item: type, text: str) -> Any:
    return Annotated[list[item], Meta(min_length=1, max_length=BATCH, description=text)]


class UpdateEntityNotesInput(Input):
    entity: EntityType
    items: _items(NotesUpdateItem, "1-100 {id, notes}; notes replace the current ones.")  # type: ignore[valid-type]


class AppendEntityNotesInput(Input):
    entity: EntityType
    items: _items(NotesAppendItem, "1-100 {id, notes}; notes are added to the end.")  # type: ignore[valid-type]


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
            description='1-50 {columnId, value}: listed columns are set, null or "" clears one; others stay.',
        ),
    ]


class UpdateEntityCustomFieldsInput(Input):
    entity: EntityType
    items: _items(CustomFieldsUpdateItem, "1-100 {id, customFieldValues}.")  # type: ignore[valid-type]


def update_entity_custom_fields(call: Call, args: UpdateEntityCustomFieldsInput) -> Mutation:
    items = [
        drafts.Draft(f"$.items[{i}]", it.id, custom=it.customFieldValues) for i, it in enumerate(args.items)
    ]
    return writes.update_drafts(call, args.entity, items, "items")


# ---- link / unlink --------------------------------------------------------------------------------


class LinkEntitiesInput(Input):
    entity: Annotated[
        EntityType,
        Meta(description="The source record's type (one of: contact, organization, deal, service, task)."),
    ]
    sourceId: Annotated[
        Id, Meta(description="The record whose links change; from filter_entity or search_all_entities.")
    ]
    relation: Annotated[
        Literal[RELATION_NAMES],  # type: ignore[valid-type]
        Meta(
            description="Which links: contact → organizations, deals, tasks, users · organization → contacts,"
            " deals, tasks, users · deal → organizations, contacts, services, tasks, users · service → deals,"
            " tasks, users · task → contacts, organizations, deals, services, users"
            f" (one of: {', '.join(RELATION_NAMES)})."
        ),
    ]
    ids: Annotated[
        list[Id],
        Meta(
            min_length=1,
            max_length=BATCH,
            description="1-100 ids of the other records, each once (users: list_users).",
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
        "Fetch full records by id (1-100, types may be mixed): fields, relation arrays, custom values,"
        " dates, deal totals. Use ids from filter_entity / search_all_entities; filter_entity lists refs only."
        " Ask include=withNotes only when notes are needed. Unknown ids are listed in notFound.",
        GetEntitiesInput,
        GetEntitiesResult,
        get_entities,
        "core",
        _read_groups,
        read_only=True,
        idempotent=True,
        rest=GET_ROUTES,
    ),
    Tool(
        "update_entity_notes",
        "Update entity notes",
        "Replace the notes of 1-100 records of one type with Markdown (stored and returned as given;"
        ' "" clears). To add text without losing the existing notes use append_entity_notes. Ids from'
        " filter_entity / search_all_entities. All or nothing.",
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
        "Add Markdown to the end of the notes of 1-100 records (existing + blank line + new): the safe way to"
        " log meeting notes without losing text. Not idempotent: a repeated call appends again. Ids from"
        " filter_entity / search_all_entities. All or nothing.",
        AppendEntityNotesInput,
        Mutation,
        append_entity_notes,
        "core",
        per_entity("update"),
    ),
    Tool(
        "delete_entities",
        "Delete entities",
        "IRREVERSIBLE. Delete 1-100 records of one type for good, with their notes, custom values and links"
        " (the linked records stay; deals losing a service get new totals). Get the user's explicit"
        " confirmation first, naming what will be deleted. All or nothing: one unknown id deletes nothing."
        " Ids from filter_entity / search_all_entities. To remove only a link use unlink_entities.",
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
        "Set or clear custom column values on 1-100 records of one type, touching only the listed columns"
        ' (null or "" clears one). Column ids come from get_entity_configuration / list_custom_columns;'
        " record ids from filter_entity. All or nothing.",
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
        "Add links from one record to 1-100 others without touching existing links: the preferred way to add"
        " relationships (the update_* arrays replace all links). Links are symmetric. Already-linked ids are"
        " no-ops; a new deal–service link gets quantity 1 (change it with update_deals). Ids from"
        " filter_entity / search_all_entities (users: list_users).",
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
